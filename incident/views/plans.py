"""Pages of the readiness plans (the emergency response plan's checklists): the list by hazard
and level, a plan, its printable form, the form that writes and reorders its tasks, and the
import of a neighbour's plans (JSON or CSV). Applying a plan and ticking its tasks are on the
incident's page (``incident.views.incidents``).

Thin: every query and write is in ``incident.operations.plans``. The plan form works without
scripts: its buttons add a task row, move one up or down, or remove it, and the page comes back
with what was typed; only Save writes."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..errors import ConflictError, FieldErrors
from ..extensions import db
from ..labels import READINESS_LABELS
from ..models import INCIDENT_KINDS, PLAN_LEVELS, Plan
from ..operations import plans as ops
from ..security import require_role
from ..web.params import version_value

bp = Blueprint("plans", __name__, url_prefix="/plans")

BLANK_ROWS = 2
MAX_ROWS = ops.MAX_TASKS + BLANK_ROWS
TASK_FIELDS = ("title", "details", "responsible", "due_minutes")


def _context() -> dict:
    return {"hazards": INCIDENT_KINDS, "levels": PLAN_LEVELS, "readiness_words": READINESS_LABELS}


@bp.route("", endpoint="index")
def plan_list():
    """The plans, by hazard and readiness level; ``hazard`` filters."""
    hazard = request.args.get("hazard") or None
    if hazard not in INCIDENT_KINDS:
        hazard = None
    return render_template("incident/plan_list.html", plans=ops.all_plans(hazard), hazard=hazard, **_context())


@bp.route("/<int:plan_id>", endpoint="detail")
def plan_detail(plan_id: int):
    """One plan: its tasks in order, who is responsible, when each is due."""
    return render_template("incident/plan_detail.html", plan=db.get_or_404(Plan, plan_id), **_context())


@bp.route("/<int:plan_id>/print", endpoint="print")
def plan_print(plan_id: int):
    """The plan on paper."""
    from ..operations.municipality import current_municipality

    return render_template("incident/plan_print.html", plan=db.get_or_404(Plan, plan_id),
                           municipality=current_municipality(), **_context())


# Writing a plan


def _rows_from_form() -> list[dict]:
    """The task rows as typed (``task-<i>-<field>``), in the order of the form."""
    count = min(version_value(request.form.get("rows")), MAX_ROWS)
    return [{key: (request.form.get(f"task-{i}-{key}") or "").replace("\r\n", "\n") for key in TASK_FIELDS}
            for i in range(max(count, 0))]


def _rows_from_plan(plan: Plan | None) -> list[dict]:
    if plan is None:
        return []
    return [{"title": t.title, "details": t.details, "responsible": t.responsible,
             "due_minutes": "" if t.due_minutes is None else str(t.due_minutes)} for t in plan.tasks]


def _filled(row: dict) -> bool:
    return any((row.get(key) or "").strip() for key in TASK_FIELDS)


def _move(rows: list[dict], action: str) -> list[dict]:
    """Carry out a row button (``add``, ``up-<i>``, ``down-<i>``, ``remove-<i>``)."""
    if action == "add":
        return [*rows, dict.fromkeys(TASK_FIELDS, "")]
    verb, _sep, number = action.partition("-")
    if not number.isdigit() or int(number) >= len(rows):
        return rows
    i = int(number)
    if verb == "remove":
        return rows[:i] + rows[i + 1:]
    j = i - 1 if verb == "up" else i + 1 if verb == "down" else i
    if 0 <= j < len(rows):
        rows[i], rows[j] = rows[j], rows[i]
    return rows


def _render_form(plan: Plan | None, values: dict, rows: list[dict], errors: dict | None = None,
                 conflict: str | None = None, code: int = 200):
    errors = errors or {}
    while sum(1 for r in rows if not _filled(r)) < 1 and len(rows) < MAX_ROWS:
        rows.append(dict.fromkeys(TASK_FIELDS, ""))
    # The operations number the filled rows from 1; the page shows every row: put each
    # problem beside its row.
    row_errors: dict[int, dict[str, list[str]]] = {}
    numbers = [i for i, row in enumerate(rows) if _filled(row)]
    plan_errors = {}
    for name, messages in errors.items():
        parts = name.split(".")
        if parts[0] == "tasks" and len(parts) >= 2 and parts[1].isdigit() and int(parts[1]) <= len(numbers):
            row = numbers[int(parts[1]) - 1]
            row_errors.setdefault(row, {}).setdefault(parts[2] if len(parts) > 2 else "title", []).extend(messages)
        else:
            plan_errors.setdefault(name, []).extend(messages)
    return render_template("incident/plan_form.html", plan=plan, values=values, rows=rows, errors=plan_errors,
                           row_errors=row_errors, conflict=conflict, **_context()), code


def _values_from_form() -> dict:
    return {key: (request.form.get(key) or "").replace("\r\n", "\n")
            for key in ("name", "hazard", "level", "description", "version")}


def _write(plan: Plan | None):
    """Save, or carry out a row button and show the form again."""
    values = _values_from_form()
    rows = _rows_from_form()
    action = request.form.get("action", "save")
    if action != "save":
        return _render_form(plan, values, _move(rows, action))
    raw = {"name": values["name"], "hazard": values["hazard"], "level": values["level"] or None,
           "description": values["description"],
           "tasks": [{**row, "due_minutes": row["due_minutes"].strip() or None} for row in rows if _filled(row)]}
    try:
        if plan is None:
            saved = ops.create_plan(raw)
        else:
            saved = ops.update_plan(plan.id, {**raw, "version": version_value(values["version"])})
    except FieldErrors as exc:
        db.session.rollback()
        return _render_form(plan, values, rows, exc.errors, code=422)
    except ConflictError as exc:
        db.session.rollback()
        if exc.field == "name":
            return _render_form(plan, values, rows, {"name": [exc.message]}, code=409)
        return _render_form(plan, values, rows, conflict=exc.message, code=409)
    db.session.commit()
    flash(_("Plan saved: %(name)s (revision %(revision)s).", name=saved.name, revision=saved.revision), "success")
    return redirect(url_for("plans.detail", plan_id=saved.id))


@bp.route("/new", methods=["GET", "POST"], endpoint="new")
@require_role("officer")
def plan_new():
    """Write a new plan."""
    if request.method == "POST":
        return _write(None)
    hazard = request.args.get("hazard") if request.args.get("hazard") in INCIDENT_KINDS else ""
    return _render_form(None, {"name": "", "hazard": hazard, "level": "", "description": "", "version": ""}, [])


@bp.route("/<int:plan_id>/edit", methods=["GET", "POST"], endpoint="edit")
@require_role("officer")
def plan_edit(plan_id: int):
    """Change a plan: its words, its tasks and their order (a new revision). Incidents that
    used it keep the tasks they have."""
    plan = db.get_or_404(Plan, plan_id)
    if request.method == "POST":
        return _write(plan)
    values = {"name": plan.name, "hazard": plan.hazard, "level": "" if plan.level is None else str(plan.level),
              "description": plan.description, "version": str(plan.version)}
    return _render_form(plan, values, _rows_from_plan(plan))


@bp.route("/<int:plan_id>/delete", methods=["POST"], endpoint="delete")
@require_role("officer")
def plan_delete(plan_id: int):
    """Delete a plan (incidents keep the tasks copied from it)."""
    plan = db.get_or_404(Plan, plan_id)
    name = plan.name
    ops.delete_plan(plan_id)
    db.session.commit()
    flash(_("Plan deleted: %(name)s.", name=name), "success")
    return redirect(url_for("plans.index"))


@bp.route("/import", methods=["GET", "POST"], endpoint="import")
@require_role("officer")
def plan_import():
    """Import plans from a JSON or CSV file (a neighbour's, or an export): all or nothing."""
    result = None
    code = 200
    if request.method == "POST":
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            result = ops.ImportResult()
            result.error(None, "file", _("Choose a file."))
        else:
            dry_run = bool(request.form.get("dry_run"))
            result = ops.import_plans(upload.read(ops.MAX_IMPORT_BYTES + 1), upload.filename, dry_run=dry_run)
            if not result.errors and not dry_run:
                names = [p.name for p in result.plans]
                db.session.commit()
                flash(_("Imported: %(names)s.", names=", ".join(names)), "success")
                return redirect(url_for("plans.index"))
        db.session.rollback()
        code = 422 if result.errors else 200
    return render_template("incident/plan_import.html", result=result, **_context()), code


