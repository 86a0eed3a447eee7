"""One round of the hazard watch: read each configured feed and store what it says, committed
feed by feed. A feed that cannot be read (unreachable, an HTTP error, too slow, too large, not
a feed, refused as hostile XML) leaves what was read before, marked stale with the error and the
time; nothing of it is half stored."""

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


def poll(now: dt.datetime | None = None) -> dict[str, dict | str]:
    """Read every configured feed once; returns, per feed, what changed or the error."""
    now = now or utcnow()
    config = current_app.config
    results: dict[str, dict | str] = {}
    for name, url in ops.configured_feeds().items():
        etag, last_modified = ops.validators(name, url)
        db.session.rollback()  # no transaction open while the feed answers
        try:
            fetched = fetch(url, etag=etag, last_modified=last_modified, timeout=config["RIADO_WATCH_TIMEOUT_SECONDS"],
                            max_bytes=config["RIADO_WATCH_MAX_BYTES"])
            if fetched.body is None:
                counts: dict | str = "unchanged"
            elif name == "meteoalarm":
                counts = ops.apply_warnings(cap.parse_feed(fetched.body), config["RIADO_METEOALARM_AREAS"], now)
            else:
                counts = ops.apply_gauge_file(gauges.parse_gauge_file(fetched.body, config["RIADO_TIMEZONE"]), now)
            ops.record_read(name, url, fetched.etag, fetched.last_modified, now)
            db.session.commit()
            results[name] = counts
            log.info("hazard watch: %s read: %s", name, counts, extra={"event": "watch_read", "feed": name})
        except (FetchError, cap.FeedError, gauges.GaugeFileError) as exc:
            results[name] = _failed(name, url, str(exc), now)
        except Exception as exc:  # a bug or the database: the feed is marked, the round goes on
            log.exception("hazard watch: %s: unexpected error", name)
            results[name] = _failed(name, url, f"unexpected error ({type(exc).__name__})", now)
    return results


def _failed(name: str, url: str, error: str, now: dt.datetime) -> str:
    db.session.rollback()
    log.warning("hazard watch: %s could not be read: %s", name, error, extra={"event": "watch_failed", "feed": name})
    ops.record_failure(name, url, error, now)
    db.session.commit()
    return f"error: {error}"
