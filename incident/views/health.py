"""/healthz: is the service able to do its work? The database and the queue reachable, a worker
alive (its heartbeat fresh), and the wings' parts (the alert wing's backlog: work due but taken
by nobody). A monitoring system polls it; 503 names what fails."""

from __future__ import annotations

import logging
import time

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db
from ..queue import QUEUE_UNAVAILABLE, check, get_huey, last_heartbeat
from ..security import public
from ..web.hooks import health_checks

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


def _database_ok() -> bool:
    try:
        spatial = "spatialite_version()" if db.engine.dialect.name == "sqlite" else "postgis_lib_version()"
        db.session.execute(text(f"SELECT {spatial}")).scalar_one()
        return True
    except SQLAlchemyError:
        log.exception("health check: database")
        try:
            db.session.rollback()
        except SQLAlchemyError:  # the connection died under the check: there is nothing to roll back
            pass
        return False


def _queue_ok() -> bool:
    try:
        check(get_huey())
        return True
    except QUEUE_UNAVAILABLE:
        log.exception("health check: queue")
        return False


def _worker(queue_ok: bool) -> tuple[bool, dict]:
    """A worker is alive when one wrote its heartbeat within RIADO_HEALTH_WORKER_SECONDS. Before
    any did, a web process started this long ago gives its workers as much time to come up (they
    start side by side); after that, no heartbeat is an error."""
    limit = current_app.config["RIADO_HEALTH_WORKER_SECONDS"]
    if not queue_ok:
        return False, {"worker_seconds_since_heartbeat": None}
    try:
        beat = last_heartbeat(get_huey())
    except QUEUE_UNAVAILABLE:
        return False, {"worker_seconds_since_heartbeat": None}
    now = time.time()
    if beat is None:
        started = current_app.extensions["riado_started_at"]
        return now - started <= limit, {"worker_seconds_since_heartbeat": None}
    age = max(0.0, now - beat)
    return age <= limit, {"worker_seconds_since_heartbeat": round(age, 1)}


@bp.route("/healthz")
@public
def healthz():
    """200 with every part ok, 503 naming the failing part ("error"), with the figures beside:
    ``worker_seconds_since_heartbeat`` (null: none yet) and the wings' (``backlog_seconds``)."""
    database_ok, queue_ok = _database_ok(), _queue_ok()
    parts = {"database": database_ok, "queue": queue_ok}
    figures: dict = {}
    parts["worker"], worker_figures = _worker(queue_ok)
    figures.update(worker_figures)
    for name, part in health_checks():
        if not database_ok:
            parts[name] = False
            continue
        try:
            parts[name], part_figures = part()
        except SQLAlchemyError:
            # The database answered the first question and not this one (it went away between
            # them): that is the database failing, and said so.
            log.exception("health check: %s", name)
            try:
                db.session.rollback()
            except SQLAlchemyError:
                pass
            parts[name] = parts["database"] = database_ok = False
            part_figures = {}
        figures.update(part_figures)
    body = {"status": "ok" if all(parts.values()) else "error"}
    body.update({name: "ok" if ok else "error" for name, ok in parts.items()})
    body.update(figures)
    response = jsonify(body)
    response.status_code = 200 if all(parts.values()) else 503
    response.headers["Cache-Control"] = "no-store"
    current_app.logger.debug("healthz %s", body)
    return response
