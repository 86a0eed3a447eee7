"""The audit trail: every flushed insert, update and delete of an audited model is recorded
in the same transaction as the write (an ``after_flush`` listener inserting with Core)."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import uuid

from flask import g, has_app_context, has_request_context, request
from flask_sqlalchemy.session import Session as FlaskSession
from geoalchemy2.elements import _SpatialElement
from geoalchemy2.shape import to_shape
from shapely.geometry import mapping
from sqlalchemy import event, inspect, insert

from .database import wall_clock
from .models.audit import AuditEntry

SYSTEM_ACTOR = (None, "system")


def set_actor(actor_id: int | None, label: str) -> None:
    """Name who is writing when there is no signed-in user (the CLI, a worker)."""
    g.audit_actor = (actor_id, label)


def current_actor() -> tuple[int | None, str]:
    """The signed-in user if one is loaded, else what ``set_actor`` named, else ``system``."""
    if not has_app_context():
        return SYSTEM_ACTOR
    # Flask-Login keeps the loaded user in g._login_user; reading current_user here
    # could query the database in the middle of a flush.
    user = getattr(g, "_login_user", None)
    if user is not None and getattr(user, "is_authenticated", False):
        return user.id, user.email
    return getattr(g, "audit_actor", SYSTEM_ACTOR)


def jsonable(value):
    """A JSON-safe rendering of a column value (geometry as GeoJSON)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, _SpatialElement):
        return mapping(to_shape(value))
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    return str(value)


def _audit_options(obj) -> dict | None:
    options = getattr(type(obj), "__audit__", {})
    if options is False:
        return None
    return options or {}


def _column_attrs(obj, options):
    excluded = set(options.get("exclude", ())) | set(options.get("quiet", ()))
    for attr in inspect(obj).mapper.column_attrs:
        if attr.key not in excluded:
            yield attr.key
    # Excluded secrets still show that they changed, never their value.
    for key in options.get("exclude", ()):
        yield key


def _changes(obj, action: str, options: dict) -> dict:
    state = inspect(obj)
    secret = set(options.get("exclude", ()))
    out = {}
    for key in _column_attrs(obj, options):
        hist = state.attrs[key].history
        if action == "create":
            value = getattr(obj, key)
            if value is not None:
                out[key] = [None, "***" if key in secret else jsonable(value)]
        elif action == "delete":
            value = hist.unchanged[0] if hist.unchanged else (hist.deleted[0] if hist.deleted else None)
            if value is not None:
                out[key] = ["***" if key in secret else jsonable(value), None]
        elif hist.has_changes():
            old = hist.deleted[0] if hist.deleted else None
            new = hist.added[0] if hist.added else None
            if key in secret:
                out[key] = ["***", "***"]
            elif jsonable(old) != jsonable(new):
                out[key] = [jsonable(old), jsonable(new)]
    return out


def _collection_changes(obj, action: str, options: dict) -> dict:
    """Many-to-many memberships (``__audit__["collections"]``) as lists of ids."""
    state = inspect(obj)
    out = {}
    for key in sorted(options.get("collections", ())):
        hist = state.attrs[key].history
        if action == "update" and not hist.has_changes():
            continue
        old = sorted(_record_id(o) for o in (*hist.unchanged, *hist.deleted))
        new = sorted(_record_id(o) for o in (*hist.unchanged, *hist.added))
        if action == "create":
            old = None
        elif action == "delete":
            new = None
        if old != new and (old or new):
            out[key] = [old, new]
    return out


def _record_id(obj) -> str:
    state = inspect(obj)
    key = state.mapper.primary_key_from_instance(obj)
    return ",".join("" if v is None else str(v) for v in key)


def _request_facts() -> tuple[str | None, str | None]:
    """The caller's address and ``METHOD /path``, when there is a request."""
    if not has_request_context():
        return None, None
    return request.remote_addr, f"{request.method} {request.path}"[:300]


def record(session, action: str, entity: str, record_id, changes: dict) -> None:
    """An audit row for an act that is not a column change (a simulated SMS reply…), written in
    ``session``'s transaction, by whoever is acting (``current_actor``)."""
    actor_id, actor = current_actor()
    remote, req = _request_facts()
    session.execute(insert(AuditEntry).values(
        at=wall_clock(), actor_id=actor_id, actor=actor, action=action[:16], entity=entity, record_id=str(record_id),
        changes=jsonable(changes), remote_addr=remote, request=req,
    ))


@event.listens_for(FlaskSession, "after_flush")
def _write_audit_rows(session, _flush_context):
    rows = []
    actor_id, actor = current_actor()
    now = wall_clock()
    remote, req = _request_facts()
    for action, objects in (("create", session.new), ("update", session.dirty), ("delete", session.deleted)):
        for obj in objects:
            options = _audit_options(obj)
            if options is None:
                continue
            if action == "update" and not session.is_modified(obj, include_collections=bool(options.get("collections"))):
                continue
            changes = _changes(obj, action, options)
            changes.update(_collection_changes(obj, action, options))
            if action == "update" and not changes:
                continue  # only quiet bookkeeping columns moved
            rows.append(
                {
                    "at": now,
                    "actor_id": actor_id,
                    "actor": actor,
                    "action": action,
                    "entity": type(obj).__tablename__,
                    "record_id": _record_id(obj),
                    "changes": changes,
                    "remote_addr": remote,
                    "request": req,
                }
            )
    if rows:
        session.connection().execute(insert(AuditEntry), rows)
