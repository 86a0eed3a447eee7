"""API: incidents, their activity log, assignments and nearby resources."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import abort
from marshmallow import Schema, fields, validate
from sqlalchemy.orm import undefer

from ..errors import ConflictError
from ..extensions import db
from ..models import INCIDENT_KINDS, LOG_KINDS, SEVERITIES, STATUSES, Incident, LogEntry
from ..operations import incidents as ops
from ..security import sees_personal_data
from .common import (
    CSV_DOC, GEOJSON_POINT, Blueprint, Integer, ListArgs, confirm_far_field, geojson_area, page, search_text,
)
from .fields import Geometry, Out, StaffField, StaffSchema, listing
from .registry import ResourceList, csv_response, resource_hits

GEOJSON_AREA = geojson_area("GeoJSON Polygon or MultiPolygon, WGS84, longitude first")


class IncidentIn(Schema):
    title = fields.String(required=True)
    kind = fields.String(required=True, metadata={"enum": list(INCIDENT_KINDS)})
    severity = fields.String(required=True, metadata={"enum": list(SEVERITIES)})
    location = fields.Dict(required=True, allow_none=True, metadata=GEOJSON_POINT)
    area = fields.Dict(allow_none=True, metadata=GEOJSON_AREA)
    description = fields.String(allow_none=True)
    commander = fields.String(allow_none=True)
    drill = fields.Boolean()
    readiness_level = Integer(allow_none=True, metadata={
        "description": "the defence readiness degree: 0 none, 1–3 for I., II., III. fokú készültség; a change "
                       "is written to the log", "minimum": 0, "maximum": 3})
    status = fields.String(metadata={"enum": list(STATUSES)})
    version = Integer(load_only=True, metadata={"description": "the version you read; 409 if it changed"})
    confirm_far = confirm_far_field()


class IncidentPatch(IncidentIn):
    """Only the fields given are changed; ``status`` moves along the lifecycle."""

    release_assignments = fields.Boolean(load_only=True, metadata={
        "description": "with status closed: give back every resource still assigned (each release is written "
                       "to the log); without it, closing while assignments are open → 409 naming assignments"})
    check_out_evacuees = fields.Boolean(load_only=True, metadata={
        "description": "with status closed: record that everyone still checked in to a shelter for the incident "
                       "has left (status left, now; each shelter's departures written to the log as counts and "
                       "register numbers); without it, closing while people are present → 409 naming evacuees"})
    released_at = fields.AwareDateTime(load_only=True, metadata={
        "description": "with release_assignments: when they were given back (ISO 8601 with an offset); absent: "
                       "now. Not in the future, not before any of them was assigned (422 naming released_at)"})


class IncidentOut(Out):
    id = fields.Integer()
    number = fields.String(metadata={"example": "2026-0001"})
    title = fields.String()
    kind = fields.String()
    severity = fields.String()
    status = fields.String()
    drill = fields.Boolean()
    readiness_level = fields.Integer(metadata={"description": "0 none; 1–3: I., II., III. fokú készültség"})
    description = fields.String()
    commander = fields.String()
    location = Geometry(metadata=GEOJSON_POINT)
    area = Geometry(allow_none=True, metadata=GEOJSON_AREA)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    activated_at = fields.DateTime(allow_none=True)
    contained_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    log_entries = fields.Integer(attribute="log_count")
    version = fields.Integer()


IncidentList = listing(IncidentOut)


class IncidentArgs(ListArgs):
    status = fields.String(validate=validate.OneOf(STATUSES))
    drill = fields.Boolean()
    kind = fields.String(validate=validate.OneOf(INCIDENT_KINDS))
    q = search_text()


class EntryIn(Schema):
    text = fields.String(required=True)
    kind = fields.String(metadata={"enum": [k for k in LOG_KINDS if k != "system"]})
    corrects = Integer(allow_none=True, metadata={"description": "seq of the entry this one corrects"})


class EntryOut(StaffSchema):
    staff_of = "entries"

    seq = fields.Integer()
    at = fields.DateTime()
    author = StaffField("field", id_attribute="author_id",
                        metadata={"description": "as stored (the user's e-mail, or system, cli, sms…) for "
                                                 "officers and admins; for viewers the name and position"})
    author_name = StaffField("name", label="author", id_attribute="author_id",
                             metadata={"description": "the author's name and position (system, cli, sms… as they are)"})
    kind = fields.String()
    text = fields.String()
    corrects = fields.Integer(allow_none=True)
    hash = fields.String()
    prev_hash = fields.String()


EntryList = listing(EntryOut)


class VerifyOut(Out):
    ok = fields.Boolean()
    entries = fields.Integer()
    first_bad_seq = fields.Integer(allow_none=True)


class AssignmentIn(Schema):
    resource_id = Integer(required=True)
    quantity = Integer(load_default=1, metadata={"description": "units; persons for a shelter"})
    note = fields.String(allow_none=True)


class ReleaseIn(Schema):
    quantity = Integer(validate=validate.Range(min=1), metadata={
        "description": "how much to give back (units; persons for a shelter); absent: all of it. A part "
                       "given back becomes a released assignment of its own, answered here; the rest stays "
                       "assigned"})


class AssignmentOut(StaffSchema):
    staff_of = "assignments"

    id = fields.Integer()
    incident_id = fields.Integer()
    resource_id = fields.Integer()
    resource_name = fields.String(attribute="resource.name")
    quantity = fields.Integer()
    note = fields.String()
    assigned_at = fields.DateTime()
    assigned_by = StaffField("field", metadata={"description": "the user's e-mail for officers and admins; for "
                                                                "viewers the name and position"})
    assigned_by_name = StaffField("name", label="assigned_by", metadata={"description": "name and position"})
    released_at = fields.DateTime(allow_none=True)
    released_by = StaffField("field", allow_none=True, metadata={"description": "as assigned_by"})
    released_by_name = StaffField("name", label="released_by", allow_none=True)


AssignmentList = listing(AssignmentOut)


class OpenAssignmentOut(Out):
    """An assignment still open, as a refused closing lists it."""

    id = fields.Integer()
    resource_id = fields.Integer()
    resource_name = fields.String(attribute="resource.name")
    quantity = fields.Integer()
    unit = fields.Method("unit_of", metadata={"description": "the resource's unit; persons for a shelter"})
    assigned_at = fields.DateTime()

    def unit_of(self, assignment) -> str:
        resource = assignment.resource
        return "persons" if resource.kind == "shelter" else (resource.unit or "")


class PresentOut(Out):
    """A shelter where people are still checked in for the incident, as a refused closing lists it
    (a count: no names)."""

    shelter_id = fields.Integer()
    shelter_name = fields.String(attribute="name")
    present = fields.Integer()


class ClosingRefusedOut(Out):
    """409: closing while resources are still assigned, without ``release_assignments`` (then
    ``errors`` names ``assignments`` and they are listed), or while people are still checked in to
    shelters for it, without ``check_out_evacuees`` (then ``errors`` names ``evacuees`` and the
    shelters are listed with their counts); a stale version; a refused step."""

    class Meta:
        optional = ("errors", "assignments", "evacuees")

    code = fields.Integer()
    status = fields.String()
    message = fields.String()
    errors = fields.Dict(metadata={"example": {"json": {"assignments": ["Resources are still assigned…"]}}})
    assignments = fields.List(fields.Nested(OpenAssignmentOut))
    evacuees = fields.List(fields.Nested(PresentOut))


class AssignmentArgs(ListArgs):
    active = fields.Boolean()


class NearbyArgs(Schema):
    kind = fields.String()
    limit = Integer(load_default=10, validate=validate.Range(min=1, max=100))


def get_incident(incident_id: int) -> Incident:
    return db.get_or_404(Incident, incident_id)


def locked_incident(incident_id: int) -> Incident:
    return ops.lock_incident(incident_id)


incidents = Blueprint("api_incidents", __name__, url_prefix="/api/v1/incidents", description="Incidents and their log")
assignments = Blueprint("api_assignments", __name__, url_prefix="/api/v1/assignments", description="Assignments")
blueprints = (incidents, assignments)


@incidents.route("")
class Incidents(MethodView):
    @incidents.arguments(IncidentArgs, location="query")
    @incidents.response(200, IncidentList)
    def get(self, args):
        """List incidents, newest first."""
        query = ops.incidents_query(args.get("status"), args.get("drill"), args.get("kind"), args.get("q"))
        return page(query.options(undefer(Incident.area)), args)  # the area with the row, not one query each

    @incidents.arguments(IncidentIn)
    @incidents.response(201, IncidentOut)
    def post(self, data):
        """Record an incident (or a drill); it gets its number and starts as ``reported``."""
        incident = ops.create_incident(data)
        db.session.commit()
        return incident


@incidents.route("/<int:incident_id>")
class IncidentById(MethodView):
    @incidents.response(200, IncidentOut)
    def get(self, incident_id):
        """One incident."""
        return get_incident(incident_id)

    @incidents.arguments(IncidentPatch(partial=True))
    @incidents.response(200, IncidentOut)
    @incidents.alt_response(409, schema=ClosingRefusedOut, description=(
        "A stale version or a refused status step; or closing while resources are still assigned without "
        "release_assignments: then the error names assignments and they are listed; or closing while people are "
        "still checked in to shelters for it without check_out_evacuees: then the error names evacuees and the "
        "shelters are listed with their counts"))
    def patch(self, data, incident_id):
        """Change an incident or move its status (reported → active → contained → closed; reopen);
        the system writes every change to the log. Closing gives back the resources still assigned
        only if ``release_assignments`` says so (at ``released_at``, default now), and records that
        the people still checked in to shelters for it have left only if ``check_out_evacuees``
        says so, in the same transaction."""
        incident = locked_incident(incident_id)
        try:
            ops.update_incident(incident, data)
        except ops.AssignmentsOpen as exc:
            raise ConflictError(exc.message, exc.field, details={
                "assignments": OpenAssignmentOut(many=True).dump(exc.assignments)}) from None
        except ops.EvacueesPresent as exc:
            raise ConflictError(exc.message, exc.field, details={
                "evacuees": PresentOut(many=True).dump(exc.shelters)}) from None
        db.session.commit()
        return incident


@incidents.route("/<int:incident_id>/log")
class Log(MethodView):
    @incidents.arguments(ListArgs, location="query")
    @incidents.response(200, EntryList)
    def get(self, args, incident_id):
        """The activity log, oldest first."""
        get_incident(incident_id)
        return page(ops.log_query(incident_id), args)

    @incidents.arguments(EntryIn)
    @incidents.response(201, EntryOut)
    def post(self, data, incident_id):
        """Append an entry (note, decision, action, communication); ``corrects`` points at an
        earlier entry. Entries are never changed or deleted."""
        entry = ops.add_entry(incident_id, data)
        db.session.commit()
        return entry


@incidents.route("/<int:incident_id>/log/<int:seq>")
@incidents.response(200, EntryOut)
def log_entry(incident_id, seq):
    """One entry (PUT, PATCH and DELETE are refused with 405: the log is append-only)."""
    entry = db.session.execute(ops.log_query(incident_id).where(LogEntry.seq == seq)).scalar_one_or_none()
    if entry is None:
        abort(404)
    return entry


@incidents.route("/<int:incident_id>/log/verify")
@incidents.response(200, VerifyOut)
def verify(incident_id):
    """Recompute the hash chain; name the first entry that does not hold."""
    result = ops.verify_log(get_incident(incident_id))
    return {"ok": result.ok, "entries": result.entries, "first_bad_seq": result.first_bad_seq}


@incidents.route("/<int:incident_id>/log.csv")
@incidents.doc(responses=CSV_DOC)
def log_csv(incident_id):
    """The log as CSV in the shape of an ICS-214 activity log."""
    incident = get_incident(incident_id)
    return csv_response(ops.log_as_ics214(incident, sees_personal_data()), f"{incident.number}-ics214.csv")


@incidents.route("/<int:incident_id>/assignments")
class Assignments(MethodView):
    @incidents.arguments(AssignmentArgs, location="query")
    @incidents.response(200, AssignmentList)
    def get(self, args, incident_id):
        """Resources assigned to the incident (``active`` = not released)."""
        get_incident(incident_id)
        return page(ops.assignments_query(incident_id, args.get("active")), args)

    @incidents.arguments(AssignmentIn)
    @incidents.response(201, AssignmentOut)
    @incidents.alt_response(409, description="More than is available, or the incident is closed")
    def post(self, data, incident_id):
        """Assign (part of) a resource; never more than ``available_quantity``."""
        get_incident(incident_id)
        assignment = ops.assign(incident_id, data)
        db.session.commit()
        return assignment


@incidents.route("/<int:incident_id>/nearby-resources")
@incidents.arguments(NearbyArgs, location="query")
@incidents.response(200, ResourceList)
def nearby(args, incident_id):
    """Available resources nearest the incident, with ``distance_m``."""
    incident = get_incident(incident_id)
    hits = ops.nearby_resources(incident, args.get("kind"), args["limit"])
    return {"items": resource_hits(hits), "total": len(hits)}


@assignments.route("/<int:assignment_id>/release", methods=["POST"])
@assignments.arguments(ReleaseIn, required=False)
@assignments.response(200, AssignmentOut)
def release(data, assignment_id):
    """Give the resource back, all of it or ``quantity`` of it (written to the incident's log)."""
    assignment = ops.release(assignment_id, quantity=(data or {}).get("quantity"))
    db.session.commit()
    return assignment

