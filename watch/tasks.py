"""The hazard watch in the worker: a periodic task of the existing queue (no daemon of its own).
Huey's schedule is minute-based, so the task wakes every minute and polls when the last round
is RIADO_WATCH_MINUTES old (any interval, not only divisors of an hour)."""

from __future__ import annotations

import datetime as dt
import logging

from huey import crontab
from sqlalchemy import select

from incident.audit import set_actor
from incident.database import utcnow
from incident.extensions import db

from .models import FeedState
from .operations import configured_feeds
from .poll import poll

log = logging.getLogger(__name__)


def due(now: dt.datetime, minutes: int) -> bool:
    """Whether a round is due: a configured feed never tried, or the one tried longest ago
    tried ``minutes`` ago (a few seconds' slack, so that a task woken a moment early does not
    wait a whole extra minute). A feed no longer configured counts for nothing; with none
    configured, no round is due."""
    names = list(configured_feeds())
    if not names:
        return False
    rows = dict(db.session.execute(select(FeedState.name, FeedState.checked_at).where(FeedState.name.in_(names))).all())
    db.session.rollback()
    if any(rows.get(name) is None for name in names):
        return True
    return now - min(rows.values()) >= dt.timedelta(minutes=minutes) - dt.timedelta(seconds=5)


def register(app, huey):
    """Define the wing's periodic task on ``huey`` for ``app``."""

    @huey.periodic_task(crontab(minute="*"), name="watch.poll")
    def poll_task():
        with app.app_context():
            set_actor(None, "hazard watch")
            if due(utcnow(), app.config["RIADO_WATCH_MINUTES"]):
                poll()

    return poll_task
