"""The channels an alert reaches people on (SPEC §4), one class each, registered by name.

A channel says everything the rest of the wing needs to know about it:

- who it can reach and at which address (``pick``: a contact's phone or e-mail address, or the
  reason it cannot, e.g. a landline for SMS), and what that costs (``cost``);
- how a delivery goes out (``make_gateway`` from the settings, ``send`` one claimed delivery
  within the delivery's lease, RIADO_SMS_LEASE_SECONDS: the SMTP mailer has a deadline for it);
- what its statuses mean (``statuses``: the provider's as a delivery's, ``reached``,
  ``failed_for_good``), and whether the provider can be asked one later (``status``, for the
  reconciliation of lost status callbacks).

The queue, the escalation waves, the reconciliation and the reports go through ``CHANNELS``. A
new channel is a class here with its gateway (``gateways``/``mail``), its webhooks (``webhooks``)
if the provider reports back, its acknowledgement if it has one, its words (``labels``), and its
name in ``models.CHANNELS`` with a migration for the deliveries' CHECK (docs/architecture.md).
The order of ``CHANNELS`` is the order the pages list them in.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from incident.collation import hungarian_key
from incident.extensions import db
from incident.models import Contact
from incident.phones import is_mobile

from . import sms
from .gateways import (
    TWILIO_CALL_STATUSES, TWILIO_STATUSES, GatewayError, Sent, make_gateway, make_voice_gateway,
)
from .mail import make_mailer, mailer_name
from .models import FAILED_STATUSES, OutboxMessage

# Why a contact is not sent to on a channel. Merged: another recipient has the same phone or
# address (that phone or address gets the message once); every page, the API and the after-action
# report count and list them apart.
REASONS = ("opted_out", "not_mobile", "no_email", "drill_safety", "duplicate_phone", "duplicate_email")
MERGED_REASONS = ("duplicate_phone", "duplicate_email")
# A voice call is estimated at one minute: the text twice and the request to press 1.
CALL_MINUTES = 1


@dataclass
class Recipients:
    """Who an alert reaches on one channel (``send``: the contact and the phone or e-mail address)
    and who it cannot reach there, with the reason."""

    channel: str = "sms"
    send: list[tuple[Contact, str]] = field(default_factory=list)  # (contact, E.164 or e-mail address)
    excluded: list[tuple[Contact, str]] = field(default_factory=list)  # (contact, reason)

    def counts(self) -> dict[str, int]:
        out = {reason: 0 for reason in REASONS}
        for _contact, reason in self.excluded:
            out[reason] += 1
        return out

    @property
    def left_out(self) -> list[tuple[Contact, str]]:
        """Contacts not sent to for consent or reach (opted out, landline, drill safety)."""
        return [(contact, reason) for contact, reason in self.excluded if reason not in MERGED_REASONS]

    @property
    def merged(self) -> list[tuple[Contact, str]]:
        """Contacts whose phone another recipient has: that phone gets the SMS once."""
        return [(contact, reason) for contact, reason in self.excluded if reason in MERGED_REASONS]

    @property
    def excluded_count(self) -> int:
        """Contacts left out for consent or reach (merged duplicates are counted apart: ``merged``)."""
        return len(self.left_out)


class Channel(ABC):
    """One way of reaching people. The defaults are those of a phone channel whose provider sends
    status callbacks (SMS, voice)."""

    name: str
    address_field = "phone"  # the delivery's column that holds the address: phone or email
    statuses: Mapping[str, str] = {}  # the provider's statuses as a delivery's own
    failed_for_good: tuple[str, ...] = FAILED_STATUSES  # after these, another message here is pointless

    # Who

    @abstractmethod
    def pick(self, contacts: Iterable[Contact], allowed_in_drill: set[int] | None) -> Recipients:
        """Who of ``contacts`` (in the Hungarian order) this channel reaches, at which address, and
        who it cannot, with the reason; ``allowed_in_drill``: the only contacts a drill may reach
        (the drill safety switch), None when it does not apply."""

    def address_key(self, address: str) -> str:
        """What makes two addresses the same on this channel."""
        return address

    def address_of(self, delivery) -> str:
        return self.address_key(getattr(delivery, self.address_field))

    def address_columns(self, address: str) -> dict[str, str]:
        """A delivery's phone and email columns for a message to ``address``."""
        return {"phone": "", "email": "", self.address_field: address}

    def cost(self, sms_segments: int, count: int, config: Mapping) -> float | None:
        """The estimated price of ``count`` messages; None for a channel that costs nothing."""
        return None

    # Sending

    @abstractmethod
    def make_gateway(self, config: Mapping):
        """This channel's gateway as the settings choose it (a console twin without a provider)."""

    @abstractmethod
    def send(self, app, claimed, gateway, memo: dict) -> Sent:
        """Hand one claimed delivery to ``gateway``; ``memo``: what a drain keeps between its
        deliveries (subjects of alerts already read)."""

    # What became of it

    def status(self, gateway, sid: str) -> tuple[str, int | None] | None:
        """The provider's status of a message it took and its error code, asked when the status
        callback never came; None when this channel's provider cannot be asked."""
        return None

    def reached(self, status: str) -> bool:
        """Whether a delivery in ``status`` reached its recipient."""
        return status == "delivered"


def _drill_excluded(contact: Contact, allowed_in_drill: set[int] | None) -> bool:
    return allowed_in_drill is not None and contact.id not in allowed_in_drill


class SmsChannel(Channel):
    name = "sms"
    statuses = TWILIO_STATUSES

    def pick(self, contacts, allowed_in_drill):
        """Deduplicated by phone, without those who have not opted in or have opted out, and
        mobiles only; reachable contacts first, so that a shared duty phone gets the SMS if anyone
        on it consents."""
        result, seen = Recipients(self.name), set()
        for contact in sorted(contacts, key=lambda c: (not c.reachable_by_sms, hungarian_key(c.name), c.id)):
            if _drill_excluded(contact, allowed_in_drill):
                result.excluded.append((contact, "drill_safety"))
            elif not contact.reachable_by_sms:
                result.excluded.append((contact, "opted_out"))
            elif not is_mobile(contact.phone):
                result.excluded.append((contact, "not_mobile"))
            elif contact.phone in seen:
                result.excluded.append((contact, "duplicate_phone"))
            else:
                seen.add(contact.phone)
                result.send.append((contact, contact.phone))
        return result

    def cost(self, sms_segments, count, config):
        return sms.cost(sms_segments, count, config["RIADO_SMS_PRICE"])

    def make_gateway(self, config):
        return make_gateway(config)

    def send(self, app, claimed, gateway, memo):
        callback = f"{app.config['PUBLIC_URL']}/webhooks/twilio/status?d={claimed.id}"
        return gateway.send(claimed.phone, claimed.body, callback, delivery_id=claimed.id)

    def status(self, gateway, sid):
        ask = getattr(gateway, "message_status", None)  # Twilio's Message resource; the console has none
        return ask(sid) if ask is not None else None


class VoiceChannel(Channel):
    """Every contact's phone, landlines included, deduplicated by phone.

    A contact who opted out of SMS (STOP, or never opted in) is still called: the opt-out answers
    our SMS and is about SMS (Twilio itself blocks only messages after a STOP), while a member of a
    call-out list is on it to be reached in an emergency; the call can be confirmed or simply not
    answered."""

    name = "voice"
    statuses = TWILIO_CALL_STATUSES
    # A call nobody answered (busy, no answer: undelivered) is what a reminder call is for.
    failed_for_good = ("failed",)

    def pick(self, contacts, allowed_in_drill):
        result, seen = Recipients(self.name), set()
        for contact in contacts:
            if _drill_excluded(contact, allowed_in_drill):
                result.excluded.append((contact, "drill_safety"))
            elif contact.phone in seen:
                result.excluded.append((contact, "duplicate_phone"))
            else:
                seen.add(contact.phone)
                result.send.append((contact, contact.phone))
        return result

    def cost(self, sms_segments, count, config):
        return round(count * CALL_MINUTES * config["RIADO_VOICE_PRICE_PER_MINUTE"], 4)

    def make_gateway(self, config):
        return make_voice_gateway(config)

    def send(self, app, claimed, gateway, memo):
        public = app.config["PUBLIC_URL"]
        # "Press 1" only when the alert asks for acknowledgement (a key press confirms nothing else).
        gather = f"{public}/webhooks/twilio/voice?d={claimed.id}" if _asks(claimed, memo) else None
        return gateway.call(claimed.phone, claimed.body, f"{public}/webhooks/twilio/voice/status?d={claimed.id}",
                            gather, delivery_id=claimed.id)

    def status(self, gateway, sid):
        ask = getattr(gateway, "call_status", None)  # Twilio's Call resource; the console has none
        return ask(sid) if ask is not None else None


def _alert_facts(claimed, memo: dict) -> tuple[str, bool]:
    """The claimed delivery's alert's e-mail subject and whether it asks for acknowledgement,
    read once per drain (``memo``), its transaction ended before the provider is asked."""
    from . import operations as ops

    facts = memo.setdefault("alerts", {})
    if claimed.alert_id not in facts:
        facts.update(ops.email_subjects([claimed.alert_id]))
        db.session.rollback()
    return facts.get(claimed.alert_id) or ("", False)


def _asks(claimed, memo: dict) -> bool:
    return _alert_facts(claimed, memo)[1]


def record_console_email(to: str, subject: str, text: str, delivery_id: int | None) -> str:
    """The console mailer's record: the e-mail in the outbox (shown on the Outbox page), in a
    transaction of its own like the console SMS gateway's."""
    sid = "CONSOLE-MAIL-" + uuid.uuid4().hex
    with db.engine.begin() as conn:
        conn.execute(OutboxMessage.__table__.insert().values(sid=sid, to=to, channel="email", subject=subject[:200],
                                                             body=text, delivery_id=delivery_id))
    return sid


class EmailChannel(Channel):
    """Those with an address, deduplicated by address (whatever its case)."""

    name = "email"
    address_field = "email"

    def pick(self, contacts, allowed_in_drill):
        result, seen = Recipients(self.name), set()
        for contact in contacts:
            address = (contact.email or "").strip()
            if _drill_excluded(contact, allowed_in_drill):
                result.excluded.append((contact, "drill_safety"))
            elif not address:
                result.excluded.append((contact, "no_email"))
            elif address.casefold() in seen:
                result.excluded.append((contact, "duplicate_email"))
            else:
                seen.add(address.casefold())
                result.send.append((contact, address))
        return result

    def address_key(self, address):
        return address.casefold()

    def make_gateway(self, config):
        return make_mailer(config, record=record_console_email) if mailer_name(config) == "console" else make_mailer(config)

    def send(self, app, claimed, gateway, memo):
        from . import operations as ops  # operations picks recipients through this module

        (subject, ask), ack_id = _alert_facts(claimed, memo), claimed.id
        if claimed.kind == "reminder":  # an escalation wave again to this address: the first e-mail's link
            subject, ack_id = ops.reminder_subject(subject), ops.reminded_delivery(claimed.id)
            db.session.rollback()
        parts = ops.email_parts(ack_id, claimed.body, subject, ask)
        return gateway.send(claimed.email, parts.subject, parts.text, parts.html, delivery_id=claimed.id)

    def reached(self, status):
        # SMTP gives no delivery receipt: taken by the mail server is as far as an e-mail can be followed.
        return status in ("sent", "delivered")


CHANNELS: dict[str, Channel] = {}


def register_channel(channel: Channel) -> None:
    CHANNELS[channel.name] = channel


for _channel in (SmsChannel(), EmailChannel(), VoiceChannel()):
    register_channel(_channel)


def channel(name: str) -> Channel:
    """The channel called ``name``; GatewayError (permanent) for one this installation does not have."""
    try:
        return CHANNELS[name]
    except KeyError:
        raise GatewayError(f"no gateway for the channel {name!r}", retryable=False) from None


class Gateways:
    """A consumer's gateways, one per channel, each made from the settings when first needed (by
    whichever drain thread comes first: the others wait for it rather than make their own).
    ``given``: gateways already made, by channel name (a test's, the demo's console)."""

    def __init__(self, config: Mapping, **given):
        self.config = config
        self._made: dict[str, object] = dict(given)
        self._lock = threading.Lock()

    def __getitem__(self, name: str):
        if name not in self._made:
            with self._lock:
                if name not in self._made:
                    self._made[name] = channel(name).make_gateway(self.config)
        return self._made[name]

    def made(self) -> Iterable[tuple[str, object]]:
        return list(self._made.items())

    def close_thread(self) -> None:
        """End what the calling thread keeps open (its SMTP connection), when it stops."""
        for _name, gateway in self.made():
            close: Callable | None = getattr(gateway, "close_thread", None)
            if close is not None:
                close()

    def close(self) -> None:
        """End everything the gateways keep open."""
        for _name, gateway in self.made():
            close: Callable | None = getattr(gateway, "close", None)
            if close is not None:
                close()
