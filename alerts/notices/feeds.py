"""A public notice as OASIS CAP 1.2, and the Atom 1.0 feed of them (pure functions of plain
values, as the alerts' CAP is: ``alerts.cap``).

A published notice is a CAP ``Alert``, or an ``Update`` whose ``references`` name the messages of
the notices it supersedes (the one it replaces, and the ones that one replaced); a withdrawn
notice is a ``Cancel`` referencing those and its own publication (a notice withdrawn because an
update superseded it keeps its publication: the update replaces it).
Status ``Actual``, scope ``Public``; the area as CAP polygons in ``lat,lon`` order. Text is
carried as text (ElementTree escapes it): nothing people wrote becomes markup."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from ..cap import CATEGORY, NS, SEVERITY, cap_element, cap_polygons, cap_time, xml_text

ATOM = "http://www.w3.org/2005/Atom"
CAP_MEDIA_TYPE = "application/cap+xml"
URGENCY = {"immediate": "Immediate", "expected": "Expected", "future": "Future", "past": "Past", "unknown": "Unknown"}


@dataclass(frozen=True)
class CapMessage:
    """One CAP message about a notice: its own ``identifier`` and ``sent``, and what it refers to
    (``references``: ``(sender, identifier, sent)`` of earlier messages)."""

    identifier: str
    sender: str
    sent: dt.datetime
    msg_type: str  # Alert, Update, Cancel
    references: tuple[tuple[str, str, dt.datetime], ...]
    language: str  # hu-HU
    kind: str | None  # the incident's kind (its CAP category), None without an incident
    event: str
    urgency: str
    severity: str
    headline: str
    description: str
    instruction: str
    sender_name: str
    contact: str
    web: str
    area_description: str
    area: dict | None  # GeoJSON Polygon or MultiPolygon
    expires: dt.datetime | None = None
    incident_number: str | None = None
    note: str = ""  # why it is cancelled


def build_notice_cap(message: CapMessage, zone: str = "Europe/Budapest") -> bytes:
    """The notice's CAP 1.2 document (UTF-8, with declaration), valid against the OASIS schema."""
    ET.register_namespace("", NS)
    sub = cap_element
    root = ET.Element(f"{{{NS}}}alert")
    sub(root, "identifier", message.identifier)
    sub(root, "sender", message.sender)
    sub(root, "sent", cap_time(message.sent, zone))
    sub(root, "status", "Actual")
    sub(root, "msgType", message.msg_type)
    sub(root, "scope", "Public")
    if message.note:
        sub(root, "note", message.note)
    if message.references:
        sub(root, "references", " ".join(f"{sender},{identifier},{cap_time(sent, zone)}"
                                         for sender, identifier, sent in message.references))
    if message.incident_number:
        sub(root, "incidents", message.incident_number)
    info = sub(root, "info")
    sub(info, "language", message.language)
    sub(info, "category", CATEGORY.get(message.kind, "Other") if message.kind else "Other")
    sub(info, "event", message.event)
    sub(info, "urgency", URGENCY.get(message.urgency, "Unknown"))
    sub(info, "severity", SEVERITY.get(message.severity, "Unknown"))
    sub(info, "certainty", "Observed")
    if message.expires is not None:
        sub(info, "expires", cap_time(message.expires, zone))
    sub(info, "senderName", message.sender_name)
    sub(info, "headline", message.headline[:160])
    sub(info, "description", message.description)
    if message.instruction:
        sub(info, "instruction", message.instruction)
    sub(info, "web", message.web)
    if message.contact:
        sub(info, "contact", message.contact)
    area = sub(info, "area")
    sub(area, "areaDesc", message.area_description)
    for polygon in cap_polygons(message.area):
        sub(area, "polygon", polygon)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


@dataclass(frozen=True)
class FeedEntry:
    id: str  # a permanent IRI (the notice's public page)
    title: str
    updated: dt.datetime
    published: dt.datetime
    summary: str
    html_url: str
    cap_url: str
    withdrawn: bool = False


@dataclass(frozen=True)
class Feed:
    id: str
    title: str
    self_url: str
    html_url: str
    author: str
    language: str  # hu
    updated: dt.datetime
    entries: list[FeedEntry] = field(default_factory=list)
    subtitle: str = ""


def atom_time(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def build_feed(feed: Feed) -> bytes:
    """The Atom 1.0 feed (RFC 4287): each entry links to its page (text/html) and its CAP
    (application/cap+xml)."""
    ET.register_namespace("", ATOM)

    def sub(parent, tag, text=None, **attrs):
        element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
        if text is not None:
            element.text = xml_text(text)
        return element

    root = ET.Element(f"{{{ATOM}}}feed", {"{http://www.w3.org/XML/1998/namespace}lang": feed.language})
    sub(root, "id", feed.id)
    sub(root, "title", feed.title, type="text")
    if feed.subtitle:
        sub(root, "subtitle", feed.subtitle, type="text")
    sub(root, "updated", atom_time(feed.updated))
    author = sub(root, "author")
    sub(author, "name", feed.author)
    sub(root, "link", rel="self", type="application/atom+xml", href=feed.self_url)
    sub(root, "link", rel="alternate", type="text/html", href=feed.html_url)
    for item in feed.entries:
        entry = sub(root, "entry")
        sub(entry, "id", item.id)
        sub(entry, "title", item.title, type="text")
        sub(entry, "updated", atom_time(item.updated))
        sub(entry, "published", atom_time(item.published))
        sub(entry, "summary", item.summary, type="text")
        sub(entry, "link", rel="alternate", type="text/html", href=item.html_url)
        sub(entry, "link", rel="alternate", type=CAP_MEDIA_TYPE, href=item.cap_url)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
