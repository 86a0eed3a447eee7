"""API: incidents, their activity log, assignments and nearby resources."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate

from ..extensions import db
from ..geo import to_geojson
from ..models import INCIDENT_KINDS, LOG_KINDS, SEVERITIES, STATUSES, Assignment, Incident, LogEntry
from ..operations import incidents as ops
from ..operations.staff import Staff, staff_for
from ..security import sees_personal_data
from .common import CSV_DOC, GEOJSON_POINT, Integer, ListArgs, geojson_area, page, search_text
from .registry import ResourceList, csv_response, resource_json

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
    status = fields.String(metadata={"enum": list(STATUSES)})
    version = Integer(load_only=True, metadata={"description": "the version you read; 409 if it changed"})


class IncidentPatch(IncidentIn):
    """Only the fields given are changed; ``status`` moves along the lifecycle."""


class IncidentOut(Schema):
    id = fields.Integer()
    number = fields.String(metadata={"example": "2026-0001"})
    title = fields.String()
    kind = fields.String()
    severity = fields.String()
    status = fields.String()
    drill = fields.Boolean()
    description = fields.String()
    commander = fields.String()
    location = fields.Dict(metadata=GEOJSON_POINT)
    area = fields.Dict(allow_none=True, metadata=GEOJSON_AREA)
    created_at = fields.String()
    updated_at = fields.String()
    activated_at = fields.String(allow_none=True)
    contained_at = fields.String(allow_none=True)
    closed_at = fields.String(allow_none=True)
    log_entries = fields.Integer()
    version = fields.Integer()


class IncidentList(Schema):
    items = fields.List(fields.Nested(IncidentOut))
    total = fields.Integer()


class IncidentArgs(ListArgs):
    status = fields.String(validate=validate.OneOf(STATUSES))
    drill = fields.Boolean()
    kind = fields.String(validate=validate.OneOf(INCIDENT_KINDS))
    q = search_text()


class EntryIn(Schema):
    text = fields.String(required=True)
    kind = fields.String(metadata={"enum": [k for k in LOG_KINDS if k != "system"]})
    corrects = Integer(allow_none=True, metadata={"description": "seq of the entry this one corrects"})


class EntryOut(Schema):
    seq = fields.Integer()
    at = fields.String()
    author = fields.String(metadata={"description": "as stored (the user's e-mail, or system, cli, sms…) for "
                                                    "officers and admins; for viewers the name and position"})
    author_name = fields.String(metadata={"description": "the author's name and position (system, cli, sms… as they are)"})
    kind = fields.String()
    text = fields.String()
    corrects = fields.Integer(allow_none=True)
    hash = fields.String()
    prev_hash = fields.String()


class EntryList(Schema):
    items = fields.List(fields.Nested(EntryOut))
    total = fields.Integer()


class VerifyOut(Schema):
    ok = fields.Boolean()
    entries = fields.Integer()
    first_bad_seq = fields.Integer(allow_none=True)


class AssignmentIn(Schema):
    resource_id = Integer(required=True)
    quantity = Integer(load_default=1, metadata={"description": "units; persons for a shelter"})
    note = fields.String(allow_none=True)


class AssignmentOut(Schema):
    id = fields.Integer()
    incident_id = fields.Integer()
    resource_id = fields.Integer()
    resource_name = fields.String()
    quantity = fields.Integer()
    note = fields.String()
    assigned_at = fields.String()
    assigned_by = fields.String(metadata={"description": "the user's e-mail for officers and admins; for viewers "
                                                         "the name and position"})
    assigned_by_name = fields.String(metadata={"description": "name and position"})
    released_at = fields.String(allow_none=True)
    released_by = fields.String(allow_none=True, metadata={"description": "as assigned_by"})
    released_by_name = fields.String(allow_none=True)


class AssignmentList(Schema):
    items = fields.List(fields.Nested(AssignmentOut))
    total = fields.Integer()


class AssignmentArgs(ListArgs):
    active = fields.Boolean()


class NearbyArgs(Schema):
    kind = fields.String()
    limit = Integer(load_default=10, validate=validate.Range(min=1, max=100))


def incident_json(incident: Incident) -> dict:
    def iso(value):
        return value.isoformat() if value else None

    return {
        "id": incident.id,
        "number": incident.number,
        "title": incident.title,
        "kind": incident.kind,
        "severity": incident.severity,
        "status": incident.status,
        "drill": incident.drill,
        "description": incident.description,
        "commander": incident.commander,
        "location": to_geojson(incident.location),
        "area": to_geojson(incident.area),
        "created_at": iso(incident.created_at),
        "updated_at": iso(incident.updated_at),
        "activated_at": iso(incident.activated_at),
        "contained_at": iso(incident.contained_at),
        "closed_at": iso(incident.closed_at),
        "log_entries": incident.log_count,
        "version": incident.version,
    }


def staff_of_entries(entries) -> Staff:
    """The authors of these log entries, for this reader."""
    return staff_for(entries=entries, personal=sees_personal_data())


def staff_of_assignments(assignments) -> Staff:
    return staff_for(assignments=assignments, personal=sees_personal_data())


def entry_json(entry, staff: Staff) -> dict:
    return {
        "seq": entry.seq,
        "at": entry.at.isoformat(),
        "author": staff.field(entry.author_id, entry.author),
        "author_name": staff.name(entry.author_id, entry.author),
        "kind": entry.kind,
        "text": entry.text,
        "corrects": entry.corrects,
        "hash": entry.hash,
        "prev_hash": entry.prev_hash,
    }


def assignment_json(assignment: Assignment, staff: Staff) -> dict:
    return {
        "id": assignment.id,
        "incident_id": assignment.incident_id,
        "resource_id": assignment.resource_id,
        "resource_name": assignment.resource.name,
        "quantity": assignment.quantity,
        "note": assignment.note,
        "assigned_at": assignment.assigned_at.isoformat(),
        "assigned_by": staff.field(None, assignment.assigned_by),
        "assigned_by_name": staff.name(None, assignment.assigned_by),
        "released_at": assignment.released_at.isoformat() if assignment.released_at else None,
        "released_by": staff.field(None, assignment.released_by),
        "released_by_name": staff.name(None, assignment.released_by),
    }


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
        result = page(ops.incidents_query(args.get("status"), args.get("drill"), args.get("kind"), args.get("q")), args)
        return {"items": [incident_json(i) for i in result["items"]], "total": result["total"]}

    @incidents.arguments(IncidentIn)
    @incidents.response(201, IncidentOut)
    def post(self, data):
        """Record an incident (or a drill); it gets its number and starts as ``reported``."""
        incident = ops.create_incident(data)
        db.session.commit()
        return incident_json(incident)


@incidents.route("/<int:incident_id>")
class IncidentById(MethodView):
    @incidents.response(200, IncidentOut)
    def get(self, incident_id):
        """One incident."""
        return incident_json(get_incident(incident_id))

    @incidents.arguments(IncidentPatch(partial=True))
    @incidents.response(200, IncidentOut)
    def patch(self, data, incident_id):
        """Change an incident or move its status (reported → active → contained → closed; reopen);
        the system writes every change to the log."""
        incident = locked_incident(incident_id)
        ops.update_incident(incident, data)
        db.session.commit()
        return incident_json(incident)


@incidents.route("/<int:incident_id>/log")
class Log(MethodView):
    @incidents.arguments(ListArgs, location="query")
    @incidents.response(200, EntryList)
    def get(self, args, incident_id):
        """The activity log, oldest first."""
        get_incident(incident_id)
        result = page(ops.log_query(incident_id), args)
        staff = staff_of_entries(result["items"])
        return {"items": [entry_json(e, staff) for e in result["items"]], "total": result["total"]}

    @incidents.arguments(EntryIn)
    @incidents.response(201, EntryOut)
    def post(self, data, incident_id):
        """Append an entry (note, decision, action, communication); ``corrects`` points at an
        earlier entry. Entries are never changed or deleted."""
        entry = ops.add_entry(incident_id, data)
        body = entry_json(entry, staff_of_entries([entry]))  # before the commit, which would expire it
        db.session.commit()
        return body


@incidents.route("/<int:incident_id>/log/<int:seq>")
@incidents.response(200, EntryOut)
def log_entry(incident_id, seq):
    """One entry (PUT, PATCH and DELETE are refused with 405: the log is append-only)."""
    entry = db.session.execute(ops.log_query(incident_id).where(LogEntry.seq == seq)).scalar_one_or_none()
    if entry is None:
        abort(404)
    return entry_json(entry, staff_of_entries([entry]))


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
        result = page(ops.assignments_query(incident_id, args.get("active")), args)
        staff = staff_of_assignments(result["items"])
        return {"items": [assignment_json(a, staff) for a in result["items"]], "total": result["total"]}

    @incidents.arguments(AssignmentIn)
    @incidents.response(201, AssignmentOut)
    @incidents.alt_response(409, description="More than is available, or the incident is closed")
    def post(self, data, incident_id):
        """Assign (part of) a resource; never more than ``available_quantity``."""
        get_incident(incident_id)
        assignment = ops.assign(incident_id, data)
        body = assignment_json(assignment, staff_of_assignments([assignment]))
        db.session.commit()
        return body


@incidents.route("/<int:incident_id>/nearby-resources")
@incidents.arguments(NearbyArgs, location="query")
@incidents.response(200, ResourceList)
def nearby(args, incident_id):
    """Available resources nearest the incident, with ``distance_m``."""
    incident = get_incident(incident_id)
    hits = ops.nearby_resources(incident, args.get("kind"), args["limit"])
    items = [resource_json(r, available, d) for r, d, available in hits]
    return {"items": items, "total": len(items)}


@assignments.route("/<int:assignment_id>/release", methods=["POST"])
@assignments.response(200, AssignmentOut)
def release(assignment_id):
    """Give the resource back (written to the incident's log)."""
    assignment = ops.release(assignment_id)
    db.session.commit()
    return assignment_json(assignment, staff_of_assignments([assignment]))

