"""Readiness plans and the checklists they become on an incident: every query and write.

A plan is written, reordered and shared (JSON or CSV, all or nothing); applying one copies its
tasks onto an incident with due times counted from that moment, so that editing the plan later
changes nothing an incident already has. A task is done, skipped (with a reason) or opened again;
each change is written to the incident's hash-chained log by the system, in the person's name.

Concurrency: a change of an incident's tasks takes the incident's row lock first (as the log's
appends do: ``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's write transactions begin IMMEDIATE)
and reads the task again under it, so two officers ticking the same task at once make one change
and one log entry; the second finds it done and changes nothing."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select, update

from ..database import utcnow
from ..errors import ConflictError, FieldError, FieldErrors, NotFound
from ..extensions import db
from ..labels import READINESS_LABELS, TASK_STATUS_LABELS
from ..models import INCIDENT_KINDS, PLAN_LEVELS, TASK_STATUSES, Incident, IncidentTask, Plan, PlanTask
from ..spreadsheet import Writer, restore
from ..validation import Cleaner, record_id, storable, whole_number
from .contacts import check_version
from .csvio import decode
from .incidents import N_, Who, append_entry, change_readiness, clean_readiness, lock_incident, system_text, who

MAX_TASKS = 200
MAX_DUE_MINUTES = 60 * 24 * 60  # sixty days
MAX_IMPORT_BYTES = 2 * 1024 * 1024
# The columns of a plan file in CSV: one row per task, the plan's own cells repeated on each.
CSV_COLUMNS = ("plan", "hazard", "level", "plan_description", "position", "title", "details", "responsible",
               "due_minutes")
FORMAT = "riado-plans"
FORMAT_VERSION = 1

APPLIED_TEXT = N_("Plan applied: %(name)s (revision %(revision)s); tasks: %(n)s.")
TASK_TEXT = {
    "done": N_("Task done: %(title)s."),
    "skipped": N_("Task skipped: %(title)s. Reason: %(note)s"),
    "open": N_("Task reopened: %(title)s."),
}
NOTE_TEXT = N_("Note: %(note)s")


# Plans


def _clean_task(raw, number: int, errors: dict[str, list[str]]) -> dict | None:
    """One task of a plan; its problems named ``tasks.<number>.<field>`` (from 1, as the page
    numbers them)."""
    if not isinstance(raw, dict):
        errors.setdefault(f"tasks.{number}", []).append(str(_l("Must be an object with a title.")))
        return None
    c = Cleaner(raw)
    c.text("title", 300, required=True)
    c.text("details", 5000)
    c.text("responsible", 200)
    c.integer("due_minutes", minimum=0, default=None)
    if c.out.get("due_minutes") is not None and c.out["due_minutes"] > MAX_DUE_MINUTES:
        c.error("due_minutes", _l("At most %(n)s minutes (sixty days).", n=MAX_DUE_MINUTES))
    try:
        return c.done()
    except FieldErrors as exc:
        for name, messages in exc.errors.items():
            errors.setdefault(f"tasks.{number}.{name}", []).extend(messages)
        return None


def clean_plan(raw: dict, partial: bool = False) -> dict:
    """A plan's fields: name, hazard (an incident kind), level (1–3 or none), description, and
    its tasks in order (title, details, responsible, due_minutes)."""
    c = Cleaner(raw, partial)
    c.text("name", 200, required=True, name=True)
    c.choice("hazard", INCIDENT_KINDS, required=True)
    c.text("description", 20_000)
    if not c.skip("level"):
        level = raw.get("level")
        if level is None or (isinstance(level, str) and not level.strip()):
            c.out["level"] = None
        else:
            number = c.run("level", whole_number, level, "level")
            if number is not None and number not in PLAN_LEVELS:
                c.error("level", _l("Must be 1, 2 or 3 (or empty: any level)."))
            elif number is not None:
                c.out["level"] = number
    if not c.skip("tasks"):
        tasks = raw.get("tasks")
        if tasks is None:
            tasks = []
        if not isinstance(tasks, list):
            c.error("tasks", _l("Must be a list of tasks."))
        elif len(tasks) > MAX_TASKS:
            c.error("tasks", _l("At most %(n)s tasks.", n=MAX_TASKS))
        else:
            errors: dict[str, list[str]] = {}
            cleaned = [_clean_task(task, number, errors) for number, task in enumerate(tasks, start=1)]
            for name, messages in errors.items():
                for message in messages:
                    c.error(name, message)
            c.out["tasks"] = [t for t in cleaned if t is not None]
    return c.done()


def _name_taken(name: str, plan_id: int | None = None) -> bool:
    """Whether another plan has this name, whatever its case, accented capitals included (SQLite's
    lower() folds ASCII only: compared here, over the few plans a municipality has)."""
    wanted = name.casefold()
    return any(other.casefold() == wanted for other_id, other in db.session.execute(select(Plan.id, Plan.name))
               if other_id != plan_id)


def _refuse_taken_name(name: str, plan_id: int | None = None) -> None:
    if _name_taken(name, plan_id):
        raise ConflictError(_l("There is already a plan named %(name)s.", name=name), "name")


def _task_rows(tasks: list[dict]) -> list[PlanTask]:
    return [PlanTask(position=number, title=t["title"], details=t.get("details", ""),
                     responsible=t.get("responsible", ""), due_minutes=t.get("due_minutes"))
            for number, t in enumerate(tasks, start=1)]


def create_plan(raw: dict, author: Who | None = None) -> Plan:
    """A new plan (revision 1)."""
    data = clean_plan(raw)
    _refuse_taken_name(data["name"])
    now = utcnow()
    plan = Plan(name=data["name"], hazard=data["hazard"], level=data.get("level"),
                description=data.get("description", ""), revision=1, version=1, created_at=now, updated_at=now,
                updated_by=(author or who()).label)
    plan.tasks = _task_rows(data.get("tasks", []))
    db.session.add(plan)
    db.session.flush()
    return plan


def lock_plan(plan_id: int) -> Plan:
    plan = db.session.execute(
        select(Plan).where(Plan.id == plan_id).with_for_update().execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if plan is None:
        raise NotFound("plan", plan_id)
    return plan


def _task_content(task) -> tuple:
    get = task.get if isinstance(task, dict) else lambda key, default=None: getattr(task, key)
    return (get("title"), get("details", "") or "", get("responsible", "") or "", get("due_minutes"))


def update_plan(plan_id: int, raw: dict, author: Who | None = None) -> Plan:
    """Change the given fields of a plan (``tasks``, when given, is the whole list in its new
    order); a change makes a new revision. A stale ``version`` is refused (409). Tasks already
    copied onto incidents are copies: they stay as they are."""
    plan = lock_plan(plan_id)
    check_version(plan, raw)
    data = clean_plan({k: v for k, v in raw.items() if k != "version"}, partial=True)
    if "name" in data and data["name"] != plan.name:
        _refuse_taken_name(data["name"], plan.id)
    changed = False
    for key in ("name", "hazard", "level", "description"):
        if key in data and getattr(plan, key) != data[key]:
            setattr(plan, key, data[key])
            changed = True
    if "tasks" in data and [_task_content(t) for t in data["tasks"]] != [_task_content(t) for t in plan.tasks]:
        plan.tasks.clear()
        db.session.flush()  # the old rows go before the new take their places
        plan.tasks.extend(_task_rows(data["tasks"]))
        changed = True
    if changed:
        plan.revision += 1
        plan.version += 1
        plan.updated_at = utcnow()
        plan.updated_by = (author or who()).label
    db.session.flush()
    return plan


def delete_plan(plan_id: int) -> None:
    """Delete a plan; the incidents that used it keep their tasks (copies, with the plan's name)."""
    plan = lock_plan(plan_id)
    # The copies keep its name and revision but no longer its id, which a new plan may get
    # (SQLite reuses the highest id freed): they must not read as that plan's.
    db.session.execute(update(IncidentTask).where(IncidentTask.plan_id == plan.id).values(plan_id=None))
    db.session.delete(plan)
    db.session.flush()


def plans_query(hazard: str | None = None, level: int | None = None):
    query = select(Plan).order_by(Plan.hazard, Plan.level.is_(None), Plan.level, Plan.name, Plan.id)
    if hazard:
        query = query.where(Plan.hazard == hazard)
    if level is not None:
        query = query.where(Plan.level == level)
    return query


def all_plans(hazard: str | None = None) -> list[Plan]:
    return list(db.session.execute(plans_query(hazard)).scalars())


def plans_for(kind: str, level: int) -> list[Plan]:
    """The plans written for this hazard and readiness level, and its plans for any level (no
    level of their own: they hold at every level, so raising to any level offers them). The
    level's own first."""
    query = (select(Plan).where(Plan.hazard == kind, or_(Plan.level == level, Plan.level.is_(None)))
             .order_by(Plan.level.is_(None), Plan.name, Plan.id))
    return list(db.session.execute(query).scalars())


# Sharing plans: JSON and CSV, all or nothing


def plan_as_dict(plan: Plan) -> dict:
    """A plan as it is shared (no ids: they mean nothing in another municipality's Riadó)."""
    return {
        "name": plan.name, "hazard": plan.hazard, "level": plan.level, "description": plan.description,
        "revision": plan.revision,
        "tasks": [{"title": t.title, "details": t.details, "responsible": t.responsible, "due_minutes": t.due_minutes}
                  for t in plan.tasks],
    }


def export_json(plans: list[Plan]) -> str:
    return json.dumps({"format": FORMAT, "format_version": FORMAT_VERSION, "plans": [plan_as_dict(p) for p in plans]},
                      ensure_ascii=False, indent=2) + "\n"


def export_csv(plans: list[Plan]) -> str:
    """One row per task (a plan without tasks: one row with the task's cells empty)."""
    out = io.StringIO()
    writer = Writer(out)
    writer.writerow(CSV_COLUMNS)
    for plan in plans:
        head = [plan.name, plan.hazard, plan.level if plan.level is not None else "", plan.description]
        if not plan.tasks:
            writer.writerow([*head, "", "", "", "", ""])
        for task in plan.tasks:
            writer.writerow([*head, task.position, task.title, task.details, task.responsible,
                             task.due_minutes if task.due_minutes is not None else ""])
    return out.getvalue()


# What a person calls each field of a plan file (a CSV column, a key of a JSON plan or task): the
# words of the plan's form.
FIELD_LABELS = {
    "file": _l("(the file)"), "plans": _l("(the file)"), "plan": _l("Plan name"), "name": _l("Plan name"),
    "hazard": _l("Hazard"), "level": _l("Readiness level"), "plan_description": _l("Description"),
    "description": _l("Description"), "tasks": _l("Tasks"), "position": _l("Order"), "title": _l("Task"),
    "details": _l("Details"), "responsible": _l("Responsible (role or group)"), "due_minutes": _l("Due (minutes)"),
}


def field_label(field_name: str) -> str:
    """A problem's field as the person sees it: ``due_minutes`` → "Due (minutes)", a JSON plan's
    ``tasks.2.title`` → "Task 2: Task" (in the page's language)."""
    parts = field_name.split(".")
    if parts[0] == "tasks" and len(parts) >= 2 and parts[1].isdecimal():
        task = str(_l("Task %(n)s", n=int(parts[1])))
        if len(parts) == 2:
            return task
        return str(_l("%(task)s: %(field)s", task=task, field=field_label(".".join(parts[2:]))))
    return str(FIELD_LABELS.get(field_name, field_name))


def _error_order(error: dict) -> tuple:
    """A file's problems in its order: the file's own first, then by row (a CSV row, a JSON
    plan's number), then by the column (or the task) they are in."""
    row = error["row"]
    parts = error["field"].split(".")
    task = int(parts[1]) if parts[0] == "tasks" and len(parts) > 1 and parts[1].isdecimal() else 0
    column = parts[-1] if parts[0] == "tasks" else parts[0]
    place = CSV_COLUMNS.index(column) if column in CSV_COLUMNS else len(CSV_COLUMNS)
    return (row is not None, row or 0, task, place)


@dataclass
class ImportResult:
    """What an import did or would do: the plans (created, or read with ``dry_run``) and every
    problem found ``{"row", "field", "label", "message"}``, in the file's order: ``field`` as the
    file names it (a CSV column; a JSON plan's key, ``tasks.<n>.<key>`` for its n-th task),
    ``label`` as a person reads it; with any problem, nothing was written."""

    plans: list = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)
    csv_file: bool = True  # a problem's row is a CSV row; in JSON, the plan's number in the file

    def error(self, row: int | None, field_: str, message) -> None:
        self.errors.append({"row": row, "field": field_, "label": field_label(field_), "message": str(message)})

    def sort(self) -> None:
        self.errors.sort(key=_error_order)


def _looks_like_json(data: bytes, filename: str) -> bool:
    if filename.lower().endswith(".json"):
        return True
    if filename.lower().endswith(".csv"):
        return False
    return data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"[")


def _read_json(text: str, result: ImportResult) -> list[tuple[int, dict]]:
    """The plans of a JSON file, numbered from 1 (the "row" of a problem): a plan, a list of
    plans, or an export (``{"plans": [...]}``)."""
    try:
        document = json.loads(text)
    except ValueError as exc:
        result.error(getattr(exc, "lineno", None), "file", _l("This is not a JSON file: %(problem)s", problem=str(exc)))
        return []
    if isinstance(document, dict) and "plans" in document:
        document = document["plans"]
    if isinstance(document, dict):
        document = [document]
    if not isinstance(document, list):
        result.error(None, "plans", _l("Must be a plan or a list of plans."))
        return []
    return list(enumerate(document, start=1))


def _read_csv(text: str, result: ImportResult) -> list[tuple[int, dict]]:
    """The plans of a CSV file (rows of one plan together, by its name); a problem's row is the
    file's row (the header is row 1) and its field a column or ``tasks.<n>.<column>``."""
    lines = text.splitlines()
    if not lines:
        result.error(1, "file", _l("The file is empty."))
        return []
    counts = {d: lines[0].count(d) for d in (";", ",", "\t")}
    delimiter = max(counts, key=lambda d: (counts[d], d == ";"))
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    header = [cell.strip().lower() for cell in rows[0]]
    missing = [c for c in ("plan", "hazard", "title") if c not in header]
    unknown = [c for c in header if c and c not in CSV_COLUMNS]
    for column in missing:
        result.error(1, column, _l("The column %(column)s is missing.", column=column))
    for column in unknown:
        result.error(1, column, _l("Unknown column %(column)s; the columns are: %(columns)s.", column=column,
                                   columns=", ".join(CSV_COLUMNS)))
    # A column twice would have its last cell win unseen (two "title" columns: one task's text lost).
    repeated = [c for c in dict.fromkeys(header) if c and header.count(c) > 1]
    for column in repeated:
        result.error(1, column, _l("The column %(column)s is in the header twice.", column=column))
    if missing or unknown or repeated:
        return []
    plans: dict[str, dict] = {}
    first_row: dict[str, int] = {}
    task_rows: dict[str, list[int]] = {}
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(header):
            result.error(number, "file", _l("This row has more cells than the header."))
            continue
        cells = {column: restore(cell) for column, cell in zip(header, row)}
        name = cells.get("plan", "").strip()
        if not name:
            result.error(number, "plan", _l("This field is required."))
            continue
        plan = plans.get(name.lower())
        own = {"name": name, "hazard": cells.get("hazard", "").strip(), "level": cells.get("level", "").strip() or None,
               "description": cells.get("plan_description", "")}
        if plan is None:
            plan = plans[name.lower()] = {**own, "tasks": []}
            first_row[name.lower()] = number
            task_rows[name.lower()] = []
        else:
            for key in ("hazard", "level", "description"):
                if (own[key] or None) != (plan[key] or None):
                    column = "plan_description" if key == "description" else key
                    result.error(number, column, _l("Differs from the plan's first row (row %(row)s).",
                                                    row=first_row[name.lower()]))
        task = {key: cells.get(key, "") for key in ("title", "details", "responsible", "due_minutes")}
        if any(value.strip() for value in task.values()) or cells.get("position", "").strip():
            position = cells.get("position", "").strip()
            order = len(plan["tasks"]) + 1
            if position:
                try:
                    order = whole_number(position, "position", minimum=1)
                except FieldError as exc:
                    result.error(number, "position", exc.message)
            plan["tasks"].append((order, number, task))
            task_rows[name.lower()].append(number)
    out = []
    for key, plan in plans.items():
        ordered = sorted(plan["tasks"], key=lambda item: item[0])
        plan["tasks"] = [task for _order, _row, task in ordered]
        plan["_rows"] = [row for _order, row, _task in ordered]
        out.append((first_row[key], plan))
    return out


def _column_of(field_name: str) -> str:
    """The CSV column a plan's field is in (a task's ``tasks.<n>.<key>``: its row's ``<key>``)."""
    parts = field_name.split(".")
    if parts[0] == "tasks" and len(parts) > 2:
        return parts[2]
    if parts[0] == "tasks" and len(parts) == 2:
        return "title"
    return {"name": "plan", "description": "plan_description"}.get(field_name, field_name)


def _row_of(plan_row: int, raw: dict, field_name: str, csv_file: bool) -> int:
    """The file row a problem is on: for a CSV task, that task's row."""
    if csv_file and field_name.startswith("tasks."):
        parts = field_name.split(".")
        if len(parts) > 1 and parts[1].isdigit() and int(parts[1]) <= len(raw.get("_rows", [])):
            return raw["_rows"][int(parts[1]) - 1]
    return plan_row


def import_plans(data: bytes, filename: str = "", dry_run: bool = False, author: Who | None = None) -> ImportResult:
    """Read plans from a JSON or CSV file and create them, all or nothing: every problem is
    reported with its row (a CSV row; in JSON, the plan's number in the file) and its field, and
    then nothing is written. A plan named as one already here is refused (rename one of them)."""
    result = ImportResult()
    if len(data) > MAX_IMPORT_BYTES:
        result.error(None, "file", _l("The file is larger than %(n)s MB.", n=MAX_IMPORT_BYTES // (1024 * 1024)))
        return result
    try:
        text = decode(data)
    except UnicodeDecodeError:
        result.error(None, "file", _l("The file is neither UTF-8 nor Windows-1250 text."))
        return result
    if not storable(text):
        result.error(None, "file", _l("The file holds characters that cannot be stored."))
        return result
    csv_file = result.csv_file = not _looks_like_json(data, filename)
    found = _read_csv(text, result) if csv_file else _read_json(text, result)
    seen: dict[str, int] = {}
    cleaned = []
    for row, raw in found:
        if not isinstance(raw, dict):
            result.error(row, "plan", _l("Must be an object with a name, a hazard and tasks."))
            continue
        try:
            data_ = clean_plan({k: v for k, v in raw.items() if k in ("name", "hazard", "level", "description", "tasks")})
        except FieldErrors as exc:
            for name, messages in exc.errors.items():
                for message in messages:
                    result.error(_row_of(row, raw, name, csv_file), _column_of(name) if csv_file else name, message)
            continue
        key = data_["name"].casefold()  # as _name_taken compares: "Straße" and "STRASSE" are one name
        if key in seen:
            result.error(row, "plan" if csv_file else "name",
                         _l("The plan %(name)s is in the file twice (also at %(row)s).", name=data_["name"], row=seen[key]))
            continue
        seen[key] = row
        if _name_taken(data_["name"]):
            result.error(row, "plan" if csv_file else "name",
                         _l("There is already a plan named %(name)s.", name=data_["name"]))
            continue
        cleaned.append(data_)
    if not found and not result.errors:
        result.error(None, "file", _l("The file holds no plan."))
    if result.errors:
        result.sort()
        return result
    if dry_run:
        result.plans = cleaned
        return result
    for data_ in cleaned:
        result.plans.append(create_plan(data_, author=author))
    return result


# Readiness level


def set_readiness(incident_id: int, value, seen: int | None = None, now: dt.datetime | None = None,
                  author: Who | None = None) -> tuple[Incident, int]:
    """Change an incident's readiness level (written to its log by the system, in the person's
    name); ``seen``: the level the page showed, a change made meanwhile is refused (409). Returns
    the incident and the level it had."""
    level = clean_readiness(value)
    incident = lock_incident(incident_id)
    if incident.status == "closed":
        raise ConflictError(_l("The incident is closed; reopen it to change its readiness level."), "readiness_level")
    before = incident.readiness_level
    if seen is not None and seen != before:
        raise ConflictError(_l("Meanwhile the readiness level became %(level)s; nothing was changed.",
                               level=READINESS_LABELS[before]), "readiness_level")
    if level != before:
        change_readiness(incident, level, now, author)
        incident.version += 1
    return incident, before


def offered_plans(incident: Incident) -> list[Plan]:
    """The plans for the incident's hazard and its readiness level not applied to it yet: what
    the incident page offers to apply (never applied by themselves)."""
    if incident.status == "closed" or not incident.readiness_level:
        return []
    applied = set(db.session.execute(
        select(IncidentTask.plan_id).where(IncidentTask.incident_id == incident.id).distinct()).scalars())
    return [p for p in plans_for(incident.kind, incident.readiness_level) if p.id not in applied]


# Checklists on incidents


def apply_plan(incident_id: int, plan_id, now: dt.datetime | None = None, author: Who | None = None) -> list[IncidentTask]:
    """Copy the plan's tasks onto the incident, each due ``due_minutes`` after now; written to
    the log. A plan already applied to the incident, or a closed incident, is refused (409)."""
    if plan_id is None or (isinstance(plan_id, str) and not plan_id.strip()):
        raise FieldErrors({"plan_id": [str(_l("This field is required."))]})
    plan_id = record_id(plan_id, "plan_id")
    incident = lock_incident(incident_id)
    plan = db.session.execute(select(Plan).where(Plan.id == plan_id).with_for_update(read=True)).scalar_one_or_none()
    if plan is None:
        raise FieldErrors({"plan_id": [str(_l("There is no plan %(id)s.", id=plan_id))]})
    if incident.status == "closed":
        raise ConflictError(_l("The incident is closed; reopen it to apply a plan."), "status")
    if plan.hazard != incident.kind:
        raise FieldErrors({"plan_id": [str(_l("This plan is for another hazard than the incident's."))]})
    earlier = db.session.execute(select(func.min(IncidentTask.applied_at)).where(
        IncidentTask.incident_id == incident.id, IncidentTask.plan_id == plan.id)).scalar_one_or_none()
    if earlier is not None:
        raise ConflictError(_l("This plan was already applied to the incident."), "plan_id")
    now = now or utcnow()
    actor = author or who()
    start = db.session.execute(select(func.coalesce(func.max(IncidentTask.position), 0))
                               .where(IncidentTask.incident_id == incident.id)).scalar_one()
    tasks = []
    for number, task in enumerate(plan.tasks, start=1):
        due_at = now + dt.timedelta(minutes=task.due_minutes) if task.due_minutes is not None else None
        tasks.append(IncidentTask(
            incident_id=incident.id, plan_id=plan.id, plan_name=plan.name, plan_revision=plan.revision,
            position=start + number, title=task.title, details=task.details, responsible=task.responsible,
            due_minutes=task.due_minutes, applied_at=now, applied_by=actor.label, due_at=due_at, status="open",
            note="", version=1))
    db.session.add_all(tasks)
    append_entry(incident, "system", system_text(APPLIED_TEXT, name=plan.name, revision=plan.revision, n=len(tasks)),
                 at=now, author=actor, locked=True)
    db.session.flush()
    return tasks


def clean_task_change(raw: dict) -> dict:
    c = Cleaner(raw)
    c.choice("status", TASK_STATUSES, required=True)
    c.text("note", 2000)
    data = c.done()
    if data["status"] == "skipped" and not data.get("note"):
        raise FieldErrors({"note": [str(_l("Say why the task is skipped."))]})
    return data


def change_task(task_id: int, raw: dict, now: dt.datetime | None = None, author: Who | None = None) -> tuple[IncidentTask, bool]:
    """Mark a task done, skipped (``note``: the reason, required) or open again, written to the
    incident's log; ``version``, if given, must be the task's (409 otherwise). The same status
    it already has changes nothing and writes nothing (two officers ticking it at once: one
    change, one entry). Returns the task and whether it changed."""
    task = db.session.get(IncidentTask, task_id)
    if task is None:
        raise NotFound("task", task_id)
    data = clean_task_change({k: v for k, v in raw.items() if k != "version"})
    incident = lock_incident(task.incident_id)
    task = db.session.execute(select(IncidentTask).where(IncidentTask.id == task_id)
                              .execution_options(populate_existing=True)).scalar_one()
    if incident.status == "closed":
        raise ConflictError(_l("The incident is closed; reopen it to change its tasks."), "status")
    status = data["status"]
    if status == task.status:  # another officer did the same meanwhile: nothing to refuse
        return task, False
    check_version(task, raw)
    now = now or utcnow()
    actor = author or who()
    note = data.get("note", "")
    text_ = system_text(TASK_TEXT[status], title=task.title, note=note)
    if status != "skipped" and note:
        text_ += " " + system_text(NOTE_TEXT, note=note)
    task.status = status
    task.note = note
    if status == "open":
        task.done_at = task.done_by = None
    else:
        task.done_at, task.done_by = now, actor.label
    task.version += 1
    append_entry(incident, "system", text_, at=now, author=actor, locked=True)
    db.session.flush()
    return task, True


def tasks_query(incident_id: int, status: str | None = None):
    query = select(IncidentTask).where(IncidentTask.incident_id == incident_id).order_by(
        IncidentTask.position, IncidentTask.id)
    if status:
        query = query.where(IncidentTask.status == status)
    return query


def incident_tasks(incident_id: int) -> list[IncidentTask]:
    return list(db.session.execute(tasks_query(incident_id)).scalars())


def overdue_query(now: dt.datetime, drill: bool | None = None):
    """Open tasks past their due time, of incidents not closed, the longest overdue first."""
    query = (select(IncidentTask, Incident).join(Incident, Incident.id == IncidentTask.incident_id)
             .where(IncidentTask.status == "open", IncidentTask.due_at.is_not(None), IncidentTask.due_at < now,
                    Incident.status != "closed")
             .order_by(IncidentTask.due_at, IncidentTask.id))
    if drill is not None:
        query = query.where(Incident.drill.is_(drill))
    return query


def overdue_tasks(now: dt.datetime | None = None, drill: bool | None = None, limit: int = 50) -> list[tuple]:
    """``[(task, incident)]`` overdue now, the first ``limit`` (``overdue_count`` tells how many
    there are in all)."""
    return [(task, incident) for task, incident in db.session.execute(overdue_query(now or utcnow(), drill).limit(limit))]


def overdue_task_query(now: dt.datetime, drill: bool | None = None):
    """The overdue tasks alone (for a paged list; ``with_incidents`` adds their incidents)."""
    return overdue_query(now, drill).with_only_columns(IncidentTask)


def with_incidents(tasks: list[IncidentTask]) -> list[tuple]:
    """``[(task, incident)]`` for these tasks, in their order."""
    ids = {t.incident_id for t in tasks}
    incidents = {i.id: i for i in db.session.execute(select(Incident).where(Incident.id.in_(ids))).scalars()} if ids else {}
    return [(t, incidents[t.incident_id]) for t in tasks]


def overdue_count(now: dt.datetime | None = None, drill: bool | None = None) -> int:
    query = overdue_query(now or utcnow(), drill).order_by(None)
    return db.session.execute(select(func.count()).select_from(query.subquery())).scalar_one()


@dataclass
class Checklist:
    """An incident's checklist as the reports show it: planned against done, and delays."""

    tasks: list[IncidentTask]
    now: dt.datetime

    def count(self, status: str) -> int:
        return sum(1 for t in self.tasks if t.status == status)

    @property
    def planned(self) -> int:
        return len(self.tasks)

    @property
    def done(self) -> int:
        return self.count("done")

    @property
    def skipped(self) -> int:
        return self.count("skipped")

    @property
    def open(self) -> int:
        return self.count("open")

    @property
    def overdue(self) -> int:
        return sum(1 for t in self.tasks if t.overdue(self.now))

    @property
    def done_late(self) -> int:
        return sum(1 for t in self.tasks if t.status == "done" and t.delay_seconds(self.now))

    @property
    def done_on_time(self) -> int:
        return sum(1 for t in self.tasks if t.status == "done" and not t.delay_seconds(self.now))

    def delay(self, task: IncidentTask) -> float | None:
        return task.delay_seconds(self.now)

    def is_overdue(self, task: IncidentTask) -> bool:
        return task.overdue(self.now)


def incident_clock(incident_id: int, now: dt.datetime | None = None) -> dt.datetime:
    """The time an incident's tasks are measured against: now, or for a closed incident the time
    it closed (its clock stopped then: an open task is not later every day, and the report of a
    closed incident reads the same whenever it is printed)."""
    now = now or utcnow()
    closed_at = db.session.execute(
        select(Incident.closed_at).where(Incident.id == incident_id, Incident.status == "closed")
    ).scalar_one_or_none()
    return closed_at if closed_at is not None and closed_at < now else now


def checklist(incident_id: int, now: dt.datetime | None = None) -> Checklist:
    return Checklist(incident_tasks(incident_id), incident_clock(incident_id, now))


def wall_counts(drill: bool) -> list[dict]:
    """Overdue tasks for the wall map (the core's own counter, beside the wings')."""
    return [{"key": "overdue_tasks", "label": _l("Overdue tasks"), "value": overdue_count(drill=drill)}]


def status_word(status: str) -> str:
    return str(TASK_STATUS_LABELS.get(status, status))


__all__ = [
    "Checklist", "ImportResult", "apply_plan", "change_task", "checklist", "create_plan", "delete_plan",
    "export_csv", "export_json", "import_plans", "offered_plans", "overdue_count", "overdue_tasks", "plans_for",
    "set_readiness", "update_plan",
]
