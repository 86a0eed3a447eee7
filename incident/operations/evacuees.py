"""The reception register (befogadás): every query and write about evacuees.

A shelter's free places are its ``available_quantity`` (``operations.resources``: capacity less
assignments less the evacuees present), read under the shelter's row lock as ``assign`` reads
what it may assign: a check-in, a household's or a move takes the shelter's lock (``SELECT … FOR
UPDATE``; on SQLite the write transaction's BEGIN IMMEDIATE), then the incident's, then counts
what is free, so that two desks racing for the last place cannot both have it.

Personal data (``models.evacuees.PERSONAL``) stays in this table: the incident's log records
counts and register numbers (the evacuee's id), the audit trail records that personal columns
changed (***), never their values, and a search is audited by the ids it found, never by the
name searched. ``purge`` empties the personal columns and those derived from them."""

from __future__ import annotations

import datetime as dt
import io

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, func, or_, select

from ..audit import record
from ..database import utcnow
from ..errors import ConflictError, FieldError, FieldErrors, NotFound
from ..extensions import db
from ..models import NEEDS, Evacuee, Incident, Resource
from ..models.evacuees import needs_text
from ..phones import normalise_phone
from ..validation import Cleaner, fold, whole_number
from . import incidents as incident_ops
from . import resources as resource_ops
from .contacts import check_version
from .incidents import N_, system_text, who

CHILD_UNDER = 14  # children: under 14 years
ELDERLY_FROM = 65  # the elderly: 65 and over
MAX_HOUSEHOLD = 30
OLDEST_BIRTH_YEAR = 1900

CHECK_IN_TEXT = N_("Reception: %(n)s checked in at %(shelter)s (register no. %(numbers)s); present there now: %(present)s.")
MOVE_TEXT = N_("Reception: register no. %(number)s moved from %(from)s to %(to)s.")
CHECK_OUT_TEXT = N_("Reception: register no. %(number)s left %(shelter)s; present there now: %(present)s.")
IMPORT_TEXT = N_("Reception: %(n)s checked in at %(shelter)s from a CSV file (register no. %(numbers)s); "
                 "present there now: %(present)s.")
CLOSING_TEXT = N_("Reception: with the incident's closing, the departure of %(n)s recorded from %(shelter)s "
                  "(register no. %(numbers)s); present there now: %(present)s.")


def current_year() -> int:
    """The year ages are counted in (``utcnow``'s, so ``clock_at`` sets it)."""
    return utcnow().year


# Validation


def clean_person(raw: dict, partial: bool = False, year: int | None = None) -> dict:
    """One person's fields (JSON, form or CSV values); FieldErrors names every bad one."""
    year = year or current_year()
    c = Cleaner(raw, partial)
    c.text("name", 200, required=True, name=True)
    if not c.skip("birth_year"):
        c.integer("birth_year", minimum=OLDEST_BIRTH_YEAR, default=None)
        if (c.out.get("birth_year") or 0) > year:
            c.error("birth_year", _l("At most %(year)s.", year=year))
            c.out.pop("birth_year")
    if not c.skip("phone"):
        phone = raw.get("phone")
        if phone is None or (isinstance(phone, str) and not phone.strip()):
            c.out["phone"] = ""
        elif not isinstance(phone, str):
            c.error("phone", _l("Must be text."))
        else:
            normalised = c.run("phone", normalise_phone, phone, current_app.config.get("RIADO_PHONE_REGION", "HU"))
            if normalised:
                c.out["phone"] = normalised
    c.text("household", 200)
    c.text("notes", 5000)
    if not c.skip("needs"):
        needs = raw.get("needs")
        if needs is None or needs == "":
            needs = []
        if isinstance(needs, str):  # a CSV cell or a form: "wheelchair, oxygen"
            needs = [part for part in needs.replace(";", ",").replace("|", ",").split(",")]
        if not isinstance(needs, (list, tuple)) or not all(isinstance(n, str) for n in needs):
            c.error("needs", _l("Must be a list of: %(choices)s.", choices=", ".join(NEEDS)))
        else:
            codes = [n.strip().casefold() for n in needs if n.strip()]
            unknown = [n for n in codes if n not in NEEDS]
            if unknown:
                c.error("needs", _l("Unknown need %(need)s; one of: %(choices)s.", need=unknown[0],
                                    choices=", ".join(NEEDS)))
            else:
                c.out["needs"] = needs_text(codes)
    return c.done()


def _reference(raw: dict, field: str) -> int:
    value = raw.get(field)
    if value is None or value == "":
        raise FieldErrors({field: [str(_l("This field is required."))]})
    try:
        return whole_number(value, field, minimum=1)
    except FieldError as exc:
        raise FieldErrors({field: [exc.message]}) from None


def _lock_shelter(shelter_id: int, field: str = "shelter_id") -> Resource:
    """The shelter under its row lock; 422 naming ``field`` if it is none."""
    shelter = resource_ops.lock_resource(shelter_id)
    if shelter is None:
        raise FieldErrors({field: [str(_l("No such shelter."))]})
    if shelter.kind != resource_ops.SHELTER:
        raise FieldErrors({field: [str(_l("%(name)s is not a shelter.", name=shelter.name))]})
    return shelter


def _open_incident(incident_id: int) -> Incident:
    incident = db.session.get(Incident, incident_id)
    if incident is None:
        raise FieldErrors({"incident_id": [str(_l("No such incident."))]})
    incident = incident_ops.lock_incident(incident_id)
    if incident.status == "closed":
        raise ConflictError(_l("The incident is closed; reopen it to check people in."), "incident_id")
    return incident


def free_places(shelter_id: int) -> int:
    """The shelter's free places now (its ``available_quantity``)."""
    return resource_ops.available_quantities([shelter_id]).get(shelter_id, 0)


def present_count(shelter_id: int) -> int:
    return db.session.execute(
        select(func.count(Evacuee.id)).where(Evacuee.shelter_id == shelter_id, Evacuee.status == "present")
    ).scalar_one()


def _numbers(evacuees) -> str:
    return ", ".join(str(e.id) for e in evacuees)


# Check-in, move, check-out


def duplicates(people: list[dict], incident: Incident | None = None) -> list[tuple[int, Evacuee]]:
    """(index in ``people``, evacuee) for each person whose name (accents and case aside) and
    birth year are those of someone present now, in any shelter (drills and real incidents
    apart: ``incident``'s kind)."""
    found = []
    for index, person in enumerate(people):
        if not person.get("name"):
            continue
        query = (select(Evacuee).join(Incident, Incident.id == Evacuee.incident_id)
                 .where(Evacuee.status == "present", Evacuee.search == fold(person["name"])))
        if person.get("birth_year") is not None:
            query = query.where(Evacuee.birth_year == person["birth_year"])
        else:
            query = query.where(Evacuee.birth_year.is_(None))
        if incident is not None:
            query = query.where(Incident.drill.is_(incident.drill))
        for evacuee in db.session.execute(query.order_by(Evacuee.id)).scalars():
            found.append((index, evacuee))
    return found


def check_in(raw: dict, now: dt.datetime | None = None) -> tuple[Evacuee, list[tuple[int, Evacuee]]]:
    """Check one person in (``{name, incident_id, shelter_id, birth_year?, phone?, household?,
    needs?, notes?}``): the evacuee and the people present already with the same name and birth
    year (a warning). 409 when the shelter has no free place."""
    people, found = check_in_household(raw, [raw], now=now, flat=True)
    return people[0], found


def check_in_household(where: dict, members: list[dict], household: str | None = None,
                       now: dt.datetime | None = None, flat: bool = False, log_text: str = CHECK_IN_TEXT):
    """Check in several people together (a household: ``household`` is the label they share, if
    given), all or nothing: every member is validated (errors named ``members.<i>.<field>``, or
    the field alone with ``flat``), and all must fit in the shelter's free places. Returns
    (evacuees, duplicates)."""
    errors: dict[str, list[str]] = {}
    ids = {}
    for field in ("incident_id", "shelter_id"):
        try:
            ids[field] = _reference(where, field)
        except FieldErrors as exc:
            errors.update(exc.errors)
    if not members:
        errors.setdefault("members", []).append(str(_l("Name at least one person.")))
    if len(members) > MAX_HOUSEHOLD:
        errors.setdefault("members", []).append(str(_l("At most %(n)s persons at once.", n=MAX_HOUSEHOLD)))
    people = []
    for index, member in enumerate(members[:MAX_HOUSEHOLD]):
        data = {**member}
        if household is not None:
            data["household"] = household
        try:
            people.append(clean_person(data))
        except FieldErrors as exc:
            for field, messages in exc.errors.items():
                errors.setdefault(field if flat else f"members.{index}.{field}", []).extend(messages)
    if errors:
        raise FieldErrors(errors)
    shelter = _lock_shelter(ids["shelter_id"])
    incident = _open_incident(ids["incident_id"])
    free = free_places(shelter.id)
    if len(people) > free:
        raise ConflictError(_l("%(shelter)s has %(free)s free places; %(n)s asked for.", shelter=shelter.name,
                               free=free, n=len(people)), "shelter_id", details={"free_places": free})
    found = duplicates(people, incident)
    actor = who()
    now = now or utcnow()
    evacuees = []
    for person in people:
        evacuee = Evacuee(incident_id=incident.id, shelter_id=shelter.id, status="present", checked_in_at=now,
                          checked_in_by=actor.label, updated_at=now, **person)
        _index(evacuee)
        db.session.add(evacuee)
        evacuees.append(evacuee)
    db.session.flush()
    incident_ops.append_entry(incident, "system", system_text(
        log_text, n=len(evacuees), shelter=shelter.name, numbers=_numbers(evacuees),
        present=present_count(shelter.id)), at=now, author=actor, locked=True)
    return evacuees, found


def _index(evacuee: Evacuee) -> None:
    evacuee.search = fold(evacuee.name or "")


def lock_evacuee(evacuee_id: int) -> Evacuee:
    evacuee = db.session.execute(
        select(Evacuee).where(Evacuee.id == evacuee_id).with_for_update().execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if evacuee is None:
        raise NotFound("evacuee", evacuee_id)
    return evacuee


def move(evacuee_id: int, raw: dict, now: dt.datetime | None = None) -> Evacuee:
    """Move a present evacuee to another shelter (409 if it has no free place)."""
    evacuee = db.session.get(Evacuee, evacuee_id)
    if evacuee is None:
        raise NotFound("evacuee", evacuee_id)
    target_id = _reference(raw, "shelter_id")
    # The shelters' locks in id order (two moves the other way round wait, never deadlock).
    locked = {}
    for shelter_id in sorted({evacuee.shelter_id, target_id}):
        locked[shelter_id] = _lock_shelter(shelter_id) if shelter_id == target_id else resource_ops.lock_resource(shelter_id)
    incident = incident_ops.lock_incident(evacuee.incident_id)
    evacuee = lock_evacuee(evacuee_id)
    if evacuee.status != "present":
        raise ConflictError(_l("Register no. %(number)s has left; check them in again instead.", number=evacuee.id),
                            "status")
    if incident.status == "closed":
        raise ConflictError(_l("The incident is closed; reopen it to move people."), "incident_id")
    if evacuee.shelter_id == target_id:
        raise FieldErrors({"shelter_id": [str(_l("Already in this shelter."))]})
    target = locked[target_id]
    free = free_places(target_id)
    if free < 1:
        raise ConflictError(_l("%(shelter)s has no free place.", shelter=target.name), "shelter_id",
                            details={"free_places": free})
    source = db.session.get(Resource, evacuee.shelter_id)
    evacuee.shelter_id = target_id
    db.session.flush()
    incident_ops.append_entry(incident, "system", system_text(
        MOVE_TEXT, number=evacuee.id, **{"from": source.name, "to": target.name}), at=now, locked=True)
    return evacuee


def check_out(evacuee_id: int, raw: dict, now: dt.datetime | None = None) -> Evacuee:
    """A present evacuee leaves (``destination``: where to, optional); their place is free again."""
    c = Cleaner(raw or {})
    c.text("destination", 500)
    data = c.done()
    evacuee = db.session.get(Evacuee, evacuee_id)
    if evacuee is None:
        raise NotFound("evacuee", evacuee_id)
    resource_ops.lock_resource(evacuee.shelter_id)
    incident = incident_ops.lock_incident(evacuee.incident_id)
    evacuee = lock_evacuee(evacuee_id)
    if evacuee.status != "present":
        raise ConflictError(_l("Register no. %(number)s has left already.", number=evacuee.id), "status")
    now = now or utcnow()
    evacuee.status = "left"
    evacuee.checked_out_at = now
    evacuee.destination = data.get("destination", "")
    db.session.flush()
    shelter = db.session.get(Resource, evacuee.shelter_id)
    incident_ops.append_entry(incident, "system", system_text(
        CHECK_OUT_TEXT, number=evacuee.id, shelter=shelter.name, present=present_count(shelter.id)), at=now,
        locked=True)
    return evacuee


# Closing an incident: nobody stays "present" in a closed incident's register


def present_at_closing(incident_id: int) -> list[dict]:
    """The shelters where people are still checked in for the incident: ``[{shelter_id, name,
    present, ids}]`` by shelter name (what closing the incident would leave behind)."""
    rows = db.session.execute(
        select(Evacuee.id, Evacuee.shelter_id, Resource.name, Resource.name_key)
        .join(Resource, Resource.id == Evacuee.shelter_id)
        .where(Evacuee.incident_id == incident_id, Evacuee.status == "present")
        .order_by(Resource.name_key, Resource.id, Evacuee.id)
    ).all()
    shelters: dict[int, dict] = {}
    for evacuee_id, shelter_id, name, _key in rows:
        shelter = shelters.setdefault(shelter_id, {"shelter_id": shelter_id, "name": name, "present": 0, "ids": []})
        shelter["present"] += 1
        shelter["ids"].append(evacuee_id)
    return list(shelters.values())


def check_out_at_closing(incident: Incident, now: dt.datetime, author=None, present: list[dict] | None = None) -> int:
    """Record that everyone still checked in for ``incident`` has left (``left`` at ``now``, no
    destination), one log entry per shelter with the count and the register numbers, never a
    name. Called under the incident's lock as it closes: a check-in, a move or a check-out of one
    of its people waits for that lock and then finds the incident closed or the person gone, so
    the shelters' locks are not needed (giving places back never over-fills one). Returns how
    many left."""
    present = present_at_closing(incident.id) if present is None else present
    ids = [evacuee_id for shelter in present for evacuee_id in shelter["ids"]]
    if not ids:
        return 0
    rows = db.session.execute(
        select(Evacuee).where(Evacuee.id.in_(ids), Evacuee.status == "present").with_for_update()
        .execution_options(populate_existing=True)
    ).scalars().all()
    for evacuee in rows:
        evacuee.status = "left"
        evacuee.checked_out_at = now
    db.session.flush()
    for shelter in present:
        incident_ops.append_entry(incident, "system", system_text(
            CLOSING_TEXT, n=len(shelter["ids"]), shelter=shelter["name"], numbers=", ".join(map(str, shelter["ids"])),
            present=present_count(shelter["shelter_id"])), at=now, author=author, locked=True)
    return len(rows)


def update_person(evacuee: Evacuee, raw: dict) -> Evacuee:
    """Correct what was written about a person (name, birth year, phone, household, needs, notes,
    destination); ``version``, if given, must be the record's (409 otherwise: someone else
    changed it since it was read)."""
    check_version(evacuee, raw)
    raw = {k: v for k, v in raw.items() if k != "version"}
    if evacuee.purged_at is not None:
        raise ConflictError(_l("This record's personal data were erased."), "name")
    data = clean_person({k: v for k, v in raw.items() if k != "destination"}, partial=True)
    if "destination" in raw:
        c = Cleaner(raw, partial=True)
        c.text("destination", 500)
        data.update(c.done())
    for key, value in data.items():
        setattr(evacuee, key, value)
    _index(evacuee)
    return evacuee


# Reading: audited


def audit_search(filters: dict, ids: list[int], total: int) -> None:
    """One audit row for a list or search of evacuees: the filters that are no personal data
    (incident, shelter, status), whether a name was searched (never the name: it may be that of
    someone who is in no register), and the ids found."""
    kept = {key: filters.get(key) for key in ("incident_id", "shelter_id", "status", "drill") if filters.get(key) is not None}
    record(db.session, "search", "evacuees", "", {
        "filters": kept, "name_searched": bool((filters.get("q") or "").strip()), "total": total, "ids": ids})


def audit_read(evacuee: Evacuee) -> None:
    record(db.session, "read", "evacuees", evacuee.id, {"incident_id": evacuee.incident_id})


def evacuees_query(incident_id=None, shelter_id=None, status=None, q=None, drill=None):
    """Evacuees, filtered; a name search ignores accents and case (every word must be found)."""
    query = select(Evacuee)
    if incident_id is not None:
        query = query.where(Evacuee.incident_id == incident_id)
    if shelter_id is not None:
        query = query.where(Evacuee.shelter_id == shelter_id)
    if status:
        query = query.where(Evacuee.status == status)
    if drill is not None:
        query = query.where(Evacuee.incident_id.in_(select(Incident.id).where(Incident.drill.is_(drill))))
    if q:
        for word in fold(q).split():
            query = query.where(Evacuee.search.contains(word, autoescape=True))
    return query.order_by(Evacuee.status.desc(), Evacuee.name_key, Evacuee.id)


def search(filters: dict, limit: int = 50, offset: int = 0) -> dict:
    """``{"items", "total"}`` of evacuees matching ``filters`` (incident_id, shelter_id, status, q,
    drill), audited."""
    query = evacuees_query(filters.get("incident_id"), filters.get("shelter_id"), filters.get("status"),
                           filters.get("q"), filters.get("drill"))
    total = db.session.execute(select(func.count()).select_from(query.order_by(None).subquery())).scalar_one()
    items = list(db.session.execute(query.limit(limit).offset(offset)).scalars())
    audit_search(filters, [e.id for e in items], total)
    return {"items": items, "total": total}


def read(evacuee_id: int) -> Evacuee:
    """One evacuee, audited."""
    evacuee = db.session.get(Evacuee, evacuee_id)
    if evacuee is None:
        raise NotFound("evacuee", evacuee_id)
    audit_read(evacuee)
    return evacuee


def household_of(evacuee: Evacuee) -> list[Evacuee]:
    """The others checked in for the same incident under the same household label."""
    if not evacuee.household:
        return []
    return list(db.session.execute(
        select(Evacuee).where(Evacuee.incident_id == evacuee.incident_id, Evacuee.household == evacuee.household,
                              Evacuee.id != evacuee.id).order_by(Evacuee.id)
    ).scalars())


# Headcounts: counts only, never names


def _count_columns(year: int):
    """Labelled aggregate columns over present evacuees: present, children, elderly, each need."""
    present = Evacuee.status == "present"
    child = or_(Evacuee.birth_year > year - CHILD_UNDER, and_(Evacuee.birth_year.is_(None), Evacuee.age_group == "child"))
    elderly = or_(Evacuee.birth_year <= year - ELDERLY_FROM,
                  and_(Evacuee.birth_year.is_(None), Evacuee.age_group == "elderly"))
    columns = [
        func.sum(case((present, 1), else_=0)).label("present"),
        func.count(Evacuee.id).label("received"),
        func.sum(case((and_(present, child), 1), else_=0)).label("children"),
        func.sum(case((and_(present, elderly), 1), else_=0)).label("elderly"),
    ]
    for need in NEEDS:
        columns.append(func.sum(case((and_(present, Evacuee.needs.contains(f",{need},")), 1), else_=0)).label(need))
    return columns


def _counts(row) -> dict:
    return {
        "present": int(row.present or 0), "received": int(row.received or 0),
        "children": int(row.children or 0), "elderly": int(row.elderly or 0),
        "needs": {need: int(getattr(row, need) or 0) for need in NEEDS},
    }


def empty_counts() -> dict:
    """Headcounts of nobody."""
    return {"present": 0, "received": 0, "children": 0, "elderly": 0, "needs": {need: 0 for need in NEEDS}}


def _add(total: dict, counts: dict) -> None:
    for key in ("present", "received", "children", "elderly"):
        total[key] += counts[key]
    for need in NEEDS:
        total["needs"][need] += counts["needs"][need]


def summary(incident_id: int | None = None, drill: bool | None = None, open_only: bool = False,
            year: int | None = None) -> dict:
    """Headcounts per shelter and in total (``{"shelters": [{shelter_id, name, capacity,
    free_places, present, received, children, elderly, needs: {need: n}}], "totals": {…}}``)
    of one incident, or of every incident (``drill``: drills or real ones; ``open_only``: not
    closed). Children are under 14, the elderly 65 or over, counted from the birth year in
    ``year`` (default this year); ``present``, ``children``, ``elderly`` and the needs count the
    evacuees present, ``received`` everyone ever checked in. Two statements."""
    year = year or current_year()
    query = select(Evacuee.shelter_id, *_count_columns(year)).group_by(Evacuee.shelter_id)
    if incident_id is not None:
        query = query.where(Evacuee.incident_id == incident_id)
    if drill is not None or open_only:
        incidents = select(Incident.id)
        if drill is not None:
            incidents = incidents.where(Incident.drill.is_(drill))
        if open_only:
            incidents = incidents.where(Incident.status != "closed")
        query = query.where(Evacuee.incident_id.in_(incidents))
    rows = db.session.execute(query).all()
    by_shelter = {row.shelter_id: _counts(row) for row in rows}
    shelters = []
    if by_shelter:
        facts = db.session.execute(
            select(Resource.id, Resource.name, Resource.name_key, Resource.capacity,
                   resource_ops.available_quantity_expr())
            .where(Resource.id.in_(list(by_shelter))).order_by(Resource.name_key, Resource.id)
        ).all()
        for shelter_id, name, _key, capacity, free in facts:
            shelters.append({"shelter_id": shelter_id, "name": name, "capacity": capacity,
                             "free_places": int(free or 0), **by_shelter[shelter_id]})
    totals = empty_counts()
    for shelter in shelters:
        _add(totals, shelter)
    totals["capacity"] = sum(s["capacity"] or 0 for s in shelters)
    totals["free_places"] = sum(s["free_places"] for s in shelters)
    return {"shelters": shelters, "totals": totals, "year": year}


def _open_incident_ids(drill: bool):
    """The ids of the incidents not closed, real ones or drills: whose evacuees are counted as
    present on the maps (a closed incident's are history, whatever their status says)."""
    return select(Incident.id).where(Incident.drill.is_(drill), Incident.status != "closed")


def shelter_counts(drill: bool = False, year: int | None = None) -> dict[int, dict]:
    """Headcounts of the evacuees present per shelter id, of open real incidents (or drills): the
    map's."""
    year = year or current_year()
    query = (select(Evacuee.shelter_id, *_count_columns(year)).where(Evacuee.status == "present")
             .where(Evacuee.incident_id.in_(_open_incident_ids(drill)))
             .group_by(Evacuee.shelter_id))
    return {row.shelter_id: _counts(row) for row in db.session.execute(query)}


def present_total(drill: bool) -> int:
    """Evacuees present now in open real incidents or drills (the wall map's counter)."""
    return db.session.execute(
        select(func.count(Evacuee.id)).where(Evacuee.status == "present")
        .where(Evacuee.incident_id.in_(_open_incident_ids(drill)))
    ).scalar_one()


def shelters(incident: Incident | None = None) -> list[tuple[Resource, int]]:
    """Every shelter with its free places, by name (what a desk chooses from)."""
    rows = db.session.execute(
        select(Resource, resource_ops.available_quantity_expr()).where(Resource.kind == resource_ops.SHELTER)
        .order_by(Resource.name_key, Resource.id)
    ).all()
    return [(shelter, int(free or 0)) for shelter, free in rows]


def open_incidents() -> list[Incident]:
    """Incidents people can be checked in for: not closed (real ones first)."""
    return incident_ops.open_incidents()


# Data protection: the purge


def age_group(birth_year: int | None, year: int) -> str | None:
    if birth_year is None:
        return None
    age = year - birth_year
    if age < CHILD_UNDER:
        return "child"
    if age >= ELDERLY_FROM:
        return "elderly"
    return "adult"


def purge(closed_days: int, now: dt.datetime | None = None) -> int:
    """Erase the personal data (name, birth year, phone, household, notes, destination) of the
    evacuees of incidents closed at least ``closed_days`` days ago, with what is derived from
    them (the folded search text, the sort key); the records stay, with their shelter, status,
    needs and times, and the birth year becomes an age group (as of the closing), so that every
    headcount stays. Returns how many records were erased. The audit trail holds no copy to
    erase: it records personal columns as *** and searches by the ids found."""
    now = now or utcnow()
    cutoff = now - dt.timedelta(days=closed_days)
    incidents = db.session.execute(
        select(Incident.id, Incident.closed_at).where(Incident.status == "closed", Incident.closed_at <= cutoff)
    ).all()
    erased = 0
    for incident_id, closed_at in incidents:
        rows = db.session.execute(
            select(Evacuee).where(Evacuee.incident_id == incident_id, Evacuee.purged_at.is_(None))
        ).scalars().all()
        for evacuee in rows:
            evacuee.age_group = evacuee.age_group or age_group(evacuee.birth_year, closed_at.year)
            evacuee.name = ""
            evacuee.name_key = None
            evacuee.birth_year = None
            evacuee.phone = ""
            evacuee.household = ""
            evacuee.notes = ""
            evacuee.destination = ""
            evacuee.search = ""
            evacuee.purged_at = now
            erased += 1
    db.session.flush()
    return erased


# CSV: a shelter's register


CSV_COLUMNS = ("id", "name", "birth_year", "phone", "household", "needs", "notes", "status", "checked_in_at",
               "checked_out_at", "destination")
CSV_IMPORTED = ("name", "birth_year", "phone", "household", "needs", "notes")


def csv_table():
    from .csvheaders import Table

    return Table(
        columns=CSV_COLUMNS, required=("name",),
        labels={
            "id": _l("Register no."), "name": _l("Name"), "birth_year": _l("Year of birth"), "phone": _l("Phone"),
            "household": _l("Household"), "needs": _l("Needs"), "notes": _l("Notes"), "status": _l("Status"),
            "checked_in_at": _l("Checked in"), "checked_out_at": _l("Left"), "destination": _l("Destination"),
        },
    )


def export_csv(incident_id: int, shelter_id: int, headers: str = "codes") -> tuple[str, list[int]]:
    """The register of a shelter for an incident as CSV (everyone, present first), and the ids in it
    (for the audit). The needs are codes separated by ``|``; imports back unchanged."""
    from zoneinfo import ZoneInfo

    from ..spreadsheet import Writer

    zone = ZoneInfo(current_app.config["RIADO_TIMEZONE"])
    table = csv_table()
    out = io.StringIO()
    writer = Writer(out)
    writer.writerow(table.header(headers))
    ids = []
    for evacuee in db.session.execute(evacuees_query(incident_id, shelter_id)).scalars():
        ids.append(evacuee.id)
        writer.writerow([
            evacuee.id, evacuee.name, "" if evacuee.birth_year is None else evacuee.birth_year, evacuee.phone,
            evacuee.household, "|".join(evacuee.need_list), evacuee.notes, evacuee.status,
            evacuee.checked_in_at.astimezone(zone).isoformat(timespec="seconds"),
            evacuee.checked_out_at.astimezone(zone).isoformat(timespec="seconds") if evacuee.checked_out_at else "",
            evacuee.destination,
        ])
    return out.getvalue(), ids


def import_csv(data: bytes, incident_id: int, shelter_id: int, dry_run: bool = False):
    """Read a shelter's register from CSV, all or nothing (the registries' rules: every bad row
    reported with its row number, name, cell and reason, then nothing written). A row with a
    register number (``id``) of this shelter and incident corrects that person; a row without one
    checks a person in (all of them must fit in the free places). ``status`` and the times are
    the register's own: read, never changed."""
    from .csvio import ImportReport, _add_errors, _finish, read_csv

    table = csv_table()
    report = ImportReport(dry_run)
    rows, written = read_csv(data, table, report)
    shelter = _lock_shelter(shelter_id)
    incident = _open_incident(incident_id)
    new_rows = []
    seen: dict[int, int] = {}
    with db.session.no_autoflush:
        for number, row in rows:
            raw = {key: row[key] for key in CSV_IMPORTED if key in row}
            text_id = (row.get("id") or "").strip().lstrip("#")
            try:
                if text_id:
                    evacuee = _csv_record(text_id, incident_id, shelter_id, seen, number)
                    before = {key: getattr(evacuee, key) for key in CSV_IMPORTED}
                    update_person(evacuee, raw)
                    changed = any(getattr(evacuee, key) != value for key, value in before.items())
                    report["updated" if changed else "unchanged"] += 1
                else:
                    new_rows.append((number, row, clean_person(raw)))
            except FieldErrors as exc:
                _add_errors(report, number, exc, row, table, written)
            except ConflictError as exc:
                _add_errors(report, number, FieldErrors({exc.field or "row": [exc.message]}), row, table, written)
    if new_rows and not report["errors"]:
        free = free_places(shelter.id)
        if len(new_rows) > free:
            number, row, _person = new_rows[free] if free >= 0 else new_rows[0]
            _add_errors(report, number, FieldErrors({"row": [str(_l(
                "%(shelter)s has %(free)s free places; the file checks in %(n)s persons.", shelter=shelter.name,
                free=free, n=len(new_rows)))]}), row, table, written)
    if not report["errors"] and new_rows:
        people = [person for _number, _row, person in new_rows]
        check_in_household({"incident_id": incident.id, "shelter_id": shelter.id}, people, flat=True,
                           log_text=IMPORT_TEXT)
        report["created"] = len(people)
    if not report["errors"]:
        db.session.flush()
    return _finish(report, dry_run)


def _csv_record(text_id: str, incident_id: int, shelter_id: int, seen: dict, number: int) -> Evacuee:
    try:
        evacuee_id = whole_number(text_id, "id", minimum=1)
    except FieldError as exc:
        raise FieldErrors({"id": [exc.message]}) from None
    if evacuee_id in seen:
        raise FieldErrors({"id": [str(_l("The same register number is on row %(row)s too.", row=seen[evacuee_id]))]})
    seen[evacuee_id] = number
    evacuee = db.session.get(Evacuee, evacuee_id)
    if evacuee is None or evacuee.incident_id != incident_id or evacuee.shelter_id != shelter_id:
        raise FieldErrors({"id": [str(_l("No one with this register number in this shelter; leave it empty to "
                                         "check a new person in."))]})
    return evacuee
