"""How the core's pages show things: personal data by role, distances, durations, coordinates,
the words for codes. Pure formatting (no queries), used by the core's views and the wings'."""

from __future__ import annotations

import datetime as dt
import math

from flask_babel import format_decimal, get_locale
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from ..database import utcnow
from ..phones import display_phone, mask_email, mask_phone
from ..security import sees_personal_data


def locale() -> str:
    """The page's language code."""
    return str(get_locale() or "hu")


def can_write() -> bool:
    """Whether the signed-in user may write (officers and admins)."""
    return bool(current_user.is_authenticated and current_user.has_role("officer"))


def show_phone(e164: str | None) -> str:
    """A phone number as people read it; masked for those who may not see it."""
    if not e164:
        return ""
    return display_phone(e164) if sees_personal_data() else mask_phone(e164)


def show_email(email: str | None) -> str:
    """An e-mail address; masked for those who may not see it."""
    if not email:
        return ""
    return email if sees_personal_data() else mask_email(email)


def show_distance(metres: float) -> str:
    """``850 m``, ``1,2 km``."""
    if metres < 1000:
        return _("%(n)s m", n=format_decimal(round(metres), format="#,##0"))
    return _("%(n)s km", n=format_decimal(metres / 1000, format="#,##0.0"))


def coordinate(value: float) -> str:
    """A coordinate as a form shows it: at most six decimals (about 10 cm), no trailing zeros."""
    return f"{value:.6f}".rstrip("0").rstrip(".")


def degrees(value: float) -> str:
    return f"{value:.5f}°"


def duration_text(start: dt.datetime | float | None, end: dt.datetime | None = None, *, seconds: bool = False,
                  up: bool = False) -> str:
    """How long, in the page's language: ``2 h 15 min`` (``1 d 3 h 0 min`` past a day), from
    ``start`` to ``end`` (or now), or ``start`` seconds (a figure worked out already). With
    ``seconds``, a span under an hour is told to the second (``4 min 20 s``, ``35 s``): how fast an
    alert went out. With ``up``, a part of a minute counts as a whole one: how late a task is
    (59 s late is ``1 min``, never ``0 min``: late is never understated). The one duration
    formatter of every page and report."""
    if start is None:
        return ""
    span = ((end or utcnow()) - start).total_seconds() if isinstance(start, dt.datetime) else float(start)
    if seconds:
        total = max(math.ceil(span) if up else round(span), 0)
    else:
        total = max(math.ceil(span / 60) * 60 if up else int(span // 60) * 60, 0)
    minutes, secs = divmod(total, 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return _("%(d)s d %(h)s h %(m)s min", d=days, h=hours, m=mins)
    if hours:
        return _("%(h)s h %(m)s min", h=hours, m=mins)
    if not seconds:
        return _("%(m)s min", m=mins)
    if mins:
        return _("%(m)s min %(s)s s", m=mins, s=secs)
    return _("%(s)s s", s=secs)


def unit_of(resource) -> str:
    """Assignments of a shelter count persons; others count the resource's own unit."""
    return _("persons") if resource.kind == "shelter" else (resource.unit or "")


def kind_labels() -> dict[str, str]:
    """Resource kinds' labels in the page's language, in alphabetical order of the labels."""
    from ..collation import hungarian_key
    from ..operations.resources import kinds

    here = locale()
    labels = [(k.code, k.label(here)) for k in kinds()]
    return dict(sorted(labels, key=lambda item: hungarian_key(item[1])))


def ended_message(sessions: int, tokens: int, others: bool = False) -> str:
    """What a password change, a deactivation or "sign out everywhere" ended, in words
    (``others``: the sessions other than the one making the change)."""
    if others:
        signed_out = ngettext("%(num)d other session was signed out,", "%(num)d other sessions were signed out,", sessions)
    else:
        signed_out = ngettext("%(num)d session was signed out,", "%(num)d sessions were signed out,", sessions)
    return signed_out + " " + ngettext("%(num)d token was revoked.", "%(num)d tokens were revoked.", tokens)


def draw_labels() -> dict:
    """Leaflet.draw's words (its toolbar and hints), in the UI language: the affected area drawn on
    the incident form and on the maps wing's area editor."""
    return {
        "polygon": _("Draw the area (polygon)"),
        "rectangle": _("Draw a rectangle"),
        "edit": _("Move the corners of the area"),
        "edit_disabled": _("Nothing to edit yet"),
        "remove": _("Delete a shape"),
        "remove_disabled": _("Nothing to delete"),
        "cancel": _("Cancel"),
        "finish": _("Finish"),
        "undo": _("Delete last point"),
        "save": _("Done"),
        "clear_all": _("Delete all"),
        "polygon_start": _("Click to place the first corner of the area."),
        "polygon_continue": _("Click to place the next corner."),
        "polygon_end": _("Click the first corner to close the area."),
        "rectangle_start": _("Press and drag to draw a rectangle."),
        "edit_hint": _("Drag the corners; then press Done."),
        "remove_hint": _("Click a shape to delete it; then press Done."),
        "crossing": _("The edges must not cross."),
        "unsaved": _("The drawing is not saved yet."),
        "empty": _("Nothing is drawn: saving removes the affected area."),
    }
