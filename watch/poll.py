"""One round of the hazard watch: read each configured feed and store what it says, committed
feed by feed. A feed that cannot be read (unreachable, an HTTP error, too slow, too large, not
a feed, refused as hostile XML) leaves what was read before, marked stale with the error and the
time; nothing of it is half stored.

A poller claims a feed before reading it (``ops.claim_feed``): the worker's periodic task and
``riado watch --once`` (or two workers) never read and store the same feed at once; the one that
finds it claimed leaves it to the other. The claim is also what marks the feed as being read."""

from __future__ import annotations

import datetime as dt
import logging

from flask import current_app

from incident.database import utcnow
from incident.extensions import db

from . import cap, gauges
from . import operations as ops
from .fetch import FetchError, fetch

log = logging.getLogger(__name__)

BUSY = "skipped: another poller is reading it"


def poll(now: dt.datetime | None = None) -> dict[str, dict | str]:
    """Read every configured feed once; returns, per feed, what changed, the error, or that
    another poller is reading it (``BUSY``). Then proposals whose warning is over (expired while
    the feed said nothing new) are withdrawn."""
    now = now or utcnow()
    results: dict[str, dict | str] = {}
    for name, url in ops.configured_feeds().items():
        results[name] = _poll_feed(name, url, now)
    try:
        if ops.withdraw_ended_proposals(now):
            db.session.commit()
        else:
            db.session.rollback()
    except Exception:  # the database: the next round tries again
        db.session.rollback()
        log.exception("hazard watch: proposals of warnings that are over could not be withdrawn")
    return results


def _poll_feed(name: str, url: str, now: dt.datetime) -> dict | str:
    config = current_app.config
    db.session.rollback()  # no transaction open while the feed answers
    token = ops.claim_feed(name)
    if token is None:
        log.info("hazard watch: %s is being read by another poller", name, extra={"event": "watch_busy", "feed": name})
        return BUSY
    try:
        etag, last_modified = ops.validators(name, url)
        db.session.rollback()
        fetched = fetch(url, etag=etag, last_modified=last_modified, timeout=config["RIADO_WATCH_TIMEOUT_SECONDS"],
                        max_bytes=config["RIADO_WATCH_MAX_BYTES"])
        if fetched.body is None:
            counts: dict | str = "unchanged"
        elif name == "meteoalarm":
            counts = ops.apply_warnings(cap.parse_feed(fetched.body), config["RIADO_METEOALARM_AREAS"], now)
        else:
            counts = ops.apply_gauge_file(gauges.parse_gauge_file(fetched.body, config["RIADO_TIMEZONE"]), now)
        ops.record_read(name, url, fetched.etag, fetched.last_modified, now, token)
        db.session.commit()
        log.info("hazard watch: %s read: %s", name, counts, extra={"event": "watch_read", "feed": name})
        return counts
    except ops.ClaimLost:
        db.session.rollback()
        log.warning("hazard watch: %s took so long that another poller took it over; what it read is not stored",
                    name, extra={"event": "watch_busy", "feed": name})
        return BUSY
    except (FetchError, cap.FeedError, gauges.GaugeFileError) as exc:
        return _failed(name, url, str(exc), now, token)
    except Exception as exc:  # a bug or the database: the feed is marked, the round goes on
        log.exception("hazard watch: %s: unexpected error", name)
        return _failed(name, url, f"unexpected error ({type(exc).__name__})", now, token)


def _failed(name: str, url: str, error: str, now: dt.datetime, token: str) -> str:
    db.session.rollback()
    log.warning("hazard watch: %s could not be read: %s", name, error, extra={"event": "watch_failed", "feed": name})
    try:
        ops.record_failure(name, url, error, now, token)
        db.session.commit()
    except ops.ClaimLost:
        db.session.rollback()
    except Exception:  # the database itself: the claim lapses on its own
        db.session.rollback()
        log.exception("hazard watch: %s: the failure could not be recorded", name)
    return f"error: {error}"
