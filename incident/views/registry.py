"""Pages of the call-out lists (contacts, alert groups) and of the register of forces and
equipment (resources). Thin: every query and write is in ``incident.operations``; the pages turn
their FieldErrors and ConflictErrors into messages beside the fields."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from sqlalchemy.orm import selectinload
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    TelField,
    TextAreaField,
)

from ..errors import ConflictError, FieldErrors
from ..extensions import db
from ..geo import location_from_latlon, lonlat
from ..labels import RESOURCE_STATUS_LABELS
from ..models import RESOURCE_STATUSES, AlertGroup, Contact, Resource
from ..operations import contacts as contact_ops
from ..operations import csvio
from ..operations import resources as resource_ops
from ..operations.csvheaders import CODES, CONTACTS, LABELS, RESOURCES
from ..phones import display_phone
from ..security import require_role, sees_personal_data
from ..spreadsheet import csv_response
from ..web.display import kind_labels, locale, unit_of
from ..web.forms import confirm_far_field, form_version, render_form, set_location, write
from ..web.paging import PAGE_SIZE, page_number, paged
from ..web.params import id_arg, search_arg

bp = Blueprint("registry", __name__)
contacts_bp = Blueprint("contacts", __name__)
resources_bp = Blueprint("resources", __name__)


# Contacts


class ContactForm(FlaskForm):
    name = StringField(_l("Name"))
    phone = TelField(_l("Phone"))
    email = EmailField(_l("Email"))
    organization = StringField(_l("Organization"))
    role = StringField(_l("Task or position"))
    groups = SelectMultipleField(_l("Alert groups"), coerce=int, choices=[])
    sms_opt_in = BooleanField(_l("Agrees to receive SMS alerts"), default=True)
    latitude = HiddenField(_l("Latitude"))
    longitude = HiddenField(_l("Longitude"))
    notes = TextAreaField(_l("Notes"))
    version = HiddenField()


def _contact_form(contact: Contact | None = None) -> ContactForm:
    form = ContactForm(obj=contact) if contact is not None and request.method == "GET" else ContactForm()
    form.groups.choices = [(g.id, g.name) for g in db.session.execute(contact_ops.groups_query()).scalars()]
    if contact is not None and request.method == "GET":
        form.groups.data = [g.id for g in contact.groups]
        form.sms_opt_in.data = contact.reachable_by_sms
        form.version.data = contact.version
        form.phone.data = display_phone(contact.phone) if contact.phone else ""
        form.latitude.data = form.longitude.data = ""
        set_location(form, contact.location)
    return form


def _contact_raw(form: ContactForm, location) -> dict:
    return {
        "name": form.name.data,
        "phone": form.phone.data,
        "email": form.email.data,
        "organization": form.organization.data,
        "role": form.role.data,
        "groups": list(form.groups.data or []),
        "sms_opt_in": bool(form.sms_opt_in.data),
        "location": location or None,
        "notes": form.notes.data,
    }


def _sms_filter(value: str | None):
    return {"yes": True, "no": False}.get(value or "")


@contacts_bp.route("/contacts", endpoint="index")
def contact_list():
    """The call-out list: search, filter by group and SMS consent, 50 a page."""
    q = search_arg()
    group_id = id_arg("group")
    sms = request.args.get("sms") or ""
    query = contact_ops.contacts_query(q or None, group_id, _sms_filter(sms), personal=sees_personal_data())
    query = query.options(selectinload(Contact.groups))
    result = paged(query)
    groups = db.session.execute(contact_ops.groups_query()).scalars().all()
    filters = {"q": q or None, "group": group_id, "sms": sms or None}
    return render_template("incident/contacts.html", result=result, groups=groups, filters=filters)


@contacts_bp.route("/contacts/new", methods=["GET", "POST"], endpoint="new")
@require_role("officer")
def contact_new():
    """Add a contact."""
    form = _contact_form()
    created = []

    def action(location):
        created.append(contact_ops.create_contact(_contact_raw(form, location)))

    if request.method == "POST":
        outcome = write(form, action)
        if outcome.ok:
            flash(_("Contact %(name)s saved.", name=created[0].name), "success")
            return redirect(url_for("registry.contacts.detail", contact_id=created[0].id))
    else:
        outcome = None
    return render_form("incident/contact_form.html", form, outcome, contact=None)


@contacts_bp.route("/contacts/<int:contact_id>", endpoint="detail")
def contact_detail(contact_id: int):
    """One contact, with where they are and which lists they are on."""
    contact = db.get_or_404(Contact, contact_id)
    return render_template("incident/contact_detail.html", contact=contact, point=lonlat(contact.location))


@contacts_bp.route("/contacts/<int:contact_id>/edit", methods=["GET", "POST"], endpoint="edit")
@require_role("officer")
def contact_edit(contact_id: int):
    """Change a contact; a stale form (someone saved meanwhile) is refused, not written over."""
    contact = db.get_or_404(Contact, contact_id)
    form = _contact_form(contact)

    def action(location):
        contact_ops.update_contact(contact, {**_contact_raw(form, location), "version": form_version(form)})

    if request.method == "POST":
        outcome = write(form, action)
        if outcome.ok:
            flash(_("Contact %(name)s saved.", name=contact.name), "success")
            return redirect(url_for("registry.contacts.detail", contact_id=contact.id))
    else:
        outcome = None
    return render_form("incident/contact_form.html", form, outcome, contact=contact)


@contacts_bp.route("/contacts/<int:contact_id>/delete", methods=["POST"], endpoint="delete")
def contact_delete(contact_id: int):
    """Remove a contact (resources keep their record, without this contact)."""
    contact = db.get_or_404(Contact, contact_id)
    name = contact.name
    contact_ops.delete_contact(contact)
    db.session.commit()
    flash(_("Contact %(name)s deleted.", name=name), "success")
    return redirect(url_for("registry.contacts.index"))


class ImportForm(FlaskForm):
    file = FileField(_l("CSV file"))
    dry_run = BooleanField(_l("Dry run only: check the file, write nothing"))
    confirm_far = BooleanField(_l("Places far from the municipality are right: take them as they are"))


def _import_page(kind: str):
    form = ImportForm()
    report = None
    if request.method == "POST" and form.validate():
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            form.file.errors = [*form.file.errors, _("Choose a CSV file.")]
        else:
            data = upload.read(csvio.MAX_BYTES + 1)
            if kind == "contacts":
                report = csvio.import_contacts(data, dry_run=bool(form.dry_run.data))
            else:
                report = csvio.import_resources(data, dry_run=bool(form.dry_run.data),
                                                confirm_far=bool(form.confirm_far.data))
            db.session.commit()  # nothing to commit after a dry run or a bad row (rolled back)
    status = 422 if (form.errors or (report and report["errors"])) else 200
    table = CONTACTS if kind == "contacts" else RESOURCES
    kinds = resource_ops.kinds() if kind == "resources" else []
    return render_template(
        "incident/registry_import.html", form=form, report=report, kind=kind, columns=table.columns,
        required=table.required, labels={code: table.label(code) for code in table.columns},
        separator=csvio.GROUP_SEPARATOR, kinds=kinds, locale=locale(), statuses=RESOURCE_STATUSES,
    ), status


def _headers_arg() -> str:
    """How a page's export names its columns: as the page does (``Név``), or ``?headers=codes``
    (``name``), as the API does."""
    return CODES if request.args.get("headers") == CODES else LABELS


@contacts_bp.route("/contacts/import", methods=["GET", "POST"], endpoint="import_csv")
@require_role("officer")
def contact_import():
    """Import contacts from a CSV file; all or nothing, every bad row reported."""
    return _import_page("contacts")


@contacts_bp.route("/contacts/export.csv", endpoint="export_csv")
def contact_export():
    """Every contact as CSV, the columns named as this page names them (``?headers=codes``: by
    their codes); phones and emails masked for those who may not see them."""
    return csv_response(csvio.export_contacts(personal=sees_personal_data(), headers=_headers_arg()), "contacts.csv")


# Alert groups


class GroupForm(FlaskForm):
    name = StringField(_l("Name"))
    description = TextAreaField(_l("Description"))
    press_list = BooleanField(_l("Press list: the press officer may e-mail public notices to this group"))


def _group_values(form: GroupForm) -> dict:
    return {"name": form.name.data, "description": form.description.data, "press_list": bool(form.press_list.data)}


@contacts_bp.route("/groups", methods=["GET", "POST"], endpoint="groups")
def group_list():
    """The alert groups with their member counts; officers add new ones."""
    form = GroupForm()
    outcome = None
    if request.method == "POST":
        created = []

        def action(_location):
            created.append(contact_ops.create_group(_group_values(form)))

        outcome = write(form, action)
        if outcome.ok:
            flash(_("Group %(name)s created.", name=created[0].name), "success")
            return redirect(url_for("registry.contacts.group", group_id=created[0].id))
    rows = db.session.execute(contact_ops.groups_query()).scalars().all()
    return render_form("incident/groups.html", form, outcome, groups=rows,
                       counts=contact_ops.group_member_counts())


@contacts_bp.route("/groups/<int:group_id>", methods=["GET", "POST"], endpoint="group")
def group_detail(group_id: int):
    """An alert group with its members; officers rename or describe it."""
    group = db.get_or_404(AlertGroup, group_id)
    form = GroupForm(obj=group) if request.method == "GET" else GroupForm()
    outcome = None
    if request.method == "POST":
        def action(_location):
            contact_ops.update_group(group, _group_values(form))

        outcome = write(form, action)
        if outcome.ok:
            flash(_("Changes saved."), "success")
            return redirect(url_for("registry.contacts.group", group_id=group.id))
    return render_form("incident/group_detail.html", form, outcome, group=group)


@contacts_bp.route("/groups/<int:group_id>/delete", methods=["POST"], endpoint="group_delete")
def group_delete(group_id: int):
    """Remove a group (its members stay as contacts)."""
    group = db.get_or_404(AlertGroup, group_id)
    name = group.name
    contact_ops.delete_group(group)
    db.session.commit()
    flash(_("Group %(name)s deleted.", name=name), "success")
    return redirect(url_for("registry.contacts.groups"))


# Resources


class ResourceForm(FlaskForm):
    name = StringField(_l("Name"))
    kind = SelectField(_l("Kind"), choices=[], validate_choice=False)
    quantity = StringField(_l("Quantity"), default="1")
    unit = StringField(_l("Unit"))
    capacity = StringField(_l("Capacity (persons)"))
    status = SelectField(_l("Status"), choices=[], validate_choice=False, default="available")
    owner = StringField(_l("Owner"))
    contact_id = SelectField(_l("Contact person"), choices=[], validate_choice=False)
    latitude = HiddenField(_l("Latitude"))
    longitude = HiddenField(_l("Longitude"))
    notes = TextAreaField(_l("Notes"))
    public = BooleanField(_l("Shelter shown on the public page (name, place on the map, free places)"))
    version = HiddenField()
    confirm_far = confirm_far_field()


def _resource_form(resource: Resource | None = None) -> ResourceForm:
    reading = request.method == "GET"
    form = ResourceForm(obj=resource) if resource is not None and reading else ResourceForm()
    labels = kind_labels()
    form.kind.choices = [("", _("— choose —")), *labels.items()]
    form.status.choices = [(code, label) for code, label in RESOURCE_STATUS_LABELS.items()]
    people = db.session.execute(contact_ops.contacts_query().with_only_columns(Contact.id, Contact.name)).all()
    form.contact_id.choices = [("", _("— none —"))] + [(str(pid), name) for pid, name in people]
    if resource is not None and reading:
        form.quantity.data = str(resource.quantity)
        form.capacity.data = "" if resource.capacity is None else str(resource.capacity)
        form.contact_id.data = "" if resource.contact_id is None else str(resource.contact_id)
        form.version.data = resource.version
        form.latitude.data = form.longitude.data = ""
        set_location(form, resource.location)
    return form


def _resource_raw(form: ResourceForm, location) -> dict:
    return {
        "name": form.name.data,
        "kind": form.kind.data or "",
        "quantity": form.quantity.data,
        "unit": form.unit.data,
        "capacity": form.capacity.data,
        "status": form.status.data,
        "owner": form.owner.data,
        "contact_id": form.contact_id.data or None,
        "location": location or None,
        "notes": form.notes.data,
        "public": bool(form.public.data),
        "confirm_far": bool(form.confirm_far.data),
    }


class NearestQuery:
    """The "nearest to a point" inputs of the resource list, checked."""

    def __init__(self, args):
        self.lat = (args.get("lat") or "").strip()
        self.lon = (args.get("lon") or "").strip()
        self.within = (args.get("within_m") or "").strip()
        self.errors: dict[str, list[str]] = {}
        self.point = None
        self.within_m = None
        if not (self.lat or self.lon or self.within):
            return
        try:
            point = location_from_latlon({"latitude": self.lat, "longitude": self.lon})
        except FieldErrors as exc:
            for field, messages in exc.errors.items():
                self.errors[{"latitude": "lat", "longitude": "lon"}.get(field, field)] = messages
            point = None
        else:
            if point is None:
                self.errors["lat"] = [_("Give the latitude and longitude of the point to search around.")]
        if self.within:
            try:
                self.within_m = float(self.within.replace(",", ".").replace(" ", ""))
                if not 0 < self.within_m < float("inf"):
                    raise ValueError
            except ValueError:
                self.errors["within_m"] = [_("Must be a distance in metres, more than 0.")]
        if not self.errors:
            self.point = point["coordinates"]

    @property
    def active(self) -> bool:
        return self.point is not None


@resources_bp.route("/resources", endpoint="index")
def resource_list():
    """The register: search and filter, 50 a page; or nearest first to a point, with distances."""
    q = search_arg()
    kind = request.args.get("kind") or None
    status = request.args.get("status") or None
    if status not in RESOURCE_STATUSES:
        status = None
    labels = kind_labels()
    if kind not in labels:
        kind = None
    nearest = NearestQuery(request.args)
    number = page_number()
    distances = {}
    if nearest.active:
        lon, lat = nearest.point
        hits = resource_ops.nearest_resources(lon, lat, number * PAGE_SIZE, nearest.within_m, kind, status, q or None)
        items = [r for r, _d, _a in hits][(number - 1) * PAGE_SIZE:]
        distances = {r.id: d for r, d, _a in hits}
        more = len(hits) == number * PAGE_SIZE
        result = {"items": items, "total": None, "page": number, "pages": number + 1 if more else number}
    else:
        result = paged(resource_ops.resources_query(kind, status, q or None), number)
    available = resource_ops.available_quantities(r.id for r in result["items"])
    statuses = resource_ops.effective_statuses(r.id for r in result["items"])
    filters = {"q": q or None, "kind": kind, "status": status}
    if nearest.active:
        filters.update(lat=nearest.lat, lon=nearest.lon, within_m=nearest.within or None)
    status_code = 422 if nearest.errors else 200
    return render_template(
        "incident/resources.html", result=result, available=available, statuses=statuses, distances=distances,
        kinds=labels,
        filters=filters, nearest=nearest,
    ), status_code


@resources_bp.route("/resources/new", methods=["GET", "POST"], endpoint="new")
@require_role("officer")
def resource_new():
    """Add a resource to the register."""
    form = _resource_form()
    created = []

    def action(location):
        created.append(resource_ops.create_resource(_resource_raw(form, location)))

    if request.method == "POST":
        outcome = write(form, action)
        if outcome.ok:
            flash(_("Resource %(name)s saved.", name=created[0].name), "success")
            return redirect(url_for("registry.resources.detail", resource_id=created[0].id))
    else:
        outcome = None
    return render_form("incident/resource_form.html", form, outcome, resource=None)


@resources_bp.route("/resources/<int:resource_id>", endpoint="detail")
def resource_detail(resource_id: int):
    """One resource, with how much of it is available and where it is."""
    resource = db.get_or_404(Resource, resource_id)
    available = resource_ops.available_quantities([resource.id]).get(resource.id, 0)
    return render_template("incident/resource_detail.html", resource=resource, available=available,
                           point=lonlat(resource.location), kinds=kind_labels(), unit=unit_of(resource),
                           assignments=resource_ops.assignment_history(resource.id),
                           deployed=resource_ops.assigned_to([resource.id]).get(resource.id, []))


@resources_bp.route("/resources/<int:resource_id>/edit", methods=["GET", "POST"], endpoint="edit")
@require_role("officer")
def resource_edit(resource_id: int):
    """Change a resource; a stale form is refused, not written over."""
    resource = db.get_or_404(Resource, resource_id)
    form = _resource_form(resource)

    def action(location):
        resource_ops.update_resource(resource, {**_resource_raw(form, location), "version": form_version(form)})

    if request.method == "POST":
        outcome = write(form, action)
        if outcome.ok:
            flash(_("Resource %(name)s saved.", name=resource.name), "success")
            return redirect(url_for("registry.resources.detail", resource_id=resource.id))
    else:
        outcome = None
    return render_form("incident/resource_form.html", form, outcome, resource=resource)


@resources_bp.route("/resources/<int:resource_id>/delete", methods=["POST"], endpoint="delete")
def resource_delete(resource_id: int):
    """Remove a resource from the register."""
    resource = db.get_or_404(Resource, resource_id)
    name = resource.name
    try:
        resource_ops.delete_resource(resource)
    except ConflictError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("registry.resources.detail", resource_id=resource_id))
    db.session.commit()
    flash(_("Resource %(name)s deleted.", name=name), "success")
    return redirect(url_for("registry.resources.index"))


@resources_bp.route("/resources/import", methods=["GET", "POST"], endpoint="import_csv")
@require_role("officer")
def resource_import():
    """Import resources from a CSV file; all or nothing, every bad row reported."""
    return _import_page("resources")


@resources_bp.route("/resources/export.csv", endpoint="export_csv")
def resource_export():
    """The register as CSV, the columns and the kinds and statuses named as this page names
    them (``?headers=codes``: by their codes)."""
    return csv_response(csvio.export_resources(headers=_headers_arg()), "resources.csv")


bp.register_blueprint(contacts_bp)
bp.register_blueprint(resources_bp)
