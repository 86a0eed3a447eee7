"""Forms of the pages: run an operation with what was typed, commit if it worked, and put every
problem beside its field. Nothing is half-written when a write fails."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import render_template
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm.exc import StaleDataError
from wtforms import BooleanField

from ..errors import ConflictError, FieldError, FieldErrors
from ..extensions import db
from ..geo import location_from_latlon, lonlat
from .display import coordinate
from .params import version_value

STALE = _l("Someone else changed this record meanwhile; reload it and try again.")


def confirm_far_field() -> BooleanField:
    """The checkbox with which an officer says that a place far from the municipality is right
    (``confirm_far``); the form shows it once a far place was refused (``Outcome.confirm``)."""
    return BooleanField(_l("The place is right: save it although it is far from the municipality."))


@dataclass
class Outcome:
    """What a form's write came to: ``ok``; problems that belong to no field of the form
    (``extra``); a conflict with the data as it stands (``conflict``, a message for the page's
    top), or one that is about a field (``field_conflict``: its message stands beside the field);
    the flag that would let a refused value through once the user confirms it (``confirm``: the
    page then offers its checkbox, e.g. ``confirm_far`` for a place far from the municipality)."""

    ok: bool = False
    extra: dict[str, list[str]] = field(default_factory=dict)
    conflict: str | None = None
    field_conflict: bool = False
    confirm: str | None = None

    def status(self, form) -> int:
        """409 for a conflict, 422 for bad input, 200 otherwise."""
        if self.conflict or self.field_conflict:
            return 409
        return 422 if (form.errors or self.extra) else 200


def add_error(form, name: str, message: str, extra: dict) -> None:
    """Put an operation's error beside its field; errors without a field go to ``extra``."""
    target = getattr(form, name, None) if name not in ("csrf_token", "meta") else None
    if target is not None and hasattr(target, "errors"):
        target.errors = [*target.errors, message]
    else:
        extra.setdefault(name, []).append(message)


def location_input(form, errors: dict):
    """The GeoJSON point from the form's latitude/longitude (None when both are empty; False
    when they are not a point, which is said in ``errors``)."""
    try:
        return location_from_latlon({"latitude": form.latitude.data or "", "longitude": form.longitude.data or ""})
    except FieldErrors as exc:
        for name, messages in exc.errors.items():
            errors.setdefault(name, []).extend(messages)
        return False  # not None: the caller must not treat a bad point as "no location"


def set_location(form, stored) -> None:
    """Fill the form's latitude/longitude from a stored point."""
    point = lonlat(stored)
    if point is not None:
        form.latitude.data, form.longitude.data = coordinate(point[1]), coordinate(point[0])


def form_version(form) -> int:
    """The record version the form was made from (-1, which never matches, when unreadable)."""
    return version_value(form.version.data)


def write(form, action) -> Outcome:
    """Validate ``form``, run ``action(location)`` (an operation writing to the session) and
    commit if it worked. A FieldError or FieldErrors lands beside its field; a ConflictError
    about a field of the form (a duplicate name, a quantity below what is assigned) beside that
    field, any other at the page's top; a stale version is a conflict."""
    outcome = Outcome()
    errors: dict[str, list[str]] = {}
    if not form.validate():
        db.session.rollback()
        return outcome
    location = location_input(form, errors) if hasattr(form, "latitude") else None
    try:
        with db.session.no_autoflush:  # one flush at commit: one version step, one audit row
            action(location)
    except FieldErrors as exc:
        for name, messages in exc.errors.items():
            if name == "location" and location is False:
                continue  # already said about latitude/longitude
            errors.setdefault(name, []).extend(messages)
        outcome.confirm = exc.confirm
    except FieldError as exc:
        errors.setdefault(exc.field, []).append(exc.message)
    except ConflictError as exc:
        if exc.field and exc.field != "version" and hasattr(form, exc.field):
            errors.setdefault(exc.field, []).append(exc.message)
            outcome.field_conflict = True
        else:
            outcome.conflict = exc.message
    if not errors and outcome.conflict is None:
        try:
            db.session.commit()
            outcome.ok = True
            return outcome
        except StaleDataError:
            outcome.conflict = str(STALE)
    db.session.rollback()
    for name, messages in errors.items():
        for message in messages:
            add_error(form, name, message, outcome.extra)
    return outcome


def render_form(template: str, form, outcome: Outcome | None = None, **context):
    """The form's page with what ``write`` found (nothing yet: ``outcome`` None), and its status."""
    outcome = outcome or Outcome()
    return render_template(template, form=form, extra_errors=outcome.extra, conflict=outcome.conflict,
                           confirm=outcome.confirm, **context), outcome.status(form)
