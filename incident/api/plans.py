"""API: readiness plans (SPEC §7), their JSON/CSV exchange, and the checklists applied to incidents."""

from __future__ import annotations

from flask import Response, request
from flask.views import MethodView
from flask_smorest import abort
from marshmallow import Schema, fields, validate

from ..extensions import db
from ..models import INCIDENT_KINDS, PLAN_LEVELS, TASK_STATUSES, Incident, IncidentTask, Plan
from ..operations import plans as ops
from ..spreadsheet import csv_response
from .common import CSV_DOC, Blueprint, Integer, ListArgs, page
from .fields import Out, StaffField, StaffSchema, listing
from .registry import ImportArgs, ImportFile

JSON_FILE_DOC = {"200": {"description": "the plans as a JSON file: {format, format_version, plans: [{name, hazard, "
                                         "level, description, revision, tasks: [...]}]}; imports back",
                          "content": {"application/json": {"schema": {
                              "type": "object", "required": ["format", "format_version", "plans"],
                              "properties": {"format": {"type": "string"}, "format_version": {"type": "integer"},
                                             "plans": {"type": "array", "items": {"type": "object"}}}}}}}}


class PlanTaskIn(Schema):
    title = fields.String(required=True)
    details = fields.String(allow_none=True)
    responsible = fields.String(allow_none=True, metadata={"description": "a role or a group"})
    due_minutes = Integer(allow_none=True, metadata={"description": "minutes from the plan's activation"})


class PlanIn(Schema):
    name = fields.String(required=True)
    hazard = fields.String(required=True, metadata={"enum": list(INCIDENT_KINDS),
                                                    "description": "an incident kind: the plan matches by it"})
    level = Integer(allow_none=True, metadata={"enum": list(PLAN_LEVELS), "description": "readiness level; none: any"})
    description = fields.String(allow_none=True)
    tasks = fields.List(fields.Dict(), metadata={"description": "in order: [{title, details?, responsible?, "
                                                               "due_minutes?}]; problems named tasks.<n>.<field>, "
                                                               "n from 1"})


class PlanPatch(PlanIn):
    version = Integer(load_only=True, metadata={"description": "the version you read; 409 if it changed"})


class PlanTaskOut(Out):
    id = fields.Integer()
    position = fields.Integer()
    title = fields.String()
    details = fields.String()
    responsible = fields.String()
    due_minutes = fields.Integer(allow_none=True)


class PlanOut(Out):
    id = fields.Integer()
    name = fields.String()
    hazard = fields.String()
    level = fields.Integer(allow_none=True)
    description = fields.String()
    revision = fields.Integer(metadata={"description": "the plan's edition, one up on every change"})
    version = fields.Integer(metadata={"description": "send it back with PATCH: a stale edit is refused (409)"})
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    tasks = fields.List(fields.Nested(PlanTaskOut))


PlanList = listing(PlanOut)


class PlanArgs(ListArgs):
    hazard = fields.String(validate=validate.OneOf(INCIDENT_KINDS))
    level = Integer(validate=validate.OneOf(PLAN_LEVELS))


class PlanExportArgs(Schema):
    hazard = fields.String(validate=validate.OneOf(INCIDENT_KINDS))


class PlanImportOut(Out):
    created = fields.Integer(metadata={"description": "plans created (0 with dry_run or any error)"})
    plans = fields.List(fields.String(), metadata={"description": "their names"})
    dry_run = fields.Boolean()
    errors = fields.List(fields.Dict(), metadata={
        "description": "[{row, field, label, message}] in the file's order: row is the CSV row (the header is 1) or "
                       "the plan's number in a JSON file; field the CSV column (in JSON the plan's key, "
                       "tasks.<n>.<key> for its n-th task, n from 1); label the field in the page's language; "
                       "any error imports nothing"})


class IncidentTaskOut(StaffSchema):
    staff_of = "tasks"

    id = fields.Integer()
    incident_id = fields.Integer()
    plan_id = fields.Integer(allow_none=True)
    plan_name = fields.String()
    plan_revision = fields.Integer()
    position = fields.Integer()
    title = fields.String()
    details = fields.String()
    responsible = fields.String()
    status = fields.String(metadata={"enum": list(TASK_STATUSES)})
    note = fields.String()
    due_at = fields.DateTime(allow_none=True)
    done_at = fields.DateTime(allow_none=True)
    done_by = StaffField("field", allow_none=True, metadata={
        "description": "who marked it done or skipped: the user's e-mail for officers and admins, the name "
                       "and position for viewers"})
    done_by_name = StaffField("name", label="done_by", allow_none=True)
    applied_at = fields.DateTime()
    overdue = fields.Method("is_overdue", metadata={"description": "open and past due_at"})
    version = fields.Integer()

    def is_overdue(self, task) -> bool:
        return task.overdue(ops.utcnow())


IncidentTaskList = listing(IncidentTaskOut)


class ApplyIn(Schema):
    plan_id = Integer(required=True)


class AppliedOut(Out):
    plan_id = fields.Integer()
    plan_name = fields.String()
    plan_revision = fields.Integer()
    applied_at = fields.DateTime()
    tasks = fields.Nested(IncidentTaskOut, many=True)


class IncidentTaskArgs(ListArgs):
    status = fields.String(validate=validate.OneOf(TASK_STATUSES))


class IncidentTaskPatch(Schema):
    status = fields.String(required=True, metadata={"enum": list(TASK_STATUSES)})
    note = fields.String(allow_none=True, metadata={"description": "with skipped: the reason (required)"})
    version = Integer(load_only=True, metadata={"description": "the version you read; 409 if it changed"})


plans = Blueprint("api_plans", __name__, url_prefix="/api/v1/plans", description="Readiness plans")
incident_plans = Blueprint("api_incident_plans", __name__, url_prefix="/api/v1/incidents",
                           description="Checklists on incidents")
incident_tasks = Blueprint("api_incident_tasks", __name__, url_prefix="/api/v1/incident-tasks",
                           description="Tasks of incidents")
blueprints = (plans, incident_plans, incident_tasks)


@plans.route("")
class Plans(MethodView):
    @plans.arguments(PlanArgs, location="query")
    @plans.response(200, PlanList)
    def get(self, args):
        """Plans, by hazard and level (``hazard``: an incident kind)."""
        return page(ops.plans_query(args.get("hazard"), args.get("level")), args)

    @plans.arguments(PlanIn)
    @plans.response(201, PlanOut)
    @plans.alt_response(409, description="A plan of this name exists")
    def post(self, data):
        """Write a plan: its hazard, level and tasks in order."""
        plan = ops.create_plan(data)
        db.session.commit()
        return plan


def _export(plans_, fmt: str, name: str):
    if fmt == "csv":
        return csv_response(ops.export_csv(plans_), f"{name}.csv")
    return Response(ops.export_json(plans_).encode("utf-8"), mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="{name}.json"', "Cache-Control": "no-store"})


@plans.route("/export.json")
@plans.arguments(PlanExportArgs, location="query")
@plans.doc(responses=JSON_FILE_DOC)
def export_all_json(args):
    """Every plan (or a hazard's) as JSON, to share with another municipality; imports back."""
    return _export(ops.all_plans(args.get("hazard")), "json", "plans")


@plans.route("/export.csv")
@plans.arguments(PlanExportArgs, location="query")
@plans.doc(responses=CSV_DOC)
def export_all_csv(args):
    """Every plan (or a hazard's) as CSV, one row per task; imports back."""
    return _export(ops.all_plans(args.get("hazard")), "csv", "plans")


@plans.route("/import", methods=["POST"])
@plans.arguments(ImportArgs, location="query")
@plans.arguments(ImportFile, location="files")
@plans.response(200, PlanImportOut)
def import_plans(args, _files):
    """Import plans from a JSON or CSV file (as the exports write them); any problem imports
    nothing, and each is named by row and field. A plan named as one already here is refused."""
    upload = request.files.get("file")
    if upload is None:
        abort(422, errors={"files": {"file": ["Send the file as multipart form field 'file'."]}})
    result = ops.import_plans(upload.read(ops.MAX_IMPORT_BYTES + 1), upload.filename or "", dry_run=args["dry_run"])
    if result.errors or args["dry_run"]:
        db.session.rollback()
    else:
        db.session.commit()
    return {"created": 0 if args["dry_run"] or result.errors else len(result.plans),
            "plans": [p["name"] if isinstance(p, dict) else p.name for p in result.plans],
            "dry_run": args["dry_run"], "errors": result.errors}


@plans.route("/<int:plan_id>")
class PlanById(MethodView):
    @plans.response(200, PlanOut)
    def get(self, plan_id):
        """One plan with its tasks in order."""
        return db.get_or_404(Plan, plan_id)

    @plans.arguments(PlanPatch(partial=True))
    @plans.response(200, PlanOut)
    @plans.alt_response(409, description="A stale version, or a plan of this name exists")
    def patch(self, data, plan_id):
        """Change a plan (``tasks``: the whole list in its new order); a change is a new revision.
        Tasks already applied to incidents are not touched."""
        db.get_or_404(Plan, plan_id)
        plan = ops.update_plan(plan_id, data)
        db.session.commit()
        return plan

    @plans.response(204)
    def delete(self, plan_id):
        """Delete a plan (incidents keep the tasks copied from it)."""
        db.get_or_404(Plan, plan_id)
        ops.delete_plan(plan_id)
        db.session.commit()


@plans.route("/<int:plan_id>/export.json")
@plans.doc(responses=JSON_FILE_DOC)
def export_json(plan_id):
    """One plan as JSON."""
    return _export([db.get_or_404(Plan, plan_id)], "json", f"plan-{plan_id}")


@plans.route("/<int:plan_id>/export.csv")
@plans.doc(responses=CSV_DOC)
def export_csv(plan_id):
    """One plan as CSV."""
    return _export([db.get_or_404(Plan, plan_id)], "csv", f"plan-{plan_id}")


@incident_plans.route("/<int:incident_id>/plans", methods=["POST"])
@incident_plans.arguments(ApplyIn)
@incident_plans.response(201, AppliedOut)
@incident_plans.alt_response(409, description="The plan was already applied, or the incident is closed")
def apply(data, incident_id):
    """Apply a plan: its tasks are copied onto the incident (status open), each due
    ``due_minutes`` after now; written to the log."""
    db.get_or_404(Incident, incident_id)
    tasks = ops.apply_plan(incident_id, data["plan_id"])
    db.session.commit()
    plan = db.session.get(Plan, data["plan_id"])
    applied_at = tasks[0].applied_at if tasks else ops.utcnow()
    return {"plan_id": plan.id, "plan_name": plan.name, "plan_revision": plan.revision, "applied_at": applied_at,
            "tasks": tasks}


@incident_plans.route("/<int:incident_id>/tasks")
@incident_plans.arguments(IncidentTaskArgs, location="query")
@incident_plans.response(200, IncidentTaskList)
def tasks(args, incident_id):
    """The incident's tasks in order (``overdue``: open and past due)."""
    db.get_or_404(Incident, incident_id)
    return page(ops.tasks_query(incident_id, args.get("status")), args)


@incident_tasks.route("/<int:task_id>")
class TaskById(MethodView):
    @incident_tasks.response(200, IncidentTaskOut)
    def get(self, task_id):
        """One task of an incident."""
        return db.get_or_404(IncidentTask, task_id)

    @incident_tasks.arguments(IncidentTaskPatch)
    @incident_tasks.response(200, IncidentTaskOut)
    @incident_tasks.alt_response(409, description="A stale version, or the incident is closed")
    def patch(self, data, task_id):
        """Mark a task done, skipped (``note``: why, required) or open again; written to the
        incident's log by the system, in your name. The status it already has changes nothing
        (two officers ticking it at once make one change, one entry)."""
        db.get_or_404(IncidentTask, task_id)
        task, _changed = ops.change_task(task_id, data)
        db.session.commit()
        return task
