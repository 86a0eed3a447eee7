"""Alerts (SMS call-outs), one delivery per recipient, exclusions, and the console outbox."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from incident.collation import keep_sort_key, sort_key_column
from incident.database import UTCDateTime, utcnow
from incident.extensions import db

# The statuses of the wing, in one place (queries, pages, the API and the database's CHECK).
ALERT_STATUSES = ("sending", "done")
DELIVERY_STATUSES = ("queued", "sending", "sent", "delivered", "undelivered", "failed")
PENDING_STATUSES = ("queued", "sending")  # still to go out (or going out): the fan-out's work
FAILED_STATUSES = ("undelivered", "failed")  # did not reach the phone: no acknowledgement will come
# May have reached the phone, so its acknowledgement counts (a reply can come before the callback).
REACHED_STATUSES = ("sending", "sent", "delivered")
# A status callback never moves a delivery backwards.
STATUS_RANK = {"queued": 0, "sending": 1, "sent": 2, "delivered": 3, "undelivered": 3, "failed": 3}
# What a reply to our number did: acknowledged an alert, opted out (STOP), opted back in (START),
# was not understood, or was an acknowledgement with no alert waiting for one from that phone.
REPLY_ACTIONS = ("ack", "stop", "start", "unknown", "nothing_to_ack")
# The ways an alert reaches people (SPEC §4); every delivery is on one of them.
CHANNELS = ("sms", "email", "voice")


class Alert(db.Model):
    """One SMS call-out: the text as sent, who asked for it, and to whom (its deliveries)."""

    __tablename__ = "alerts"
    __audit__ = {"quiet": {"status", "completed_at", "escalated_at", "request_id", "escalation", "next_wave_at"}}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), index=True)
    body: Mapped[str] = mapped_column(Text)  # exactly what each recipient gets
    written_body: Mapped[str] = mapped_column(Text)  # what the officer wrote
    transliterate: Mapped[bool] = mapped_column(Boolean, default=False)
    encoding: Mapped[str] = mapped_column(String(8))
    segments: Mapped[int] = mapped_column(Integer)
    drill: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    require_ack: Mapped[bool] = mapped_column(Boolean, default=False)
    escalate_after_minutes: Mapped[int | None] = mapped_column(Integer)
    escalated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # when its first wave went out
    # The escalation waves (SPEC §4), in the order they go out: ``{"after_minutes", "channel"}``,
    # and once a wave has gone out also ``sent_at`` (ISO 8601, UTC), ``recipients`` (messages it
    # queued) and ``unreachable`` ({reason: contacts still silent it could not reach}). None: none.
    escalation: Mapped[list | None] = mapped_column(JSON)
    # When the next wave that has not gone out is due (None: none left): what the sweep looks for.
    next_wave_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)
    status: Mapped[str] = mapped_column(String(16), default="sending", index=True)  # ALERT_STATUSES
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    excluded: Mapped[int] = mapped_column(Integer, default=0)
    request: Mapped[dict] = mapped_column(JSON, default=dict)  # groups, contacts, area asked for
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    request_hash: Mapped[str] = mapped_column(String(64), default="")
    gateway: Mapped[str] = mapped_column(String(16), default="console")
    created_by_id: Mapped[int | None] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    request_id: Mapped[str | None] = mapped_column(String(64))  # of the request that sent it (logs)
    # The channels it went out on (``CHANNELS``); none stored (alerts before channels) is SMS.
    channels: Mapped[list | None] = mapped_column(JSON)
    subject: Mapped[str | None] = mapped_column(String(200))  # the e-mail's subject

    @property
    def channel_list(self) -> list[str]:
        return list(self.channels or ["sms"])

    @property
    def waves(self) -> list[dict]:
        """The escalation waves, each ``{number, after_minutes, channel, due_at, sent_at,
        recipients, unreachable, stopped_at}`` (``sent_at`` a datetime; None, and ``recipients``
        None, until it goes out; ``stopped_at``: an officer stopped the escalation before it went
        out). Waves are numbered from 1: the alert itself is wave 0."""
        out = []
        for number, wave in enumerate(self.escalation or [], start=1):
            sent_at, stopped_at = wave.get("sent_at"), wave.get("stopped_at")
            out.append({
                "number": number, "after_minutes": wave["after_minutes"], "channel": wave["channel"],
                "due_at": self.created_at + dt.timedelta(minutes=wave["after_minutes"]) if self.created_at else None,
                "sent_at": dt.datetime.fromisoformat(sent_at) if sent_at else None,
                "recipients": wave.get("recipients"), "unreachable": dict(wave.get("unreachable") or {}),
                "stopped_at": dt.datetime.fromisoformat(stopped_at) if stopped_at else None,
            })
        return out

    deliveries: Mapped[list[Delivery]] = relationship(back_populates="alert", order_by="Delivery.id", lazy="raise")

    @hybrid_property
    def in_flight(self):
        """The one definition of an alert "in flight": it is still being sent (messages left to go
        out, a reminder's included). An alert that is done but still waits for acknowledgements
        is not in flight. On an alert it is a bool; on the class, the same test as SQL (the
        dashboard, the wall counter and the alert page all ask this)."""
        return self.status == "sending"


class Delivery(db.Model):
    """One SMS to one phone for one alert (or its reminder), with its provider status."""

    __tablename__ = "deliveries"
    __audit__ = False  # high-volume status bookkeeping; the alert itself is audited
    __table_args__ = (
        CheckConstraint("status IN (" + ", ".join(f"'{status}'" for status in DELIVERY_STATUSES) + ")", name="status"),
        UniqueConstraint("alert_id", "channel", "phone", "email", "kind", "wave", name="uq_deliveries_alert_address_kind_wave"),
        CheckConstraint("channel IN (" + ", ".join(f"'{channel}'" for channel in CHANNELS) + ")", name="channel"),
        Index("ix_deliveries_claim", "alert_id", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"))
    # "alert": the alert on this channel and address (it may be acknowledged, it is counted);
    # "reminder": the alert again to an address it already went to (an escalation wave).
    kind: Mapped[str] = mapped_column(String(16), default="alert")
    # 0: the alert as sent; n: its n-th escalation wave (``Alert.escalation``).
    wave: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    channel: Mapped[str] = mapped_column(String(8), default="sms", server_default="sms")  # CHANNELS
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    name_key: Mapped[str | None] = sort_key_column()  # the name's place in the Hungarian order
    phone: Mapped[str] = mapped_column(String(20), index=True)  # the contact's (an e-mail's too)
    email: Mapped[str] = mapped_column(String(254), default="", server_default="")  # where an e-mail goes
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    error_code: Mapped[int | None] = mapped_column(Integer)
    error_message: Mapped[str | None] = mapped_column(String(500))
    provider_sid: Mapped[str | None] = mapped_column(String(64), index=True)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    ack_text: Mapped[str | None] = mapped_column(String(160))
    opted_out_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # the contact answered STOP to it
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    alert: Mapped[Alert] = relationship(back_populates="deliveries")


class Exclusion(db.Model):
    """A contact the alert asked for who was not sent to, and why."""

    __tablename__ = "alert_exclusions"
    __audit__ = False

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(20), default="")
    name_key: Mapped[str | None] = sort_key_column()
    channel: Mapped[str] = mapped_column(String(8), default="sms", server_default="sms")
    reason: Mapped[str] = mapped_column(String(32))  # opted_out, duplicate_phone, not_mobile, drill_safety


keep_sort_key(Delivery)
keep_sort_key(Exclusion)


class Reply(db.Model):
    """An SMS that came to our number (or was simulated on the console outbox), what it did
    (``REPLY_ACTIONS``), and the alert delivery it answers: for an acknowledgement the delivery
    acknowledged, otherwise the newest alert that reached that phone within the acknowledgement
    window (``operations.ACK_WAIT``); none if no alert did. A simulated reply keeps the outbox
    message it was typed on (which may be another alert's than the one it answered)."""

    __tablename__ = "alert_replies"
    __audit__ = False  # a simulated reply is audited by the operation that simulates it

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"), index=True)
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("deliveries.id"))
    name: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(20), index=True)
    text: Mapped[str] = mapped_column(Text, default="")
    action: Mapped[str] = mapped_column(String(16))  # REPLY_ACTIONS
    simulated: Mapped[bool] = mapped_column(Boolean, default=False)
    outbox_message_id: Mapped[int | None] = mapped_column(ForeignKey("sms_outbox.id"), index=True)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class OutboxMessage(db.Model):
    """What the console gateway would have sent (it sends nothing)."""

    __tablename__ = "sms_outbox"
    __audit__ = False

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sid: Mapped[str] = mapped_column(String(64), unique=True)
    to: Mapped[str] = mapped_column(String(254), index=True)  # a phone, or an e-mail address
    channel: Mapped[str] = mapped_column(String(8), default="sms", server_default="sms")
    subject: Mapped[str | None] = mapped_column(String(200))  # an e-mail's
    body: Mapped[str] = mapped_column(Text)
    delivery_id: Mapped[int | None] = mapped_column(Integer, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class WebhookReceipt(db.Model):
    """A provider's webhook that was acted on, by the provider's own id for it (``MessageSid`` of
    an inbound SMS; ``MessageSid:status`` of a status callback; later ``CallSid``…). Inserted in
    the transaction of the webhook's effect: a replay, or a second copy arriving at the same
    moment, finds it and acts no more; ``outcome`` gives it the first answer again."""

    __tablename__ = "webhook_receipts"
    __audit__ = False
    __table_args__ = (UniqueConstraint("kind", "key", name="uq_webhook_receipts_kind_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # sms-inbound, sms-status
    key: Mapped[str] = mapped_column(String(100))
    outcome: Mapped[str] = mapped_column(String(32), default="")
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
