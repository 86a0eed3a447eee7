"""A notice's public documents from its record: the CAP message and the feed's entry (the
settings and the record read here; the XML is built by ``feeds``)."""

from __future__ import annotations

from flask import current_app
from flask_babel import force_locale, gettext

from incident.extensions import db
from incident.labels import INCIDENT_KIND_LABELS, label
from incident.models import Incident

from . import feeds
from . import operations as ops
from .models import Notice


def _identifier(notice: Notice, suffix: str = "") -> str:
    return f"riado-{ops._host()}-notice-{notice.id}{suffix}"


def cap_language() -> str:
    return "hu-HU" if current_app.config["RIADO_LOCALE"] == "hu" else "en-GB"


# How far back an update's references go (a chain of updates longer than this is not written).
MAX_CHAIN = 100


def earlier_messages(notice: Notice) -> list[Notice]:
    """The published notices this one updates, the first one first: the one it supersedes, the
    one that one superseded, and so on (each was a CAP message of its own)."""
    chain: list[Notice] = []
    seen = {notice.id}
    current = notice
    while current.supersedes_id is not None and current.supersedes_id not in seen and len(chain) < MAX_CHAIN:
        earlier = db.session.get(Notice, current.supersedes_id)
        if earlier is None or earlier.published_at is None:
            break
        chain.append(earlier)
        seen.add(earlier.id)
        current = earlier
    return chain[::-1]


def cap_message(notice: Notice) -> feeds.CapMessage:
    """The CAP message a notice stands for now: Alert or Update once published (an Update's
    ``references`` name every earlier message of the thread); Cancel once withdrawn, referencing
    the thread's earlier messages and the notice's own publication (unless an update superseded
    it: then its publication stands, replaced by that)."""
    config = current_app.config
    incident = db.session.get(Incident, notice.incident_id) if notice.incident_id else None
    sender = ops.cap_sender()
    references = tuple((sender, _identifier(earlier), earlier.published_at) for earlier in earlier_messages(notice))
    msg_type = "Update" if references else "Alert"
    identifier, sent, note = _identifier(notice), notice.published_at, ""
    with force_locale(config["RIADO_LOCALE"]):
        event = label(INCIDENT_KIND_LABELS, incident.kind) if incident is not None else gettext("Public information")
        if notice.status == "withdrawn" and notice.superseded_by_id is None:
            msg_type, identifier, sent = "Cancel", _identifier(notice, "-cancel"), notice.withdrawn_at
            references = (*references, (sender, _identifier(notice), notice.published_at))
            note = gettext("The notice was withdrawn.")
    return feeds.CapMessage(
        identifier=identifier, sender=sender, sent=sent, msg_type=msg_type, references=references,
        language=cap_language(), kind=incident.kind if incident is not None else None, event=event,
        urgency=notice.urgency, severity=notice.severity, headline=notice.title, description=notice.body,
        instruction=notice.instruction, sender_name=ops.public_name(), contact=ops.public_contact(),
        web=ops.public_url(f"/public/notices/{notice.id}"), area_description=ops.area_description(notice),
        area=ops.notice_area(notice), expires=notice.expires_at,
        incident_number=incident.number if incident is not None else None, note=note,
    )


def notice_cap(notice: Notice) -> bytes:
    return feeds.build_notice_cap(cap_message(notice), current_app.config["RIADO_TIMEZONE"])


def feed_entry(notice: Notice) -> feeds.FeedEntry:
    page = ops.public_url(f"/public/notices/{notice.id}")
    with force_locale(current_app.config["RIADO_LOCALE"]):
        if notice.status == "published":
            title = notice.title
        elif notice.superseded_by_id is not None:  # replaced by an update: its CAP stays an Alert
            title = gettext("Replaced by an update: %(title)s", title=notice.title)
        else:
            title = gettext("Withdrawn: %(title)s", title=notice.title)
    summary = "\n\n".join(part for part in (notice.body, notice.instruction) if part)
    return feeds.FeedEntry(
        id=page, title=title, updated=notice.withdrawn_at or notice.published_at, published=notice.published_at,
        summary=summary, html_url=page, cap_url=page + ".cap", withdrawn=notice.status == "withdrawn",
    )


def atom_feed(notices: list[Notice]) -> bytes:
    config = current_app.config
    entries = [feed_entry(n) for n in notices]
    from incident.database import utcnow

    updated = max((e.updated for e in entries), default=None) or utcnow()
    name = ops.public_name()
    with force_locale(config["RIADO_LOCALE"]):
        title = gettext("%(name)s: public notices", name=name)
    return feeds.build_feed(feeds.Feed(
        id=ops.public_url("/public/feed.atom"), title=title, self_url=ops.public_url("/public/feed.atom"),
        html_url=ops.public_url("/public"), author=name, language=config["RIADO_LOCALE"], updated=updated,
        entries=entries,
    ))
