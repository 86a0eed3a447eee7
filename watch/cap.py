"""MeteoAlarm's Atom feed read into warnings (pure functions, no I/O).

The feed (``…/feeds/meteoalarm-legacy-atom-<country>``) is an Atom 1.0 document whose entries
carry the CAP 1.2 fields of each warning in the ``cap:`` namespace: ``cap:identifier``,
``cap:sent``, ``cap:msgType`` (``cap:message_type`` in MeteoAlarm's legacy feed),
``cap:references``, ``cap:event``, ``cap:severity``, ``cap:onset``, ``cap:expires``,
``cap:areaDesc``, ``cap:geocode`` (``valueName`` EMMA_ID, ``value`` HU…), and where given the
``parameter`` ``awareness_level`` (``"3; orange; Severe"``) and ``awareness_type``
(``"1; Wind"``). The document is untrusted input: it is parsed with defusedxml, which refuses
entity declarations (a "billion laughs" expansion) and external references."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException

ATOM = "http://www.w3.org/2005/Atom"
# CAP's namespace as MeteoAlarm writes it in the Atom feed, and CAP 1.1/1.2's own.
CAP_NAMESPACES = ("urn:oasis:names:tc:emergency:cap:1.2", "urn:oasis:names:tc:emergency:cap:1.1")
SEVERITY_LEVELS = {"moderate": "yellow", "severe": "orange", "extreme": "red"}
LEVELS = ("yellow", "orange", "red")
# MeteoAlarm's awareness types (the number before the semicolon) as Riadó's incident kinds.
AWARENESS_HAZARDS = {
    1: "storm",  # wind
    2: "snow_ice",
    3: "storm",  # thunderstorm
    4: "other",  # fog
    5: "heat",  # high temperature
    6: "snow_ice",  # low temperature
    7: "flood",  # coastal event
    8: "fire",  # forest fire
    9: "snow_ice",  # avalanches
    10: "flood",  # rain
    12: "flood",  # flooding
    13: "flood",  # rain-flood
}
# Without an awareness type, words of the event name (English, as MeteoAlarm's feed writes it,
# and Hungarian, as HungaroMet's own CAP does).
EVENT_WORDS = (
    (("wind", "szél", "thunder", "zivatar", "storm"), "storm"),
    (("heat", "high temperature", "hőség", "kánikula"), "heat"),
    (("snow", "ice", "hó", "ónos", "fagy", "low temperature", "hideg"), "snow_ice"),
    (("flood", "árvíz", "rain", "eső"), "flood"),
    (("fire", "tűz"), "fire"),
)


class FeedError(Exception):
    """The feed could not be read as a MeteoAlarm Atom feed; the message says why."""


@dataclass(frozen=True)
class Entry:
    """One CAP message of the feed."""

    identifier: str
    sender: str
    sent: dt.datetime | None
    msg_type: str  # Alert, Update, Cancel
    status: str  # Actual, Exercise, Test…
    references: tuple[str, ...]  # identifiers of the earlier messages it updates or cancels
    event: str
    level: str | None  # yellow, orange, red (None: green / minor, or no level given)
    severity: str
    hazard: str  # an incident kind
    onset: dt.datetime | None
    expires: dt.datetime | None
    area: str
    codes: tuple[str, ...] = field(default_factory=tuple)  # EMMA_ID geocodes
    headline: str = ""


def _local(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        ns, _, name = tag[1:].partition("}")
        return ns, name
    return "", tag


def _cap_children(element) -> dict[str, list]:
    """An element's children in CAP's namespaces (or none), by local name."""
    out: dict[str, list] = {}
    for child in element:
        ns, name = _local(child.tag)
        if ns in CAP_NAMESPACES or ns == "":
            out.setdefault(name, []).append(child)
    return out


def _text(children: dict, *names: str) -> str:
    for name in names:
        for node in children.get(name, []):
            if node.text and node.text.strip():
                return " ".join(node.text.split())
    return ""


def parse_time(value: str) -> dt.datetime | None:
    """A CAP time (``2026-06-10T14:00:00+02:00``) as aware UTC; None if absent or unreadable."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None  # CAP requires the offset; a time without one is not guessed
    try:
        return parsed.astimezone(dt.timezone.utc)
    except OverflowError:  # year 1 or 9999 shifted out of range: unreadable
        return None


def _pairs(nodes) -> list[tuple[str, str]]:
    """``valueName``/``value`` pairs of ``cap:geocode`` or ``cap:parameter`` elements."""
    out = []
    for node in nodes:
        children = _cap_children(node)
        name, value = _text(children, "valueName"), _text(children, "value")
        if name:
            out.append((name, value))
    return out


def level_of(severity: str, awareness_level: str = "") -> str | None:
    """yellow/orange/red from the ``awareness_level`` parameter (``"3; orange; Severe"``) or,
    without it, from CAP's severity (Moderate, Severe, Extreme); None for green or minor."""
    if awareness_level:
        words = [w.strip().lower() for w in awareness_level.split(";")]
        for word in words:
            if word in LEVELS:
                return word
        if words and words[0].isdigit():
            return {2: "yellow", 3: "orange", 4: "red"}.get(int(words[0]))
    return SEVERITY_LEVELS.get(severity.strip().lower())


def hazard_of(event: str, awareness_type: str = "") -> str:
    """The incident kind a warning is about."""
    number = awareness_type.split(";")[0].strip()
    if number.isdigit() and int(number) in AWARENESS_HAZARDS:
        return AWARENESS_HAZARDS[int(number)]
    words = f"{event} {awareness_type}".lower()
    for keys, hazard in EVENT_WORDS:
        if any(k in words for k in keys):
            return hazard
    return "other"


def _entry(node) -> Entry | None:
    children = _cap_children(node)
    identifier = _text(children, "identifier")
    if not identifier:
        # An Atom entry without CAP fields: its Atom id stands in (it is unique per message).
        atom_id = node.find(f"{{{ATOM}}}id")
        identifier = " ".join((atom_id.text or "").split()) if atom_id is not None else ""
    if not identifier:
        return None
    parameters = dict(_pairs(children.get("parameter", [])))
    severity = _text(children, "severity")
    event = _text(children, "event")
    title = node.find(f"{{{ATOM}}}title")
    headline = _text(children, "headline") or (" ".join((title.text or "").split()) if title is not None else "")
    references = tuple(_reference_ids(_text(children, "references")))
    return Entry(
        identifier=identifier[:255], sender=_text(children, "sender")[:255], sent=parse_time(_text(children, "sent")),
        msg_type=(_text(children, "msgType", "message_type") or "Alert").capitalize(),
        status=(_text(children, "status") or "Actual").capitalize(), references=references,
        event=event[:255], level=level_of(severity, parameters.get("awareness_level", "")), severity=severity[:32],
        hazard=hazard_of(event, parameters.get("awareness_type", "")),
        onset=parse_time(_text(children, "onset", "effective")), expires=parse_time(_text(children, "expires")),
        area=_text(children, "areaDesc")[:500],
        codes=tuple(v.strip() for name, v in _pairs(children.get("geocode", [])) if name.upper() == "EMMA_ID" and v.strip()),
        headline=headline[:500],
    )


def _reference_ids(raw: str) -> list[str]:
    """CAP's ``references``: space-separated ``sender,identifier,sent`` triples (an identifier
    alone is taken too)."""
    out = []
    for triple in raw.split():
        parts = triple.split(",")
        out.append((parts[1] if len(parts) >= 3 else parts[0])[:255])
    return [r for r in out if r]


def parse_feed(data: bytes) -> list[Entry]:
    """The CAP messages of an Atom feed. Raises FeedError for anything that is not a well-formed
    Atom feed (a truncated answer, an HTML error page, an entity declaration)."""
    try:
        root = SafeET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise FeedError(f"refused: the feed declares a DTD or entities ({type(exc).__name__})") from None
    except SafeET.ParseError as exc:
        raise FeedError(f"not well-formed XML ({exc})") from None
    if root.tag != f"{{{ATOM}}}feed":
        raise FeedError(f"not an Atom feed (its root element is {_local(root.tag)[1]!r})")
    entries = []
    for node in root.findall(f"{{{ATOM}}}entry"):
        entry = _entry(node)
        if entry is not None:
            entries.append(entry)
    return entries


def fold(text: str) -> str:
    """Case and accents aside (``Pest`` never matches ``Budapest``: whole names are compared)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return re.sub(r"\s+", " ", "".join(c for c in decomposed if not unicodedata.combining(c))).strip()


def in_areas(entry: Entry, areas) -> bool:
    """Whether the warning is for one of ``areas`` (EMMA_ID codes or area names)."""
    wanted = {fold(a) for a in areas}
    if any(fold(code) in wanted for code in entry.codes):
        return True
    names = {fold(part) for part in re.split(r"[,;]", entry.area)} | {fold(entry.area)}
    return bool(names & wanted)
