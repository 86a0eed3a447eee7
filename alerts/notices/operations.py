"""Public notices: every query and write (SPEC §5).

A notice is written (draft), submitted (pending), and published only when an officer or admin
other than its author approves it (four eyes); a rejected one goes back to draft with the
reason. Publishing a notice that supersedes another withdraws that one. A notice on a drill
incident is never public. Each step is written to the incident's log when the notice belongs to
one (the audit trail records every change of the row), under the incident's lock.

The public answers (the page, the CAP documents, the Atom feed) read only published and withdrawn
notices that are not on a drill, and shelters marked public: nothing else, and no person."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import force_locale, gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select

from incident.audit import current_actor
from incident.database import utcnow
from incident.errors import ConflictError, FieldError, FieldErrors, NotFound
from incident.extensions import db
from incident.geo import area_from_geojson, to_element, to_geojson
from incident.models import SEVERITIES, AlertGroup, Incident, LogEntry, Resource
from incident.operations import incidents as incident_ops
from incident.operations.contacts import check_version
from incident.operations.municipality import current_municipality, refuse_far
from incident.operations.resources import SHELTER, available_quantity_expr
from incident.validation import Cleaner, id_list, moment

from .. import cap as alert_cap
from .models import URGENCIES, Notice, NoticeSend

# Short enough for a resident on a phone, and for the e-mail to the press (title, text, what to
# do and the link) to stay within one alert's text.
MAX_TITLE = 160
MAX_BODY = 900
MAX_INSTRUCTION = 300
PUBLIC_STATUSES = ("published", "withdrawn")
FEED_LENGTH = 50
N_ = incident_ops.N_


class NotAllowed(Exception):
    """The user may not take this step (the author approving their own notice): 403."""

    def __init__(self, message):
        super().__init__(str(message))
        self._message = message

    @property
    def message(self) -> str:
        return str(self._message)


def zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["RIADO_TIMEZONE"])


# Settings: who speaks on the public page and in the CAP.


def public_name() -> str:
    """The municipality's name as residents read it: RIADO_PUBLIC_NAME, else the stored name."""
    configured = current_app.config.get("RIADO_PUBLIC_NAME")
    if configured:
        return configured
    town = current_municipality()
    return town.name if town is not None else "Riadó"


def public_contact() -> str:
    """Where residents and the press may ask: RIADO_PUBLIC_CONTACT, else the office and its phone."""
    configured = current_app.config.get("RIADO_PUBLIC_CONTACT")
    if configured:
        return configured
    town = current_municipality()
    if town is None:
        return ""
    return " ".join(part for part in (town.office, town.office_phone) if part)


def _host() -> str:
    return urlsplit(current_app.config["PUBLIC_URL"]).hostname or "riado"


def cap_sender() -> str:
    """The CAP <sender>: RIADO_CAP_SENDER, else riado@ and PUBLIC_URL's host."""
    return current_app.config.get("RIADO_CAP_SENDER") or f"riado@{_host()}"


def public_enabled() -> bool:
    """Whether /public is served (RIADO_PUBLIC): when it is not, no page, answer or e-mail links
    to it."""
    return bool(current_app.config.get("RIADO_PUBLIC", True))


def public_url(path: str) -> str:
    return current_app.config["PUBLIC_URL"] + path


# Validation


# How far ahead a notice may expire (a public warning is about now; a year is plenty).
MAX_EXPIRY = dt.timedelta(days=366)


def _expiry(c: Cleaner, raw: dict) -> None:
    if c.skip("expires_at"):
        return
    value = raw.get("expires_at")
    if value in (None, ""):
        c.out["expires_at"] = None
        return
    when = c.run("expires_at", moment, value, "expires_at", zone())
    if when is not None:
        if when <= utcnow():
            c.error("expires_at", _l("The expiry must be in the future."))
        elif when > utcnow() + MAX_EXPIRY:
            c.error("expires_at", _l("The expiry must be within %(days)s days.", days=MAX_EXPIRY.days))
        else:
            c.out["expires_at"] = when


def _supersedes(c: Cleaner, raw: dict, current: Notice | None) -> None:
    if c.skip("supersedes"):
        return
    if raw.get("supersedes") in (None, ""):
        c.out["supersedes_id"] = None
        return
    c.integer("supersedes", minimum=1)
    target_id = c.out.pop("supersedes", None)
    if target_id is None:
        return
    target = db.session.get(Notice, target_id)
    if target is None:
        c.error("supersedes", _l("No such notice."))
    elif current is not None and target.id == current.id:
        c.error("supersedes", _l("A notice cannot supersede itself."))
    elif target.status != "published":
        c.error("supersedes", _l("Only a published notice can be superseded."))
    else:
        c.out["supersedes_id"] = target.id


def clean_notice(raw: dict, partial: bool = False, current: Notice | None = None) -> dict:
    """A notice's fields checked; FieldErrors names every bad one."""
    c = Cleaner(raw, partial)
    c.text("title", MAX_TITLE, required=True)
    c.text("body", MAX_BODY, required=True)
    c.text("instruction", MAX_INSTRUCTION)
    c.choice("severity", SEVERITIES)
    c.choice("urgency", URGENCIES)
    c.text("area_desc", 200)
    c.integer("incident_id", minimum=1, default=None)
    if c.out.get("incident_id") is not None and db.session.get(Incident, c.out["incident_id"]) is None:
        c.error("incident_id", _l("No such incident."))
    if not c.skip("area"):
        if raw.get("area") in (None, ""):
            c.out["area"] = None
        else:
            c.out["area"] = c.run("area", area_from_geojson, raw["area"])
    # An area far from the municipality (latitude and longitude swapped, another country) is
    # refused naming it, until confirmed (``confirm_far``), as an incident's area is.
    refuse_far(c, ("area",), current)
    _expiry(c, raw)
    _supersedes(c, raw, current)
    for key in ("severity", "urgency"):  # absent or empty: the incident's, or unknown
        if key in c.out and c.out[key] is None:
            del c.out[key]
    return c.done()


def _apply(notice: Notice, data: dict) -> None:
    with db.session.no_autoflush:
        for key, value in data.items():
            setattr(notice, key, to_element(value) if key == "area" else value)


def _incident_defaults(notice: Notice, data: dict) -> None:
    """Severity and urgency not given: the incident's, as its alerts' CAP has them."""
    incident = db.session.get(Incident, notice.incident_id) if notice.incident_id else None
    if "severity" not in data:
        notice.severity = incident.severity if incident is not None else "unknown"
    if "urgency" not in data:
        urgency = alert_cap.STATUS.get(incident.status, ("Unknown",))[0] if incident is not None else "Unknown"
        notice.urgency = urgency.lower()


# The steps


def _log(notice: Notice, template: str, **values) -> None:
    """Write a step to the incident's log (when the notice belongs to one), in the configured
    language, under the incident's lock."""
    if notice.incident_id is None:
        return
    incident = incident_ops.lock_incident(notice.incident_id)
    incident_ops.append_entry(incident, "system", incident_ops.system_text(template, id=notice.id, title=notice.title,
                                                                          **values), locked=True)


def lock_notice(notice_id: int) -> Notice:
    """The notice, freshly read under its row lock; NotFound if there is none."""
    notice = db.session.execute(
        select(Notice).where(Notice.id == notice_id).with_for_update().execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if notice is None:
        raise NotFound("notice", notice_id)
    return notice


def get_notice(notice_id: int) -> Notice:
    notice = db.session.get(Notice, notice_id)
    if notice is None:
        raise NotFound("notice", notice_id)
    return notice


def create_notice(raw: dict) -> Notice:
    """A new draft (not committed), written to its incident's log."""
    data = clean_notice(raw)
    actor_id, actor = current_actor()
    notice = Notice(status="draft", author_id=actor_id, author=actor, instruction="", area_desc="", reject_reason="")
    _apply(notice, data)
    _incident_defaults(notice, data)
    db.session.add(notice)
    db.session.flush()
    _log(notice, N_("Public notice #%(id)s drafted: %(title)s"))
    return notice


def _refuse_drill(notice: Notice) -> None:
    incident = db.session.get(Incident, notice.incident_id) if notice.incident_id else None
    if incident is not None and incident.drill:
        raise ConflictError(_l("This notice belongs to a drill: a drill is never made public."), "incident_id")


def _hand(notice: Notice) -> None:
    """Remember who is changing or submitting the notice's text (four eyes: not its approver)."""
    actor_id, _actor = current_actor()
    if actor_id is not None and actor_id not in (notice.hands or []):
        notice.hands = [*(notice.hands or []), actor_id]


def update_notice(notice_id: int, raw: dict) -> Notice:
    """Change the given fields of a draft (not committed); 409 for any other status or a stale
    version."""
    notice = lock_notice(notice_id)
    check_version(notice, raw)
    if notice.status != "draft":
        raise ConflictError(_l("Only a draft can be changed; this notice is %(status)s.", status=notice.status),
                            "status")
    data = clean_notice({k: v for k, v in raw.items() if k != "version"}, partial=True, current=notice)
    _apply(notice, data)
    _hand(notice)
    if "incident_id" in data:
        _incident_defaults(notice, {k: v for k, v in data.items() if k in ("severity", "urgency")})
    notice.version += 1
    return notice


def submit_notice(notice_id: int) -> Notice:
    """draft → pending: ready for a second person's approval."""
    notice = lock_notice(notice_id)
    if notice.status != "draft":
        raise ConflictError(_l("Only a draft can be submitted; this notice is %(status)s.", status=notice.status),
                            "status")
    _refuse_drill(notice)
    _actor_id, actor = current_actor()
    _hand(notice)
    notice.status, notice.submitted_at, notice.submitted_by = "pending", utcnow(), actor
    notice.version += 1
    _log(notice, N_("Public notice #%(id)s submitted for approval: %(title)s"))
    return notice


def approve_notice(notice_id: int) -> Notice:
    """pending → published, by someone other than the author (403 otherwise); a superseded
    notice is withdrawn in the same transaction."""
    notice = lock_notice(notice_id)
    actor_id, actor = current_actor()
    if actor_id is not None and (actor_id == notice.author_id or actor_id in (notice.hands or [])):
        raise NotAllowed(_l("Whoever wrote, changed or submitted a notice cannot approve it: another officer must."))
    if notice.status != "pending":
        raise ConflictError(_l("Only a submitted notice can be approved; this notice is %(status)s.",
                               status=notice.status), "status")
    _refuse_drill(notice)
    now = utcnow()
    if notice.expires_at is not None and notice.expires_at <= now:
        raise ConflictError(_l("This notice has expired: change its expiry and submit it again."), "expires_at")
    old = None
    if notice.supersedes_id is not None:
        # The notice it replaces must still be in force: one already replaced by another update
        # (two corrections of one notice) or withdrawn (its CAP a Cancel) cannot be updated again.
        old = lock_notice(notice.supersedes_id)
        if old.status != "published":
            raise ConflictError(_l(
                "The notice this one replaces (#%(id)s) is no longer published (%(status)s): send this one "
                "back and point it at the notice in force, or publish it as a new notice.",
                id=old.id, status=old.status), "supersedes")
    notice.status, notice.published_at = "published", now
    notice.approved_by_id, notice.approved_by = actor_id, actor
    notice.version += 1
    _log(notice, N_("Public notice #%(id)s approved and published: %(title)s"))
    if old is not None:
        old.status, old.withdrawn_at, old.withdrawn_by, old.superseded_by_id = "withdrawn", now, actor, notice.id
        old.version += 1
        _log(old, N_("Public notice #%(id)s withdrawn: superseded by notice #%(new)s."), new=notice.id)
    return notice


def reject_notice(notice_id: int, raw: dict) -> Notice:
    """pending → draft, with the reason (required) for the author."""
    c = Cleaner(raw)
    c.text("reason", 2000, required=True)
    reason = c.done()["reason"]
    notice = lock_notice(notice_id)
    if notice.status != "pending":
        raise ConflictError(_l("Only a submitted notice can be sent back; this notice is %(status)s.",
                               status=notice.status), "status")
    _actor_id, actor = current_actor()
    notice.status, notice.rejected_at, notice.rejected_by, notice.reject_reason = "draft", utcnow(), actor, reason
    notice.version += 1
    _log(notice, N_("Public notice #%(id)s sent back to its author: %(reason)s"), reason=reason)
    return notice


def withdraw_notice(notice_id: int) -> Notice:
    """published → withdrawn (its CAP becomes a Cancel)."""
    notice = lock_notice(notice_id)
    if notice.status != "published":
        raise ConflictError(_l("Only a published notice can be withdrawn; this notice is %(status)s.",
                                status=notice.status), "status")
    _actor_id, actor = current_actor()
    notice.status, notice.withdrawn_at, notice.withdrawn_by = "withdrawn", utcnow(), actor
    notice.version += 1
    _log(notice, N_("Public notice #%(id)s withdrawn: %(title)s"))
    return notice


# Lists


def notices_query(status: str | None = None, incident_id: int | None = None):
    query = select(Notice).order_by(Notice.created_at.desc(), Notice.id.desc())
    if status:
        query = query.where(Notice.status == status)
    if incident_id:
        query = query.where(Notice.incident_id == incident_id)
    return query


def count_by_status() -> dict[str, int]:
    return dict(db.session.execute(select(Notice.status, func.count()).group_by(Notice.status)).all())


def _not_drill():
    drills = select(Incident.id).where(Incident.drill.is_(True))
    return or_(Notice.incident_id.is_(None), Notice.incident_id.not_in(drills))


def public_notices(now: dt.datetime | None = None) -> list[Notice]:
    """What /public lists: published, unexpired, not on a drill; newest first."""
    now = now or utcnow()
    return db.session.execute(
        select(Notice).where(Notice.status == "published", _not_drill(),
                             or_(Notice.expires_at.is_(None), Notice.expires_at > now))
        .order_by(Notice.published_at.desc(), Notice.id.desc())
    ).scalars().all()


def feed_notices() -> list[Notice]:
    """The feed's entries: published or withdrawn, not on a drill; the latest change first."""
    changed = func.coalesce(Notice.withdrawn_at, Notice.published_at)
    return db.session.execute(
        select(Notice).where(Notice.status.in_(PUBLIC_STATUSES), _not_drill())
        .order_by(changed.desc(), Notice.id.desc()).limit(FEED_LENGTH)
    ).scalars().all()


def public_notice(notice_id: int) -> Notice:
    """A notice the public may read (published or withdrawn, not on a drill); NotFound otherwise,
    so that a draft's or a drill's existence does not show."""
    notice = db.session.execute(
        select(Notice).where(Notice.id == notice_id, Notice.status.in_(PUBLIC_STATUSES), _not_drill())
    ).scalar_one_or_none()
    if notice is None:
        raise NotFound("notice", notice_id)
    return notice


@dataclass(frozen=True)
class PublicShelter:
    id: int
    name: str
    free: int
    capacity: int | None
    lon: float
    lat: float


def public_shelters() -> list[PublicShelter]:
    """Shelters marked public and open (status available), with their free places: the name, the
    place and the numbers only (never its contact, owner or notes)."""
    from incident.geo import lonlat

    rows = db.session.execute(
        select(Resource.id, Resource.name, Resource.capacity, Resource.location, available_quantity_expr())
        .where(Resource.kind == SHELTER, Resource.public.is_(True), Resource.status == "available")
        .order_by(Resource.name_key, Resource.id)
    ).all()
    out = []
    for rid, name, capacity, location, free in rows:
        point = lonlat(location)
        if point is not None:
            out.append(PublicShelter(rid, name, max(int(free or 0), 0), capacity, point[0], point[1]))
    return out


def notice_area(notice: Notice) -> dict | None:
    """The notice's area as GeoJSON: its own, else its incident's affected area."""
    area = to_geojson(notice.area)
    if area is None and notice.incident_id is not None:
        incident = db.session.get(Incident, notice.incident_id)
        area = to_geojson(incident.area) if incident is not None else None
    return area


def area_description(notice: Notice) -> str:
    if notice.area_desc:
        return notice.area_desc
    return public_name()


# The press list


def email_text(notice: Notice) -> str:
    """The e-mail to the press: the notice as published, the link to its public page, and who
    issued it, in the configured language."""
    with force_locale(current_app.config["RIADO_LOCALE"]):
        parts = [notice.title, notice.body]
        if notice.instruction:
            parts.append(gettext("What to do: %(instruction)s", instruction=notice.instruction))
        if public_enabled():
            parts.append(gettext("Public page: %(url)s", url=public_url(f"/public/notices/{notice.id}")))
        parts.append(public_name())
    return "\n\n".join(parts)


def press_lists():
    """The groups marked as press lists, by name."""
    return db.session.execute(select(AlertGroup).where(AlertGroup.press_list.is_(True))
                              .order_by(AlertGroup.name_key, AlertGroup.id)).scalars().all()


def _refuse_other_than_press_lists(groups: list) -> None:
    """NotAllowed (403) naming every chosen group that is not a press list; a group that is not
    there is left to the alert's own check (422 naming groups)."""
    try:
        ids = id_list(groups, "groups")
    except FieldError as exc:
        raise FieldErrors({"groups": [exc.message]}) from None
    others = db.session.execute(select(AlertGroup.name).where(AlertGroup.id.in_(ids), AlertGroup.press_list.is_(False))
                                .order_by(AlertGroup.name_key, AlertGroup.id)).scalars().all()
    if others:
        raise NotAllowed(_l("A press officer e-mails notices to the press lists only; not a press list: %(names)s.",
                            names=", ".join(others)))


def send_notice(notice_id: int, raw: dict, press_lists_only: bool = False):
    """E-mail a published notice to groups (the press list) as an alert on the e-mail channel,
    whose deliveries are tracked (not committed); returns the alert. ``press_lists_only`` (a
    press officer's sending): any chosen group not marked as a press list is NotAllowed (403)."""
    from .. import operations as alert_ops

    notice = lock_notice(notice_id)
    if notice.status != "published":
        raise ConflictError(_l("Only a published notice can be sent; this notice is %(status)s.",
                               status=notice.status), "status")
    groups = raw.get("groups")
    if not isinstance(groups, list) or not groups:
        raise FieldErrors({"groups": [str(_l("Choose at least one group."))]})
    if press_lists_only:
        _refuse_other_than_press_lists(groups)
    alert, _created = alert_ops.create_alert({
        "body": email_text(notice), "subject": notice.title, "groups": groups, "channels": ["email"],
        "incident_id": notice.incident_id,
    })
    _actor_id, actor = current_actor()
    db.session.add(NoticeSend(notice_id=notice.id, alert_id=alert.id, sent_at=utcnow(), sent_by=actor))
    return alert


def sends(notice_id: int) -> list[NoticeSend]:
    return db.session.execute(select(NoticeSend).where(NoticeSend.notice_id == notice_id)
                              .order_by(NoticeSend.sent_at, NoticeSend.id)).scalars().all()


def received(notice_id: int):
    """Every e-mail that carried the notice, to whom and how it went, by name."""
    from ..models import Delivery

    return db.session.execute(
        select(Delivery).join(NoticeSend, NoticeSend.alert_id == Delivery.alert_id)
        .where(NoticeSend.notice_id == notice_id).order_by(Delivery.name, Delivery.id)
    ).scalars().all()


# The media log

_URL = re.compile(r"https?://[^\s<>\"]+", re.I)
MEDIA_FIELDS = (
    ("outlet", N_("Outlet")),
    ("journalist", N_("Journalist")),
    ("asked", N_("Asked")),
    ("published", N_("Published")),
    ("link", N_("Link")),
)


def media_text(data: dict) -> str:
    """A media entry's text: each field given, with its label in the configured language."""
    with force_locale(current_app.config["RIADO_LOCALE"]):
        return "\n".join(f"{gettext(label)}: {data[key]}" for key, label in MEDIA_FIELDS if data.get(key))


def add_media_entry(incident_id: int, raw: dict) -> LogEntry:
    """A contact with the press, or coverage, as a log entry of kind media (not committed)."""
    c = Cleaner(raw)
    c.text("outlet", 200, required=True)
    c.text("journalist", 200)
    c.text("asked", 4000)
    c.text("published", 4000)
    c.text("link", 500)
    if c.out.get("link") and not _URL.fullmatch(c.out["link"]):
        c.error("link", _l("Must be a web address starting with http:// or https://."))
    if not (c.out.get("asked") or c.out.get("published")) and "asked" not in c.errors:
        c.error("asked", _l("Write what was asked or what was published."))
    data = c.done()
    incident = incident_ops.lock_incident(incident_id)
    return incident_ops.append_entry(incident, "media", media_text(data), locked=True)


def media_entries(incident_id: int) -> list[LogEntry]:
    return db.session.execute(select(LogEntry).where(LogEntry.incident_id == incident_id, LogEntry.kind == "media")
                              .order_by(LogEntry.seq)).scalars().all()
