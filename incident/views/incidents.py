"""Pages of incidents and drills: the register, a new incident, the incident page (lifecycle
buttons, the log as a timeline with its quick entry, log verification, assignments and the
nearest available resources), the edit form and the printable situation report.

Thin: every query and write is in ``incident.operations.incidents``; the pages turn its
FieldErrors into messages beside the fields and its ConflictErrors (over-allocation, a closed
incident, a refused status jump, a stale edit) into a clear message with status 409."""

from __future__ import annotations

import re

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy.orm import selectinload
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField

from ..database import utcnow
from ..errors import ConflictError, FieldError, FieldErrors, NotFound
from ..extensions import db
from ..geo import area_text, lonlat, parse_area_text, to_shapely
from ..labels import INCIDENT_KIND_LABELS, READINESS_LABELS, SEVERITY_LABELS, STATUS_LABELS, TASK_STATUS_LABELS, label
from ..models import INCIDENT_KINDS, SEVERITIES, STATUSES, Assignment, Incident
from ..labels import NEED_LABELS
from ..operations import evacuees as evacuee_ops
from ..operations import incidents as ops
from ..operations import plans as plan_ops
from ..operations.municipality import current_municipality
from ..operations.staff import staff_for
from ..report import area_outline, hectares
from ..security import require_role, sees_personal_data
from ..web.display import can_write, coordinate, kind_labels, unit_of
from ..web.forms import confirm_far_field, form_version, render_form, set_location, write
from ..web.paging import paged
from ..web.params import number_arg, search_arg, version_value, yes_no_filter_arg

bp = Blueprint("incidents", __name__, url_prefix="/incidents")

NEARBY_LIMIT = 10
NUMBER_RE = re.compile(r"^\s*(\d{4})-(\d{1,6})\s*$")


def status_action(current: str, target: str) -> str:
    """The words on the button that moves an incident from ``current`` to ``target``."""
    if target == "active":
        return _("Activate") if current == "reported" else _("Reopen (active again)")
    if target == "contained":
        return _("Mark as contained")
    if target == "closed":
        return _("Close the incident")
    return label(STATUS_LABELS, target)


# The register


@bp.route("", endpoint="index")
def incident_list():
    """Incidents and drills, newest first: filter by status, type, drill and title; 50 a page."""
    q = search_arg()
    match = NUMBER_RE.match(q)
    if match:  # an incident number goes straight to its page
        found = ops.incident_by_number(f"{match.group(1)}-{match.group(2)}")
        if found is not None:
            return redirect(url_for("incidents.detail", incident_id=found.id))
    status = request.args.get("status") or None
    if status not in STATUSES:
        status = None
    kind = request.args.get("kind") or None
    if kind not in INCIDENT_KINDS:
        kind = None
    drill_filter, drill = yes_no_filter_arg("drill")
    result = paged(ops.incidents_query(status, drill, kind, q or None))
    filters = {"q": q or None, "status": status, "kind": kind, "drill": drill_filter}
    return render_template("incident/incident_list.html", result=result, filters=filters,
                           kinds=INCIDENT_KINDS, statuses=STATUSES)


@bp.route("/overdue-tasks", endpoint="overdue_tasks")
def overdue_task_list():
    """Every checklist task overdue now, the longest overdue first, 50 a page (the dashboard
    shows the first few and links here)."""
    now = utcnow()
    result = paged(plan_ops.overdue_task_query(now))
    result["items"] = plan_ops.with_incidents(result["items"])
    return render_template("incident/overdue_tasks.html", result=result, now=now)


# New incident, edit


class IncidentForm(FlaskForm):
    title = StringField(_l("Title"))
    kind = SelectField(_l("Type"), choices=[], validate_choice=False)
    severity = SelectField(_l("Severity"), choices=[], validate_choice=False)
    commander = StringField(_l("Commander"))
    description = TextAreaField(_l("Description"))
    area = TextAreaField(_l("Affected area (GeoJSON)"))
    latitude = HiddenField(_l("Latitude"))
    longitude = HiddenField(_l("Longitude"))
    version = HiddenField()
    confirm_far = confirm_far_field()


class NewIncidentForm(IncidentForm):
    drill = BooleanField(_l("Drill (exercise), not a real incident"))


def _choices(form: IncidentForm) -> None:
    choose = ("", _("— choose —"))
    form.kind.choices = [choose] + [(code, label(INCIDENT_KIND_LABELS, code)) for code in INCIDENT_KINDS]
    form.severity.choices = [choose] + [(code, label(SEVERITY_LABELS, code)) for code in SEVERITIES]


def _text(value: str | None) -> str:
    """Form text as people wrote it, with the browser's CRLF newlines made plain."""
    return (value or "").replace("\r\n", "\n").replace("\r", "\n")


def _raw(form: IncidentForm, location) -> dict:
    return {
        "title": form.title.data,
        "kind": form.kind.data or "",
        "severity": form.severity.data or "",
        "commander": form.commander.data,
        "description": _text(form.description.data),
        "location": location or None,
        "confirm_far": bool(form.confirm_far.data),
    }


def _with_area(run, raw: dict, area_field_text: str | None):
    """Run an operation with the parsed area; a text that is not JSON is reported beside the
    area field together with every other problem the operation finds."""
    area, problem = parse_area_text(area_field_text)
    raw = {**raw, "area": area}
    try:
        result = run(raw)
    except FieldErrors as exc:
        if problem:
            exc.errors["area"] = [problem]
        raise
    if problem:
        raise FieldErrors({"area": [problem]})
    return result


@bp.route("/new", methods=["GET", "POST"], endpoint="new")
@require_role("officer")
def incident_new():
    """Record a new incident or drill; it gets its number and starts as reported."""
    form = NewIncidentForm()
    _choices(form)
    created = []

    def action(location):
        raw = {**_raw(form, location), "drill": bool(form.drill.data)}
        created.append(_with_area(ops.create_incident, raw, form.area.data))

    outcome = None
    if request.method == "POST":
        outcome = write(form, action)
        if outcome.ok:
            incident = created[0]
            flash(_("Incident %(number)s recorded.", number=incident.number), "success")
            return redirect(url_for("incidents.detail", incident_id=incident.id))
    return render_form("incident/incident_form.html", form, outcome, incident=None)


@bp.route("/<int:incident_id>/edit", methods=["GET", "POST"], endpoint="edit")
@require_role("officer")
def incident_edit(incident_id: int):
    """Change what people wrote about an incident; a stale form is refused, not written over.
    Every change is written to the log by the system."""
    incident = db.get_or_404(Incident, incident_id)
    reading = request.method == "GET"
    form = IncidentForm(obj=incident) if reading else IncidentForm()
    _choices(form)
    point = lonlat(incident.location)
    shown_point = (coordinate(point[1]), coordinate(point[0])) if point else ("", "")
    if reading:
        form.version.data = incident.version
        form.area.data = area_text(incident.area)
        form.latitude.data = form.longitude.data = ""
        set_location(form, incident.location)
    entries_before = incident.log_count

    def action(location):
        raw = {**_raw(form, location), "version": form_version(form)}
        typed = ((form.latitude.data or "").strip(), (form.longitude.data or "").strip())
        if typed == shown_point:
            raw.pop("location")  # untouched: not "changed" by rounding to six decimals
        _with_area(lambda data: ops.update_incident(incident, data), raw, form.area.data)

    outcome = None
    if request.method == "POST":
        outcome = write(form, action)
        if outcome.ok:
            changed = incident.log_count != entries_before
            flash(_("Changes saved.") if changed else _("Nothing was changed."), "success")
            return redirect(url_for("incidents.detail", incident_id=incident.id))
    return render_form("incident/incident_form.html", form, outcome, incident=incident)


# The incident page


def _entries(incident: Incident):
    """All entries oldest first, and which later entries correct each one."""
    entries = db.session.execute(ops.log_query(incident.id)).scalars().all()
    corrected_by: dict[int, list[int]] = {}
    for entry in entries:
        if entry.corrects:
            corrected_by.setdefault(entry.corrects, []).append(entry.seq)
    return entries, corrected_by


def staff_of(entries, assignments=()):
    """The staff the log entries and assignments name, read once for the page."""
    return staff_for(entries=entries, assignments=assignments, personal=sees_personal_data())


def _assignments(incident: Incident, active: bool | None):
    query = ops.assignments_query(incident.id, active).options(selectinload(Assignment.resource))
    return db.session.execute(query).scalars().all()


def _resource_kind_filter(labels: dict) -> str | None:
    kind = request.values.get("resource_kind") or None
    return kind if kind in labels else None


def render_detail(incident: Incident, code: int = 200, **state):
    """The incident page; ``state`` carries a refused write's message and what was typed."""
    entries, corrected_by = _entries(incident)
    labels = kind_labels()
    resource_kind = _resource_kind_filter(labels)
    nearby = []
    if can_write() and incident.status != "closed":
        nearby = ops.nearby_resources(incident, resource_kind, NEARBY_LIMIT)
    point = lonlat(incident.location)
    new_seq = number_arg("entry", minimum=1) if request.method == "GET" else None
    active, released = _assignments(incident, True), _assignments(incident, False)
    checklist = plan_ops.checklist(incident.id)
    context = {
        "incident": incident,
        "entries": list(reversed(entries)),  # newest first, right under the quick entry
        "corrected_by": corrected_by,
        "verification": ops.verify_log(incident),
        "active": active,
        "released": released,
        "staff": staff_for(entries=entries, assignments=[*active, *released], tasks=checklist.tasks,
                           personal=sees_personal_data()),
        "checklist": checklist,
        "offered_plans": plan_ops.offered_plans(incident) if can_write() else [],
        "hazard_plans": [p for p in plan_ops.all_plans(incident.kind) if p.id not in {t.plan_id for t in checklist.tasks}]
        if can_write() else [],
        "readiness_words": READINESS_LABELS,
        "task_status_words": TASK_STATUS_LABELS,
        "nearby": nearby,
        "resource_kinds": labels,
        "resource_kind": resource_kind,
        "next_statuses": ops.TRANSITIONS.get(incident.status, ()),
        "status_action": status_action,
        "point": point,
        "area_json": area_text(incident.area),
        "new_seq": new_seq,
        "focus_entry": new_seq is not None or bool(state.get("entry_errors")),
        "entry_errors": {},
        "entry_values": {},
        "status_error": None,
        "assign_error": None,
        "release_error": None,
        "readiness_error": None,
        "checklist_error": None,
        "task_error": None,
        "reception": evacuee_ops.summary(incident.id),
        "need_words": NEED_LABELS,
    }
    context.update(state)
    return render_template("incident/incident_detail.html", **context), code


@bp.route("/<int:incident_id>", endpoint="detail")
def incident_detail(incident_id: int):
    """One incident: its state, its log, the resources assigned to it."""
    return render_detail(db.get_or_404(Incident, incident_id))


def _reloaded(incident_id: int) -> Incident:
    db.session.rollback()
    return db.get_or_404(Incident, incident_id)


def render_closing(incident: Incident, code: int = 200, message: str | None = None,
                   errors: dict | None = None, released_at: str = ""):
    """The closing page: the resources still assigned (name, how much, since when) and the choice,
    release them all (now, or at an earlier time) or go back and leave the incident open."""
    open_ = ops.open_assignments(incident.id)
    context = {
        "incident": incident,
        "open_assignments": open_,
        "latest": max(open_, key=lambda a: a.assigned_at) if open_ else None,
        "closable": "closed" in ops.TRANSITIONS.get(incident.status, ()),
        "message": message,
        "errors": errors or {},
        "released_at": released_at,
    }
    return render_template("incident/incident_close.html", **context), code


@bp.route("/<int:incident_id>/close", endpoint="close")
@require_role("officer")
def incident_close(incident_id: int):
    """Asks what happens to the resources still assigned before the incident is closed."""
    return render_closing(db.get_or_404(Incident, incident_id))


@bp.route("/<int:incident_id>/status", methods=["POST"], endpoint="status")
def incident_status(incident_id: int):
    """Move the incident one step along its lifecycle (the buttons offer only allowed steps; the
    operation refuses any other). ``from``, the status the page showed, catches a change made
    meanwhile by someone else. Closing with resources still assigned needs the closing page's
    choice (``release_assignments``, ``released_at``; ``shown``, the assignments it listed, so
    that nothing assigned meanwhile is released unseen); without it the closing page asks (409)."""
    db.get_or_404(Incident, incident_id)
    target = request.form.get("status", "")
    seen = request.form.get("from") or None
    closing = {key: request.form.get(key) for key in ops.CLOSING_FIELDS if key in request.form}
    released_at = (request.form.get("released_at") or "").strip()
    releasing = target == "closed" and "release_assignments" in closing
    released = 0
    try:
        incident = ops.lock_incident(incident_id)
        current = incident.status
        if seen is not None and seen != current:
            raise ConflictError(_("Meanwhile the incident became %(status)s; nothing was changed. Check the page "
                                  "and choose again.", status=label(STATUS_LABELS, current)), "status")
        if releasing:
            open_ids = sorted(a.id for a in ops.open_assignments(incident_id))
            if open_ids != sorted({int(v) for v in request.form.getlist("shown") if v.isascii() and v.isdigit()}):
                return render_closing(_reloaded(incident_id), 409, message=_(
                    "Meanwhile the resources assigned to the incident changed; nothing was changed. Check the list "
                    "and choose again."), released_at=released_at)
            released = len(open_ids)
        ops.update_incident(incident, {"status": target, **closing})
    except ops.AssignmentsOpen as exc:
        return render_closing(_reloaded(incident_id), 409, message=exc.message)
    except ConflictError as exc:
        return render_detail(_reloaded(incident_id), 409, status_error=exc.message)
    except FieldErrors as exc:
        if releasing:
            return render_closing(_reloaded(incident_id), 422, errors=exc.errors, released_at=released_at)
        message = " ".join(m for messages in exc.errors.values() for m in messages)
        return render_detail(_reloaded(incident_id), 422, status_error=message)
    db.session.commit()
    flash(_("The incident is now %(status)s.", status=label(STATUS_LABELS, incident.status)), "success")
    if released:
        flash(ngettext("%(num)s resource was given back.", "%(num)s resources were given back.", released), "success")
    return redirect(url_for("incidents.detail", incident_id=incident_id))


@bp.route("/<int:incident_id>/log", methods=["POST"], endpoint="add_entry")
def incident_add_entry(incident_id: int):
    """Append a line to the log; back to the page with the input focused for the next line."""
    db.get_or_404(Incident, incident_id)
    corrects = (request.form.get("corrects") or "").strip().lstrip("#").strip()
    raw = {"kind": request.form.get("kind") or "note", "text": request.form.get("text", ""), "corrects": corrects or None}
    try:
        entry = ops.add_entry(incident_id, raw)
    except FieldErrors as exc:
        return render_detail(_reloaded(incident_id), 422, entry_errors=exc.errors,
                             entry_values={**raw, "corrects": corrects})
    db.session.commit()
    # No #fragment: a URL that targets an element turns autofocus off, and autofocus scrolls anyway.
    return redirect(url_for("incidents.detail", incident_id=incident_id, entry=entry.seq))


@bp.route("/<int:incident_id>/assignments", methods=["POST"], endpoint="assign")
def incident_assign(incident_id: int):
    """Assign (part of) a resource from the nearest-available list."""
    db.get_or_404(Incident, incident_id)
    raw = {"resource_id": request.form.get("resource_id"), "quantity": request.form.get("quantity"),
           "note": request.form.get("note", "")}
    problem = {"resource_id": str(raw["resource_id"] or ""), "quantity": raw["quantity"]}
    try:
        assignment = ops.assign(incident_id, raw)
    except ConflictError as exc:
        return render_detail(_reloaded(incident_id), 409, assign_error={**problem, "message": exc.message})
    except FieldErrors as exc:
        message = " ".join(m for messages in exc.errors.values() for m in messages)
        return render_detail(_reloaded(incident_id), 422, assign_error={**problem, "message": message})
    db.session.commit()
    resource = assignment.resource
    flash(_("Assigned: %(quantity)s %(unit)s of %(name)s.", quantity=assignment.quantity, unit=unit_of(resource),
            name=resource.name), "success")
    kind = request.form.get("resource_kind") or None
    return redirect(url_for("incidents.detail", incident_id=incident_id, resource_kind=kind, _anchor="assignments"))


@bp.route("/<int:incident_id>/assignments/<int:assignment_id>/release", methods=["POST"], endpoint="release")
def incident_release(incident_id: int, assignment_id: int):
    """Give an assigned resource back."""
    assignment = db.session.get(Assignment, assignment_id)
    if assignment is None or assignment.incident_id != incident_id:
        raise NotFound("assignment", assignment_id)
    quantity = (request.form.get("quantity") or "").strip() or None  # none given: all of it
    try:
        assignment = ops.release(assignment_id, quantity=quantity)
    except ConflictError as exc:
        db.session.rollback()
        return render_detail(_reloaded(incident_id), 409, release_error=exc.message)
    except (FieldError, FieldErrors) as exc:
        db.session.rollback()
        message = exc.message if isinstance(exc, FieldError) else " ".join(m for ms in exc.errors.values() for m in ms)
        return render_detail(_reloaded(incident_id), 422, release_error=message)
    db.session.commit()
    resource = assignment.resource
    flash(_("Released: %(quantity)s %(unit)s of %(name)s.", quantity=assignment.quantity, unit=unit_of(resource),
            name=resource.name), "success")
    return redirect(url_for("incidents.detail", incident_id=incident_id, _anchor="assignments"))


# Readiness level and the checklist


def _messages(exc) -> str:
    if isinstance(exc, FieldErrors):
        return " ".join(m for messages in exc.errors.values() for m in messages)
    return exc.message


@bp.route("/<int:incident_id>/readiness", methods=["POST"], endpoint="readiness")
def incident_readiness(incident_id: int):
    """Change the readiness level (``from``: the level the page showed). A raise for which a plan
    exists for the incident's hazard and the new level brings the page back with the offer to
    apply it; nothing is applied by itself."""
    db.get_or_404(Incident, incident_id)
    seen = (request.form.get("from") or "").strip()
    try:
        seen_level = plan_ops.clean_readiness(seen) if seen else None
        incident, before = plan_ops.set_readiness(incident_id, request.form.get("readiness_level", ""), seen_level)
    except (ConflictError, FieldError, FieldErrors) as exc:
        code = 409 if isinstance(exc, ConflictError) else 422
        return render_detail(_reloaded(incident_id), code, readiness_error=_messages(exc))
    db.session.commit()
    level = incident.readiness_level
    if level == before:
        flash(_("Nothing was changed."), "success")
    else:
        flash(_("Readiness level: %(level)s.", level=label(READINESS_LABELS, level)), "success")
    anchor = "plan-offer" if level > before and plan_ops.offered_plans(incident) else "readiness"
    return redirect(url_for("incidents.detail", incident_id=incident_id, _anchor=anchor))


@bp.route("/<int:incident_id>/plans", methods=["POST"], endpoint="apply_plan")
def incident_apply_plan(incident_id: int):
    """Apply a plan: its tasks are copied onto the incident, due from now."""
    db.get_or_404(Incident, incident_id)
    try:
        tasks = plan_ops.apply_plan(incident_id, request.form.get("plan_id"))
    except (ConflictError, FieldError, FieldErrors) as exc:
        code = 409 if isinstance(exc, ConflictError) else 422
        return render_detail(_reloaded(incident_id), code, checklist_error=_messages(exc))
    db.session.commit()
    name = tasks[0].plan_name if tasks else ""
    flash(ngettext("Plan applied: %(name)s, %(num)s task.", "Plan applied: %(name)s, %(num)s tasks.", len(tasks),
                   name=name), "success")
    return redirect(url_for("incidents.detail", incident_id=incident_id, _anchor="checklist"))


@bp.route("/<int:incident_id>/tasks/<int:task_id>", methods=["POST"], endpoint="task")
def incident_task(incident_id: int, task_id: int):
    """Mark a task done, skipped (with a reason) or open again."""
    from ..models import IncidentTask

    task = db.session.get(IncidentTask, task_id)
    if task is None or task.incident_id != incident_id:
        raise NotFound("task", task_id)
    raw = {"status": request.form.get("status", ""), "note": request.form.get("note", ""),
           "version": version_value(request.form.get("version"))}
    try:
        task, changed = plan_ops.change_task(task_id, raw)
    except (ConflictError, FieldError, FieldErrors) as exc:
        code = 409 if isinstance(exc, ConflictError) else 422
        return render_detail(_reloaded(incident_id), code,
                             task_error={"id": task_id, "message": _messages(exc), "note": raw["note"]})
    db.session.commit()
    if changed:
        flash(_("%(title)s: %(status)s.", title=task.title, status=label(TASK_STATUS_LABELS, task.status)), "success")
    else:
        flash(_("%(title)s was already %(status)s; nothing was changed.", title=task.title,
                status=label(TASK_STATUS_LABELS, task.status)), "success")
    return redirect(url_for("incidents.detail", incident_id=incident_id, _anchor=f"task-{task_id}"))


@bp.route("/<int:incident_id>/checklist", endpoint="checklist")
def incident_checklist(incident_id: int):
    """The incident's checklist, for the screen and for print."""
    incident = db.get_or_404(Incident, incident_id)
    checklist = plan_ops.checklist(incident.id)
    return render_template(
        "incident/incident_checklist.html", incident=incident, municipality=current_municipality(),
        checklist=checklist, now=checklist.now, readiness_words=READINESS_LABELS,
        task_status_words=TASK_STATUS_LABELS,
        staff=staff_for(tasks=checklist.tasks, personal=sees_personal_data()))


# The situation report


def area_facts(incident: Incident) -> dict | None:
    area = to_shapely(incident.area)
    if area is None:
        return None
    minx, miny, maxx, maxy = area.bounds
    return {
        "south": miny, "north": maxy, "west": minx, "east": maxx,
        "size": format_decimal(hectares(area), format="#,##0.0"),
        "outline": area_outline(area, lonlat(incident.location)),
    }


@bp.route("/<int:incident_id>/report", endpoint="report")
def incident_report(incident_id: int):
    """The situation report (helyzetjelentés), for the screen and for print."""
    incident = db.get_or_404(Incident, incident_id)
    entries, corrected_by = _entries(incident)
    newest_first = list(reversed(entries))
    assignments = _assignments(incident, None)
    checklist = plan_ops.checklist(incident.id)
    return render_template(
        "incident/incident_report.html",
        checklist=checklist, readiness_words=READINESS_LABELS, task_status_words=TASK_STATUS_LABELS,
        incident=incident,
        municipality=current_municipality(),
        now=utcnow(),
        entries=newest_first,
        decisions=[e for e in newest_first if e.kind == "decision"],
        corrected_by=corrected_by,
        staff=staff_for(entries=entries, assignments=assignments, tasks=checklist.tasks, personal=sees_personal_data()),
        assignments=sorted(assignments, key=lambda a: (a.released_at is not None, a.assigned_at, a.id)),
        resource_kinds=kind_labels(),
        verification=ops.verify_log(incident),
        point=lonlat(incident.location),
        area=area_facts(incident),
        reception=evacuee_ops.summary(incident.id),
        need_words=NEED_LABELS,
    )
