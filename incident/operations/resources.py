"""The register of forces and equipment: every query and write, and the one place where
``available_quantity`` is derived (a shelter's: its capacity less what is assigned and less the
evacuees present in it)."""

from __future__ import annotations

import functools

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, bindparam, case, func, select
from sqlalchemy.orm import lazyload

from ..errors import ConflictError, FieldErrors
from ..extensions import db
from ..geo import nearest, point_from_geojson, same_geometry, to_element
from ..models import RESOURCE_STATUSES, Assignment, Contact, Evacuee, Incident, Resource, ResourceKind
from ..validation import Cleaner, fold, name_taken
from .contacts import check_version
from .municipality import refuse_far

SHELTER = "shelter"


@functools.cache  # built once: an expression is immutable, and building one costs
def assigned_quantity_expr():
    """What is assigned to incidents and not yet released, per resource (a correlated subquery)."""
    return (
        select(func.coalesce(func.sum(Assignment.quantity), 0))
        .where(Assignment.resource_id == Resource.id, Assignment.released_at.is_(None))
        .correlate(Resource)
        .scalar_subquery()
    )


@functools.cache  # built once: an expression is immutable, and building one costs
def present_evacuees_expr():
    """The evacuees present in a shelter now, per resource (a correlated subquery)."""
    return (
        select(func.count(Evacuee.id))
        .where(Evacuee.shelter_id == Resource.id, Evacuee.status == "present")
        .correlate(Resource)
        .scalar_subquery()
    )


@functools.cache  # built once: an expression is immutable, and building one costs
def taken_quantity_expr():
    """What is taken of a resource: assigned to incidents and, for a shelter, the places of the
    evacuees present (only shelters house evacuees: others skip the count)."""
    return assigned_quantity_expr() + case((Resource.kind == SHELTER, present_evacuees_expr()), else_=0)


@functools.cache  # built once: an expression is immutable, and building one costs
def assignable_total_expr():
    """A shelter is assigned in persons housed, up to its capacity; anything else in its units."""
    return case((Resource.kind == SHELTER, func.coalesce(Resource.capacity, 0)), else_=Resource.quantity)


@functools.cache  # built once: an expression is immutable, and building one costs
def available_quantity_expr():
    """How much of a resource can still be assigned: nothing unless its status is available,
    else its total (capacity for a shelter) less what is assigned (and, for a shelter, less the
    evacuees present). The one place it is derived."""
    return case(
        (Resource.status == "available", assignable_total_expr() - taken_quantity_expr()),
        else_=0,
    )


@functools.cache  # built once: an expression is immutable, and building one costs
def effective_status_expr():
    """The status people read: "deployed" for a resource marked available whose whole quantity is
    assigned (a pump out at an incident is not "available · 0 of 1"); the stored status
    otherwise. A full shelter stays available: its places, not the building, are taken."""
    return case(
        (and_(Resource.status == "available", Resource.kind != SHELTER,
              assigned_quantity_expr() >= assignable_total_expr(), assignable_total_expr() > 0), "deployed"),
        else_=Resource.status,
    )


def effective_statuses(ids) -> dict[int, str]:
    """``effective_status_expr`` of each resource id."""
    ids = list(ids)
    if not ids:
        return {}
    return dict(db.session.execute(select(Resource.id, effective_status_expr()).where(Resource.id.in_(ids))).all())


def available_quantities(ids) -> dict[int, int]:
    """``available_quantity`` of each resource id."""
    ids = list(ids)
    if not ids:
        return {}
    rows = db.session.execute(select(Resource.id, available_quantity_expr()).where(Resource.id.in_(ids))).all()
    return {rid: int(qty) for rid, qty in rows}


def assigned_to(resource_ids=None) -> dict[int, list[dict]]:
    """Where resources are deployed now: for each resource id (all, or those given) its open
    assignments by incident, ``[{"incident_id", "number", "title", "drill", "quantity"}]``,
    oldest incident first. One statement; the one notion of "assigned to 2026-0003" of the
    resource page, the map and the dashboard."""
    query = (
        select(Assignment.resource_id, Incident.id, Incident.year, Incident.serial, Incident.title, Incident.drill,
               func.sum(Assignment.quantity))
        .join(Incident, Incident.id == Assignment.incident_id)
        .where(Assignment.released_at.is_(None))
        .group_by(Assignment.resource_id, Incident.id, Incident.year, Incident.serial, Incident.title, Incident.drill)
        .order_by(Incident.year, Incident.serial)
    )
    if resource_ids is not None:
        ids = list(resource_ids)
        if not ids:
            return {}
        query = query.where(Assignment.resource_id.in_(ids))
    found: dict[int, list[dict]] = {}
    for resource_id, incident_id, year, serial, title, drill, quantity in db.session.execute(query):
        found.setdefault(resource_id, []).append({
            "incident_id": incident_id, "number": f"{year}-{serial:04d}", "title": title, "drill": bool(drill),
            "quantity": int(quantity or 0)})
    return found


def assignment_history(resource_id: int, limit: int = 50) -> list[Assignment]:
    """A resource's assignments, the open ones first, then the newest released."""
    return list(db.session.execute(
        select(Assignment).where(Assignment.resource_id == resource_id)
        .order_by(Assignment.released_at.is_not(None), Assignment.assigned_at.desc(), Assignment.id.desc())
        .limit(limit)
    ).scalars())


def kind_codes() -> list[str]:
    return list(db.session.execute(select(ResourceKind.code).order_by(ResourceKind.code)).scalars())


def kinds() -> list[ResourceKind]:
    return list(db.session.execute(select(ResourceKind).order_by(ResourceKind.code)).scalars())


def clean_resource(raw: dict, partial: bool = False, codes=None, current: Resource | None = None) -> dict:
    """Validate a resource's fields (JSON, form or CSV values); FieldErrors names every bad one. A
    location far from the municipality is refused unless ``confirm_far`` (or ``current`` has it
    stored already)."""
    c = Cleaner(raw, partial)
    c.text("name", 200, required=True, name=True)
    c.choice("kind", codes if codes is not None else kind_codes(), required=True)
    c.integer("quantity", minimum=0, default=1)
    c.text("unit", 40)
    c.integer("capacity", minimum=0, default=None)
    c.choice("status", RESOURCE_STATUSES, default="available")
    c.text("owner", 200)
    c.text("notes", 5000)
    if "public" in raw:  # absent (a CSV row, an older client): left as it is
        c.boolean("public", default=False)
    if not c.skip("contact_id"):
        contact_id = raw.get("contact_id")
        if contact_id in (None, ""):
            c.out["contact_id"] = None
        else:
            c.integer("contact_id", minimum=1)
            if "contact_id" in c.out and db.session.get(Contact, c.out["contact_id"]) is None:
                c.error("contact_id", _l("No such contact."))
    if not c.skip("location"):
        if raw.get("location") is None:
            c.error("location", _l("A location is required."))
        else:
            point = c.run("location", point_from_geojson, raw["location"])
            if point is not None:
                c.out["location"] = point
    if c.out.get("kind") == SHELTER and "capacity" in c.out and c.out["capacity"] is None:
        c.error("capacity", _l("A shelter needs its capacity in persons."))
    refuse_far(c, ("location",), current)
    return c.done()


def _apply(resource: Resource, data: dict) -> None:
    # No autoflush midway: one change is one UPDATE, one version step and one audit row.
    with db.session.no_autoflush:
        _set_fields(resource, data)


def _set_fields(resource: Resource, data: dict) -> None:
    for key, value in data.items():
        if key == "location":
            if not same_geometry(resource.location, value):
                resource.location = to_element(value)
        else:
            setattr(resource, key, value)
    resource.search = fold(" ".join((resource.name, resource.owner or "", resource.unit or "", resource.notes or "")))


def create_resource(raw: dict, codes=None) -> Resource:
    """Add a resource (not committed)."""
    data = clean_resource(raw, codes=codes)
    resource = Resource()
    _apply(resource, data)
    db.session.add(resource)
    return resource


def lock_resource(resource_id: int) -> Resource | None:
    """The resource, freshly read under its row lock (``SELECT … FOR UPDATE``; on SQLite the
    write transaction's BEGIN IMMEDIATE): what is assigned of it cannot change until commit."""
    return db.session.execute(
        select(Resource).options(lazyload("*")).where(Resource.id == resource_id).with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()


def lock_resources(ids) -> None:
    """Take the row locks of these resources, in id order (a CSV import's)."""
    if ids:
        db.session.execute(select(Resource.id).where(Resource.id.in_(sorted(ids))).order_by(Resource.id).with_for_update())


def update_resource(resource: Resource, raw: dict, codes=None) -> Resource:
    """Change the given fields of a resource (not committed). Its row lock is taken first, as an
    assignment takes it, so that what is assigned is read as it stands."""
    lock_resource(resource.id)
    check_version(resource, raw)
    data = clean_resource({k: v for k, v in raw.items() if k != "version"}, partial=True, codes=codes,
                          current=resource)
    if resource.kind == SHELTER and data.get("kind", SHELTER) == SHELTER and "capacity" in data and data["capacity"] is None:
        raise FieldErrors({"capacity": [str(_l("A shelter needs its capacity in persons."))]})
    check_assigned(resource, data)
    _apply(resource, data)
    return resource


def check_assigned(resource: Resource, data: dict) -> None:
    """Refuse (409) a quantity, a shelter's capacity, or a kind that would leave less to assign
    than is assigned now (for a shelter: with the evacuees present): available_quantity never
    goes below zero. Call under the row lock."""
    if not {"quantity", "capacity", "kind"} & data.keys():
        return
    shelter = data.get("kind", resource.kind) == SHELTER
    field = "capacity" if shelter else "quantity"
    total = data.get(field, getattr(resource, field)) or 0
    rows = db.session.execute(
        select(Incident.year, Incident.serial, func.sum(Assignment.quantity))
        .join(Incident, Incident.id == Assignment.incident_id)
        .where(Assignment.resource_id == resource.id, Assignment.released_at.is_(None))
        .group_by(Incident.year, Incident.serial).order_by(Incident.year, Incident.serial)
    ).all()
    assigned = sum(int(quantity) for _year, _serial, quantity in rows)
    present = db.session.execute(
        select(func.count(Evacuee.id)).where(Evacuee.shelter_id == resource.id, Evacuee.status == "present")
    ).scalar_one()
    if present and (not shelter or total < assigned + present):
        raise ConflictError(_l(
            "%(n)s evacuees are present in this shelter: check them out or move them first.", n=present), field)
    if total < assigned:
        where = ", ".join(f"{year}-{serial:04d}: {int(quantity)}" for year, serial, quantity in rows)
        raise ConflictError(_l(
            "Cannot be less than what is assigned now: %(assigned)s (incidents %(where)s). Release it first.",
            assigned=assigned, where=where), field)


def delete_resource(resource: Resource) -> None:
    """Remove a resource from the register, unless incidents have used it: their record keeps it."""
    used = db.session.execute(select(Assignment.id).where(Assignment.resource_id == resource.id).limit(1)).first()
    if used is None:  # a shelter that has housed evacuees: their register names it
        used = db.session.execute(select(Evacuee.id).where(Evacuee.shelter_id == resource.id).limit(1)).first()
    if used is not None:
        raise ConflictError(
            _l("%(name)s has been assigned to incidents, so it stays in their record; set its status to unavailable instead.",
               name=resource.name)
        )
    db.session.delete(resource)


def _filters(kind=None, status=None, q=None):
    where = []
    if kind:
        where.append(Resource.kind == kind)
    if status:
        where.append(effective_status_expr() == status)  # "deployed" finds the pump out at an incident
    if q:
        for word in fold(q).split():
            where.append(Resource.search.contains(word, autoescape=True))
    return where


def resources_query(kind=None, status=None, q=None):
    """Resources by name, filtered."""
    return select(Resource).where(*_filters(kind, status, q)).order_by(Resource.name_key, Resource.id)


def nearest_resources(lon: float, lat: float, limit: int, within_m=None, kind=None, status=None, q=None):
    """[(resource, distance_m, available_quantity)] nearest first (two queries in all)."""
    return load_with_availability(nearest(Resource, lon, lat, limit, within_m, _filters(kind, status, q)))


def load_with_availability(hits) -> list:
    """[(resource, distance_m, available_quantity)] for nearest() hits, in their order."""
    if not hits:
        return []
    rows = db.session.execute(_with_availability_statement(), {"ids": [h.id for h in hits]}).all()
    by_id = {resource.id: (resource, int(available)) for resource, available in rows}
    return [(by_id[h.id][0], h.distance_m, by_id[h.id][1]) for h in hits]


@functools.cache  # built once: every nearest search runs it
def _with_availability_statement():
    return (
        select(Resource, available_quantity_expr())
        .options(lazyload("*"))
        .where(Resource.id.in_(bindparam("ids", expanding=True)))
    )


def kind_summary() -> list[dict]:
    """Per kind: how many resources, how many can still be deployed (available, and not wholly
    assigned: ``available_quantity`` above 0), total and available quantity (for shelters, places
    for persons)."""
    available = available_quantity_expr()
    rows = db.session.execute(
        select(
            Resource.kind,
            func.count(),
            func.sum(case((available > 0, 1), else_=0)),
            func.sum(Resource.quantity),
            func.sum(available),
        ).group_by(Resource.kind)
    ).all()
    return [
        {"kind": k, "count": n, "available": int(a or 0), "quantity": int(q or 0), "available_quantity": int(aq or 0)}
        for k, n, a, q, aq in rows
    ]


def clean_kind(raw: dict) -> dict:
    c = Cleaner(raw)
    c.text("code", 40, required=True)
    c.text("label_hu", 100, required=True, name=True)
    c.text("label_en", 100, required=True, name=True)
    data = c.done()
    code = data["code"]
    if not code.replace("_", "").isalnum() or not code.isascii() or code != code.lower():
        raise FieldErrors({"code": [str(_l("Use lower-case letters, digits and _ only."))]})
    # Two kinds with labels that read the same (case, invisible characters and composition
    # aside) could not be told apart in the lists, the legend or a CSV.
    for kind in kinds():
        if kind.code == code:
            raise ConflictError(_l("This kind already exists."), "code")
        for field in ("label_hu", "label_en"):
            if name_taken(data[field], [getattr(kind, field)]):
                raise ConflictError(_l("Another kind has this label: %(code)s.", code=kind.code), field)
    return data


def create_kind(raw: dict) -> ResourceKind:
    kind = ResourceKind(**clean_kind(raw))
    db.session.add(kind)
    return kind


