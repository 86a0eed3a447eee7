"""API of the hazard watch (SPEC §8): the watch's state, gauge readings, watch events and the
officer's answer to them."""

from __future__ import annotations

from flask import url_for
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from incident.api.common import Blueprint, Integer, ListArgs, confirm_far_field, page
from incident.api.fields import Out, listing
from incident.database import utcnow
from incident.extensions import db
from incident.security import require_role

from . import operations as ops
from .models import EVENT_KINDS, EVENT_STATUSES, LEVELS, GaugeStation, WatchEvent


class WarningOut(Out):
    id = fields.Integer()
    event = fields.String()
    level = fields.String(metadata={"enum": list(LEVELS)})
    onset = fields.DateTime(allow_none=True)
    expires = fields.DateTime(allow_none=True)
    area = fields.String()
    headline = fields.String()


class GaugeOut(Out):
    station = fields.String()
    level_cm = fields.Integer(allow_none=True)
    at = fields.DateTime(allow_none=True)
    threshold = fields.Integer(metadata={"description": "0 below RIADO_GAUGE_LEVELS' first level; 1, 2, 3: at or "
                                                        "above readiness level I, II, III"})
    trend_24h_cm = fields.Integer(allow_none=True, metadata={"description": "the change over the 24 hours before the "
                                                                            "newest reading (null: too few readings)"})


class FeedOut(Out):
    name = fields.String(metadata={"enum": ["meteoalarm", "gauges"]})
    checked_at = fields.DateTime(allow_none=True, metadata={"description": "the last attempt"})
    ok_at = fields.DateTime(allow_none=True, metadata={"description": "the last good read"})
    error = fields.String(allow_none=True, metadata={"description": "why the last attempt failed (null: it did not)"})
    stale = fields.Boolean()
    polling_since = fields.DateTime(allow_none=True, metadata={"description": "a poll of it under way since (null: "
                                                                              "none)"})


class WatchOut(Out):
    warnings = fields.Nested(WarningOut, many=True, metadata={"description": "warnings in force for the area"})
    gauges = fields.Nested(GaugeOut, many=True)
    checked_at = fields.DateTime(allow_none=True, metadata={"description": "the last time a feed was read or tried"})
    stale = fields.Boolean(metadata={"description": "a feed could not be read (the last good state is shown), has "
                                                    "never been read, or has not been read for three intervals"})
    feeds = fields.Nested(FeedOut, many=True, metadata={"description": "each configured feed's state and error"})
    levels = fields.List(fields.Integer(), metadata={"description": "RIADO_GAUGE_LEVELS: readiness I, II, III in cm"})


class EventOut(Out):
    class Meta:
        optional = ("station", "threshold", "warning_id")

    id = fields.Integer()
    kind = fields.String(metadata={"enum": list(EVENT_KINDS)})
    station = fields.String(allow_none=True)
    threshold = fields.Integer(allow_none=True, metadata={"description": "the readiness level crossed (1–3)"})
    level_cm = fields.Integer(allow_none=True)
    warning_id = fields.Integer(allow_none=True)
    warning_level = fields.String(allow_none=True, metadata={"enum": [*LEVELS, None]})
    hazard = fields.String(metadata={"description": "the incident kind it is about"})
    readiness_level = fields.Integer(metadata={"description": "the readiness level accepting it opens the incident at"})
    status = fields.String(metadata={"enum": list(EVENT_STATUSES)})
    created_at = fields.DateTime()
    decided_at = fields.DateTime(allow_none=True)
    decided_by = fields.String()
    reason = fields.String()
    incident_id = fields.Integer(allow_none=True)


EventList = listing(EventOut)


class EventArgs(ListArgs):
    status = fields.String(validate=validate.OneOf(EVENT_STATUSES), metadata={"description": "omitted: every event"})


class AcceptIn(Schema):
    location = fields.Dict(allow_none=True, metadata={
        "description": "GeoJSON Point of the incident (default: the middle of the municipality's outline)"})
    confirm_far = confirm_far_field()


class DraftOut(Out):
    body = fields.String()


class AcceptOut(Out):
    incident_id = fields.Integer()
    alert_draft = fields.Nested(DraftOut, metadata={"description": "the alert drafted for the officer; nothing is sent"})
    plans_applied = fields.List(fields.String(), metadata={"description": "names of the plans applied to the incident"})
    readiness_level = fields.Integer()
    compose_url = fields.String(metadata={"description": "the alert composer with the draft and the incident filled in"})


class DismissIn(Schema):
    reason = fields.Raw(required=True, metadata={"type": "string", "description": "why (required)"})


class ReadingIn(Schema):
    level_cm = Integer(required=True, metadata={"description": "whole centimetres on the gauge"})
    at = fields.String(load_default=None, allow_none=True,
                       metadata={"description": "ISO 8601 (without an offset: RIADO_TIMEZONE); default now"})


class ReadingOut(Out):
    id = fields.Integer()
    station = fields.String()
    level_cm = fields.Integer()
    at = fields.DateTime()
    source = fields.String(metadata={"enum": ["manual", "feed"]})
    threshold = fields.Integer(metadata={"description": "the readiness level this reading is at (0–3)"})
    event_id = fields.Integer(allow_none=True, metadata={"description": "the watch event it made (a level crossed "
                                                                        "upwards), else null"})


ReadingList = listing(ReadingOut)

blp = Blueprint("api_watch", __name__, url_prefix="/api/v1", description="Hazard watch")


def watch_state() -> dict:
    now = utcnow()
    statuses = ops.feed_statuses(now)
    checked = [s.checked_at for s in statuses if s.checked_at]
    return {
        "warnings": ops.active_warnings(now),
        "gauges": [{"station": s.station, "level_cm": s.level_cm, "at": s.at, "threshold": s.threshold,
                    "trend_24h_cm": ops.trend(s)} for s in ops.stations()],
        "checked_at": max(checked) if checked else None,
        "stale": any(s.stale for s in statuses),
        "feeds": [{"name": s.name, "checked_at": s.checked_at, "ok_at": s.ok_at, "error": s.error, "stale": s.stale,
                   "polling_since": s.polling_since} for s in statuses],
        "levels": list(ops.levels()),
    }


@blp.route("/watch")
@blp.response(200, WatchOut)
def watch():
    """Weather warnings in force for the area, each gauge's newest level, and whether what is
    shown is stale (a feed could not be read: the last good state is kept)."""
    return watch_state()


@blp.route("/watch/events")
@blp.arguments(EventArgs, location="query")
@blp.response(200, EventList)
def events(args):
    """Watch events, newest first (``status``: open, accepted, dismissed; omitted, every one)."""
    return page(ops.events_query(args.get("status")), args)


@blp.route("/watch/events/<int:event_id>")
@blp.response(200, EventOut)
def event(event_id):
    """One watch event."""
    return db.get_or_404(WatchEvent, event_id)


@blp.route("/watch/events/<int:event_id>/accept", methods=["POST"])
@blp.arguments(AcceptIn)
@blp.response(201, AcceptOut)
@require_role("officer")
def accept(data, event_id):
    """Accept a proposal: an incident of the hazard opened at the proposed readiness level with
    the matching plan applied, and an alert drafted (nothing is sent until an officer sends it
    from the composer). An event decided already: 409."""
    event_, incident, plans, _opened = ops.accept_event(event_id, data)
    body = {"incident_id": incident.id, "alert_draft": {"body": event_.alert_draft}, "plans_applied": plans,
            "readiness_level": event_.readiness_level,
            "compose_url": url_for("alerts.new", incident_id=incident.id, body=event_.alert_draft)}
    db.session.commit()
    return body


@blp.route("/watch/events/<int:event_id>/dismiss", methods=["POST"])
@blp.arguments(DismissIn)
@blp.response(200, EventOut)
@require_role("officer")
def dismiss(data, event_id):
    """Dismiss a proposal, saying why (``reason`` required). An event decided already: 409."""
    event_ = ops.dismiss_event(event_id, data["reason"])
    db.session.commit()
    return event_


def _reading_out(reading, station, event_=None) -> dict:
    return {"id": reading.id, "station": station.station, "level_cm": reading.level_cm, "at": reading.at,
            "source": reading.source, "threshold": ops.gauges.threshold_of(reading.level_cm, ops.levels()),
            "event_id": event_.id if event_ is not None else None}


@blp.route("/gauges/<station>/readings")
class Readings(MethodView):
    @blp.arguments(ListArgs, location="query")
    @blp.response(200, ReadingList)
    def get(self, args, station):
        """A station's readings, newest first."""
        found = ops.station_by_name(station)
        if found is None:
            from flask_smorest import abort

            abort(404, message="No such gauge station.")
        result = page(ops.readings_query(found.id), args)
        return {"items": [_reading_out(r, found) for r in result["items"]], "total": result["total"]}

    @blp.arguments(ReadingIn)
    @blp.response(201, ReadingOut)
    @require_role("officer")
    def post(self, data, station):
        """A reading typed in (a station's first reading creates it). Crossing a readiness level
        upwards makes a watch event (``event_id``). A time the station has a reading for: 409."""
        reading, event_ = ops.record_reading(station, data)
        found = db.session.get(GaugeStation, reading.station_id)
        body = _reading_out(reading, found, event_)
        db.session.commit()
        return body


@blp.route("/gauges/<station>/readings/<int:reading_id>", methods=["DELETE"])
@blp.response(204)
@blp.alt_response(404, description="No such reading of this station")
@blp.alt_response(409, description="A reading of the gauge file (``source: feed``): only one typed in by hand can be "
                                   "deleted")
@require_role("officer")
def delete_reading(station, reading_id):
    """Delete a reading typed in by mistake (``source: manual``): the station's newest level is
    what its other readings say again, an open proposal the reading made is closed by the system
    (``reason`` says it was deleted), an accepted one stays and the deletion is written to its
    incident's log; the audit trail keeps who deleted what. A reading of the gauge file: 409."""
    ops.delete_reading(reading_id, station_name=station)
    db.session.commit()
