"""Contacts and alert groups: every query and write."""

from __future__ import annotations

import re

from flask import current_app
from flask_babel import format_date
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select

from ..database import utcnow
from ..errors import ConflictError, FieldError, FieldErrors
from ..collation import hungarian_key
from ..extensions import db
from ..geo import point_from_geojson, same_geometry, to_element
from ..models import AlertGroup, Contact, contact_groups
from ..phones import normalise_phone
from ..validation import Cleaner, fold, id_list, name_key, name_taken


def _phone_region() -> str:
    return current_app.config.get("RIADO_PHONE_REGION", "HU")


def _groups_by_id(ids) -> list[AlertGroup]:
    wanted = set(id_list(ids, "groups"))
    found = db.session.execute(select(AlertGroup).where(AlertGroup.id.in_(wanted))).scalars().all() if wanted else []
    missing = wanted - {g.id for g in found}
    if missing:
        raise FieldError("groups", _l("No such group: %(ids)s.", ids=", ".join(str(i) for i in sorted(missing))))
    return sorted(found, key=lambda g: hungarian_key(g.name))


def clean_contact(raw: dict, partial: bool = False, groups_resolved=None) -> dict:
    """Validate a contact's fields (JSON, form or CSV values); FieldErrors names every bad one."""
    c = Cleaner(raw, partial)
    c.text("name", 200, required=True, name=True)
    if not c.skip("phone"):
        raw_phone = raw.get("phone")
        if raw_phone is not None and not isinstance(raw_phone, str):
            c.error("phone", _l("Must be text."))
        else:
            phone = c.run("phone", normalise_phone, raw_phone or "", _phone_region())
            if phone:
                c.out["phone"] = phone
    c.email("email")
    c.text("organization", 200)
    c.text("role", 200)
    c.text("notes", 5000)
    c.boolean("sms_opt_in", default=None if partial else True)
    if groups_resolved is not None:
        c.out["groups"] = groups_resolved
    elif not c.skip("groups"):
        groups = c.run("groups", _groups_by_id, raw.get("groups") or [])
        if groups is not None:
            c.out["groups"] = groups
    if not c.skip("location"):
        location = raw.get("location")
        if location is None:
            c.out["location"] = None
        else:
            point = c.run("location", point_from_geojson, location)
            if point is not None:
                c.out["location"] = point
    return c.done()


def _apply(contact: Contact, data: dict) -> None:
    # No autoflush midway (loading the groups would flush the fields set before them): one
    # change is one UPDATE, one version step and one audit row.
    with db.session.no_autoflush:
        _set_fields(contact, data)


def _set_fields(contact: Contact, data: dict) -> None:
    for key, value in data.items():
        if key == "location":
            if not same_geometry(contact.location, value):
                contact.location = to_element(value)
        elif key == "sms_opt_in":
            if value and not contact.sms_opt_in:
                contact.opted_out_at = None
            elif not value and (contact.sms_opt_in or contact.sms_opt_in is None):
                contact.opted_out_at = utcnow()
            contact.sms_opt_in = value
        else:
            setattr(contact, key, value)
    index_contact(contact)


def index_contact(contact: Contact) -> None:
    """Keep both folded search texts (see ``Contact.search``) in step with the fields."""
    public = " ".join((contact.name or "", contact.organization or "", contact.role or ""))
    contact.search_public = fold(public)
    contact.search = fold(" ".join((public, contact.email or "", contact.phone or "")))


def _refuse_opted_out_phone(data: dict, contact: Contact | None = None) -> None:
    """An opt-out (a STOP from the phone) belongs to the number: a new contact, or a contact
    moved to that number, does not give it SMS alerts again behind the person's back."""
    phone = data.get("phone")
    opted_in = data.get("sms_opt_in", contact.sms_opt_in if contact is not None else True)
    if not phone or not opted_in or (contact is not None and phone == contact.phone):
        return  # (consent given again on a contact's own page is the officer's to record)
    query = select(Contact).where(Contact.phone == phone, Contact.opted_out_at.is_not(None),
                                  Contact.sms_opt_in.is_(False))
    if contact is not None and contact.id is not None:
        query = query.where(Contact.id != contact.id)
    other = db.session.execute(query.limit(1)).scalars().first()
    if other is not None:
        raise FieldErrors({"sms_opt_in": [str(_l(
            "This phone number has opted out of SMS alerts (%(name)s, %(date)s): save it without SMS consent, "
            "or change the consent on that contact's own page if the person agreed again.",
            name=other.name, date=format_date(other.opted_out_at, "yyyy-MM-dd")))]})


def create_contact(raw: dict) -> Contact:
    """Add a contact (not committed)."""
    data = clean_contact(raw)
    _refuse_opted_out_phone(data)
    contact = Contact(groups=[], sms_opt_in=True)
    _apply(contact, data)
    db.session.add(contact)
    return contact


def check_version(obj, raw: dict) -> None:
    """A client that read version n may only write over version n (409 otherwise)."""
    if "version" in raw and raw["version"] is not None and raw["version"] != obj.version:
        raise ConflictError(_l("Someone else changed this record meanwhile; reload it and try again."), "version")


def update_contact(contact: Contact, raw: dict, from_import: bool = False) -> Contact:
    """Change the given fields of a contact (not committed)."""
    check_version(contact, raw)
    data = clean_contact({k: v for k, v in raw.items() if k != "version"}, partial=True)
    if from_import and data.get("sms_opt_in") and not contact.reachable_by_sms:
        # Consent withdrawn (often by the person's own STOP) is not given back by a bulk import.
        raise FieldErrors({"sms_opt_in": [str(_l(
            "This contact has opted out of SMS; change it on the contact's own page if they agreed again."
        ))]})
    _refuse_opted_out_phone(data, contact)
    _apply(contact, data)
    return contact


def delete_contact(contact: Contact) -> None:
    """Remove a contact (not committed). Resources that named them as their contact person keep
    their record without one (the foreign key's ON DELETE SET NULL); alerts keep their delivery
    rows, which carry the name and phone as they were sent."""
    db.session.delete(contact)


def set_opt_in(contact: Contact, opted_in: bool) -> None:
    """Record an SMS opt-in or opt-out (from the officer, or STOP/START by SMS)."""
    _apply(contact, {"sms_opt_in": opted_in})


_PHONE_SEPARATORS = re.compile(r"[\s/().-]")
_PHONE_LIKE = re.compile(r"\+?[0-9]{6,15}")


def phone_words(q: str) -> list[str] | None:
    """A search that is a phone number as people write it (``06 30 555 0331``, ``30/555-0331``):
    the digits to look for in the stored E.164 number (None if the search is not a number)."""
    compact = _PHONE_SEPARATORS.sub("", q)
    if not _PHONE_LIKE.fullmatch(compact):
        return None
    try:
        return [normalise_phone(compact, _phone_region()).lstrip("+")]
    except FieldError:
        return [compact.lstrip("+")]  # a part of a number: its digits as typed


def contacts_query(q: str | None = None, group_id: int | None = None, opted_in: bool | None = None,
                   *, personal: bool = False):
    """Contacts matching a free-text search (accent-insensitive), a group and consent, by name.
    The search reaches phones and e-mails only with ``personal`` (officers, admins): a viewer
    would otherwise find the masked digits one request at a time."""
    query = select(Contact).order_by(Contact.name_key, Contact.id)
    if q:
        column = Contact.search if personal else Contact.search_public
        words = (personal and phone_words(q)) or fold(q).split()
        for word in words:
            query = query.where(column.contains(word, autoescape=True))
    if group_id is not None:
        query = query.where(Contact.id.in_(select(contact_groups.c.contact_id).where(contact_groups.c.group_id == group_id)))
    if opted_in is True:
        query = query.where(Contact.sms_opt_in.is_(True), Contact.opted_out_at.is_(None))
    elif opted_in is False:
        query = query.where(or_(Contact.sms_opt_in.is_(False), Contact.opted_out_at.is_not(None)))
    return query


# Groups


def clean_group(raw: dict, partial: bool = False, current: AlertGroup | None = None) -> dict:
    c = Cleaner(raw, partial)
    c.text("name", 200, required=True, name=True)
    c.text("description", 2000)
    c.boolean("press_list", default=None if partial else False)
    data = c.done()
    if "name" in data:
        # A name that differs from another only by case, invisible characters or composition
        # is the same group.
        others = select(AlertGroup.name).where(AlertGroup.id != current.id) if current else select(AlertGroup.name)
        if name_taken(data["name"], db.session.execute(others).scalars()):
            raise ConflictError(_l("A group with this name already exists."), "name")
    return data


def create_group(raw: dict) -> AlertGroup:
    group = AlertGroup(**clean_group(raw))
    db.session.add(group)
    return group


def update_group(group: AlertGroup, raw: dict) -> AlertGroup:
    for key, value in clean_group(raw, partial=True, current=group).items():
        setattr(group, key, value)
    return group


def delete_group(group: AlertGroup) -> None:
    """Remove an alert group (not committed); its members stay as contacts."""
    db.session.delete(group)


def groups_query(q: str | None = None):
    query = select(AlertGroup).order_by(AlertGroup.name_key, AlertGroup.id)
    if q:
        query = query.where(func.lower(AlertGroup.name).contains(q.lower(), autoescape=True))
    return query


def group_member_counts() -> dict[int, int]:
    rows = db.session.execute(
        select(contact_groups.c.group_id, func.count()).group_by(contact_groups.c.group_id)
    ).all()
    return {group_id: count for group_id, count in rows}


def group_finder():
    """A function giving the group of a name: the exact spelling first, else the one it is taken
    for (case, invisible characters and composition aside: see ``name_key``). The groups are
    read once, for a whole CSV import."""
    groups = db.session.execute(select(AlertGroup).order_by(AlertGroup.id)).scalars().all()
    exact = {g.name: g for g in groups}
    by_key: dict[str, AlertGroup] = {}
    for group in groups:
        by_key.setdefault(name_key(group.name), group)

    def find(name: str) -> AlertGroup | None:
        name = name.strip()
        return exact.get(name) or by_key.get(name_key(name))

    return find


def contact_finder():
    """A function giving the id of the contact of a name (a resource's contact person named in a
    CSV import): the one contact of exactly that name, else the one it is taken for (``name_key``).
    FieldError naming ``contact`` when nobody or several have the name. The names are read once,
    for a whole import."""
    exact: dict[str, list[int]] = {}
    by_key: dict[str, list[int]] = {}
    for contact_id, name in db.session.execute(select(Contact.id, Contact.name).order_by(Contact.id)).all():
        exact.setdefault(name, []).append(contact_id)
        by_key.setdefault(name_key(name), []).append(contact_id)

    def find(name: str) -> int:
        name = name.strip()
        ids = exact.get(name) or by_key.get(name_key(name)) or []
        if not ids:
            raise FieldError("contact", _l("No contact is called “%(name)s”.", name=name))
        if len(ids) > 1:
            raise FieldError("contact", _l("Several contacts are called “%(name)s”; give the one you mean in contact_id.",
                                           name=name))
        return ids[0]

    return find
