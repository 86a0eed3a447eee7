"""The hazard watch in the worker: a periodic task of the existing queue (no daemon of its own).
Huey's schedule is minute-based, so the task wakes every minute and polls when the last round
is RIADO_WATCH_MINUTES old (any interval, not only divisors of an hour)."""

from __future__ import annotations

import datetime as dt
import logging

from huey import crontab
from sqlalchemy import func, select

from incident.audit import set_actor
from incident.database import utcnow
from incident.extensions import db

from .models import FeedState
from .poll import poll

log = logging.getLogger(__name__)


def due(now: dt.datetime, minutes: int) -> bool:
    """Whether a round is due: none yet, or the last one ``minutes`` ago (a few seconds' slack,
    so that a task woken a moment early does not wait a whole extra minute)."""
    last = db.session.execute(select(func.min(FeedState.checked_at))).scalar_one_or_none()
    db.session.rollback()
    return last is None or now - last >= dt.timedelta(minutes=minutes) - dt.timedelta(seconds=5)


def register(app, huey):
    """Define the wing's periodic task on ``huey`` for ``app``."""

    @huey.periodic_task(crontab(minute="*"), name="watch.poll")
    def poll_task():
        with app.app_context():
            set_actor(None, "hazard watch")
            if due(utcnow(), app.config["RIADO_WATCH_MINUTES"]):
                poll()

    return poll_task
