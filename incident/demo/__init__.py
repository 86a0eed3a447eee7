"""The demo district: Budapest V. kerület (Belváros-Lipótváros), with fictional people.

The call-out lists and the register are CSV files in the export's format, as Excel opens them
(UTF-8 with a BOM): ``groups.csv`` (name, description), ``contacts.csv`` and ``resources.csv``
(a resource's contact person named in the ``contact`` column, since ids differ per database);
the readiness plans are ``plans.json``, in the format of a plan export, imported the same way.
Contacts and resources are loaded through the same importer a user uses, so loading the demo
also exercises it. Everything in them is fictional: the people, their phone numbers (all in the
+36 xx 555 xxxx block, written the way people type them) and e-mail addresses (all at
``.example`` domains), the schools, care homes, the hotel and the stocks of equipment. Places are
plausible spots in the district, not surveyed addresses.

``load_demo`` is idempotent: it adds what is missing (a group, contact or resource by its name,
an incident by its title, a secretariat user by e-mail) and leaves the rest alone, and says what
it added. A wing adds its part of a demo incident's story with ``register_steps`` (the alert
wing: the call-out of the defence committee during the flood).
"""

from __future__ import annotations

import csv
import io
import os
import secrets
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path

from flask import current_app
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from ..geo import boundary_from_file, to_element
from ..models import Contact, Municipality, Plan, Resource, User
from ..operations import contacts as contact_ops
from ..operations.csvio import import_contacts, import_resources
from ..operations.plans import import_plans
from ..operations.users import find_user, set_password
from ..spreadsheet import restore
from ..validation import name_key
from .incidents import load_incidents
from .people import DEMO_LOGIN, MUNICIPALITY, SECRETARIAT

DATA = files(__name__)


@dataclass(frozen=True)
class DemoLogin:
    email: str
    password: str


@dataclass(frozen=True)
class DemoLoad:
    """What ``load_demo`` did: the demo login, and how many of each thing it added."""

    login: DemoLogin
    added: dict[str, int] = field(default_factory=dict)


class DemoDataError(RuntimeError):
    """A demo file the importer refuses (a mistake in the demo data, not in the database)."""


def register_steps(app, plan: str, steps: list) -> None:
    """Add a wing's steps to the story of a demo incident (``plan``: ``flood``, ``storm`` or
    ``drill``). A step is ``(time, who, function, payload)``: at its Budapest time (``2025-06-10
    07:35`` or ``07:35:40``) among the core's steps, ``function(incident, payload, at=, author=)``
    is called and returns what it added (``{"alerts": 1}``). The steps run only when their
    incident is loaded, so they are loaded once."""
    app.extensions.setdefault("riado_demo_steps", {}).setdefault(plan, []).extend(steps)


def _password_file() -> Path:
    return Path(current_app.config["INSTANCE_PATH"]) / "demo_password"


def _demo_password() -> tuple[str, bool]:
    """The demo password (RIADO_DEMO_PASSWORD, or generated once into the instance folder)."""
    if os.environ.get("RIADO_DEMO_PASSWORD"):
        return os.environ["RIADO_DEMO_PASSWORD"], True
    path = _password_file()
    if path.exists():
        return path.read_text().strip(), False
    password = secrets.token_urlsafe(9)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(password + "\n")
    return password, True


def demo_credentials() -> DemoLogin:
    password, _new = _demo_password()
    return DemoLogin(DEMO_LOGIN, password)


def _load_municipality() -> int:
    town = db.session.execute(select(Municipality).limit(1)).scalar_one_or_none()
    added = 0
    if town is None:
        town = Municipality(**MUNICIPALITY)
        db.session.add(town)
        added = 1
    if town.boundary is None:
        town.boundary = to_element(boundary_from_file(Path(__file__).with_name("district_v.geojson")))
    return added


def _load_secretariat(password: str, reset: bool) -> int:
    password_hash = generate_password_hash(password)
    added = 0
    for person in SECRETARIAT:
        user = find_user(person["email"])
        if user is None:
            db.session.add(User(password_hash=password_hash, **person))
            added += 1
        elif reset and not check_password_hash(user.password_hash, password):
            set_password(user, password)  # which ends the old one's sessions and tokens
    return added


def _rows(name: str) -> tuple[list[str], list[list[str]]]:
    """The header and the rows of a demo file (cells as the file has them)."""
    rows = list(csv.reader(io.StringIO(DATA.joinpath(name).read_text(encoding="utf-8-sig"), newline="")))
    return rows[0], rows[1:]


# The demo's press list (SPEC §5: the press officer e-mails public notices to it and no other group).
PRESS_LISTS = ("Sajtó",)


def _load_groups() -> int:
    """Alert groups through the operations (a user creates them one by one: there is no group import);
    the press list marked as one when the demo adds it."""
    find = contact_ops.group_finder()
    header, rows = _rows("groups.csv")
    added = 0
    for row in rows:
        values = {column: restore(cell) for column, cell in zip(header, row, strict=True)}
        if find(values["name"]) is None:
            contact_ops.create_group({**values, "press_list": values["name"] in PRESS_LISTS})
            added += 1
    db.session.flush()
    return added


def _import_missing(name: str, importer, have) -> int:
    """Import the rows of a demo file whose ``name`` is not there yet, with the user's importer.
    Rows already there become blank lines (which the importer skips), so that the row numbers of
    a problem are the file's."""
    known = {name_key(n) for n in have}
    header, rows = _rows(name)
    column = header.index("name")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # the cells as they are: already neutralised
    writer.writerow(header)
    for row in rows:
        writer.writerow([] if name_key(restore(row[column])) in known else row)
    report = importer(out.getvalue().encode("utf-8-sig"))
    db.session.commit()  # each import is its own transaction, as a user's is
    if report["errors"]:
        problems = "; ".join(f"row {e['row']} {e['field']}: {e['message']}" for e in report["errors"][:5])
        raise DemoDataError(f"incident/demo/{name}: {problems}")
    return report["created"]


def _load_plans() -> int:
    """The district's readiness plans (``plans.json``, in the format of a plan export), the ones
    not there yet by name, through the same importer a user uses."""
    import json

    document = json.loads(DATA.joinpath("plans.json").read_text(encoding="utf-8"))
    have = {name.lower() for name in db.session.execute(select(Plan.name)).scalars()}
    missing = [plan for plan in document["plans"] if plan["name"].lower() not in have]
    if not missing:
        return 0
    result = import_plans(json.dumps({**document, "plans": missing}, ensure_ascii=False).encode("utf-8"), "plans.json")
    if result.errors:
        db.session.rollback()
        problems = "; ".join(f"plan {e['row']} {e['field']}: {e['message']}" for e in result.errors[:5])
        raise DemoDataError(f"incident/demo/plans.json: {problems}")
    db.session.commit()
    return len(result.plans)


# The demo's shelters on the public page (/public), marked when the demo adds them.
PUBLIC_SHELTERS = ("Lipótvárosi Sportcsarnok", "Eötvös József Gimnázium tornaterme", "Lipótvárosi Közösségi Ház")


def _show_shelters_in_public(had: set[str]) -> None:
    for resource in db.session.execute(select(Resource).where(Resource.name.in_(PUBLIC_SHELTERS))).scalars():
        if resource.name not in had:
            resource.public = True
    db.session.commit()


def load_demo() -> DemoLoad:
    """Load (or complete) the demo district; the demo login and what was added."""
    password, new = _demo_password()
    added = {"municipality": _load_municipality(), "users": _load_secretariat(password, reset=new)}
    added["groups"] = _load_groups()
    added["contacts"] = _import_missing("contacts.csv", import_contacts, db.session.execute(select(Contact.name)).scalars())
    had = set(db.session.execute(select(Resource.name)).scalars())
    added["resources"] = _import_missing("resources.csv", import_resources, had)
    _show_shelters_in_public(had)
    added["plans"] = _load_plans()
    added.update(load_incidents(wing_steps=current_app.extensions.get("riado_demo_steps", {})))
    db.session.commit()
    return DemoLoad(DemoLogin(DEMO_LOGIN, password), added)
