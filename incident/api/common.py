"""Shared pieces of the API: paging, field errors."""

from __future__ import annotations

import flask_smorest
from flask_smorest import abort
from marshmallow import Schema, ValidationError, fields, validate
from marshmallow.validate import Length, Range
from sqlalchemy import func, select

from ..errors import FieldError
from ..extensions import db
from ..validation import MAX_INTEGER, MAX_SEARCH_LENGTH, whole_number
from .fields import With

MAX_LIMIT = 500


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint, whose ``arguments`` take a schema class as its one instance:
    webargs would otherwise build a new schema (copying every field) on every request."""

    def arguments(self, schema, *args, **kwargs):
        return super().arguments(schema() if isinstance(schema, type) else schema, *args, **kwargs)

# GeoJSON geometries as the OpenAPI document describes them (RFC 7946: WGS84, longitude first);
# the operations check the rest (ranges, closed and valid rings) and name the field if not.
_POSITION = {"type": "array", "minItems": 2, "maxItems": 3, "items": {"type": "number"}}
GEOJSON_POINT = {
    "type": "object",
    "description": "GeoJSON Point, WGS84, longitude first",
    "required": ["type", "coordinates"],
    "properties": {"type": {"type": "string", "enum": ["Point"]}, "coordinates": _POSITION},
    "example": {"type": "Point", "coordinates": [19.0502, 47.4966]},
}


def geojson_area(description: str) -> dict:
    """A GeoJSON Polygon or MultiPolygon (rings of positions; a MultiPolygon nests one level more)."""
    return {
        "type": "object",
        "description": description,
        "required": ["type", "coordinates"],
        "properties": {
            "type": {"type": "string", "enum": ["Polygon", "MultiPolygon"]},
            "coordinates": {"type": "array", "minItems": 1, "items": {"type": "array"}},
        },
        "example": {"type": "Polygon", "coordinates": [[[19.047, 47.493], [19.053, 47.493], [19.053, 47.499],
                                                        [19.047, 47.493]]]},
    }


def confirm_far_field() -> fields.Boolean:
    """``confirm_far``: the place is right although it lies far from the municipality."""
    return fields.Boolean(load_only=True, metadata={
        "description": "true: save a location or area although it lies more than RIADO_MAX_DISTANCE_KM "
                       "from the municipality's outline (without it: 422 naming the field)"})


def file_response(media_type: str, description: str) -> dict:
    """The 200 answer of an endpoint that sends a file, for ``@blp.doc(responses=...)`` (without
    it the document would describe only the JSON error)."""
    return {"200": {"description": description, "content": {media_type: {"schema": {"type": "string"}}}}}


CSV_DOC = file_response("text/csv", "CSV, UTF-8 with a BOM (as Excel opens it)")


class Integer(fields.Integer):
    """A whole number from a client, read by ``validation.whole_number`` as every other is
    (ASCII digits only, within the database's INTEGER range): anything else is refused with 422
    naming the field, and the range is in the OpenAPI document."""

    def __init__(self, *, validate=None, **kwargs):  # noqa: A002 (marshmallow's own name)
        extra = [] if validate is None else [validate] if callable(validate) else list(validate)
        super().__init__(validate=[Range(min=-MAX_INTEGER - 1, max=MAX_INTEGER), *extra], **kwargs)

    def _validated(self, value):
        try:
            return whole_number(value, self.name or "")
        except FieldError as exc:
            raise ValidationError(exc.message) from None


def search_text(**kwargs) -> fields.String:
    """``q``: the free-text search, at most MAX_SEARCH_LENGTH characters."""
    return fields.String(validate=Length(max=MAX_SEARCH_LENGTH), **kwargs)


class ListArgs(Schema):
    limit = Integer(load_default=50, validate=validate.Range(min=1, max=MAX_LIMIT))
    offset = Integer(load_default=0, validate=validate.Range(min=0))


def page(query, args, **extras) -> dict:
    """Run ``query`` for one page: ``{"items": [...], "total": N}`` (two statements). ``extras``
    are columns read with each record in the same statement (``name=expression``): the items
    are then the records ``With`` those values."""
    total = db.session.execute(select(func.count()).select_from(query.order_by(None).subquery())).scalar_one()
    query = query.limit(args["limit"]).offset(args["offset"])
    if not extras:
        return {"items": db.session.execute(query).scalars().all(), "total": total}
    names = list(extras)
    rows = db.session.execute(query.add_columns(*(extras[name].label(name) for name in names))).all()
    return {"items": [With(row[0], **dict(zip(names, row[1:]))) for row in rows], "total": total}


def field_error(field: str, message: str, status: int = 422):
    """Answer like a schema validation error, naming the offending field."""
    abort(status, errors={"json": {field: [message]}}, message="Unprocessable Entity")
