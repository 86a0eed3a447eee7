"""API: contacts, alert groups, resources and resource kinds."""

from __future__ import annotations

from flask import request
from flask.views import MethodView
from flask_babel import force_locale
from flask_smorest import abort
from marshmallow import Schema, fields, missing, validate
from sqlalchemy.orm import lazyload, selectinload

from ..config import LOCALES
from ..extensions import db
from ..geo import point_from_lonlat
from ..models import RESOURCE_STATUSES, AlertGroup, Contact, Resource
from ..operations import contacts as contact_ops
from ..operations import csvio
from ..operations import resources as resource_ops
from ..operations.csvheaders import CODES, HEADERS
from ..phones import mask_email, mask_phone
from ..security import require_role, sees_personal_data
from ..spreadsheet import csv_response
from .common import CSV_DOC, GEOJSON_POINT, Blueprint, Integer, ListArgs, confirm_far_field, page, search_text
from .fields import Geometry, Out, Personal, With, listing


# Schemas (input types and the OpenAPI document; domain rules live in the operations)


class ContactIn(Schema):
    name = fields.String(required=True)
    phone = fields.String(required=True, metadata={"example": "06 30 123 4567"})
    email = fields.String(load_default=None, allow_none=True)
    organization = fields.String(allow_none=True)
    role = fields.String(allow_none=True)
    groups = fields.List(Integer(), metadata={"description": "alert group ids"})
    sms_opt_in = fields.Boolean()
    location = fields.Dict(allow_none=True, metadata=GEOJSON_POINT)
    notes = fields.String(allow_none=True)
    public = fields.Boolean(metadata={"description": "a shelter shown on the public page with its free places"})
    version = Integer(load_only=True, metadata={"description": "the version you read; 409 if it changed"})


class ContactPatch(ContactIn):
    """Only the fields given are changed."""


class GroupId(Schema):
    id = fields.Integer()


class ContactOut(Out):
    id = fields.Integer()
    name = fields.String()
    phone = Personal(mask_phone, metadata={"description": "E.164; masked for viewers"})
    email = Personal(mask_email, metadata={"description": "masked for viewers"})
    organization = fields.String()
    role = fields.String()
    groups = fields.Pluck(GroupId, "id", many=True, metadata={"description": "alert group ids"})
    sms_opt_in = fields.Boolean(attribute="reachable_by_sms")
    opted_out_at = fields.DateTime(allow_none=True)
    location = Geometry(allow_none=True, metadata=GEOJSON_POINT)
    notes = fields.String()
    version = fields.Integer()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


ContactList = listing(ContactOut)


class ContactArgs(ListArgs):
    q = search_text(metadata={"description": "search in name, organization, role, and for officers and admins "
                                           "also email and phone (accents ignored)"})
    group = Integer(metadata={"description": "alert group id"})
    opted_in = fields.Boolean()


class GroupIn(Schema):
    name = fields.String(required=True)
    description = fields.String(allow_none=True)
    press_list = fields.Boolean(metadata={"description": "a press list: the press role may e-mail public notices "
                                                         "to it, and to no other group (default false)"})


class GroupPatch(GroupIn):
    """Only the fields given are changed."""


class GroupOut(Out):
    class Meta:
        optional = ("members",)

    id = fields.Integer()
    name = fields.String()
    description = fields.String()
    press_list = fields.Boolean()
    member_count = fields.Integer()
    members = fields.Nested(ContactOut, many=True, metadata={"description": "only on GET /groups/<id>"})


GroupList = listing(GroupOut)


class ResourceIn(Schema):
    name = fields.String(required=True)
    kind = fields.String(required=True, metadata={"description": "a code from /resource-kinds"})
    quantity = Integer(validate=validate.Range(min=0))
    unit = fields.String(allow_none=True)
    capacity = Integer(allow_none=True, validate=validate.Range(min=0), metadata={"description": "persons (shelters)"})
    status = fields.String(validate=validate.OneOf(RESOURCE_STATUSES))
    owner = fields.String(allow_none=True)
    contact_id = Integer(allow_none=True)
    location = fields.Dict(required=True, allow_none=True, metadata=GEOJSON_POINT)
    notes = fields.String(allow_none=True)
    version = Integer(load_only=True, metadata={"description": "the version you read; 409 if it changed"})
    confirm_far = confirm_far_field()


class ResourcePatch(ResourceIn):
    """Only the fields given are changed."""


class ResourceOut(Out):
    """A resource ``With`` its ``available_quantity`` (and ``distance_m`` when nearest)."""

    class Meta:
        optional = ("distance_m",)

    id = fields.Integer()
    name = fields.String()
    kind = fields.String()
    quantity = fields.Integer()
    available_quantity = fields.Integer()
    unit = fields.String()
    capacity = fields.Integer(allow_none=True)
    status = fields.String()
    owner = fields.String()
    contact_id = fields.Integer(allow_none=True)
    location = Geometry(metadata=GEOJSON_POINT)
    notes = fields.String()
    public = fields.Boolean(metadata={"description": "a shelter shown on the public page (/public)"})
    version = fields.Integer()
    distance_m = fields.Float(metadata={"description": "with lat/lon: metres from that point"})
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


ResourceList = listing(ResourceOut)


class ResourceArgs(ListArgs):
    kind = fields.String()
    status = fields.String(validate=validate.OneOf(RESOURCE_STATUSES))
    q = search_text()
    lat = fields.Float(validate=validate.Range(min=-90, max=90))
    lon = fields.Float(validate=validate.Range(min=-180, max=180))
    within_m = fields.Float(validate=validate.Range(min=0, min_inclusive=False))


class KindSchema(Out):
    code = fields.String(required=True)
    label_hu = fields.String(required=True)
    label_en = fields.String(required=True)


KindList = listing(KindSchema, "KindList")


class ImportArgs(Schema):
    dry_run = fields.Boolean(load_default=False)


class ResourceImportArgs(ImportArgs):
    confirm_far = fields.Boolean(load_default=False, metadata={
        "description": "take places far from the municipality (RIADO_MAX_DISTANCE_KM) as they are"})


class ImportFile(Schema):
    file = fields.Raw(metadata={"type": "string", "format": "binary"}, required=True)


class ImportReport(Out):
    created = fields.Integer()
    updated = fields.Integer()
    unchanged = fields.Integer(metadata={"description": "rows with an id whose record already had these values"})
    dry_run = fields.Boolean()
    errors = fields.List(fields.Dict(), metadata={
        "description": "[{row, field, message, name, value}]: the row's name and the bad cell (null for the header)"})
    warnings = fields.List(fields.Dict(), metadata={
        "description": "[{row, name, phone, message}]: new contacts with the name and phone of one already there "
                       "(or of an earlier row); imported all the same"})


class ExportArgs(Schema):
    headers = fields.String(load_default=CODES, validate=validate.OneOf(HEADERS), metadata={
        "description": "codes (name, phone, …: the default) or labels (the UI's column names, and its words for "
                       "yes/no, kinds and statuses, in lang); both import back"})
    lang = fields.String(load_default="en", validate=validate.OneOf(LOCALES),
                         metadata={"description": "the language of headers=labels"})


# Records with what they do not store


def with_availability(resources) -> list[With]:
    """Resources ``With`` their ``available_quantity`` (one query)."""
    available = resource_ops.available_quantities(r.id for r in resources)
    return [With(r, available_quantity=available.get(r.id, 0)) for r in resources]


def resource_hits(hits) -> list[With]:
    """``[(resource, distance_m, available)]`` of a nearest search, for ResourceOut."""
    return [With(r, available_quantity=available, distance_m=round(d, 1)) for r, d, available in hits]


def _export(make, filename: str, args: dict):
    """An export as the API writes it: columns by their codes, unless ``headers=labels`` asks
    for the UI's names in ``lang``."""
    with force_locale(args["lang"]):
        return csv_response(make(headers=args["headers"]), filename)


def _upload() -> bytes:
    upload = request.files.get("file")
    if upload is None:
        abort(422, errors={"files": {"file": ["Send the CSV file as multipart form field 'file'."]}})
    return upload.read(csvio.MAX_BYTES + 1)


contacts = Blueprint("api_contacts", __name__, url_prefix="/api/v1/contacts", description="Emergency contacts")
groups = Blueprint("api_groups", __name__, url_prefix="/api/v1/groups", description="Alert groups")
resources = Blueprint("api_resources", __name__, url_prefix="/api/v1/resources", description="Forces and equipment")
kinds = Blueprint("api_kinds", __name__, url_prefix="/api/v1/resource-kinds", description="Resource kinds")
blueprints = (contacts, groups, resources, kinds)


@contacts.route("")
class Contacts(MethodView):
    @contacts.arguments(ContactArgs, location="query")
    @contacts.response(200, ContactList)
    def get(self, args):
        """List contacts (by name), searched and filtered."""
        query = contact_ops.contacts_query(args.get("q"), args.get("group"), args.get("opted_in"),
                                           personal=sees_personal_data())
        return page(query.options(selectinload(Contact.groups)), args)

    @contacts.arguments(ContactIn)
    @contacts.response(201, ContactOut)
    def post(self, data):
        """Add a contact; the phone number is stored in E.164."""
        contact = contact_ops.create_contact(data)
        db.session.commit()
        return contact


@contacts.route("/<int:contact_id>")
class ContactById(MethodView):
    @contacts.response(200, ContactOut)
    def get(self, contact_id):
        """One contact."""
        return db.get_or_404(Contact, contact_id)

    @contacts.arguments(ContactPatch(partial=True))
    @contacts.response(200, ContactOut)
    def patch(self, data, contact_id):
        """Change some fields of a contact."""
        contact = db.get_or_404(Contact, contact_id)
        contact_ops.update_contact(contact, data)
        db.session.commit()
        return contact

    @contacts.response(204)
    def delete(self, contact_id):
        """Remove a contact (resources keep their record, without this contact)."""
        contact_ops.delete_contact(db.get_or_404(Contact, contact_id))
        db.session.commit()


@contacts.route("/import", methods=["POST"])
@contacts.arguments(ImportArgs, location="query")
@contacts.arguments(ImportFile, location="files")
@contacts.response(200, ImportReport)
def import_contacts(args, _files):
    """Import contacts from CSV (UTF-8 with or without BOM, comma or semicolon). Rows with an
    ``id`` update that contact; any bad row imports nothing and every bad row is reported."""
    report = csvio.import_contacts(_upload(), dry_run=args["dry_run"])
    db.session.commit()  # nothing to commit after a dry run or a bad row (rolled back)
    return report


@contacts.route("/export.csv")
@contacts.arguments(ExportArgs, location="query")
@contacts.doc(responses=CSV_DOC)
def export_contacts(args):
    """All contacts as CSV (phones and emails masked for viewers)."""
    personal = sees_personal_data()
    return _export(lambda headers: csvio.export_contacts(personal=personal, headers=headers), "contacts.csv", args)


@groups.route("")
class Groups(MethodView):
    @groups.arguments(ListArgs, location="query")
    @groups.response(200, GroupList)
    def get(self, args):
        """List alert groups."""
        result = page(contact_ops.groups_query(), args)
        counts = contact_ops.group_member_counts()
        return {"items": [With(g, member_count=counts.get(g.id, 0)) for g in result["items"]], "total": result["total"]}

    @groups.arguments(GroupIn)
    @groups.response(201, GroupOut)
    def post(self, data):
        """Add an alert group; members join it through their contact's ``groups``."""
        group = contact_ops.create_group(data)
        db.session.commit()
        return With(group, member_count=0, members=missing)


@groups.route("/<int:group_id>")
class GroupById(MethodView):
    @groups.response(200, GroupOut)
    def get(self, group_id):
        """An alert group with its members."""
        group = db.get_or_404(AlertGroup, group_id)
        return With(group, member_count=len(group.members))

    @groups.arguments(GroupPatch(partial=True))
    @groups.response(200, GroupOut)
    def patch(self, data, group_id):
        """Rename or describe a group."""
        group = db.get_or_404(AlertGroup, group_id)
        contact_ops.update_group(group, data)
        db.session.commit()
        return With(group, member_count=len(group.members), members=missing)

    @groups.response(204)
    def delete(self, group_id):
        """Remove a group (its members stay as contacts)."""
        contact_ops.delete_group(db.get_or_404(AlertGroup, group_id))
        db.session.commit()


@resources.route("")
class Resources(MethodView):
    @resources.arguments(ResourceArgs, location="query")
    @resources.response(200, ResourceList)
    def get(self, args):
        """List resources; with ``lat`` and ``lon``, nearest first with ``distance_m`` (metres)."""
        has_lat, has_lon = "lat" in args, "lon" in args
        if has_lat != has_lon:
            abort(422, errors={"query": {"lon" if has_lat else "lat": ["Give both lat and lon."]}})
        if "within_m" in args and not has_lat:
            abort(422, errors={"query": {"within_m": ["within_m needs lat and lon."]}})
        if has_lat:
            point = point_from_lonlat(args["lon"], args["lat"], "lat")
            hits = resource_ops.nearest_resources(
                point.x, point.y, args["offset"] + args["limit"], args.get("within_m"),
                args.get("kind"), args.get("status"), args.get("q"),
            )[args["offset"]:]
            return {"items": resource_hits(hits), "total": args["offset"] + len(hits)}
        # Without the kind and contact the model joins in: the answer names them by code and id.
        query = resource_ops.resources_query(args.get("kind"), args.get("status"), args.get("q")).options(lazyload("*"))
        return page(query, args, available_quantity=resource_ops.available_quantity_expr())

    @resources.arguments(ResourceIn)
    @resources.response(201, ResourceOut)
    def post(self, data):
        """Add a resource to the register."""
        resource = resource_ops.create_resource(data)
        db.session.commit()
        return with_availability([resource])[0]


@resources.route("/<int:resource_id>")
class ResourceById(MethodView):
    @resources.response(200, ResourceOut)
    def get(self, resource_id):
        """One resource."""
        return with_availability([db.get_or_404(Resource, resource_id)])[0]

    @resources.arguments(ResourcePatch(partial=True))
    @resources.response(200, ResourceOut)
    def patch(self, data, resource_id):
        """Change some fields of a resource."""
        resource = db.get_or_404(Resource, resource_id)
        resource_ops.update_resource(resource, data)
        db.session.commit()
        return with_availability([resource])[0]

    @resources.response(204)
    def delete(self, resource_id):
        """Remove a resource from the register (409 if incidents have used it)."""
        resource_ops.delete_resource(db.get_or_404(Resource, resource_id))
        db.session.commit()


@resources.route("/import", methods=["POST"])
@resources.arguments(ResourceImportArgs, location="query")
@resources.arguments(ImportFile, location="files")
@resources.response(200, ImportReport)
def import_resources(args, _files):
    """Import resources from CSV with ``latitude`` and ``longitude`` columns; all or nothing."""
    report = csvio.import_resources(_upload(), dry_run=args["dry_run"], confirm_far=args["confirm_far"])
    db.session.commit()  # nothing to commit after a dry run or a bad row (rolled back)
    return report


@resources.route("/export.csv")
@resources.arguments(ExportArgs, location="query")
@resources.doc(responses=CSV_DOC)
def export_resources(args):
    """The whole register as CSV (``latitude``, ``longitude`` columns)."""
    return _export(csvio.export_resources, "resources.csv", args)


@kinds.route("")
class Kinds(MethodView):
    @kinds.response(200, KindList)
    def get(self):
        """The kinds of resource."""
        items = resource_ops.kinds()
        return {"items": items, "total": len(items)}

    @require_role("admin")
    @kinds.arguments(KindSchema)
    @kinds.response(201, KindSchema)
    def post(self, data):
        """Add a kind of resource (admins)."""
        kind = resource_ops.create_kind(data)
        db.session.commit()
        return kind


