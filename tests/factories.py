"""Test data made through the application's own operations (``incident/operations``), committed,
one line a record: ``create_incident(app, title="Árvíz", drill=True)`` (an app, or a test client).

A test that is about the API or a page makes its data there; every other test makes it here,
without HTTP and without raw SQL, so that a record is built as the application builds it (its
number, its first log entry, its audit rows, its search text). Each factory returns the new
record's columns as a plain dict (``["id"]``, an incident's ``["number"]``…), which outlives the
session it was made in; geometry columns are left out."""

from __future__ import annotations

import itertools

PASSWORD = "correct-horse-battery"
VIGADO = {"type": "Point", "coordinates": [19.0493, 47.4957]}  # Vigadó tér, Budapest V.

# The embankment along the Danube by Vigadó tér: an incident's affected area.
EMBANKMENT = {
    "type": "Polygon",
    "coordinates": [[[19.0470, 47.4930], [19.0500, 47.4930], [19.0500, 47.4990], [19.0470, 47.4990], [19.0470, 47.4930]]],
}
# Texts a hostile user may type: they must come back as text, never run.
PAYLOADS = (
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "${alert(1)}",
    "javascript:alert(1)",
    "</script><script>alert(1)</script>",
)

_emails = itertools.count(1)


def fields(record) -> dict:
    """A record's column values (no geometry), plus an incident's ``number``."""
    from sqlalchemy import inspect

    out = {}
    for attr in inspect(record).mapper.column_attrs:
        value = getattr(record, attr.key)
        if value is None or isinstance(value, (bool, int, float, str)) or hasattr(value, "isoformat"):
            out[attr.key] = value
    if hasattr(type(record), "number"):
        out["number"] = record.number
    return out


def committed(app, make) -> dict:
    """Run ``make()`` in a request context of ``app`` (or of a test client's app), commit, and
    return the record's fields."""
    from incident.extensions import db

    app = getattr(app, "application", app)  # a test client names its app
    with app.test_request_context():
        record = make()
        db.session.commit()
        return fields(record)


def create_user(app, role: str = "officer", email: str | None = None, password: str = PASSWORD,
                name: str = "", position: str = "") -> dict:
    """A user who can sign in with ``password``; the dict also carries ``password``."""
    from incident.operations import users

    email = email or f"{role}{next(_emails)}@riado-test.example"
    user = committed(app, lambda: users.create_user(email, password, role, name, position))
    return {**user, "password": password}


def create_incident(app, **fields_) -> dict:
    """An incident (status reported, its first log entry written), a flood at Vigadó tér unless told."""
    from incident.operations import incidents

    raw = {"title": "Dunai árvíz – II. fokú készültség", "kind": "flood", "severity": "severe", "location": VIGADO,
           **fields_}
    return committed(app, lambda: incidents.create_incident(raw))


def create_resource(app, **fields_) -> dict:
    """A resource: 500 sandbags at Vigadó tér unless told."""
    from incident.operations import resources

    raw = {"name": "Homokzsák-depó", "kind": "sandbags", "quantity": 500, "unit": "zsák", "location": VIGADO,
           **fields_}
    return committed(app, lambda: resources.create_resource(raw))


def create_group(app, name: str = "Helyi Védelmi Bizottság", **fields_) -> dict:
    from incident.operations import contacts

    return committed(app, lambda: contacts.create_group({"name": name, **fields_}))


def create_contact(app, **fields_) -> dict:
    """A contact (``groups=[id, …]`` for memberships), Kovács Júlia unless told."""
    from incident.operations import contacts

    raw = {"name": "Kovács Júlia", "phone": "06 30 123 4567", **fields_}
    return committed(app, lambda: contacts.create_contact(raw))


def create_group_of(app, name: str, members) -> tuple[int, list[int]]:
    """A group and its members, from ``(name, phone, opted_in)`` triples: (group id, contact ids)."""
    group = create_group(app, name)
    ids = [create_contact(app, name=member, phone=phone, groups=[group["id"]], sms_opt_in=opted_in)["id"]
           for member, phone, opted_in in members]
    return group["id"], ids


def assign(app, incident_id: int, resource_id: int, quantity: int = 1, **fields_) -> dict:
    """A resource assigned to an incident."""
    from incident.operations import incidents

    raw = {"resource_id": resource_id, "quantity": quantity, **fields_}
    return committed(app, lambda: incidents.assign(incident_id, raw))


def move_incident(app, incident_id: int, *statuses: str, **closing) -> dict:
    """Move an incident through ``statuses`` in turn (each one a rule-checked transition);
    ``closing`` (``release_assignments``, ``check_out_evacuees``…) goes with the step to closed."""
    from incident.operations import incidents

    record = None
    for status in statuses:
        extra = closing if status == "closed" else {}
        record = committed(app, lambda status=status, extra=extra: incidents.update_incident(
            incidents.lock_incident(incident_id), {"status": status, **extra}))
    return record


def store_district_outline(app) -> None:
    """The demo district's outline (Belváros-Lipótváros) stored as the municipality's: places
    far from it are then refused unless confirmed."""
    from pathlib import Path

    from incident.geo import boundary_from_file, to_element
    from incident.models import Municipality

    path = Path(__file__).resolve().parents[1] / "incident" / "demo" / "district_v.geojson"

    def add():
        from incident.extensions import db

        municipality = Municipality(name="Belváros-Lipótváros", short_name="V. kerület",
                                    boundary=to_element(boundary_from_file(path)))
        db.session.add(municipality)
        return municipality

    committed(app, add)
