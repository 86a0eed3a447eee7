"""The demo district: Budapest V. kerület (Belváros-Lipótváros), with fictional people.

``load_demo`` is idempotent: it adds what is missing and leaves the rest alone.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from ..geo import boundary_from_file, to_element
from ..models import AlertGroup, Contact, Municipality, Resource, User
from ..operations import contacts as contact_ops
from ..operations import resources as resource_ops
from ..operations.sessions import end_sessions, revoke_tokens
from ..operations.users import find_user
from . import registry
from .incidents import load_incidents
from .people import DEMO_LOGIN, MUNICIPALITY, SECRETARIAT


@dataclass(frozen=True)
class DemoLogin:
    email: str
    password: str


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


def _load_municipality() -> None:
    town = db.session.execute(select(Municipality).limit(1)).scalar_one_or_none()
    if town is None:
        town = Municipality(**MUNICIPALITY)
        db.session.add(town)
    if town.boundary is None:
        town.boundary = to_element(boundary_from_file(Path(__file__).with_name("district_v.geojson")))


def _load_secretariat(password: str, reset: bool) -> None:
    password_hash = generate_password_hash(password)
    for person in SECRETARIAT:
        user = find_user(person["email"])
        if user is None:
            db.session.add(
                User(password_hash=password_hash, **person)
            )
        elif reset and not check_password_hash(user.password_hash, password):
            # A new demo password ends the old one's sessions and tokens, as any password change does.
            user.password_hash = password_hash
            end_sessions(user, "password-changed")
            revoke_tokens(user)


def _point(latlon):
    return None if latlon is None else {"type": "Point", "coordinates": [latlon[1], latlon[0]]}


def _load_registry() -> None:
    """Alert groups, contacts and the register of forces and equipment (by name: idempotent)."""
    group_ids = {}
    for group in registry.GROUPS:
        row = db.session.execute(select(AlertGroup).where(AlertGroup.name == group["name"])).scalar_one_or_none()
        if row is None:
            row = contact_ops.create_group({"name": group["name"], "description": group["description"]})
            db.session.flush()
        group_ids[group["key"]] = row.id
    existing = set(db.session.execute(select(Contact.name)).scalars())
    contact_ids = dict(db.session.execute(select(Contact.name, Contact.id)).all())
    for person in registry.CONTACTS:
        if person["name"] in existing:
            continue
        contact = contact_ops.create_contact(
            {**person, "groups": [group_ids[k] for k in person["groups"]], "location": _point(person["location"])}
        )
        db.session.flush()
        contact_ids[person["name"]] = contact.id
    have = set(db.session.execute(select(Resource.name)).scalars())
    for item in registry.RESOURCES:
        if item["name"] in have:
            continue
        raw = {k: v for k, v in item.items() if k not in ("contact", "location")}
        raw["contact_id"] = contact_ids.get(item["contact"]) if item["contact"] else None
        raw["location"] = _point(item["location"])
        resource_ops.create_resource(raw)


def load_demo() -> DemoLogin:
    """Load (or complete) the demo district and return the demo login."""
    password, new = _demo_password()
    _load_municipality()
    _load_secretariat(password, reset=new)
    _load_registry()
    db.session.flush()
    load_incidents()
    db.session.commit()
    return DemoLogin(DEMO_LOGIN, password)
