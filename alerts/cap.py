"""OASIS CAP 1.2 for an alert (a pure function of plain values: easy to test exhaustively).

Pitfalls it handles: ``sent`` carries a UTC offset (the schema refuses ``Z``); CAP polygons are
``lat,lon`` pairs, space separated, the first point repeated last (GeoJSON is lon,lat); CAP has
no holes, so only outer rings are given; drills are ``<status>Exercise``."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from zoneinfo import ZoneInfo

NS = "urn:oasis:names:tc:emergency:cap:1.2"

# Incident kind → CAP category.
CATEGORY = {
    "flood": "Met", "storm": "Met", "heat": "Met", "snow_ice": "Met",
    "fire": "Fire", "hazmat": "CBRNE", "gas_leak": "Safety", "building_collapse": "Rescue",
    "power_outage": "Infra", "water_outage": "Infra", "traffic": "Transport", "epidemic": "Health",
    "other": "Other",
}
SEVERITY = {"extreme": "Extreme", "severe": "Severe", "moderate": "Moderate", "minor": "Minor", "unknown": "Unknown"}
# Incident status → (urgency, certainty).
STATUS = {
    "reported": ("Expected", "Likely"),
    "active": ("Immediate", "Observed"),
    "contained": ("Expected", "Observed"),
    "closed": ("Past", "Observed"),
}


@dataclass(frozen=True)
class CapIncident:
    number: str
    title: str
    kind: str
    kind_label: str
    severity: str
    status: str
    area: dict | None  # GeoJSON Polygon or MultiPolygon


@dataclass(frozen=True)
class CapAlert:
    identifier: str
    sender: str
    sender_name: str
    sent: dt.datetime
    drill: bool
    body: str
    language: str  # "hu-HU"
    area_description: str
    incident: CapIncident | None = None
    restriction: str = "Call-out list of the municipality's emergency management"
    web: str | None = None


# What XML 1.0 cannot carry, even escaped: the C0 controls but tab, newline and carriage return;
# the surrogates; U+FFFE and U+FFFF. ElementTree writes them as they are, and the document would
# not parse.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(text: str) -> str:
    """``text`` as XML 1.0 can carry it: a vertical tab or form feed (a line or page break, as
    word processors paste them) becomes a newline, anything else XML cannot hold U+FFFD."""
    return _NOT_XML.sub(lambda m: "\n" if m.group() in "\x0b\x0c" else "\ufffd", text)


def cap_time(moment: dt.datetime, zone: str) -> str:
    """``2026-11-26T03:00:00+01:00``: local time with its offset, never ``Z``."""
    return moment.astimezone(ZoneInfo(zone)).replace(microsecond=0).isoformat()


def cap_polygons(area: dict | None) -> list[str]:
    """CAP polygons (``lat,lon lat,lon …``, closed) from a GeoJSON Polygon or MultiPolygon."""
    if not area:
        return []
    polygons = [area["coordinates"]] if area["type"] == "Polygon" else area["coordinates"]
    out = []
    for polygon in polygons:
        ring = [list(p[:2]) for p in polygon[0]]
        if ring[0] != ring[-1]:
            ring.append(ring[0])
        out.append(" ".join(f"{lat:.6f},{lon:.6f}".replace("-0.000000", "0.000000") for lon, lat in ring))
    return out


def cap_element(parent, tag: str, text=None):
    """A CAP element under ``parent`` (its text made safe for XML, ``xml_text``)."""
    element = ET.SubElement(parent, f"{{{NS}}}{tag}")
    if text is not None:
        element.text = xml_text(text)
    return element


def build_cap(alert: CapAlert, zone: str = "Europe/Budapest") -> bytes:
    """The alert as CAP 1.2 XML (UTF-8, with declaration)."""
    ET.register_namespace("", NS)
    sub = cap_element
    root = ET.Element(f"{{{NS}}}alert")
    sub(root, "identifier", alert.identifier)
    sub(root, "sender", alert.sender)
    sub(root, "sent", cap_time(alert.sent, zone))
    sub(root, "status", "Exercise" if alert.drill else "Actual")
    sub(root, "msgType", "Alert")
    sub(root, "scope", "Restricted")
    sub(root, "restriction", alert.restriction)
    if alert.incident is not None:
        sub(root, "incidents", alert.incident.number)
    info = sub(root, "info")
    sub(info, "language", alert.language)
    incident = alert.incident
    sub(info, "category", CATEGORY.get(incident.kind, "Other") if incident else "Other")
    sub(info, "event", incident.kind_label if incident else alert.area_description)
    urgency, certainty = STATUS.get(incident.status, ("Unknown", "Unknown")) if incident else ("Unknown", "Unknown")
    sub(info, "urgency", urgency)
    sub(info, "severity", SEVERITY.get(incident.severity, "Unknown") if incident else "Unknown")
    sub(info, "certainty", certainty)
    sub(info, "senderName", alert.sender_name)
    sub(info, "headline", (incident.title if incident else alert.body)[:160])
    sub(info, "description", alert.body)
    if alert.web:
        sub(info, "web", alert.web)
    area = sub(info, "area")
    sub(area, "areaDesc", alert.area_description)
    for polygon in cap_polygons(incident.area if incident else None):
        sub(area, "polygon", polygon)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
