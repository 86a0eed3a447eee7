"""Incidents, their hash-chained activity log, and resource assignments: every query and write.

Concurrency: every write that depends on what is there takes the row lock of what it guards
(``SELECT … FOR UPDATE`` on PostgreSQL; SQLite transactions start with ``BEGIN IMMEDIATE``, which
serialises writers) and reads the current state after taking it."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import force_locale, format_datetime, gettext, ngettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, text
from sqlalchemy.orm import selectinload

from ..audit import current_actor
from ..database import utcnow
from ..errors import ConflictError, FieldError, FieldErrors, NotFound
from ..extensions import db
from ..geo import area_from_geojson, nearest, point_from_geojson, same_geometry, to_element
from ..labels import INCIDENT_KIND_LABELS, READINESS_LABELS, SEVERITY_LABELS, STATUS_LABELS, label
from ..models import (
    GENESIS_HASH,
    INCIDENT_KINDS,
    LOG_KINDS,
    SEVERITIES,
    STATUSES,
    Assignment,
    Incident,
    LogEntry,
    Resource,
)
from ..validation import Cleaner, fold, moment, whole_number
from . import resources as resource_ops
from .contacts import check_version
from .municipality import refuse_far
from .staff import Staff

USER_LOG_KINDS = tuple(k for k in LOG_KINDS if k != "system")
# The lifecycle: forward one step at a time; a contained or closed incident may be reopened.
TRANSITIONS = {
    "reported": ("active",),
    "active": ("contained",),
    "contained": ("closed", "active"),
    "closed": ("active",),
}
STATUS_TIMESTAMP = {"active": "activated_at", "contained": "contained_at", "closed": "closed_at"}
# What a request that closes an incident says about the resources still assigned to it and the
# people still checked in to shelters for it.
CLOSING_FIELDS = ("release_assignments", "released_at", "check_out_evacuees")


def N_(message: str) -> str:
    """Marks a system-entry text for translation; ``system_text`` translates it when written."""
    return message


FIELD_CHANGE_TEXT = {
    "title": N_("Title: %(before)s → %(after)s."),
    "commander": N_("Commander: %(before)s → %(after)s."),
    "severity": N_("Severity: %(before)s → %(after)s."),
    "kind": N_("Kind: %(before)s → %(after)s."),
    "location": N_("The location was changed."),
    "area": N_("The affected area was changed."),
    "description": N_("The description was changed."),
}
READINESS_TEXT = N_("Readiness level: %(before)s → %(after)s.")
DRILL_TEXT = {True: N_("Marked as a drill."), False: N_("No longer marked as a drill.")}
# Codes in system entries are written as words.
FIELD_LABELS = {
    "severity": {"before": SEVERITY_LABELS, "after": SEVERITY_LABELS},
    "kind": {"before": INCIDENT_KIND_LABELS, "after": INCIDENT_KIND_LABELS},
}


# Incidents


@dataclass(frozen=True)
class Who:
    id: int | None
    label: str


def who() -> Who:
    """The user (or CLI, or system) doing the current write."""
    actor_id, label = current_actor()
    return Who(actor_id, label)


def next_number(year: int) -> int:
    """The next serial of ``year`` (atomic on both backends; the counter row is locked until commit)."""
    name = f"incident-{year}"
    conn = db.session.connection()
    conn.execute(text("INSERT INTO counters (name, value) VALUES (:n, 0) ON CONFLICT (name) DO NOTHING"), {"n": name})
    return conn.execute(text("UPDATE counters SET value = value + 1 WHERE name = :n RETURNING value"), {"n": name}).scalar_one()


def clean_incident(raw: dict, partial: bool = False, current: Incident | None = None) -> dict:
    """Validate an incident's fields; a location or area far from the municipality is refused
    unless ``confirm_far`` (or it is what ``current`` has stored already)."""
    c = Cleaner(raw, partial)
    c.text("title", 200, required=True, name=True)
    c.choice("kind", INCIDENT_KINDS, required=True)
    c.choice("severity", SEVERITIES, required=True)
    c.text("description", 20_000)
    c.text("commander", 200)
    c.boolean("drill", default=None if partial else False)
    if not c.skip("readiness_level"):
        if raw.get("readiness_level") is None:
            if not partial:
                c.out["readiness_level"] = 0
        else:
            level = c.run("readiness_level", clean_readiness, raw["readiness_level"])
            if level is not None:
                c.out["readiness_level"] = level
    if not c.skip("location"):
        if raw.get("location") is None:
            c.error("location", _l("A location is required."))
        else:
            point = c.run("location", point_from_geojson, raw["location"])
            if point is not None:
                c.out["location"] = point
    if not c.skip("area"):
        if raw.get("area") is None:
            c.out["area"] = None
        else:
            area = c.run("area", area_from_geojson, raw["area"])
            if area is not None:
                c.out["area"] = area
    refuse_far(c, ("location", "area"), current)
    return c.done()


def create_incident(raw: dict, now: dt.datetime | None = None, author: Who | None = None) -> Incident:
    """Record a new incident (status reported) with its number and the first log entry."""
    if "status" in raw and raw["status"] not in (None, "reported"):
        raise FieldErrors({"status": [str(_l("A new incident starts as reported."))]})
    data = clean_incident({k: v for k, v in raw.items() if k != "status"})
    now = now or utcnow()
    actor = author or who()
    incident = Incident(
        year=now.year, serial=next_number(now.year), status="reported", created_by_id=actor.id,
        created_at=now, updated_at=now, log_count=0, log_head=GENESIS_HASH, version=1,
        title=data["title"], kind=data["kind"], severity=data["severity"], drill=data["drill"], readiness_level=0,
        description=data.get("description", ""), commander=data.get("commander", ""),
        location=to_element(data["location"]), area=to_element(data.get("area")),
    )
    db.session.add(incident)
    db.session.flush()
    index_incident(incident)
    append_entry(incident, "system", system_text(
        "Incident recorded: %(title)s (%(kind)s, %(severity)s).",
        labels={"kind": INCIDENT_KIND_LABELS, "severity": SEVERITY_LABELS},
        title=incident.title, kind=incident.kind, severity=incident.severity,
    ), at=now, author=actor, locked=True)
    if data.get("readiness_level"):
        change_readiness(incident, data["readiness_level"], now, actor)
    return incident


def clean_readiness(value) -> int:
    """A readiness level: 0 (none) to 3 (III. fokú készültség)."""
    level = whole_number(value, "readiness_level")
    if level not in (0, 1, 2, 3):
        raise FieldError("readiness_level", _l("Must be 0 (none), 1, 2 or 3."))
    return level


def change_readiness(incident: Incident, level: int, now: dt.datetime | None = None, author: Who | None = None) -> None:
    """Set the readiness level (under the incident's lock) and write the change to the log."""
    before = incident.readiness_level or 0
    incident.readiness_level = level
    append_entry(incident, "system", system_text(
        READINESS_TEXT, labels={"before": READINESS_LABELS, "after": READINESS_LABELS}, before=before, after=level,
    ), at=now, author=author, locked=True)


def lock_incident(incident_id: int) -> Incident:
    """The incident, freshly read under its row lock (404 is the caller's business)."""
    incident = db.session.execute(
        select(Incident).where(Incident.id == incident_id).with_for_update().execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if incident is None:
        raise NotFound("incident", incident_id)
    return incident


def update_incident(incident: Incident, raw: dict, now: dt.datetime | None = None, author: Who | None = None) -> Incident:
    """Change what people wrote (title, severity, area…) and/or move the status; every change is
    written to the log by the system. Closing with resources still assigned needs
    ``release_assignments`` (and optionally ``released_at``, see ``close_assignments``); closing
    with people still checked in to shelters for it needs ``check_out_evacuees`` (see
    ``close_reception``). (``now``/``author``: for loading a past record.)"""
    incident = lock_incident(incident.id)
    check_version(incident, raw)
    status = raw.get("status")
    errors: dict[str, list[str]] = {}
    confirm = None  # a far place: the flag that lets it through once confirmed
    try:
        closing = clean_closing(raw)
    except FieldErrors as exc:
        errors.update(exc.errors)
    try:
        data = clean_incident({k: v for k, v in raw.items() if k not in ("version", "status", *CLOSING_FIELDS)},
                              partial=True, current=incident)
    except FieldErrors as exc:
        errors.update(exc.errors)
        confirm = exc.confirm
    if status is not None and status not in STATUSES:
        errors["status"] = [str(_l("Must be one of: %(choices)s.", choices=", ".join(STATUSES)))]
    for key in CLOSING_FIELDS:
        if raw.get(key) not in (None, False, "") and status != "closed" and key not in errors:
            # Said without closing, it would be dropped without a word.
            errors[key] = [str(_l("Only when closing the incident (status: closed)."))]
    if errors:
        raise FieldErrors(errors, confirm=confirm)
    changes = []
    for key, value in data.items():
        old = getattr(incident, key)
        if key in ("location", "area"):
            if same_geometry(old, value):
                continue
            value = to_element(value)
        elif old == value:
            continue
        changes.append(key)
        if key == "readiness_level":
            if incident.status == "closed" and status in (None, "closed"):
                raise ConflictError(_l("The incident is closed; reopen it to change its readiness level."),
                                    "readiness_level")
            change_readiness(incident, value, now, author)
            continue
        setattr(incident, key, value)
        if key == "drill":
            append_entry(incident, "system", system_text(DRILL_TEXT[bool(value)]), at=now, author=author, locked=True)
        else:
            append_entry(incident, "system", system_text(
                FIELD_CHANGE_TEXT[key], labels=FIELD_LABELS.get(key), before=old or "—", after=value or "—",
            ), at=now, author=author, locked=True)
    if status is not None and status != incident.status:
        _move_status(incident, status, now, author, closing)
        changes.append("status")
    if changes:
        incident.version += 1
        index_incident(incident)
    return incident


def index_incident(incident: Incident) -> None:
    """Keep the folded search text (see ``Incident.search``) in step with what people wrote."""
    incident.search = fold(" ".join((incident.number, incident.title or "", incident.description or "",
                                     incident.commander or "")))


def _move_status(incident: Incident, status: str, now: dt.datetime | None = None, author: Who | None = None,
                 closing: dict | None = None) -> None:
    if status not in TRANSITIONS[incident.status]:
        raise ConflictError(
            _l("An incident that is %(old)s cannot become %(new)s; next: %(allowed)s.",
               old=label(STATUS_LABELS, incident.status), new=label(STATUS_LABELS, status),
               allowed=", ".join(label(STATUS_LABELS, s) for s in TRANSITIONS[incident.status])),
            "status",
        )
    old = incident.status
    now = now or utcnow()
    if status == "closed":
        # Both refusals before anything is written: a request that said neither hears of the
        # resources first, then of the people.
        closing = closing or {}
        open_ = open_assignments(incident.id)
        if open_ and not closing.get("release_assignments"):
            raise AssignmentsOpen(open_)
        present = reception_at_closing(incident, closing)
        close_assignments(incident, closing, now, author)
        close_reception(incident, present, now, author)
    incident.status = status
    if status in STATUS_TIMESTAMP:
        setattr(incident, STATUS_TIMESTAMP[status], now)
    if old == "closed":
        incident.closed_at = None
    append_entry(incident, "system", system_text(
        "Status: %(old)s → %(new)s.", labels={"old": STATUS_LABELS, "new": STATUS_LABELS}, old=old, new=status,
    ), at=now, author=author, locked=True)


# Closing: what happens to the resources still assigned


class AssignmentsOpen(ConflictError):
    """Closing refused: resources are still assigned and the request did not say to release them.
    ``assignments``: the open ones, oldest first (their resources loaded)."""

    def __init__(self, assignments: list[Assignment]):
        listed = "; ".join(_open_assignment_text(a) for a in assignments)
        super().__init__(_l("Resources are still assigned to this incident: %(assignments)s. Closing it needs a "
                            "choice: release them all, or leave the incident open.", assignments=listed),
                         "assignments")
        self.assignments = assignments


def _open_assignment_text(assignment: Assignment) -> str:
    resource = assignment.resource
    unit = str(_l("persons")) if resource.kind == resource_ops.SHELTER else (resource.unit or "×")
    return str(_l("%(name)s, %(quantity)s %(unit)s since %(since)s", name=resource.name, quantity=assignment.quantity,
                  unit=unit, since=format_datetime(assignment.assigned_at, "yyyy-MM-dd HH:mm")))


class EvacueesPresent(ConflictError):
    """Closing refused: people are still checked in to shelters for the incident and the request
    did not say to record their departure. ``shelters``: ``[{shelter_id, name, present, ids}]``."""

    def __init__(self, shelters: list[dict]):
        listed = "; ".join(f"{s['name']}: {s['present']}" for s in shelters)
        total = sum(s["present"] for s in shelters)
        super().__init__(" ".join((
            ngettext("%(num)s person is still checked in to a shelter for this incident (%(shelters)s).",
                     "%(num)s persons are still checked in to shelters for this incident (%(shelters)s).", total,
                     shelters=listed),
            gettext("Closing it needs a choice: record their departures at the reception first, or record that "
                    "everyone has left as the incident closes."))), "evacuees")
        self.shelters = shelters


def reception_at_closing(incident: Incident, closing: dict) -> list[dict]:
    """The people still checked in for the incident, by shelter (``evacuees.present_at_closing``);
    EvacueesPresent (409) if there are any and ``check_out_evacuees`` was not said."""
    from . import evacuees as evacuee_ops  # the register builds on incidents: imported when used

    present = evacuee_ops.present_at_closing(incident.id)
    if present and not closing.get("check_out_evacuees"):
        raise EvacueesPresent(present)
    return present


def close_reception(incident: Incident, present: list[dict], now: dt.datetime, author: Who | None = None) -> int:
    """As the incident closes (under its lock): everyone in ``present`` leaves their shelter, each
    shelter's departures written to the log as counts and register numbers. Returns how many."""
    from . import evacuees as evacuee_ops

    if not present:
        return 0
    return evacuee_ops.check_out_at_closing(incident, now, author or who(), present)


def clean_closing(raw: dict) -> dict:
    """``release_assignments`` and ``check_out_evacuees`` (yes/no) and ``released_at`` (a moment;
    without an offset, a wall-clock time in RIADO_TIMEZONE), each only if given."""
    c = Cleaner(raw, partial=True)
    c.boolean("release_assignments")
    c.boolean("check_out_evacuees")
    value = raw.get("released_at")
    if value is not None and not (isinstance(value, str) and not value.strip()):
        zone = ZoneInfo(current_app.config["RIADO_TIMEZONE"])
        when = c.run("released_at", moment, value, "released_at", zone)
        if when is not None:
            c.out["released_at"] = when
    return c.done()


def open_assignments(incident_id: int) -> list[Assignment]:
    """The incident's assignments not released, oldest first, with their resources."""
    query = assignments_query(incident_id, active=True).options(selectinload(Assignment.resource))
    return list(db.session.execute(query).scalars())


def close_assignments(incident: Incident, closing: dict, now: dt.datetime, author: Who | None = None) -> None:
    """Before an incident is closed (under its lock): give back every assignment still open, each
    written to the log as a release is, at ``released_at`` (default ``now``; not in the future,
    not before any of them started), if ``release_assignments`` says so; refuse otherwise
    (AssignmentsOpen, 409). Nothing is written when a check fails. The resources' row locks are
    not taken: giving back only frees what they guard (never more assigned than there is), and
    taking them after the incident's would invert the order ``assign`` and ``release`` take them in."""
    open_ = open_assignments(incident.id)
    released_at = closing.get("released_at") or now
    if released_at > now:
        raise FieldErrors({"released_at": [str(_l("The time of release cannot be in the future."))]})
    if not open_:
        return
    if not closing.get("release_assignments"):
        raise AssignmentsOpen(open_)
    latest = max(open_, key=lambda a: a.assigned_at)
    if released_at < latest.assigned_at.replace(second=0, microsecond=0):
        raise FieldErrors({"released_at": [str(_l(
            "The time of release cannot be before %(since)s, when %(name)s was assigned.",
            since=format_datetime(latest.assigned_at, "yyyy-MM-dd HH:mm:ss"), name=latest.resource.name))]})
    actor = author or who()
    for assignment in open_:
        # A time typed to the minute, in the minute the last one was assigned: given back as it
        # was assigned, never before it.
        _give_back(incident, assignment, None, max(released_at, assignment.assigned_at), actor, logged_at=now)


def system_text(template: str, labels: dict | None = None, **values) -> str:
    """A system entry's text in the configured language (RIADO_LOCALE), whoever's browser asked:
    the log is one record for everybody, written once. ``labels`` turns codes into words."""
    with force_locale(current_app.config["RIADO_LOCALE"]):
        words = {key: label(labels[key], value) if labels and key in labels else value for key, value in values.items()}
        return gettext(template, **words)


def open_incidents() -> list[Incident]:
    """Every incident not closed: real ones before drills, the most severe first, then the
    newest."""
    rows = db.session.execute(
        select(Incident).where(Incident.status != "closed").order_by(Incident.created_at.desc())
    ).scalars().all()
    return sorted(rows, key=lambda i: (i.drill, SEVERITIES.index(i.severity)))


def incidents_query(status=None, drill=None, kind=None, q=None):
    query = select(Incident).order_by(Incident.created_at.desc(), Incident.id.desc())
    if status:
        query = query.where(Incident.status == status)
    if drill is not None:
        query = query.where(Incident.drill.is_(drill))
    if kind:
        query = query.where(Incident.kind == kind)
    if q:
        for word in fold(q).split():
            query = query.where(Incident.search.contains(word, autoescape=True))
    return query


def incident_by_number(number: str) -> Incident | None:
    try:
        year, serial = (int(part) for part in number.split("-", 1))
    except ValueError:
        return None
    return db.session.execute(select(Incident).where(Incident.year == year, Incident.serial == serial)).scalar_one_or_none()


# The activity log


def canonical(entry) -> bytes:
    """The entry's content, serialised the one way the hash is computed over."""
    return json.dumps(
        {
            "incident": entry.incident_id,
            "seq": entry.seq,
            "at": entry.at.astimezone(dt.timezone.utc).isoformat(timespec="microseconds"),
            "author_id": entry.author_id,
            "author": entry.author,
            "kind": entry.kind,
            "text": entry.text,
            "corrects": entry.corrects,
        },
        sort_keys=True, ensure_ascii=False, separators=(",", ":"),
    ).encode("utf-8")


def entry_hash(prev_hash: str, entry) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + b"\n" + canonical(entry)).hexdigest()


def clean_entry(raw: dict, incident: Incident) -> dict:
    c = Cleaner(raw)
    c.text("text", 20_000, required=True)
    c.choice("kind", USER_LOG_KINDS, default="note")
    c.integer("corrects", minimum=1, default=None)
    data = c.done()
    if data.get("corrects") is not None and data["corrects"] > incident.log_count:
        raise FieldErrors({"corrects": [str(_l("There is no entry %(seq)s in this log.", seq=data["corrects"]))]})
    return data


def add_entry(incident_id: int, raw: dict) -> LogEntry:
    """A user's entry (note, decision, action, communication), appended under the incident's lock."""
    incident = lock_incident(incident_id)
    data = clean_entry(raw, incident)
    return append_entry(incident, data["kind"], data["text"], corrects=data.get("corrects"), locked=True)


def append_entry(incident: Incident, kind: str, text_: str, corrects: int | None = None,
                 at: dt.datetime | None = None, author: Who | None = None, locked: bool = False) -> LogEntry:
    """Append to the chain: seq and prev_hash from the incident's head, read under its lock."""
    if not locked:
        incident = lock_incident(incident.id)
    author = author or who()
    entry = LogEntry(
        incident_id=incident.id, seq=incident.log_count + 1, at=(at or utcnow()).astimezone(dt.timezone.utc),
        author_id=author.id, author=author.label, kind=kind, text=text_, corrects=corrects,
        prev_hash=incident.log_head,
    )
    entry.hash = entry_hash(entry.prev_hash, entry)
    db.session.add(entry)
    incident.log_count = entry.seq
    incident.log_head = entry.hash
    return entry


def log_query(incident_id: int):
    return select(LogEntry).where(LogEntry.incident_id == incident_id).order_by(LogEntry.seq)


@dataclass(frozen=True)
class Verification:
    ok: bool
    entries: int
    first_bad_seq: int | None


def verify_log(incident: Incident) -> Verification:
    """Recompute the chain from the first entry; name the first entry that does not hold
    (changed, missing, or out of order), including a missing last entry.

    The incident's head is read under a share lock, so appends wait and the entries read next
    are the ones that head describes (verifying during appends never reports a false break).
    Entries are streamed as plain rows, not loaded as objects all at once."""
    head = db.session.execute(
        select(Incident.log_count, Incident.log_head).where(Incident.id == incident.id).with_for_update(read=True)
    ).one()
    expected_prev = GENESIS_HASH
    count = 0
    columns = select(*LogEntry.__table__.c).where(LogEntry.incident_id == incident.id).order_by(LogEntry.seq)
    rows = db.session.execute(columns.execution_options(yield_per=2000))
    try:
        for entry in rows:
            count += 1
            if entry.seq != count or entry.prev_hash != expected_prev or entry_hash(entry.prev_hash, entry) != entry.hash:
                rows.close()  # a server-side cursor on PostgreSQL
                return Verification(False, _count_entries(incident.id), count)
            expected_prev = entry.hash
    finally:
        rows.close()
    if count != head.log_count or expected_prev != head.log_head:
        return Verification(False, count, count + 1)
    return Verification(True, count, None)


def _count_entries(incident_id: int) -> int:
    return db.session.execute(select(func.count()).select_from(LogEntry).where(LogEntry.incident_id == incident_id)).scalar_one()


# Assignments


def clean_assignment(raw: dict) -> dict:
    c = Cleaner(raw)
    c.integer("resource_id", minimum=1, required=True)
    c.integer("quantity", minimum=1, default=1)
    c.text("note", 2000)
    return c.done()


def assign(incident_id: int, raw: dict, now: dt.datetime | None = None, author: Who | None = None) -> Assignment:
    """Commit part of a resource to an incident; never more than is available, also when
    requests race (the resource row is locked, then what is available is read)."""
    data = clean_assignment(raw)
    resource = resource_ops.lock_resource(data["resource_id"])
    if resource is None:
        raise NotFound("resource", data["resource_id"])
    incident = lock_incident(incident_id)
    if incident.status == "closed":
        raise ConflictError(_l("The incident is closed; reopen it to assign resources."), "status")
    available = resource_ops.available_quantities([resource.id]).get(resource.id, 0)
    if data["quantity"] > available:
        raise ConflictError(
            _l("Only %(available)s of %(name)s is available.", available=available, name=resource.name), "quantity"
        )
    actor = author or who()
    now = now or utcnow()
    assignment = Assignment(incident_id=incident.id, resource_id=resource.id, quantity=data["quantity"],
                            note=data.get("note", ""), assigned_at=now, assigned_by=actor.label)
    db.session.add(assignment)
    db.session.flush()
    append_entry(incident, "system", _deployment_text(resource, assignment.quantity, released=False),
                 at=now, author=actor, locked=True)
    return assignment


# The log is read by people: what and how much, in its unit (persons for a shelter); no ids.
DEPLOYMENT_TEXT = {
    (True, False): N_("Shelter places for %(q)s persons assigned at %(name)s."),
    (True, True): N_("Shelter places for %(q)s persons given back at %(name)s."),
    (False, False): N_("Assigned %(q)s %(unit)s of %(name)s."),
    (False, True): N_("Released %(q)s %(unit)s of %(name)s."),
}


RELEASED_EARLIER_TEXT = N_("Given back at %(time)s.")


def _deployment_text(resource: Resource, quantity: int, released: bool) -> str:
    template = DEPLOYMENT_TEXT[(resource.kind == resource_ops.SHELTER, released)]
    return system_text(template, q=quantity, unit=resource.unit or "×", name=resource.name)


def release(assignment_id: int, now: dt.datetime | None = None, author: Who | None = None,
            quantity=None) -> Assignment:
    """Give an assigned resource back, all of it or ``quantity`` of it (the rest stays assigned:
    the part given back becomes a released assignment of its own, so the history keeps both);
    written to the incident's log. Returns the released assignment."""
    assignment = db.session.get(Assignment, assignment_id)
    if assignment is None:
        raise NotFound("assignment", assignment_id)
    resource_ops.lock_resource(assignment.resource_id)
    incident = lock_incident(assignment.incident_id)
    db.session.refresh(assignment)
    if assignment.released_at is not None:
        raise ConflictError(_l("This assignment was already released."), "released_at")
    if quantity is not None:
        quantity = whole_number(quantity, "quantity", minimum=1)
        if quantity > assignment.quantity:
            raise FieldErrors({"quantity": [str(_l("At most %(n)s can be released: that much is assigned.",
                                                   n=assignment.quantity))]})
    return _give_back(incident, assignment, quantity, now or utcnow(), author or who())


def _give_back(incident: Incident, assignment: Assignment, quantity: int | None, released_at: dt.datetime,
               actor: Who, logged_at: dt.datetime | None = None) -> Assignment:
    """The release itself, under the incident's lock (what ``release`` and closing share): the
    assignment, or ``quantity`` of it as a released assignment of its own, given back at
    ``released_at``, and one log entry saying what and how much. The entry is written when it is
    written (``logged_at``, default ``released_at``): the log never claims an earlier time than
    its own; a release given an earlier time says that time in its text."""
    if quantity is not None and quantity < assignment.quantity:
        assignment.quantity -= quantity
        assignment = Assignment(incident_id=assignment.incident_id, resource_id=assignment.resource_id,
                                quantity=quantity, note=assignment.note, assigned_at=assignment.assigned_at,
                                assigned_by=assignment.assigned_by)
        db.session.add(assignment)
    assignment.released_at = released_at
    assignment.released_by = actor.label
    resource = db.session.get(Resource, assignment.resource_id)
    logged_at = logged_at or released_at
    text_ = _deployment_text(resource, assignment.quantity, released=True)
    if logged_at - released_at >= dt.timedelta(minutes=1):
        with force_locale(current_app.config["RIADO_LOCALE"]):
            when = format_datetime(released_at, "yyyy-MM-dd HH:mm")
        text_ += " " + system_text(RELEASED_EARLIER_TEXT, time=when)
    append_entry(incident, "system", text_, at=logged_at, author=actor, locked=True)
    db.session.flush()
    return assignment


def assignments_query(incident_id: int, active: bool | None = None):
    query = select(Assignment).where(Assignment.incident_id == incident_id).order_by(Assignment.assigned_at, Assignment.id)
    if active is True:
        query = query.where(Assignment.released_at.is_(None))
    elif active is False:
        query = query.where(Assignment.released_at.is_not(None))
    return query


def nearby_resources(incident: Incident, kind: str | None = None, limit: int = 10):
    """Available resources nearest the incident: [(resource, distance_m, available_quantity)]."""
    from geoalchemy2.shape import to_shape

    point = to_shape(incident.location)
    where = [Resource.status == "available", resource_ops.available_quantity_expr() > 0]
    if kind:
        where.append(Resource.kind == kind)
    hits = nearest(Resource, point.x, point.y, limit, None, where)
    return resource_ops.load_with_availability(hits)


ICS214_COLUMNS = ("incident_number", "incident_name", "drill", "seq", "date_time", "name", "position", "email",
                  "kind", "notable_activity", "corrects_seq", "hash")


def log_as_ics214(incident: Incident, personal: bool) -> str:
    """The activity log as CSV in the shape of an ICS-214 activity log: one row per notable
    activity with its date and time (in RIADO_TIMEZONE, with the offset) and who recorded it
    (name and position; the e-mail only with ``personal``)."""
    import io
    from zoneinfo import ZoneInfo

    from ..spreadsheet import Writer

    zone = ZoneInfo(current_app.config["RIADO_TIMEZONE"])
    authors = db.session.execute(
        select(LogEntry.author_id, LogEntry.author).where(LogEntry.incident_id == incident.id).distinct()
    ).all()
    staff = Staff(authors, personal)
    out = io.StringIO()
    writer = Writer(out)
    writer.writerow(ICS214_COLUMNS)
    for entry in db.session.execute(log_query(incident.id)).scalars():
        who = staff(entry.author_id, entry.author)
        writer.writerow([
            incident.number, incident.title, "yes" if incident.drill else "no", entry.seq,
            entry.at.astimezone(zone).isoformat(timespec="seconds"), who.name, who.position, who.email or "",
            entry.kind, entry.text, entry.corrects or "", entry.hash,
        ])
    return out.getvalue()
