"""Alerts: recipients, composition, the durable fan-out state machine, status callbacks,
replies (acknowledgements, STOP/START) and escalation. Every query and write of the wing.

A delivery moves queued → sending (claimed by a worker, with a lease) → sent → delivered,
undelivered or failed. A worker that dies leaves its deliveries "sending"; when the lease runs
out another worker takes them up again, so nobody is lost and a duplicate can only come from a
message that was in flight at the crash.

Who commits: as in the core, an operation writes to the session and never commits; its caller (a
page, an API endpoint, a webhook, a queue task) commits once. The exception is the fan-out's state
machine (``claim_next``, ``record_sent``, ``record_failure``): each step is a transaction of its
own, because a worker's progress must survive a crash between two messages."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import itertools
import json
import re
from dataclasses import dataclass, field

from flask import current_app
from flask_babel import force_locale, gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, bindparam, case, delete, exists, func, or_, select, update
from sqlalchemy.orm import aliased

from incident.audit import current_actor
from incident.audit import record as record_audit
from incident.database import UTCDateTime, utcnow
from incident.errors import ConflictError, FieldError, FieldErrors, NotFound
from incident.extensions import db
from incident.geo import area_from_geojson, drawn_area, to_element, to_geojson
from incident.logs import current_request_id
from incident.models import AlertGroup, AuditEntry, Contact, Incident, contact_groups
from incident.operations import incidents as incident_ops
from incident.operations.incidents import N_
from incident.phones import mask_email, mask_phone, normalise_phone
from incident.validation import Cleaner, id_list, printable, whole_number

from . import sms
from .channels import CALL_MINUTES, CHANNELS, MERGED_REASONS, REASONS, Channel, Recipients  # noqa: F401 - for the pages
from .gateways import gateway_name, two_way
from .models import (
    DELIVERY_STATUSES,
    FAILED_STATUSES,
    PENDING_STATUSES,
    REACHED_STATUSES,
    STATUS_RANK,
    Alert,
    Delivery,
    Exclusion,
    OutboxMessage,
    Reply,
    WebhookReceipt,
)

ACK_WORDS = {"ok", "1", "igen", "yes"}
STOP_WORDS = {"stop", "leiratkozom", "stopall", "unsubscribe"}
START_WORDS = {"start", "unstop"}
# The channels an alert can go out on now (all of SPEC §4's), in the pages' order.
AVAILABLE_CHANNELS = tuple(CHANNELS)


def configured_locale() -> str:
    return current_app.config["RIADO_LOCALE"]


def drill_prefix() -> str:
    """``GYAKORLAT! `` (``DRILL! `` in English): the first words of every drill SMS."""
    with force_locale(configured_locale()):
        return gettext("DRILL! ")


def ack_word() -> str:
    """The word an alert asking for acknowledgement asks its recipients to reply (``IGEN``,
    ``YES`` in English): one of ACK_WORDS in every language (a test checks each)."""
    with force_locale(configured_locale()):
        return gettext("YES")


def reply_hint() -> str:
    """The last line of every SMS that asks for acknowledgement, in the SMS language: what to
    reply. Hungarian's is GSM-7 (no á, ő…), so that it never makes a GSM-7 alert UCS-2."""
    with force_locale(configured_locale()):
        return gettext("Reply %(word)s to confirm.", word=ack_word())


# Recipients


def _ids(raw, field_name: str, model, c: Cleaner) -> list[int]:
    value = c.run(field_name, id_list, raw.get(field_name) or [], field_name)
    if value is None:
        return []
    found = set(db.session.execute(select(model.id).where(model.id.in_(value))).scalars()) if value else set()
    missing = sorted(set(value) - found)
    if missing:
        c.error(field_name, _l("No such id: %(ids)s.", ids=", ".join(map(str, missing))))
    return sorted(found)


def resolve_recipients(group_ids, contact_ids, area, drill: bool, channel: str = "sms") -> Recipients:
    """The union of the groups' members, the contacts, and the contacts located in ``area``, on
    ``channel``: by SMS deduplicated by phone, without those who have not opted in or have opted
    out; by e-mail those with an address, deduplicated by address; by voice every contact's
    phone, landlines included, deduplicated by phone.

    A contact who opted out of SMS (STOP, or never opted in) is still called: the opt-out
    answers our SMS and is about SMS (Twilio itself blocks only messages after a STOP), while a
    member of a call-out list is on it to be reached in an emergency; the call can be confirmed
    or simply not answered. The drill safety switch applies to every channel."""
    conditions = []
    if group_ids:
        conditions.append(Contact.id.in_(select(contact_groups.c.contact_id).where(contact_groups.c.group_id.in_(group_ids))))
    if contact_ids:
        conditions.append(Contact.id.in_(contact_ids))
    if area is not None:
        conditions.append(_inside(area))
    result = Recipients(channel)
    if not conditions:
        return result
    contacts = db.session.execute(select(Contact).where(or_(*conditions)).order_by(Contact.name_key, Contact.id)).scalars().all()
    test_group = current_app.config.get("RIADO_DRILL_TEST_GROUP")
    allowed_in_drill = None
    if drill and test_group:
        allowed_in_drill = set(db.session.execute(
            select(contact_groups.c.contact_id).join(AlertGroup, AlertGroup.id == contact_groups.c.group_id)
            .where(func.lower(AlertGroup.name) == test_group.strip().lower())
        ).scalars())
    return CHANNELS[channel].pick(contacts, allowed_in_drill)


def _inside(area):
    """The condition that a contact's location lies inside ``area`` (a shapely Polygon or
    MultiPolygon); a contact without a location is never inside."""
    return func.ST_Within(Contact.location, func.ST_GeomFromWKB(to_element(area).data, 4326))


@dataclass(frozen=True)
class AreaReach:
    """Who an alert's area reaches: the contacts whose location is inside it (whether or not a
    channel can reach them), and of each channel's recipients, how many are inside."""

    contact_ids: frozenset[int]
    by_channel: dict[str, int]

    @property
    def contacts(self) -> int:
        return len(self.contact_ids)


def area_reach_of(raw_area, incident_id, drill: bool) -> AreaReach:
    """``area_reach`` of an area given as GeoJSON, or else of an incident's affected area, on
    every channel; FieldErrors naming ``area`` or ``incident_id``. Writes nothing."""
    c = Cleaner({"area": raw_area, "incident_id": incident_id})
    area = None
    if raw_area is not None:  # as drawn: a Feature or FeatureCollection gives its shapes
        shapes = drawn_area(raw_area)
        if shapes is None:
            c.error("area", _l("Nothing is drawn."))
        else:
            area = c.run("area", area_from_geojson, shapes)
    elif incident_id is not None:
        incident = db.session.get(Incident, incident_id) if isinstance(incident_id, int) else None
        if incident is None:
            c.error("incident_id", _l("No such incident."))
        elif incident.area is None:
            c.error("incident_id", _l("The incident has no affected area recorded."))
        else:
            area = area_from_geojson(to_geojson(incident.area))
    else:
        c.error("area", _l("Give an area, or an incident whose affected area to use."))
    c.done()
    by_channel = {name: resolve_recipients(None, None, area, drill, name) for name in AVAILABLE_CHANNELS}
    return area_reach(area, by_channel)


def area_reach(area, by_channel: dict[str, Recipients]) -> AreaReach | None:
    """How many contacts with a location ``area`` holds, and how many of each channel's
    recipients are among them (None without an area)."""
    if area is None:
        return None
    inside = frozenset(db.session.execute(select(Contact.id).where(_inside(area))).scalars())
    return AreaReach(inside, {channel: sum(1 for contact, _address in reach.send if contact.id in inside)
                              for channel, reach in by_channel.items()})


# Composition


def compose(body: str, transliterate: bool, drill: bool, require_ack: bool = False) -> sms.Preview:
    """The text as it will go out: the drill prefix, then the body, then (asking for
    acknowledgement) the reply hint on a line of its own; transliterated if asked."""
    hint = "\n" + reply_hint() if require_ack else ""
    return sms.preview((drill_prefix() if drill else "") + body + hint, transliterate)


def _channels(raw, c: Cleaner) -> list[str]:
    """The channels asked for, in ``CHANNELS`` order; SMS when none is named."""
    if raw is None:
        return ["sms"]
    if raw == []:
        c.error("channels", _l("Choose at least one channel."))
        return ["sms"]
    if isinstance(raw, str):
        raw = [part.strip() for part in raw.split(",") if part.strip()]
    if not isinstance(raw, (list, tuple)) or not all(isinstance(item, str) for item in raw):
        c.error("channels", _l("A list of channels: sms, email, voice."))
        return ["sms"]
    unknown = sorted(set(raw) - set(CHANNELS))
    if unknown:
        c.error("channels", _l("Unknown channel: %(names)s (sms, email, voice).", names=", ".join(unknown)))
    return [channel for channel in CHANNELS if channel in raw] or ["sms"]


# Escalation waves (SPEC §4): at most this many, each at most a day after the alert.
MAX_WAVES = 5
MAX_WAVE_MINUTES = 24 * 60


def _escalation(raw, c: Cleaner) -> list[dict] | None:
    """The escalation waves asked for (``escalation``, or the older ``escalate_after_minutes``: one
    SMS wave), in the order they go out; every error names the wave and its field
    (``escalation[1].channel``). None: no escalation."""
    value = raw.get("escalation")
    if value is None or value == []:
        minutes = c.out.get("escalate_after_minutes")
        if minutes and minutes > MAX_WAVE_MINUTES:
            c.error("escalate_after_minutes", _l("At most %(n)s minutes.", n=MAX_WAVE_MINUTES))
        return [{"after_minutes": minutes, "channel": "sms"}] if minutes else None
    if raw.get("escalate_after_minutes") not in (None, ""):
        c.error("escalation", _l("Give either escalation or escalate_after_minutes, not both."))
        return None
    if not isinstance(value, (list, tuple)):
        c.error("escalation", _l("A list of waves: {\"after_minutes\": N, \"channel\": \"sms\"}."))
        return None
    if len(value) > MAX_WAVES:
        c.error("escalation", _l("At most %(n)s waves.", n=MAX_WAVES))
        return None
    waves: list[dict] = []
    seen: set[int] = set()
    for i, item in enumerate(value):
        where = f"escalation[{i}]"
        if not isinstance(item, dict):
            c.error(where, _l("A wave: {\"after_minutes\": N, \"channel\": \"sms\"}."))
            continue
        unknown = sorted(set(item) - {"after_minutes", "channel"})
        if unknown:
            c.error(where, _l("Unknown field: %(names)s.", names=", ".join(map(str, unknown))))
        minutes = None
        if item.get("after_minutes") is None or item.get("after_minutes") == "":
            c.error(f"{where}.after_minutes", _l("This field is required."))
        else:
            minutes = c.run(f"{where}.after_minutes", whole_number, item["after_minutes"], f"{where}.after_minutes", 1)
        if minutes is not None and minutes > MAX_WAVE_MINUTES:
            c.error(f"{where}.after_minutes", _l("At most %(n)s minutes.", n=MAX_WAVE_MINUTES))
            minutes = None
        elif minutes is not None and minutes in seen:
            c.error(f"{where}.after_minutes", _l("Another wave goes out after %(n)s minutes: each wave needs its own time.",
                                                 n=minutes))
            minutes = None
        channel = item.get("channel", "sms")
        if not isinstance(channel, str) or channel not in CHANNELS:
            c.error(f"{where}.channel", _l("Unknown channel: %(names)s (%(known)s).", names=str(channel)[:20],
                                           known=", ".join(AVAILABLE_CHANNELS)))
            channel = None
        elif channel not in AVAILABLE_CHANNELS:
            c.error(f"{where}.channel", _l("This channel is not available yet: choose %(known)s.",
                                           known=", ".join(AVAILABLE_CHANNELS)))
            channel = None
        if minutes is not None and channel is not None:
            seen.add(minutes)
            waves.append({"after_minutes": minutes, "channel": channel})
    return sorted(waves, key=lambda wave: wave["after_minutes"]) or None


def clean_alert(raw: dict) -> dict:
    c = Cleaner(raw)
    c.text("body", sms.MAX_CHARACTERS, required=True)
    c.boolean("drill", default=False)
    c.boolean("require_ack", default=False)
    c.boolean("transliterate", default=False)
    c.integer("incident_id", minimum=1, default=None)
    c.integer("escalate_after_minutes", minimum=1, default=None)
    c.text("subject", 200)
    if any(ch in c.out.get("subject", "") for ch in "\r\n\x0b\x0c\x85\u2028\u2029"):
        c.error("subject", _l("The subject must be one line."))
    data = c.out
    data["channels"] = _channels(raw.get("channels"), c)
    data["groups"] = _ids(raw, "groups", AlertGroup, c)
    data["contacts"] = _ids(raw, "contacts", Contact, c)
    data["area"] = None
    if raw.get("area") is not None:
        data["area"] = c.run("area", area_from_geojson, raw["area"])
    incident = None
    if data.get("incident_id"):
        incident = db.session.get(Incident, data["incident_id"])
        if incident is None:
            c.error("incident_id", _l("No such incident."))
        elif incident.drill:
            data["drill"] = True  # an alert on a drill is a drill
    data["escalation"] = _escalation(raw, c)
    if not data.get("require_ack"):
        for name in ("escalate_after_minutes", "escalation"):
            if raw.get(name) not in (None, "", []):
                c.error(name, _l("Escalation needs an acknowledgement to wait for (require_ack)."))
    if not (data["groups"] or data["contacts"] or data["area"] is not None) and not any(
        k in c.errors for k in ("groups", "contacts", "area")
    ):
        c.error("recipients", _l("Choose at least one group, contact or area."))
    if "body" in data:
        text = compose(data["body"], data.get("transliterate", False), data.get("drill", False),
                       data.get("require_ack", False))
        if len(text.body) > sms.MAX_CHARACTERS:
            c.error("body", _l("The message is longer than %(n)s characters (with the drill prefix and the reply "
                               "request).", n=sms.MAX_CHARACTERS))
    c.done()
    data["incident"] = incident
    return data


@dataclass(frozen=True)
class AlertPreview:
    """What an alert would be, sent now: the request cleaned, who gets it and who is left out
    (and why), the text as it goes out, what it costs, and the gateway it would go through."""

    data: dict
    by_channel: dict[str, Recipients]  # each channel asked for, in ``CHANNELS`` order
    text: sms.Preview
    cost: float  # every channel's together (``costs``)
    currency: str
    gateway: str
    two_way: bool
    costs: dict[str, float] = field(default_factory=dict)  # the channels that cost: sms, voice
    # Each escalation wave's price if nobody confirms (every recipient its channel reaches), None
    # for a wave on a channel that costs nothing; waves reach only the silent, so usually less.
    wave_costs: list[float | None] = field(default_factory=list)

    @property
    def wave_cost(self) -> float:
        """The escalation waves' price at most, all together."""
        return round(sum(cost for cost in self.wave_costs if cost is not None), 4)

    @property
    def recipients(self) -> Recipients:
        """The SMS recipients (the first channel's when SMS is not asked for)."""
        return self.by_channel.get("sms") or next(iter(self.by_channel.values()))

    @property
    def reached(self) -> Recipients:
        """Who the alert reaches on at least one channel (each contact once, with the phone it
        is called or texted on, else its address), and who it reaches on none (with the reason
        of the first channel asked for). On one channel, that channel's recipients."""
        if len(self.by_channel) == 1:
            return next(iter(self.by_channel.values()))
        send: dict[int, tuple[Contact, str]] = {}
        for recipients in self.by_channel.values():
            for contact, address in recipients.send:
                if contact.id not in send or "@" in send[contact.id][1] and "@" not in address:
                    send[contact.id] = (contact, address)
        excluded: dict[int, tuple[Contact, str]] = {}
        for recipients in self.by_channel.values():
            for contact, reason in recipients.excluded:
                if contact.id not in send:
                    excluded.setdefault(contact.id, (contact, reason))
        return Recipients("any", list(send.values()), list(excluded.values()))

    @property
    def messages(self) -> int:
        """Messages to send, all channels together."""
        return sum(len(r.send) for r in self.by_channel.values())

    @property
    def excluded_count(self) -> int:
        """Contacts left out on a channel for consent or reach, all channels together."""
        return sum(r.excluded_count for r in self.by_channel.values())

    @property
    def subject(self) -> str:
        """The e-mail's subject: the one written, else the text's first line."""
        return email_subject(self.data.get("subject"), self.text_for("email"), self.data.get("drill", False))

    def text_for(self, channel: str) -> str:
        """What a delivery on ``channel`` carries: the SMS as composed; an e-mail's text and a
        call's spoken text are the drill prefix and what was written (the e-mail has its link,
        the call asks for a key instead of the SMS reply hint)."""
        return self.text.body if channel == "sms" else email_text(self.data["body"], self.data["drill"])

    @property
    def excluded_counts(self) -> dict[str, int]:
        """Why contacts were left out (merged duplicates apart), only the reasons that occur."""
        out: dict[str, int] = {}
        for recipients in self.by_channel.values():
            for reason, n in recipients.counts().items():
                if n and reason not in MERGED_REASONS:
                    out[reason] = out.get(reason, 0) + n
        return out


def _channel_list(channels) -> str:
    """The channels in words of the configured language ("SMS + e-mail + hanghívás"), for the log."""
    from .labels import channel_words

    with force_locale(configured_locale()):
        words = channel_words()
        return " + ".join(str(words[channel]) for channel in channels)


def email_text(body: str, drill: bool) -> str:
    """An e-mail's text: the drill prefix and what the officer wrote (no SMS reply hint: the
    e-mail carries its own confirmation link)."""
    return (drill_prefix() if drill else "") + body


def email_subject(subject: str | None, text: str, drill: bool = False) -> str:
    """The subject written, else the text's first line; a drill's starts with the drill prefix
    (GYAKORLAT!), whoever wrote it, so that nobody scanning subjects takes it for real."""
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    subject = (subject or "").strip()
    if subject and drill and not subject.startswith(drill_prefix().strip()):
        subject = drill_prefix() + subject
    return (subject or first)[:200]


def preview_alert(raw: dict) -> AlertPreview:
    """The preview of the alert ``raw`` asks for (the compose page's confirmation, the recipients
    API, and ``create_alert``); raises FieldErrors naming each field that is wrong. Writes nothing."""
    data = clean_alert(raw)
    text = compose(data["body"], data["transliterate"], data["drill"], data["require_ack"])
    by_channel = {channel: resolve_recipients(data["groups"], data["contacts"], data["area"], data["drill"], channel)
                  for channel in data["channels"]}
    config = current_app.config
    costs = {name: cost for name, reach in by_channel.items()
             if (cost := CHANNELS[name].cost(text.segments, len(reach.send), config)) is not None}
    return AlertPreview(
        data=data, by_channel=by_channel, text=text, cost=round(sum(costs.values()), 4),
        currency=config["RIADO_SMS_CURRENCY"], gateway=gateway_name(config), two_way=two_way(config), costs=costs,
        wave_costs=_wave_costs(data, text, by_channel),
    )


def _wave_costs(data: dict, text: sms.Preview, by_channel: dict[str, Recipients]) -> list[float | None]:
    """Each escalation wave's price if nobody has confirmed by then: its channel to every recipient
    it reaches among the alert's (an SMS wave at the alert's own length)."""
    if not data["require_ack"] or not data["escalation"]:
        return []
    reach: dict[str, Recipients] = dict(by_channel)
    out = []
    for wave in data["escalation"]:
        name = wave["channel"]
        if name not in reach:
            reach[name] = resolve_recipients(data["groups"], data["contacts"], data["area"], data["drill"], name)
        out.append(CHANNELS[name].cost(text.segments, len(reach[name].send), current_app.config))
    return out


def request_fingerprint(raw: dict) -> str:
    keys = ("body", "groups", "contacts", "area", "incident_id", "drill", "require_ack", "transliterate", "escalate_after_minutes",
            "channels", "subject", "escalation")
    return hashlib.sha256(json.dumps({k: raw.get(k) for k in keys}, sort_keys=True, default=str).encode()).hexdigest()


def find_by_idempotency_key(key: str) -> Alert | None:
    return db.session.execute(select(Alert).where(Alert.idempotency_key == key)).scalar_one_or_none()


def create_alert(raw: dict, idempotency_key: str | None = None) -> tuple[Alert, bool]:
    """Write the alert and one delivery per recipient in one transaction (not committed).
    Returns (alert, created); an Idempotency-Key seen before returns that alert, unsent again."""
    fingerprint = request_fingerprint(raw)
    if idempotency_key:
        existing = find_by_idempotency_key(idempotency_key)
        if existing is not None:
            if existing.request_hash != fingerprint:
                raise ConflictError(_l("This Idempotency-Key was used for a different alert."), "Idempotency-Key")
            return existing, False
    preview = preview_alert(raw)
    data, text = preview.data, preview.text
    if not preview.messages:
        raise FieldErrors({"recipients": [str(_l("Nobody would receive this alert: every contact chosen is excluded."))]})
    actor_id, actor = current_actor()
    incident = None
    if data["incident"] is not None:
        # The incident's row lock first, as every other write to its log takes it: inserting the
        # alert takes a key-share lock on the incident (the foreign key), and asking for the row
        # lock only afterwards deadlocks two alerts sent on one incident at the same moment.
        incident = incident_ops.lock_incident(data["incident"].id)

    alert = Alert(
        incident_id=data.get("incident_id"), body=text.body, written_body=data["body"],
        transliterate=data["transliterate"], encoding=text.encoding, segments=text.segments, drill=data["drill"],
        require_ack=data["require_ack"], escalate_after_minutes=legacy_escalation(data["escalation"]),
        escalation=data["escalation"],
        status="sending", recipients=preview.messages, excluded=preview.excluded_count,
        channels=data["channels"], subject=preview.subject if "email" in data["channels"] else None,
        request={"groups": data["groups"], "contacts": data["contacts"], "area": raw.get("area")},
        idempotency_key=idempotency_key, request_hash=fingerprint, gateway=preview.gateway,
        created_by_id=actor_id, created_by=actor, created_at=utcnow(), request_id=current_request_id(),
    )
    alert.next_wave_at = next_wave_due(alert)
    db.session.add(alert)
    db.session.flush()
    now = alert.created_at
    # An e-mail's delivery keeps its address, not the contact's phone: an SMS reply from that
    # phone answers the SMS, and what keys on phones (opt-outs, merges) is the SMS channel's.
    # The channels' rows are interleaved (the first recipient of each, then the second of each…):
    # the drains claim in id order, so every channel starts at once and goes at the pace of the
    # others, rather than the e-mails waiting behind every SMS and the calls behind both.
    per_channel = [[(channel, contact, address) for contact, address in recipients.send]
                   for channel, recipients in preview.by_channel.items()]
    db.session.execute(Delivery.__table__.insert(), [
        {"alert_id": alert.id, "kind": "alert", "channel": channel, "contact_id": contact.id, "name": contact.name,
         **CHANNELS[channel].address_columns(address), "body": preview.text_for(channel), "status": "queued", "attempts": 0, "next_attempt_at": now, "updated_at": now}
        for row in itertools.zip_longest(*per_channel) for channel, contact, address in filter(None, row)
    ])
    excluded = [{"alert_id": alert.id, "channel": channel, "contact_id": contact.id, "name": contact.name,
                 "phone": contact.phone, "reason": reason}
                for channel, recipients in preview.by_channel.items() for contact, reason in recipients.excluded]
    if excluded:
        db.session.execute(Exclusion.__table__.insert(), excluded)
    if incident is not None and data["channels"] == ["sms"]:
        incident_ops.append_entry(incident, "system", incident_ops.system_text(
            "SMS alert #%(id)s sent to %(n)s recipients (%(excluded)s excluded): %(body)s",
            id=alert.id, n=alert.recipients, excluded=alert.excluded, body=alert.body), locked=True)
    elif incident is not None:
        incident_ops.append_entry(incident, "system", incident_ops.system_text(
            "Alert #%(id)s sent as %(channels)s: %(n)s messages (%(excluded)s excluded): %(body)s",
            id=alert.id, channels=_channel_list(data["channels"]),
            n=alert.recipients, excluded=alert.excluded, body=alert.body), locked=True)
    return alert, True


def current_gateway_name() -> str:
    """The name of the gateway alerts go through now (``console``, ``twilio``)."""
    return gateway_name(current_app.config)


def mailer_name_now() -> str:
    """The mailer e-mails go through now (``console``, ``smtp``)."""
    from .mail import mailer_name

    return mailer_name(current_app.config)


# Reading


def delivery_counts(alert_id: int) -> dict[str, int]:
    """An alert's deliveries by status (reminders apart), and how many were acknowledged."""
    return delivery_counts_for([alert_id])[alert_id]


def alert_counts(alert: Alert) -> dict[str, int]:
    """``delivery_counts``, the excluded and the merged duplicates of one alert."""
    return alert_counts_for([alert])[alert.id]


def alert_counts_for(alerts, by_channel: bool = False) -> dict[int, dict]:
    """``alert_counts`` of many alerts at once: the deliveries by status, acknowledged and opted
    out (``delivery_counts_for``), ``excluded`` (left out for consent or reach) and ``merged``
    (a phone another recipient has): the same figures on every page, the API and the report."""
    alerts = list(alerts)
    counts = delivery_counts_for((alert.id for alert in alerts), by_channel=by_channel)
    merged = merged_counts_for(alert.id for alert in alerts)
    for alert in alerts:
        counts[alert.id]["excluded"] = alert.excluded
        counts[alert.id]["merged"] = merged.get(alert.id, 0)
    return counts


def merged_counts_for(alert_ids) -> dict[int, int]:
    """How many contacts of each alert were merged into another recipient's phone."""
    ids = sorted(set(alert_ids))
    if not ids:
        return {}
    return dict(db.session.execute(
        select(Exclusion.alert_id, func.count()).where(Exclusion.alert_id.in_(ids), Exclusion.reason.in_(MERGED_REASONS))
        .group_by(Exclusion.alert_id)
    ).all())


def deliveries_query(alert_id: int, kind: str | None = "alert", status: str | None = None):
    query = select(Delivery).where(Delivery.alert_id == alert_id).order_by(Delivery.name_key, Delivery.id)
    if kind:
        query = query.where(Delivery.kind == kind)
    if status:
        query = query.where(Delivery.status == status)
    return query


def exclusions(alert_id: int) -> list[Exclusion]:
    """Who the alert asked for and did not send to, by reason (merged duplicates included:
    ``split_exclusions`` sets them apart)."""
    return list(db.session.execute(select(Exclusion).where(Exclusion.alert_id == alert_id).order_by(Exclusion.reason, Exclusion.name_key)).scalars())


def split_exclusions(rows) -> tuple[list, list]:
    """(left out for consent or reach, merged into another recipient's phone)."""
    rows = list(rows)
    return [e for e in rows if e.reason not in MERGED_REASONS], [e for e in rows if e.reason in MERGED_REASONS]


def replies(alert_id: int):
    """Every reply that answered the alert (acknowledgements, opt-outs, other text), oldest first."""
    return select(Reply).where(Reply.alert_id == alert_id).order_by(Reply.received_at, Reply.id)


# The acknowledgement window, the one for the whole wing: how long after it was sent an alert
# waits for acknowledgements (the dashboard, the wall map), and how recent an alert must be for a
# reply to answer it (acknowledge it, opt out of it, prove it arrived).
ACK_WAIT = dt.timedelta(hours=24)


def alerts_in_flight_query(drill: bool | None = None):
    """Alerts in flight (``Alert.in_flight``: still being sent), newest first."""
    return alerts_query(drill).where(Alert.in_flight)


def may_still_acknowledge():
    """A delivery whose acknowledgement may still come: an alert's (not a reminder's), not
    acknowledged, not failed, and its recipient has not opted out by answering it."""
    return and_(Delivery.kind == "alert", Delivery.acknowledged_at.is_(None), Delivery.opted_out_at.is_(None),
                Delivery.status.not_in(FAILED_STATUSES))


def incident_not_closed():
    """The alert has no incident, or its incident is not closed: once an incident is closed its
    alerts wait for no acknowledgement (the dashboard, the wall map, the alert page)."""
    return or_(Alert.incident_id.is_(None),
               exists().where(Incident.id == Alert.incident_id, Incident.status != "closed"))


def alerts_awaiting_ack_query(drill: bool | None = None):
    """Alerts no longer in flight that asked for acknowledgements within the last day and may
    still get one (not those of a closed incident), newest first."""
    return alerts_query(drill).where(
        ~Alert.in_flight, Alert.require_ack.is_(True), Alert.created_at >= utcnow() - ACK_WAIT, incident_not_closed(),
        exists().where(Delivery.alert_id == Alert.id, may_still_acknowledge(), ~acknowledged_on_any_channel()),
    )


def alerts_query(drill: bool | None = None, incident_id: int | None = None):
    query = select(Alert).order_by(Alert.created_at.desc(), Alert.id.desc())
    if drill is not None:
        query = query.where(Alert.drill.is_(drill))
    if incident_id is not None:
        query = query.where(Alert.incident_id == incident_id)
    return query


# The fan-out state machine (called by the queue's workers)


@dataclass(frozen=True)
class Claimed:
    id: int
    phone: str
    body: str
    attempts: int
    alert_id: int
    channel: str = "sms"
    email: str = ""
    kind: str = "alert"


def claim_next(alert_id: int | None = None, sent: tuple[int, str] | None = None) -> Claimed | None:
    """Take the next delivery that is due (queued, or sending with a lapsed lease) and lease it.
    PostgreSQL skips rows another worker has locked; SQLite serialises writers.

    ``sent`` (delivery id, provider sid) records the drain's previous message as sent in the
    same transaction: one commit per message rather than two, which is most of a drain's time
    beside the provider's answer."""
    if sent is not None:
        _mark_sent(*sent)
    now = utcnow()
    # Longer than a send can take on any channel (Twilio's timeout; the SMTP mailer's deadline).
    lease = now + dt.timedelta(seconds=current_app.config["RIADO_SMS_LEASE_SECONDS"])
    row = db.session.execute(
        _claim_statement(alert_id is not None), {"now": now, "lease": lease, "of_alert": alert_id},
    ).first()
    db.session.commit()
    return Claimed(*row) if row else None


@functools.cache  # built once: a drain runs it for every message, and building it costs as much
def _claim_statement(by_alert: bool):
    now = bindparam("now", type_=UTCDateTime())
    due = or_(
        and_(Delivery.status == "queued", Delivery.next_attempt_at <= now),
        and_(Delivery.status == "sending", Delivery.lease_until < now),
    )
    next_id = select(Delivery.id).where(due).order_by(Delivery.id).limit(1).with_for_update(skip_locked=True)
    if by_alert:
        next_id = next_id.where(Delivery.alert_id == bindparam("of_alert"))
    return (
        update(Delivery).where(Delivery.id == next_id.scalar_subquery(), due)
        .values(status="sending", lease_until=bindparam("lease", type_=UTCDateTime()), attempts=Delivery.attempts + 1,
                updated_at=now)
        .returning(Delivery.id, Delivery.phone, Delivery.body, Delivery.attempts, Delivery.alert_id, Delivery.channel,
                   Delivery.email, Delivery.kind)
        .execution_options(synchronize_session=False)
    )


def _mark_sent(delivery_id: int, sid: str) -> None:
    db.session.execute(_mark_sent_statement(), {"delivery_id": delivery_id, "sid": sid, "now": utcnow()})


@functools.cache  # built once: a drain runs it for every message
def _mark_sent_statement():
    now = bindparam("now", type_=UTCDateTime())
    return (
        update(Delivery).where(Delivery.id == bindparam("delivery_id")).values(
            provider_sid=bindparam("sid"), sent_at=func.coalesce(Delivery.sent_at, now), lease_until=None,
            updated_at=now, status=case((Delivery.status.in_(PENDING_STATUSES), "sent"), else_=Delivery.status),
            error_code=None, error_message=None,
        ).execution_options(synchronize_session=False)
    )


def record_sent(delivery_id: int, sid: str) -> None:
    """The provider took it. A status callback that got here first is not overwritten."""
    _mark_sent(delivery_id, sid)
    db.session.commit()


def backoff_seconds(attempts: int) -> float:
    """1, 2, 4, 8, 16, 30, 30… seconds: an emergency call-out retries in seconds, not minutes."""
    return float(min(2 ** max(attempts - 1, 0), 30))


def record_failure(delivery_id: int, attempts: int, code: int | None, message: str, retryable: bool) -> bool | None:
    """Retry later (with backoff) or record the permanent failure with the provider's code;
    True when it will be retried, False when it failed for good, None when it was no longer this
    worker's to record (its lease ran out and another took it)."""
    now = utcnow()
    final = not retryable or attempts >= current_app.config["RIADO_SMS_MAX_ATTEMPTS"]
    values = {"error_code": code, "error_message": message[:500], "lease_until": None, "updated_at": now}
    if final:
        values["status"] = "failed"
    else:
        values.update(status="queued", next_attempt_at=now + dt.timedelta(seconds=backoff_seconds(attempts)))
    changed = db.session.execute(
        # Only the claim this failure belongs to (its attempt number fences it): a worker whose
        # lease ran out while the provider answered must not undo the claim another has taken.
        update(Delivery).where(Delivery.id == delivery_id, Delivery.status == "sending",
                               Delivery.attempts == attempts).values(**values)).rowcount
    db.session.commit()
    return None if not changed else not final


def next_due(alert_id: int | None = None) -> dt.datetime | None:
    """When the next delivery becomes due (a retry, or a lease running out); None if none."""
    where = [Delivery.status.in_(PENDING_STATUSES)]
    if alert_id is not None:
        where.append(Delivery.alert_id == alert_id)
    row = db.session.execute(
        select(func.min(case((Delivery.status == "queued", Delivery.next_attempt_at), else_=Delivery.lease_until))).where(*where)
    ).scalar_one_or_none()
    return row


def backlog_seconds() -> float:
    """How long the oldest delivery that is due (queued and due, or its lease lapsed) has waited
    for a worker to take it: 0 when nothing waits."""
    due = next_due()
    if due is None:
        return 0.0
    return max(0.0, (utcnow() - due).total_seconds())


def request_ids(alert_ids) -> dict[int, str | None]:
    """The request id each alert was sent by (for the workers' log lines)."""
    return dict(db.session.execute(select(Alert.id, Alert.request_id).where(Alert.id.in_(list(alert_ids)))).all())


def backlog_count() -> int:
    """How many deliveries are due and not taken by a worker."""
    now = utcnow()
    return db.session.execute(select(func.count()).select_from(Delivery).where(or_(
        and_(Delivery.status == "queued", Delivery.next_attempt_at <= now),
        and_(Delivery.status == "sending", Delivery.lease_until < now),
    ))).scalar_one()


def delivery_status_counts() -> dict[tuple[str, str], int]:
    """Every delivery there is, by channel and status."""
    return {(channel, status): n for channel, status, n in db.session.execute(
        select(Delivery.channel, Delivery.status, func.count()).group_by(Delivery.channel, Delivery.status)).all()}


def backlog_health() -> tuple[bool, dict]:
    """/healthz's "backlog" part: nothing due has waited longer than RIADO_HEALTH_BACKLOG_SECONDS."""
    age = backlog_seconds()
    return age <= current_app.config["RIADO_HEALTH_BACKLOG_SECONDS"], {"backlog_seconds": round(age, 1)}


def alerts_in_progress() -> list[int]:
    """Alerts with deliveries still to go out."""
    return list(db.session.execute(
        select(Delivery.alert_id).where(Delivery.status.in_(PENDING_STATUSES)).distinct()
    ).scalars())


def finish_done_alerts() -> None:
    """Mark alerts with nothing left to send as done (not committed)."""
    busy = select(Delivery.alert_id).where(Delivery.status.in_(PENDING_STATUSES))
    db.session.execute(
        update(Alert).where(Alert.status == "sending", Alert.id.not_in(busy)).values(status="done", completed_at=utcnow())
    )


# Status callbacks and replies


def claim_webhook(kind: str, key: str) -> str | None:
    """Record, in the current transaction, that the webhook ``kind``/``key`` is being acted on.
    None the first time (act, then commit with the receipt); for a replay, the outcome its first
    delivery recorded (act no more). A second copy arriving meanwhile waits on the unique key
    (PostgreSQL) or for the write lock (SQLite) and then finds the first one's receipt."""
    conn = db.session.connection()
    key = key[:100]
    inserted = conn.execute(_receipt_insert(conn.dialect.name),
                            {"kind": kind, "key": key, "outcome": "", "received_at": utcnow()}).first()
    if inserted is not None:
        return None
    return conn.execute(_receipt_outcome(), {"r_kind": kind, "r_key": key}).scalar_one()


@functools.cache  # built once: every status callback runs it
def _receipt_insert(dialect: str):
    from sqlalchemy.dialects import postgresql, sqlite

    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (insert(WebhookReceipt.__table__).on_conflict_do_nothing(index_elements=["kind", "key"])
            .returning(WebhookReceipt.id))


@functools.cache
def _receipt_outcome():
    return select(WebhookReceipt.outcome).where(WebhookReceipt.kind == bindparam("r_kind"),
                                                WebhookReceipt.key == bindparam("r_key"))


# How long a status callback's receipt is kept: a status never moves a delivery backwards, so an
# older replay can change nothing anyway. Receipts of inbound messages (an old STOP replayed
# after START would opt the contact out again) are kept for good; there is one per reply.
STATUS_RECEIPT_DAYS = 30


def prune_webhook_receipts(now: dt.datetime | None = None) -> int:
    """Drop status-callback receipts older than STATUS_RECEIPT_DAYS (not committed); how many went."""
    cutoff = (now or utcnow()) - dt.timedelta(days=STATUS_RECEIPT_DAYS)
    result = db.session.execute(
        delete(WebhookReceipt).where(WebhookReceipt.kind.in_(("sms-status", "voice-status")),
                                    WebhookReceipt.received_at < cutoff)
    )
    return result.rowcount


def settle_webhook(kind: str, key: str, outcome: str) -> None:
    """Keep what the first delivery of a webhook did (a replay answers the same)."""
    db.session.execute(_receipt_settle(), {"r_kind": kind, "r_key": key[:100], "outcome": outcome},
                       execution_options={"synchronize_session": False})


@functools.cache  # built once: every status callback runs it
def _receipt_settle():
    return update(WebhookReceipt).where(WebhookReceipt.kind == bindparam("r_kind"),
                                        WebhookReceipt.key == bindparam("r_key"))


def apply_status(delivery_id: int, sid: str | None, status: str, error_code: int | None) -> bool:
    """A provider status callback (not committed); never moves a delivery backwards, and the same
    (MessageSid, status) again changes nothing. Returns whether it matched a delivery."""
    key = f"{sid}:{status}" if sid else None
    if key and claim_webhook("sms-status", key) is not None:
        return False
    matched = _apply_status(delivery_id, sid, status, error_code, "sms")
    if key:
        settle_webhook("sms-status", key, "applied" if matched else "ignored")
    return matched


def apply_call_status(delivery_id: int, call_sid: str | None, status: str, error_code: int | None) -> bool:
    """A call's status callback (not committed), mapped by ``TWILIO_CALL_STATUSES``: never
    backwards, and the same (CallSid, CallStatus) again changes nothing."""
    key = f"{call_sid}:{status}" if call_sid else None
    if key and claim_webhook("voice-status", key) is not None:
        return False
    matched = _apply_status(delivery_id, call_sid, status, error_code, "voice")
    if key:
        settle_webhook("voice-status", key, "applied" if matched else "ignored")
    return matched


def _apply_status(delivery_id: int, sid: str | None, status: str, error_code: int | None,
                  channel: str | None = None) -> bool:
    """Apply a provider status (its channel's ``statuses`` map it to a delivery's) to the delivery,
    if it is one on ``channel`` (whichever it is on, if None) and ``sid`` is its provider's id."""
    delivery = db.session.get(Delivery, delivery_id, with_for_update=True)
    if delivery is None or (sid and delivery.provider_sid and delivery.provider_sid != sid):
        return False
    if channel is not None and delivery.channel != channel:
        return False
    mapped = CHANNELS[delivery.channel].statuses.get(status)
    if mapped is None:
        return False
    if STATUS_RANK[mapped] > STATUS_RANK[delivery.status] or (delivery.status == "sending" and mapped == "sent"):
        now = utcnow()
        delivery.status = mapped
        delivery.lease_until = None if mapped != "sending" else delivery.lease_until
        if sid and not delivery.provider_sid:
            delivery.provider_sid = sid
        if mapped in ("sent", "delivered") and delivery.sent_at is None:
            delivery.sent_at = now
        if mapped == "delivered":
            delivery.delivered_at = now
        if error_code:
            delivery.error_code = error_code
    return True


def normalise_reply(text: str) -> str:
    import unicodedata

    folded = "".join(c for c in unicodedata.normalize("NFKD", text or "") if not unicodedata.combining(c))
    return folded.strip().strip(".!").casefold()


@dataclass(frozen=True)
class ReplyOutcome:
    action: str  # ack, stop, start, unknown, nothing_to_ack
    alert_id: int | None = None
    replayed: bool = False  # the same message (MessageSid) again: nothing was done


def handle_reply(from_phone: str, text: str, message_sid: str | None = None,
                 simulated_from: OutboxMessage | None = None) -> ReplyOutcome:
    """An SMS to our number: an acknowledgement of the newest alert that asked for one, an
    opt-out (STOP, LEIRATKOZOM) or an opt-in (START). Every reply is kept (``Reply``) beside the
    alert it answers, whatever it says; an opt-out in answer to an alert is marked on its delivery
    and written to the incident's log. A reply answers only an alert of the acknowledgement window
    (``ACK_WAIT``): later, it is kept without an alert and only STOP/START does anything (the
    contact's consent). The same ``message_sid`` again (a replayed or repeated webhook) acts no
    more. Not committed.

    ``simulated_from``: the console outbox message an officer answered in the contact's place
    (drills, training). It acts the same, but the log entry is the officer's and says SIMULATED,
    the reply keeps the message it was typed on, and the audit trail keeps the officer, the
    message and the text typed."""
    if message_sid:
        earlier = claim_webhook("sms-inbound", message_sid)
        if earlier is not None:
            return ReplyOutcome(earlier or "unknown", replayed=True)
    outcome = _reply(from_phone, text, simulated_from)
    if message_sid:
        settle_webhook("sms-inbound", message_sid, outcome.action)
    if simulated_from is not None:
        record_audit(db.session, "simulate", "sms_outbox", simulated_from.id, {
            "to": [None, simulated_from.to], "delivery_id": [None, simulated_from.delivery_id], "text": [None, text],
            "outcome": [None, outcome.action], "alert_id": [None, outcome.alert_id],
        })
    return outcome


# The log is append-only: entries written with earlier wordings keep them; only new ones read these.
ACK_TEXT = N_("%(name)s acknowledged SMS alert #%(id)s.")
SIMULATED_ACK_TEXT = N_("SIMULATED reply, typed by an officer on the console outbox, not sent by the contact: "
                        "%(name)s acknowledged SMS alert #%(id)s.")
OPT_OUT_TEXT = N_("%(name)s opted out of SMS alerts: replied “%(text)s” to SMS alert #%(id)s. "
                  "They will get no more SMS alerts until they reply START or an officer opts them in again.")
SIMULATED_OPT_OUT_TEXT = N_("SIMULATED reply, typed by an officer on the console outbox, not sent by the contact: "
                            "%(name)s opted out of SMS alerts (replied “%(text)s” to SMS alert #%(id)s).")
OTHER_TEXT = N_("%(name)s replied to SMS alert #%(id)s with other text (not an acknowledgement): “%(text)s”")
SIMULATED_OTHER_TEXT = N_("SIMULATED reply, typed by an officer on the console outbox, not sent by the contact: "
                          "%(name)s replied to SMS alert #%(id)s with other text (not an acknowledgement): “%(text)s”")


def _reply(from_phone: str, text: str, simulated_from: OutboxMessage | None = None) -> ReplyOutcome:
    from incident.operations.contacts import set_opt_in

    simulated = simulated_from is not None
    try:
        phone = normalise_phone(from_phone, current_app.config["RIADO_PHONE_REGION"])
    except FieldError:
        return ReplyOutcome("unknown")
    word = normalise_reply(text)
    first = re.split(r"[\s,;:.!?]+", word, maxsplit=1)[0]
    if word not in ACK_WORDS and first in ACK_WORDS:  # "Igen, megkaptam": an answer that starts with yes
        word = first
    reply = {"phone": phone, "text": text, "simulated_from": simulated_from}
    if word in STOP_WORDS or word in START_WORDS:
        opted_in = word in START_WORDS
        contacts = _contacts_on(phone)
        for contact in contacts:
            set_opt_in(contact, opted_in)
        action = "start" if opted_in else "stop"
        delivery = _answered_delivery(phone)
        if delivery is not None and not opted_in and delivery.opted_out_at is None:
            delivery.opted_out_at = utcnow()
            _log_opt_out(delivery, contacts, text, simulated)
        return _replied(action, delivery=delivery, contacts=contacts, **reply)
    if word not in ACK_WORDS:
        delivery = _answered_delivery(phone)
        if delivery is not None:
            _log_other_text(delivery, text, simulated)
        return _replied("unknown", delivery=delivery, **reply)
    # The newest alert to this phone that asked for acknowledgement (within ACK_WAIT) whose SMS
    # reached it and is not answered yet (a second OK answers the alert before, as its own SMS
    # asked). One its contact confirmed on another channel (the e-mail's link) is still this SMS's
    # to answer: the OK is kept there, never passed on to an older alert.
    delivery = db.session.execute(
        select(Delivery).join(Alert, Alert.id == Delivery.alert_id)
        .where(Delivery.phone == phone, Delivery.channel == "sms", may_still_acknowledge(),
               Delivery.status.in_(REACHED_STATUSES), Alert.require_ack.is_(True),
               Alert.created_at >= utcnow() - ACK_WAIT)
        .order_by(Alert.created_at.desc(), Alert.id.desc()).limit(1).with_for_update(of=Delivery)
    ).scalar_one_or_none()
    if delivery is None:
        return _replied("nothing_to_ack", delivery=_answered_delivery(phone), **reply)
    _serialise_contact(delivery)
    if contact_acknowledged(delivery) is not None:  # confirmed on another channel first: counted there
        _confirmed_here_too(delivery, (text or "")[:160])
        return _replied("ack", delivery=delivery, **reply)
    now = utcnow()
    delivery.acknowledged_at = now
    delivery.ack_text = (text or "")[:160]
    incident = _open_incident_of(delivery)
    if incident is not None:
        name = delivery.name or mask_phone(delivery.phone)
        # A simulated reply must not read in the legal record as if the contact had answered: the officer's entry.
        message = incident_ops.system_text(SIMULATED_ACK_TEXT if simulated else ACK_TEXT, name=name, id=delivery.alert_id)
        author = incident_ops.who() if simulated else incident_ops.Who(None, "sms")
        incident_ops.append_entry(incident, "communication", message, author=author, locked=True)
    return _replied("ack", delivery=delivery, **reply)


def _answered_delivery(phone: str) -> Delivery | None:
    """The delivery a reply from ``phone`` answers: the newest alert of the acknowledgement window
    (``ACK_WAIT``) that may have reached it. None past the window: a reply days later answers no
    alert (and must not change one, nor the incident it belongs to)."""
    return db.session.execute(
        select(Delivery).join(Alert, Alert.id == Delivery.alert_id)
        .where(Delivery.phone == phone, Delivery.channel == "sms", Delivery.kind == "alert",
               Delivery.status.in_(REACHED_STATUSES), Alert.created_at >= utcnow() - ACK_WAIT)
        .order_by(Alert.created_at.desc(), Alert.id.desc()).limit(1).with_for_update(of=Delivery)
    ).scalar_one_or_none()


def _open_incident_of(delivery: Delivery) -> Incident | None:
    """The incident the delivery's alert belongs to, locked for a log entry; None if it has none
    or it is closed (a closed incident's log is finished: a late reply is kept on the alert)."""
    alert = db.session.get(Alert, delivery.alert_id)
    if not alert.incident_id:
        return None
    incident = incident_ops.lock_incident(alert.incident_id)
    return None if incident.status == "closed" else incident


def _replied(action: str, *, phone: str, text: str, delivery: Delivery | None, simulated_from: OutboxMessage | None,
             contacts: list[Contact] | None = None) -> ReplyOutcome:
    """Keep the reply with what it did, beside the delivery it answers (whose SMS it proves
    arrived) and the outbox message it was simulated on; the outcome for the caller."""
    if delivery is not None and STATUS_RANK[delivery.status] < STATUS_RANK["delivered"]:
        delivery.status = "delivered"  # a reply proves it arrived
        delivery.delivered_at = delivery.delivered_at or utcnow()
    if delivery is not None:
        name = delivery.name
    else:
        contacts = _contacts_on(phone) if contacts is None else contacts
        name = ", ".join(c.name for c in contacts)
    db.session.add(Reply(
        alert_id=delivery.alert_id if delivery is not None else None, delivery_id=delivery.id if delivery is not None else None,
        name=name[:200], phone=phone, text=printable(text or "")[:1600], action=action,
        simulated=simulated_from is not None, outbox_message_id=simulated_from.id if simulated_from is not None else None,
        received_at=utcnow(),
    ))
    return ReplyOutcome(action, delivery.alert_id if delivery is not None else None)


def _log_opt_out(delivery: Delivery, contacts: list[Contact], text: str, simulated: bool) -> None:
    """An alerted recipient opted out: the incident's log says who (every contact on that phone
    is opted out), in answer to which alert, and that they get no more alerts."""
    incident = _open_incident_of(delivery)
    if incident is None:
        return
    name = ", ".join(c.name for c in contacts) or delivery.name or mask_phone(delivery.phone)
    values = {"name": name, "text": " ".join((text or "").split())[:40], "id": delivery.alert_id}
    if simulated:
        message, author = incident_ops.system_text(SIMULATED_OPT_OUT_TEXT, **values), incident_ops.who()
    else:
        message, author = incident_ops.system_text(OPT_OUT_TEXT, **values), incident_ops.Who(None, "sms")
    incident_ops.append_entry(incident, "communication", message, author=author, locked=True)


def _log_other_text(delivery: Delivery, text: str, simulated: bool) -> None:
    """A recipient answered an alert with other text (neither an acknowledgement nor STOP/START):
    the incident's log names them and quotes what they wrote (the officer's entry if simulated)."""
    incident = _open_incident_of(delivery)
    if incident is None:
        return
    values = {"name": delivery.name or mask_phone(delivery.phone), "text": " ".join(printable(text or "").split())[:160],
              "id": delivery.alert_id}
    if simulated:
        message, author = incident_ops.system_text(SIMULATED_OTHER_TEXT, **values), incident_ops.who()
    else:
        message, author = incident_ops.system_text(OTHER_TEXT, **values), incident_ops.Who(None, "sms")
    incident_ops.append_entry(incident, "communication", message, author=author, locked=True)


# Escalation


def reminder_text(alert: Alert) -> str:
    """``EMLÉKEZTETŐ: `` and the alert's text, which ends with the reply hint (an alert written
    before the hint was added gets it here). Past ``sms.MAX_CHARACTERS`` the alert's own text is
    shortened, never the hint: a reminder exists to get that answer."""
    with force_locale(configured_locale()):
        prefix = gettext("REMINDER: ")
    hint = reply_hint()
    body = alert.body
    for ending in (hint, sms.transliterate(hint)):
        if body.endswith(ending):
            body = body[: -len(ending)]
            break
    body = body.rstrip("\n")
    while True:  # each round shortens the alert's text (folding may change lengths: measure again)
        text = sms.preview(prefix + body + "\n" + hint, alert.transliterate).body
        excess = len(text) - sms.MAX_CHARACTERS
        if excess <= 0 or not body:
            return text[: sms.MAX_CHARACTERS]
        body = body[: max(len(body) - excess, 0)].rstrip()


def legacy_escalation(waves: list[dict] | None) -> int | None:
    """``escalate_after_minutes`` as the API has always answered it: the minutes of an escalation
    that is one SMS reminder, else None."""
    if waves and len(waves) == 1 and waves[0]["channel"] == "sms":
        return waves[0]["after_minutes"]
    return None


def next_wave_due(alert: Alert) -> dt.datetime | None:
    """When the alert's first wave that has not gone out is due; None if none is left."""
    if not alert.require_ack:
        return None
    for wave in alert.escalation or []:
        if not wave.get("sent_at") and not wave.get("stopped_at"):
            return alert.created_at + dt.timedelta(minutes=wave["after_minutes"])
    return None


STOPPED_TEXT = N_("Escalation of alert #%(id)s stopped by an officer: %(n)s waves will not go out.")


def stop_escalation(alert_id: int) -> int:
    """Stop the alert's waves that have not gone out (a false alarm, a situation over), under the
    alert's row lock so that a wave going out at that moment goes or is stopped, not both; one
    entry in the incident's log. Returns how many were stopped. Not committed."""
    alert = db.session.execute(select(Alert).where(Alert.id == alert_id).with_for_update()
                               .execution_options(populate_existing=True)).scalar_one_or_none()
    if alert is None:
        raise NotFound(_l("No such alert."))
    now = utcnow().isoformat()
    waves = [dict(wave) for wave in alert.escalation or []]
    stopped = 0
    for wave in waves:
        if not wave.get("sent_at") and not wave.get("stopped_at"):
            wave["stopped_at"] = now
            stopped += 1
    alert.escalation = waves
    alert.next_wave_at = None
    if stopped and alert.incident_id:
        incident = incident_ops.lock_incident(alert.incident_id)
        if incident.status != "closed":
            incident_ops.append_entry(incident, "decision", incident_ops.system_text(STOPPED_TEXT, id=alert.id, n=stopped),
                                      author=incident_ops.who(), locked=True)
    return stopped


def wave_minutes(alert: Alert) -> list[int]:
    """After how many minutes each of the alert's waves that has not gone out is due (the queue
    schedules the escalation task at each)."""
    return [wave["after_minutes"] for wave in alert.escalation or []
            if not wave.get("sent_at") and not wave.get("stopped_at")]


# The log is append-only: entries written with earlier wordings keep them; only new ones read these.
WAVE_TEXT = N_("Escalation: wave %(wave)s of alert #%(id)s by %(channel)s to %(n)s contacts still silent.")
WAVE_UNREACHABLE_TEXT = N_("Escalation: wave %(wave)s of alert #%(id)s by %(channel)s to %(n)s contacts still silent "
                           "(%(unreachable)s cannot be reached by %(channel)s).")
# Why a contact still silent was not reached by a wave, beside the reasons of ``REASONS``.
WAVE_REASONS = ("failed_earlier", "still_sending", "contact_deleted")


def channel_text(alert: Alert, channel: str, reminder: bool) -> str:
    """What a wave sends on ``channel``: the alert's own text to an address it has not gone to (an
    SMS keeps its reply hint; an e-mail or a call the text as written, with the drill prefix), or
    on an address it has, the reminder (``reminder_text`` by SMS; ``REMINDER: `` and the text)."""
    if channel == "sms":
        return reminder_text(alert) if reminder else alert.body
    text = email_text(alert.written_body, alert.drill)
    if reminder:
        with force_locale(configured_locale()):
            text = gettext("REMINDER: ") + text
    return text


def _send_wave(alert: Alert, number: int, wave: dict, now: dt.datetime) -> None:
    """Queue wave ``number`` of ``alert`` to every contact of the alert still silent (not
    acknowledged on any channel) who can be reached on its channel (SMS: not opted out);
    count the others by reason on the wave; one entry in the incident's log (not committed)."""
    channel = wave["channel"]
    rows = db.session.execute(select(Delivery).where(Delivery.alert_id == alert.id)).scalars().all()
    person = {d.id: d.contact_id if d.contact_id is not None else -d.id for d in rows}
    # The alert's audience: whoever it went to, and whoever its channels could not reach (a
    # landline on an SMS alert is what a voice wave is for); not those a drill's safety switch
    # left out, nor those merged into another recipient's phone or mailbox.
    contacts = {person[d.id] for d in rows if d.kind == "alert"} | set(db.session.execute(
        select(Exclusion.contact_id).where(Exclusion.alert_id == alert.id, Exclusion.contact_id.is_not(None),
                                           Exclusion.reason.not_in(("drill_safety", *MERGED_REASONS)))
    ).scalars())
    # Acknowledged ends escalation on every channel; an SMS STOP only SMS (an SMS wave leaves
    # them out as opted out, counted; e-mail and calls still reach a call-out list member).
    answered = {person[d.id] for d in rows if d.acknowledged_at is not None}
    here = [d for d in rows if d.channel == channel]
    failed_here = {person[d.id] for d in here if d.status in CHANNELS[channel].failed_for_good}
    # Not a reminder queued behind the alert itself still on its way to them on this channel.
    pending_here = {person[d.id] for d in here if d.status in PENDING_STATUSES}
    addresses_here = {CHANNELS[channel].address_of(d) for d in here if d.kind == "alert"}
    unreachable: dict[str, int] = {}
    targets = []
    for key in sorted(contacts - answered):
        reason = ("contact_deleted" if key < 0 else "failed_earlier" if key in failed_here
                  else "still_sending" if key in pending_here else None)
        if reason:
            unreachable[reason] = unreachable.get(reason, 0) + 1
        else:
            targets.append(key)
    reach = resolve_recipients(None, targets, None, alert.drill, channel)
    for _contact, reason in reach.left_out:
        unreachable[reason] = unreachable.get(reason, 0) + 1
    queued_at = utcnow()  # due at once, whatever clock decided the wave
    new = []
    for contact, address in reach.send:
        reminder = CHANNELS[channel].address_key(address) in addresses_here
        new.append({"alert_id": alert.id, "kind": "reminder" if reminder else "alert", "wave": number, "channel": channel,
                    "contact_id": contact.id, "name": contact.name, **CHANNELS[channel].address_columns(address),
                    "body": channel_text(alert, channel, reminder),
                    "status": "queued", "attempts": 0, "next_attempt_at": queued_at, "updated_at": queued_at})
    if new:
        db.session.execute(Delivery.__table__.insert(), new)
        alert.status = "sending"
        # A contact reached on a channel new to them gets the alert itself there: counted with it.
        alert.recipients += sum(1 for row in new if row["kind"] == "alert")
    wave.update(sent_at=now.astimezone(dt.timezone.utc).isoformat(), recipients=len(new), unreachable=unreachable)
    if number == 1:
        alert.escalated_at = now
    if alert.incident_id:
        incident = incident_ops.lock_incident(alert.incident_id)
        if incident.status != "closed":
            from .labels import channel_words

            missing = sum(unreachable.values())
            incident_ops.append_entry(incident, "system", incident_ops.system_text(
                WAVE_UNREACHABLE_TEXT if missing else WAVE_TEXT, labels={"channel": channel_words()},
                wave=number, id=alert.id, channel=channel, n=len(new), unreachable=missing),
                author=incident_ops.Who(None, "system"), locked=True)


def escalate_due(now: dt.datetime | None = None) -> list[int]:
    """Send every escalation wave whose time has come (``_send_wave``), each once: the alert's row
    lock keeps a second worker (or the sweep) from sending it again. Not committed. Returns the
    alerts that sent a wave."""
    now = now or utcnow()
    candidates = db.session.execute(
        select(Alert).where(Alert.next_wave_at <= now, Alert.require_ack.is_(True)).order_by(Alert.id)
        .with_for_update().execution_options(populate_existing=True)
    ).scalars().all()
    escalated = []
    for alert in candidates:
        incident = db.session.get(Incident, alert.incident_id) if alert.incident_id else None
        if incident is not None and incident.status == "closed":
            alert.next_wave_at = None  # a closed incident's alerts call nobody any more
            continue
        waves = [dict(wave) for wave in alert.escalation or []]
        sent = False
        for number, wave in enumerate(waves, start=1):
            if wave.get("sent_at") or wave.get("stopped_at"):
                continue
            if alert.created_at + dt.timedelta(minutes=wave["after_minutes"]) > now:
                break
            _send_wave(alert, number, wave, now)
            sent = True
        alert.escalation = waves
        alert.next_wave_at = next_wave_due(alert)
        if sent:
            escalated.append(alert.id)
    return escalated


def _contact_opted_out():
    """The delivery's contact has opted out of SMS since (a reminder must not go to them)."""
    return exists().where(Contact.id == Delivery.contact_id,
                          or_(Contact.sms_opt_in.is_(False), Contact.opted_out_at.is_not(None)))


def _replied_other_text():
    """The delivery was answered with other text (a reply neither OK nor STOP/START)."""
    return exists().where(Reply.delivery_id == Delivery.id, Reply.action == "unknown")


def silent_deliveries(alert_id: int) -> list[Delivery]:
    """Who has not replied yet (for the sender to see): neither acknowledged nor opted out, nor
    answered with other text (``other_text_replies``: they answered, but did not confirm)."""
    rows = db.session.execute(
        select(Delivery).where(Delivery.alert_id == alert_id, Delivery.kind == "alert", ~acknowledged_on_any_channel(),
                               Delivery.opted_out_at.is_(None), ~_replied_other_text())
        .order_by(Delivery.name_key, Delivery.id)
    ).scalars()
    seen: set[int] = set()
    out = []
    for delivery in rows:  # a contact reached on two channels is silent once
        if delivery.contact_id is None or delivery.contact_id not in seen:
            seen.add(delivery.contact_id)
            out.append(delivery)
    return out


def other_text_replies(alert_ids) -> dict[int, list[tuple[Delivery, list[str]]]]:
    """For each alert, who answered it only with other text (neither acknowledged nor opted out
    since), by name, each with what they wrote, oldest first; in one query."""
    ids = sorted(set(alert_ids))
    out: dict[int, list[tuple[Delivery, list[str]]]] = {alert_id: [] for alert_id in ids}
    if not ids:
        return out
    rows = db.session.execute(
        select(Delivery, Reply.text).join(Reply, Reply.delivery_id == Delivery.id)
        .where(Delivery.alert_id.in_(ids), Delivery.kind == "alert", Reply.action == "unknown",
               Delivery.acknowledged_at.is_(None), Delivery.opted_out_at.is_(None))
        .order_by(Delivery.name_key, Delivery.id, Reply.received_at, Reply.id)
    ).all()
    seen: dict[int, list[str]] = {}
    for delivery, text in rows:
        if delivery.id not in seen:
            seen[delivery.id] = []
            out[delivery.alert_id].append((delivery, seen[delivery.id]))
        seen[delivery.id].append(text)
    return out


def opted_out_deliveries(alert_id: int) -> list[tuple[Delivery, list[str]]]:
    """The recipients who opted out by answering this alert (STOP) and are still opted out, each
    with the names of the alert groups they are in (those groups now have a hole). Three
    queries, however many opted out."""
    rows = db.session.execute(
        select(Delivery).where(Delivery.alert_id == alert_id, Delivery.kind == "alert", Delivery.opted_out_at.is_not(None))
        .order_by(Delivery.name_key)
    ).scalars().all()
    contacts = _contacts_on_phones(d.phone for d in rows)
    groups = _group_names_of(c.id for on_phone in contacts.values() for c in on_phone)
    out = []
    for delivery in rows:
        on_phone = contacts.get(delivery.phone, [])
        if on_phone and any(c.reachable_by_sms for c in on_phone):
            continue  # opted in again since (START)
        out.append((delivery, _merged_names(groups, (c.id for c in on_phone))))
    return out


def _contacts_on(phone: str) -> list[Contact]:
    return _contacts_on_phones([phone]).get(phone, [])


def _contacts_on_phones(phones) -> dict[str, list[Contact]]:
    """The contacts on each phone (by name), in one query."""
    phones = sorted(set(phones))
    out: dict[str, list[Contact]] = {}
    if not phones:
        return out
    for contact in db.session.execute(
        select(Contact).where(Contact.phone.in_(phones)).order_by(Contact.name_key, Contact.id)
    ).scalars():
        out.setdefault(contact.phone, []).append(contact)
    return out


def _group_names_of(contact_ids) -> dict[int, list[tuple[int, str]]]:
    """The alert groups of each contact, as (rank, name) with rank the group's place in name
    order, in one query."""
    ids = sorted(set(contact_ids))
    out: dict[int, list[tuple[int, str]]] = {}
    if not ids:
        return out
    rows = db.session.execute(
        select(contact_groups.c.contact_id, AlertGroup.id, AlertGroup.name)
        .join(AlertGroup, AlertGroup.id == contact_groups.c.group_id)
        .where(contact_groups.c.contact_id.in_(ids)).order_by(AlertGroup.name_key, AlertGroup.id)
    ).all()
    rank: dict[int, int] = {}
    for contact_id, group_id, name in rows:
        rank.setdefault(group_id, len(rank))
        out.setdefault(contact_id, []).append((rank[group_id], name))
    return out


def _merged_names(groups: dict[int, list[tuple[int, str]]], contact_ids) -> list[str]:
    """The names of the groups any of the contacts is in, each once, in name order."""
    ranked = {rank_name for contact_id in set(contact_ids) for rank_name in groups.get(contact_id, [])}
    return [name for _rank, name in sorted(ranked)]


# How long the dashboard warns about a member of an alert group who opted out by SMS.
OPT_OUT_WARNING = dt.timedelta(days=7)


@dataclass(frozen=True)
class GroupOptOut:
    """A member of alert groups who opted out of SMS alerts by replying STOP, for the dashboard."""

    name: str
    groups: list[str]
    opted_out_at: dt.datetime  # when the STOP came
    alert_id: int | None  # the alert it answered, if it answered one


def recent_group_opt_outs(limit: int = 10) -> tuple[list[GroupOptOut], int]:
    """Members of alert groups who replied STOP in the last OPT_OUT_WARNING and are still opted
    out, newest first: at most ``limit``, and how many in all. (A contact entered without consent
    is not one: nobody opted out; nor one an officer opted out on the contact card.) Three
    queries, however many there are: the dashboard asks on every load."""
    stops = (select(Reply.phone, func.max(Reply.received_at).label("at"))
             .where(Reply.action == "stop", Reply.received_at >= utcnow() - OPT_OUT_WARNING)
             .group_by(Reply.phone).subquery())
    where = (exists().where(contact_groups.c.contact_id == Contact.id),
             or_(Contact.sms_opt_in.is_(False), Contact.opted_out_at.is_not(None)))
    total = db.session.execute(
        select(func.count()).select_from(Contact).join(stops, stops.c.phone == Contact.phone).where(*where)
    ).scalar_one()
    latest = aliased(Reply)
    answered = (select(latest.alert_id).where(latest.phone == Contact.phone, latest.action == "stop")
                .order_by(latest.received_at.desc(), latest.id.desc()).limit(1).correlate(Contact).scalar_subquery())
    rows = db.session.execute(
        select(Contact, stops.c.at, answered).join(stops, stops.c.phone == Contact.phone).where(*where)
        .order_by(stops.c.at.desc(), Contact.name_key, Contact.id).limit(limit)
    ).all()
    groups = _group_names_of(contact.id for contact, _at, _alert in rows)
    out = [GroupOptOut(contact.name, _merged_names(groups, [contact.id]), at, alert_id) for contact, at, alert_id in rows]
    return out, total


# Reads for the pages (the list, the compose step, the outbox)


def empty_counts() -> dict[str, int]:
    return {**{s: 0 for s in DELIVERY_STATUSES}, "acknowledged": 0, "opted_out": 0, "people": 0}


def contact_key():
    """Who a delivery is for: its contact, or (a contact deleted since) the delivery itself."""
    return func.coalesce(Delivery.contact_id, -Delivery.id)


def delivery_counts_for(alert_ids, by_channel: bool = False) -> dict[int, dict]:
    """``delivery_counts`` of many alerts (alert deliveries, not reminders): by status, how many
    contacts it reached on any channel (``people``, each once) and how many of them acknowledged
    (on any channel, each once), and how many recipients opted out by answering (STOP); two queries. ``by_channel`` adds ``by_channel``: the same figures of each
    of the alert's channels (acknowledged: on that channel)."""
    ids = sorted(set(alert_ids))
    out = {alert_id: empty_counts() for alert_id in ids}
    if not ids:
        return out
    rows = db.session.execute(
        select(Delivery.alert_id, Delivery.channel, Delivery.status, func.count(), func.count(Delivery.acknowledged_at),
               func.count(Delivery.opted_out_at))
        .where(Delivery.alert_id.in_(ids), Delivery.kind == "alert")
        .group_by(Delivery.alert_id, Delivery.channel, Delivery.status)
    ).all()
    channels: dict[int, dict[str, dict[str, int]]] = {alert_id: {} for alert_id in ids}
    for alert_id, channel, status, n, acks, opted_out in rows:
        out[alert_id][status] += n
        out[alert_id]["opted_out"] += opted_out
        figures = channels[alert_id].setdefault(channel, empty_counts())
        figures[status] += n
        figures["acknowledged"] += acks
        figures["opted_out"] += opted_out
    who = contact_key()
    people = db.session.execute(
        select(Delivery.alert_id, func.count(func.distinct(who)),
               func.count(func.distinct(case((Delivery.acknowledged_at.is_not(None), who), else_=None))))
        .where(Delivery.alert_id.in_(ids), Delivery.kind == "alert")
        .group_by(Delivery.alert_id)
    ).all()
    for alert_id, contacts, acknowledged in people:
        out[alert_id]["people"], out[alert_id]["acknowledged"] = contacts, acknowledged
    if by_channel:
        for alert_id in ids:
            out[alert_id]["by_channel"] = channels[alert_id]
    return out


def acknowledged_on_any_channel():
    """The delivery's contact has acknowledged its alert, on this channel or another."""
    other = aliased(Delivery)
    return or_(Delivery.acknowledged_at.is_not(None),
               exists().where(other.alert_id == Delivery.alert_id, other.contact_id == Delivery.contact_id,
                              other.kind == "alert", other.acknowledged_at.is_not(None)))


def open_incidents() -> list[Incident]:
    """Incidents and drills not closed, newest first (what an alert may be about)."""
    return list(db.session.execute(
        select(Incident).where(Incident.status != "closed").order_by(Incident.created_at.desc(), Incident.id.desc())
    ).scalars())


def incidents_with_area(ids) -> set[int]:
    """Of these incidents, those with an affected area recorded (their areas are not loaded)."""
    ids = [i for i in ids if i is not None]
    if not ids:
        return set()
    return set(db.session.execute(select(Incident.id).where(Incident.id.in_(ids), Incident.area.is_not(None))).scalars())


def outbox_query():
    """What the console gateway recorded, newest first."""
    return select(OutboxMessage).order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())


@dataclass(frozen=True)
class SimulatedReply:
    text: str
    outcome: str  # ack, stop, start, nothing_to_ack, unknown (Reply.action)
    at: dt.datetime
    alert_id: int | None  # the alert it answered (not necessarily the message's): none past the window


@dataclass(frozen=True)
class OutboxRow:
    """An outbox message with whom and which alert it was for (its delivery, when there is one)
    and the replies simulated to it so far, oldest first."""

    message: OutboxMessage
    delivery: Delivery | None
    replies: list[SimulatedReply]
    asks_ack: bool = False  # its alert asks for acknowledgement (a call then asks for 1)
    acknowledged: bool = False  # its contact has acknowledged the alert, on any channel


def outbox_rows(messages) -> list[OutboxRow]:
    """``messages`` (a page of ``outbox_query``) with their deliveries and the replies simulated
    on them (``Reply.outbox_message_id``), each with the alert it answered, in four queries."""
    messages = list(messages)
    delivery_ids = {m.delivery_id for m in messages if m.delivery_id is not None}
    deliveries, asks, acknowledged = {}, {}, set()
    if delivery_ids:
        for delivery, require_ack in db.session.execute(
                select(Delivery, Alert.require_ack).join(Alert, Alert.id == Delivery.alert_id)
                .where(Delivery.id.in_(delivery_ids))):
            deliveries[delivery.id], asks[delivery.id] = delivery, bool(require_ack)
        acknowledged = {tuple(row) for row in db.session.execute(
            select(Delivery.alert_id, Delivery.contact_id).where(
                Delivery.alert_id.in_({d.alert_id for d in deliveries.values()}), Delivery.kind == "alert",
                Delivery.acknowledged_at.is_not(None), Delivery.contact_id.is_not(None)))}
    replies: dict[int, list[SimulatedReply]] = {}
    if messages:
        rows = db.session.execute(
            select(Reply).where(Reply.outbox_message_id.in_([m.id for m in messages]))
            .order_by(Reply.received_at, Reply.id)
        ).scalars()
        for reply in rows:
            replies.setdefault(reply.outbox_message_id, []).append(
                SimulatedReply(reply.text, reply.action, reply.received_at, reply.alert_id))
    rows = []
    for m in messages:
        d = deliveries.get(m.delivery_id)
        rows.append(OutboxRow(m, d, replies.get(m.id, []), asks.get(m.delivery_id, False),
                              d is not None and (d.acknowledged_at is not None or (d.alert_id, d.contact_id) in acknowledged)))
    return rows


# E-mail: the personal acknowledgement link and the message

# How long an e-mail's acknowledgement link works after its alert was sent (SPEC: at least 7 days,
# whatever the alert's status).
ACK_LINK_VALID = dt.timedelta(days=30)
ACK_LINK_TEXT = N_("%(name)s acknowledged alert #%(id)s through the link in its e-mail.")


def ack_token(delivery_id: int) -> str:
    """The unguessable token of one delivery's acknowledgement link: its id and a MAC of it under
    the application's secret key (nothing stored; a token names one delivery and no other)."""
    key = current_app.config["SECRET_KEY"]
    key = key if isinstance(key, bytes) else str(key).encode()
    mac = hmac.new(key, f"riado-ack:{delivery_id}".encode(), hashlib.sha256).hexdigest()[:32]
    return f"{delivery_id}-{mac}"


def ack_url(delivery_id: int) -> str:
    return f"{current_app.config['PUBLIC_URL']}/ack/{ack_token(delivery_id)}"


def delivery_for_token(token: str) -> Delivery | None:
    """The delivery an acknowledgement link names, while the link is valid; None otherwise."""
    if not re.fullmatch(r"[0-9]{1,12}-[0-9a-f]{32}", token or "", flags=re.ASCII):
        return None
    head = token.partition("-")[0]
    if not hmac.compare_digest(ack_token(int(head)).encode(), token.encode()):
        return None
    delivery = db.session.get(Delivery, int(head))
    if delivery is None or delivery.kind != "alert" or delivery.channel != "email":
        return None
    alert = db.session.get(Alert, delivery.alert_id)
    if alert is None or not alert.require_ack or alert.created_at < utcnow() - ACK_LINK_VALID:
        return None
    return delivery


def contact_acknowledged(delivery: Delivery) -> Delivery | None:
    """The delivery of the same alert and contact that was acknowledged first (on any channel), if any."""
    if delivery.contact_id is None:
        return delivery if delivery.acknowledged_at is not None else None
    return db.session.execute(
        select(Delivery).where(Delivery.alert_id == delivery.alert_id, Delivery.contact_id == delivery.contact_id,
                               Delivery.kind == "alert", Delivery.acknowledged_at.is_not(None))
        .order_by(Delivery.acknowledged_at).limit(1)
    ).scalar_one_or_none()


def _serialise_contact(delivery: Delivery) -> None:
    """Take the delivery's contact's row lock (PostgreSQL; SQLite serialises writers anyway), so
    that two confirmations of one person on two channels at once are decided one after the other:
    the second sees the first and is not logged as a first one. Taken after the delivery's own
    lock on every path, so that no two paths wait for each other."""
    if delivery.contact_id is not None:
        db.session.execute(select(Contact.id).where(Contact.id == delivery.contact_id).with_for_update())


def _confirmed_here_too(delivery: Delivery, text: str) -> None:
    """The contact, who had acknowledged on another channel, confirmed on this one as well: kept
    on this delivery (counted on its channel, as an SMS reply is), while the contact still counts
    once and the incident's log has the first confirmation only."""
    if delivery.acknowledged_at is None:
        delivery.acknowledged_at = utcnow()
        delivery.ack_text = text


def _audit_simulation(message: OutboxMessage, delivery: Delivery, text: str) -> None:
    """The audit trail of a confirmation an officer simulated on the console outbox."""
    record_audit(db.session, "simulate", "sms_outbox", message.id, {
        "to": [None, message.to], "delivery_id": [None, delivery.id], "text": [None, text],
        "alert_id": [None, delivery.alert_id]})


def _acknowledge(delivery: Delivery, text: str, name: str, log_texts: tuple[str, str], via: str,
                 simulated: bool) -> bool:
    """Record that the delivery's contact acknowledged with ``text`` (the link, the key pressed):
    once per contact whatever the channel (a second confirmation is kept on its own delivery
    only), and one entry in the incident's log, the officer's and SIMULATED (``log_texts[1]``)
    when simulated, else by ``via``. False when the contact had acknowledged already."""
    _serialise_contact(delivery)
    if contact_acknowledged(delivery) is not None:
        _confirmed_here_too(delivery, text)
        return False
    delivery.acknowledged_at = utcnow()
    delivery.ack_text = text
    incident = _open_incident_of(delivery)
    if incident is not None:
        incident_ops.append_entry(incident, "communication", incident_ops.system_text(
            log_texts[1] if simulated else log_texts[0], name=name, id=delivery.alert_id),
            author=incident_ops.who() if simulated else incident_ops.Who(None, via), locked=True)
    return True


SIMULATED_ACK_LINK_TEXT = N_("SIMULATED confirmation, made by an officer on the console outbox, not by the "
                             "contact: %(name)s acknowledged alert #%(id)s by the e-mail's link.")
ACK_LINK_PATTERN = re.compile(r"https?://\S+?/ack/[0-9]{1,12}-[0-9a-f]{32}")


def hide_ack_links(text: str) -> str:
    """An e-mail's text with its personal confirmation link replaced by a note (the outbox shows
    e-mails to everyone signed in: whoever opened the link would confirm in the contact's name)."""
    with force_locale(configured_locale()):
        note = gettext("[the recipient's personal confirmation link]")
    return ACK_LINK_PATTERN.sub(note, text or "")


def acknowledge_by_link(delivery: Delivery, simulated_from: OutboxMessage | None = None) -> bool:
    """The recipient confirmed through the e-mail's link (not committed). False when the contact
    had acknowledged already, on this channel or another: a contact counts once.

    ``simulated_from``: the console outbox e-mail an officer confirmed in the contact's place
    (drills): the log entry is the officer's and says SIMULATED, and the audit trail keeps it."""
    delivery = db.session.get(Delivery, delivery.id, with_for_update=True)
    if simulated_from is not None:
        _audit_simulation(simulated_from, delivery, "link")
    return _acknowledge(delivery, "link", delivery.name or mask_email(delivery.email),
                        (ACK_LINK_TEXT, SIMULATED_ACK_LINK_TEXT), "e-mail", simulated_from is not None)


@dataclass(frozen=True)
class EmailParts:
    subject: str
    text: str
    html: str


def email_parts(delivery_id: int, body: str, subject: str, ask: bool = True) -> EmailParts:
    """One recipient's e-mail: the alert's text and (``ask``: the alert asks for acknowledgement)
    the personal confirmation link, as plain text and as HTML (every text escaped), in the
    configured language."""
    from markupsafe import Markup, escape

    url = ack_url(delivery_id)
    with force_locale(configured_locale()):
        confirm = gettext("To confirm that you have received this alert, open this link and press the button:")
        button = gettext("I have received it")
        footer = (gettext("Sent by Riadó, the municipality's alerting service. The link is yours alone.") if ask
                  else gettext("Sent by Riadó, the municipality's alerting service."))
    link_text = f"{confirm}\n{url}\n\n" if ask else ""
    text = f"{body}\n\n{link_text}-- \n{footer}\n"
    paragraphs = Markup("").join(Markup("<p>{}</p>").format(Markup("<br>").join(escape(line) for line in part.split("\n")))
                                 for part in body.split("\n\n"))
    link_html = Markup(
        '<p>{}</p><p><a href="{}" style="display:inline-block;padding:8px 16px;background:#0b5394;color:#ffffff;'
        'text-decoration:none;border-radius:4px">{}</a></p>').format(confirm, url, button) if ask else ""
    html = Markup('<!doctype html><html><body style="font-family:sans-serif">{}{}'
                  '<p style="color:#555555;font-size:small">{}</p></body></html>').format(paragraphs, link_html, footer)
    return EmailParts(subject, text, str(html))


def reminded_delivery(delivery_id: int) -> int:
    """The delivery a reminder repeats (the alert's on the same channel and address), whose
    acknowledgement link the reminder carries; the delivery itself when it is not a reminder."""
    reminder = aliased(Delivery)
    found = db.session.execute(
        select(Delivery.id).join(reminder, and_(reminder.alert_id == Delivery.alert_id, reminder.channel == Delivery.channel,
                                                reminder.phone == Delivery.phone,
                                                func.lower(reminder.email) == func.lower(Delivery.email)))
        .where(reminder.id == delivery_id, reminder.kind == "reminder", Delivery.kind == "alert")
        .order_by(Delivery.wave, Delivery.id).limit(1)
    ).scalar_one_or_none()
    return found or delivery_id


def reminder_subject(subject: str) -> str:
    with force_locale(configured_locale()):
        return (gettext("REMINDER: ") + subject)[:200]


def email_subjects(alert_ids) -> dict[int, tuple[str, bool]]:
    """Each alert's e-mail subject, and whether it asks for acknowledgement (its e-mails then
    carry the personal confirmation link)."""
    ids = sorted(set(alert_ids))
    return {alert_id: (subject or "", bool(ask)) for alert_id, subject, ask in
            db.session.execute(select(Alert.id, Alert.subject, Alert.require_ack).where(Alert.id.in_(ids))).all()}


# Reconciliation: statuses whose callbacks never came, asked of the provider

RECONCILE_WITHIN = dt.timedelta(hours=24)  # how long after sending a message is still checked
RECONCILE_BATCH = 200
RECONCILED = "reconciled"  # the audit action of a correction from the provider
RECONCILED_TEXT = N_("The provider was asked about %(n)s messages of alert #%(id)s whose status reports had not "
                     "arrived: %(changes)s.")


@dataclass(frozen=True)
class Unsettled:
    id: int
    alert_id: int
    channel: str
    sid: str


# The channels whose provider can be asked a message's status (SMS: Twilio's Message resource;
# calls: its Call resource); an e-mail accepted by the SMTP server has nobody to ask.
RECONCILED_CHANNELS = tuple(name for name, channel in CHANNELS.items() if type(channel).status is not Channel.status)


@dataclass(frozen=True)
class Reconciled:
    at: dt.datetime
    asked: int
    changed: dict[str, int]  # {new status: count}


def reconciliations(alert_id: int) -> list[Reconciled]:
    """When the provider was asked about the alert's messages whose status reports had not come,
    and what it corrected (oldest first)."""
    rows = db.session.execute(
        select(AuditEntry.at, AuditEntry.changes)
        .where(AuditEntry.entity == "alerts", AuditEntry.record_id == str(alert_id), AuditEntry.action == RECONCILED)
        .order_by(AuditEntry.at, AuditEntry.id)
    ).all()
    return [Reconciled(at, int(changes.get("asked") or 0), dict(changes.get("changed") or {})) for at, changes in rows]


def unsettled_deliveries(after: dt.timedelta, now: dt.datetime | None = None) -> list[Unsettled]:
    """SMS and calls the provider took that are still "sent" ``after`` they went out (and were
    last looked at), within ``RECONCILE_WITHIN``: their status callbacks were lost, or came while
    the database was down. The console's messages and calls are not asked about (nobody sent them)."""
    now = now or utcnow()
    rows = db.session.execute(
        select(Delivery.id, Delivery.alert_id, Delivery.channel, Delivery.provider_sid)
        .where(Delivery.status == "sent", Delivery.channel.in_(RECONCILED_CHANNELS), Delivery.provider_sid.is_not(None),
               ~Delivery.provider_sid.startswith("CONSOLE"), Delivery.sent_at <= now - after,
               Delivery.sent_at >= now - RECONCILE_WITHIN, Delivery.updated_at <= now - after)
        .order_by(Delivery.sent_at, Delivery.id).limit(RECONCILE_BATCH)
    ).all()
    return [Unsettled(*row) for row in rows]


def record_reconciled(results: dict[int, tuple[str, int | None]], now: dt.datetime | None = None) -> dict[int, dict[str, int]]:
    """What the provider said of unsettled deliveries ({delivery id: (its status, error code)}),
    applied as a status callback would be (a call's status mapped by ``TWILIO_CALL_STATUSES``;
    never backwards); each asked delivery is marked looked
    at (``updated_at``) so that it is asked again only ``RIADO_RECONCILE_AFTER_MINUTES`` later.
    Each alert with changes gets one entry in its incident's log. Returns {alert id: {new status:
    count}}. Not committed."""
    now = now or utcnow()
    changed: dict[int, dict[str, int]] = {}
    asked: dict[int, int] = {}
    for delivery_id, (status, error_code) in results.items():
        delivery = db.session.get(Delivery, delivery_id, with_for_update=True)
        if delivery is None:
            continue
        asked[delivery.alert_id] = asked.get(delivery.alert_id, 0) + 1
        before = delivery.status
        _apply_status(delivery_id, None, status, error_code)
        delivery.updated_at = now
        if delivery.status != before:
            counts = changed.setdefault(delivery.alert_id, {})
            counts[delivery.status] = counts.get(delivery.status, 0) + 1
    from .labels import delivery_status_words

    for alert_id, counts in changed.items():
        # Kept with the alert, whether or not it belongs to an incident: its page lists them.
        record_audit(db.session, RECONCILED, "alerts", alert_id, {"asked": asked[alert_id], "changed": counts})
        alert = db.session.get(Alert, alert_id)
        if alert is None or not alert.incident_id:
            continue
        incident = incident_ops.lock_incident(alert.incident_id)
        if incident.status == "closed":
            continue
        with force_locale(configured_locale()):
            words = delivery_status_words()
            changes = ", ".join(f"{n} {words[status]}" for status, n in sorted(counts.items()))
        incident_ops.append_entry(incident, "system", incident_ops.system_text(
            RECONCILED_TEXT, n=asked[alert_id], id=alert_id, changes=changes), locked=True)
    return changed

# Voice: the key pressed during a call

VOICE_ACK_TEXT = N_("%(name)s acknowledged alert #%(id)s by pressing 1 on its voice call.")
SIMULATED_VOICE_ACK_TEXT = N_("SIMULATED key press, made by an officer on the console outbox, not by the contact: "
                              "%(name)s acknowledged alert #%(id)s by pressing 1 on its voice call.")


def delivery_for_call(delivery_id: int, call_sid: str | None) -> Delivery | None:
    """The voice delivery a call's <Gather> names (locked), if it is one and the call is its own.
    An escalation wave's call again to the same phone (a reminder) answers for the alert's own
    call to that phone: pressing 1 on it acknowledges the alert."""
    delivery = db.session.get(Delivery, delivery_id, with_for_update=True)
    if delivery is None or delivery.channel != "voice" or delivery.kind not in ("alert", "reminder"):
        return None
    if not db.session.get(Alert, delivery.alert_id).require_ack:  # the call asked for no key
        return None
    if call_sid and delivery.provider_sid and delivery.provider_sid != call_sid:
        return None
    if delivery.kind == "reminder":
        original = reminded_delivery(delivery.id)
        if original == delivery.id:
            return None
        delivery = db.session.get(Delivery, original, with_for_update=True)
    return delivery


def acknowledge_by_call(delivery: Delivery, call_sid: str | None, simulated_from: OutboxMessage | None = None) -> bool:
    """The listener pressed 1 (not committed): the delivery's contact has acknowledged, once
    whatever the channel; the call was answered, so it reached them. False when the contact had
    acknowledged already (on the call, by SMS or by the e-mail's link).

    ``simulated_from``: the console outbox call an officer pressed 1 on in the contact's place
    (drills, training): the log entry is the officer's and says SIMULATED, and the audit trail
    keeps the officer and the call."""
    if simulated_from is not None:
        _audit_simulation(simulated_from, delivery, "1")
    # Pressed on a wave's reminder call: the alert's own call to that phone keeps its status.
    own_call = not (call_sid and delivery.provider_sid and delivery.provider_sid != call_sid)
    if call_sid and not delivery.provider_sid:
        delivery.provider_sid = call_sid  # the key came before the worker recorded the call
    if own_call and STATUS_RANK[delivery.status] < STATUS_RANK["delivered"]:
        # A key pressed is a call answered: reached (what "completed" will say when it ends).
        now = utcnow()
        delivery.status, delivery.lease_until = "delivered", None
        delivery.sent_at, delivery.delivered_at = delivery.sent_at or now, delivery.delivered_at or now
    return _acknowledge(delivery, "1", delivery.name or mask_phone(delivery.phone),
                        (VOICE_ACK_TEXT, SIMULATED_VOICE_ACK_TEXT), "voice", simulated_from is not None)
