"""/healthz: is the service able to work (database and queue reachable)?"""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db
from ..queue import QUEUE_UNAVAILABLE, check, get_huey
from ..security import public

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


@bp.route("/healthz")
@public
def healthz():
    """200 with every part ok, 503 naming the failing part."""
    parts = {"database": _database_ok(), "queue": _queue_ok()}
    body = {"status": "ok" if all(parts.values()) else "error"}
    body.update({name: "ok" if ok else "error" for name, ok in parts.items()})
    response = jsonify(body)
    response.status_code = 200 if all(parts.values()) else 503
    response.headers["Cache-Control"] = "no-store"
    current_app.logger.debug("healthz %s", body)
    return response
