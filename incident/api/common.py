"""Shared pieces of the API: paging, field errors."""

from __future__ import annotations

from flask_smorest import abort
from marshmallow import Schema, fields, validate
from sqlalchemy import func, select

from ..extensions import db

MAX_LIMIT = 500


class ListArgs(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_LIMIT))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0))


def page(query, args) -> dict:
    """Run ``query`` for one page: ``{"items": [...], "total": N}``."""
    total = db.session.execute(select(func.count()).select_from(query.order_by(None).subquery())).scalar_one()
    items = db.session.execute(query.limit(args["limit"]).offset(args["offset"])).scalars().all()
    return {"items": items, "total": total}


def field_error(field: str, message: str, status: int = 422):
    """Answer like a schema validation error, naming the offending field."""
    abort(status, errors={"json": {field: [message]}}, message="Unprocessable Entity")
