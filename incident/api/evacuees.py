"""API: the reception register (SPEC §6). Evacuees' personal data only to officers and admins
(everyone else: 403), every list and read of them audited; the headcounts of an incident
(``/incidents/<id>/reception``) to every role, counts only."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import Schema, fields, validate

from ..database import write_during_read
from ..extensions import db
from ..models import EVACUEE_STATUSES, NEEDS, Incident
from ..operations import evacuees as ops
from ..security import require_role
from ..spreadsheet import csv_response
from .common import CSV_DOC, Blueprint, Integer, ListArgs, search_text
from .fields import Out, listing
from .registry import ImportArgs, ImportFile, ImportReport, _upload

NEED_LIST = {"type": "array", "items": {"type": "string", "enum": list(NEEDS)}}


class PersonIn(Schema):
    name = fields.String(required=True)
    birth_year = Integer(allow_none=True)
    phone = fields.String(allow_none=True)
    household = fields.String(allow_none=True, metadata={"description": "a label the members of one household share"})
    needs = fields.List(fields.String(), allow_none=True, metadata=NEED_LIST)
    notes = fields.String(allow_none=True)


class EvacueeIn(PersonIn):
    incident_id = Integer(required=True)
    shelter_id = Integer(required=True, metadata={"description": "a resource of kind shelter"})


class HouseholdIn(Schema):
    incident_id = Integer(required=True)
    shelter_id = Integer(required=True)
    household = fields.String(allow_none=True, metadata={"description": "the label every member gets"})
    members = fields.List(fields.Dict(), required=True, metadata={
        "description": "[{name, birth_year?, phone?, needs?, notes?}]: checked in together, all or nothing"})


class PersonPatch(Schema):
    name = fields.String()
    birth_year = Integer(allow_none=True)
    phone = fields.String(allow_none=True)
    household = fields.String(allow_none=True)
    needs = fields.List(fields.String(), allow_none=True, metadata=NEED_LIST)
    notes = fields.String(allow_none=True)
    destination = fields.String(allow_none=True)
    version = Integer(load_only=True, metadata={"description": "the version you read; 409 if it changed"})


class MoveIn(Schema):
    shelter_id = Integer(required=True)


class CheckoutIn(Schema):
    destination = fields.String(allow_none=True)


class EvacueeOut(Out):
    id = fields.Integer(metadata={"description": "the register number"})
    incident_id = fields.Integer()
    shelter_id = fields.Integer()
    shelter_name = fields.String(attribute="shelter.name")
    drill = fields.Boolean(attribute="incident.drill")
    status = fields.String(metadata={"enum": list(EVACUEE_STATUSES)})
    name = fields.String()
    birth_year = fields.Integer(allow_none=True)
    phone = fields.String()
    household = fields.String()
    needs = fields.List(fields.String(), attribute="need_list", metadata=NEED_LIST)
    notes = fields.String()
    destination = fields.String()
    checked_in_at = fields.DateTime()
    checked_in_by = fields.String()
    checked_out_at = fields.DateTime(allow_none=True)
    purged_at = fields.DateTime(allow_none=True, metadata={
        "description": "when the personal data were erased (riado evacuees purge); null while kept"})
    version = fields.Integer(metadata={"description": "send it back with PATCH: a stale edit is refused (409)"})


EvacueeList = listing(EvacueeOut)


class DuplicateOut(Out):
    member = fields.Integer(metadata={"description": "the index of the person in the request (0 for one person)"})
    evacuee_id = fields.Integer()
    incident_id = fields.Integer()
    shelter_id = fields.Integer()
    shelter_name = fields.String()


class CheckedInOut(EvacueeOut):
    duplicates = fields.List(fields.Nested(DuplicateOut), metadata={
        "description": "people present now (anywhere) with the same name and birth year: a warning"})


class HouseholdOut(Out):
    items = fields.List(fields.Nested(EvacueeOut))
    total = fields.Integer()
    duplicates = fields.List(fields.Nested(DuplicateOut))


class EvacueeArgs(ListArgs):
    incident_id = Integer()
    shelter_id = Integer()
    status = fields.String(validate=validate.OneOf(EVACUEE_STATUSES))
    drill = fields.Boolean()
    q = search_text(metadata={"description": "name, accents and case ignored"})


class RegisterArgs(Schema):
    incident_id = Integer(required=True)
    shelter_id = Integer(required=True)


class RegisterImportArgs(ImportArgs, RegisterArgs):
    pass


class CountsOut(Out):
    present = fields.Integer()
    received = fields.Integer(metadata={"description": "everyone ever checked in, those who left too"})
    children = fields.Integer(metadata={"description": "present, under 14 (from birth_year)"})
    elderly = fields.Integer(metadata={"description": "present, 65 or over"})
    needs = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata={"description": "present, per need"})


class ShelterCountsOut(CountsOut):
    shelter_id = fields.Integer()
    name = fields.String()
    capacity = fields.Integer(allow_none=True)
    free_places = fields.Integer(metadata={"description": "the shelter's available_quantity now"})


class TotalsOut(CountsOut):
    capacity = fields.Integer()
    free_places = fields.Integer()


class ReceptionOut(Out):
    incident_id = fields.Integer()
    drill = fields.Boolean()
    year = fields.Integer(metadata={"description": "the year ages are counted in"})
    shelters = fields.List(fields.Nested(ShelterCountsOut))
    totals = fields.Nested(TotalsOut)


evacuees = Blueprint("api_evacuees", __name__, url_prefix="/api/v1/evacuees",
                     description="The reception register (officers and admins)")
reception = Blueprint("api_reception", __name__, url_prefix="/api/v1/incidents",
                      description="Reception headcounts (every role)")
blueprints = (evacuees, reception)


def _duplicates(found) -> list[dict]:
    return [{"member": index, "evacuee_id": e.id, "incident_id": e.incident_id, "shelter_id": e.shelter_id,
             "shelter_name": e.shelter.name} for index, e in found]


@evacuees.route("")
class Evacuees(MethodView):
    @require_role("officer")
    @evacuees.arguments(EvacueeArgs, location="query")
    @evacuees.response(200, EvacueeList)
    def get(self, args):
        """Evacuees by incident, shelter, status and name (accents and case ignored), present
        first; written to the audit trail (``search``: the ids found, never the name searched)."""
        write_during_read(db.session)
        result = ops.search(args, args["limit"], args["offset"])
        db.session.commit()
        return result

    @require_role("officer")
    @evacuees.arguments(EvacueeIn)
    @evacuees.response(201, CheckedInOut)
    @evacuees.alt_response(409, description="The shelter has no free place (free_places says how many), or the "
                                            "incident is closed")
    def post(self, data):
        """Check a person in to a shelter for an incident (``status`` present)."""
        evacuee, found = ops.check_in(data)
        db.session.commit()
        evacuee.duplicates = _duplicates(found)
        return evacuee


@evacuees.route("/household", methods=["POST"])
@require_role("officer")
@evacuees.arguments(HouseholdIn)
@evacuees.response(201, HouseholdOut)
@evacuees.alt_response(409, description="Not every member fits in the shelter's free places: nobody is checked in")
def check_in_household(data):
    """Check a household in together, all or nothing (errors name ``members.<i>.<field>``)."""
    people, found = ops.check_in_household(data, data["members"], data.get("household"))
    db.session.commit()
    return {"items": people, "total": len(people), "duplicates": _duplicates(found)}


@evacuees.route("/<int:evacuee_id>")
class EvacueeById(MethodView):
    @require_role("officer")
    @evacuees.response(200, EvacueeOut)
    def get(self, evacuee_id):
        """One evacuee; written to the audit trail (``read``)."""
        write_during_read(db.session)
        evacuee = ops.read(evacuee_id)
        db.session.commit()
        return evacuee

    @require_role("officer")
    @evacuees.arguments(PersonPatch(partial=True))
    @evacuees.response(200, EvacueeOut)
    @evacuees.alt_response(409, description="A stale version (someone changed the record since you read it), or "
                                            "the record's personal data were erased")
    def patch(self, data, evacuee_id):
        """Correct what was written about a person; send the ``version`` you read, and a change
        made meanwhile by someone else is refused (409) instead of overwritten."""
        evacuee = ops.lock_evacuee(evacuee_id)
        ops.update_person(evacuee, data)
        db.session.commit()
        return evacuee


@evacuees.route("/<int:evacuee_id>/move", methods=["POST"])
@require_role("officer")
@evacuees.arguments(MoveIn)
@evacuees.response(200, EvacueeOut)
@evacuees.alt_response(409, description="The shelter has no free place, or the evacuee has left")
def move(data, evacuee_id):
    """Move a present evacuee to another shelter."""
    evacuee = ops.move(evacuee_id, data)
    db.session.commit()
    return evacuee


@evacuees.route("/<int:evacuee_id>/checkout", methods=["POST"])
@require_role("officer")
@evacuees.arguments(CheckoutIn, required=False)
@evacuees.response(200, EvacueeOut)
@evacuees.alt_response(409, description="The evacuee has left already")
def checkout(data, evacuee_id):
    """The evacuee leaves (``status`` left), to ``destination`` if given."""
    evacuee = ops.check_out(evacuee_id, data or {})
    db.session.commit()
    return evacuee


@evacuees.route("/export.csv", methods=["GET"])
@require_role("officer")
@evacuees.arguments(RegisterArgs, location="query")
@evacuees.doc(responses=CSV_DOC)
def export_csv(args):
    """A shelter's register for an incident as CSV (audited as a ``search``)."""
    write_during_read(db.session)
    text, ids = ops.export_csv(args["incident_id"], args["shelter_id"])
    ops.audit_search(args, ids, len(ids))
    db.session.commit()
    return csv_response(text, f"reception-{args['incident_id']}-{args['shelter_id']}.csv")


@evacuees.route("/import", methods=["POST"])
@require_role("officer")
@evacuees.arguments(RegisterImportArgs, location="query")
@evacuees.arguments(ImportFile, location="files")
@evacuees.response(200, ImportReport)
def import_csv(args, _files):
    """Import a shelter's register from CSV, all or nothing: rows without a register number check
    people in (all must fit), rows with one correct that person."""
    report = ops.import_csv(_upload(), args["incident_id"], args["shelter_id"], dry_run=args["dry_run"])
    db.session.commit()
    return report


@reception.route("/<int:incident_id>/reception")
@reception.response(200, ReceptionOut)
def incident_reception(incident_id):
    """Headcounts of the incident's evacuees per shelter and in total (counts only, no names):
    present, children (under 14), elderly (65 or over), each need."""
    incident = db.get_or_404(Incident, incident_id)
    return {"incident_id": incident.id, "drill": incident.drill, **ops.summary(incident.id)}

