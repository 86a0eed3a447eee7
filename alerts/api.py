"""API: alerts (preview, recipients, send, progress, deliveries, CAP)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Response, current_app, request
from flask.views import MethodView
from flask_smorest import abort
from marshmallow import Schema, fields, validate

from incident.api.common import Blueprint, Integer, ListArgs, file_response, geojson_area, page
from incident.api.fields import Out, Personal, StaffField, StaffSchema, With, listing
from incident.extensions import db
from incident.geo import to_geojson
from incident.labels import INCIDENT_KIND_LABELS, label
from incident.phones import mask_email, mask_phone
from incident.models import Incident
from incident.operations.municipality import current_municipality
from incident.security import require_role
from incident.validation import UNSTORABLE_TEXT, storable
from incident.web.display import show_phone

from . import cap
from . import operations as ops
from . import sms
from .models import CHANNELS, DELIVERY_STATUSES, REPLY_ACTIONS, Alert

GEOJSON_AREA = geojson_area("GeoJSON Polygon or MultiPolygon: contacts located inside it")


class PreviewIn(Schema):
    body = fields.String(required=True)
    transliterate = fields.Boolean(load_default=False)
    drill = fields.Boolean(load_default=False)
    require_ack = fields.Boolean(load_default=False, metadata={"description": "the text ends with the reply hint"})


class PreviewOut(Out):
    body = fields.String()
    encoding = fields.String(metadata={"enum": ["GSM-7", "UCS-2"]})
    characters = fields.Integer()
    segments = fields.Integer()
    max_characters = fields.Integer()


class AlertIn(Schema):
    body = fields.String(required=True)
    groups = fields.List(fields.Raw(), metadata={"description": "alert group ids"})
    contacts = fields.List(fields.Raw(), metadata={"description": "contact ids"})
    area = fields.Dict(allow_none=True, metadata=GEOJSON_AREA)
    incident_id = Integer(allow_none=True)
    drill = fields.Boolean()
    require_ack = fields.Boolean()
    transliterate = fields.Boolean()
    escalate_after_minutes = Integer(allow_none=True, metadata={"description": "one SMS reminder to those still "
                                                                               "silent after this many minutes (the "
                                                                               "same as one SMS wave in escalation)"})
    escalation = fields.List(
        fields.Raw(metadata={"type": "object", "properties": {
            "after_minutes": {"type": "integer", "minimum": 1, "maximum": ops.MAX_WAVE_MINUTES},
            "channel": {"type": "string", "enum": list(CHANNELS)}}, "required": ["after_minutes", "channel"]}),
        allow_none=True,
        metadata={"description": f"escalation waves (at most {ops.MAX_WAVES}, each its own time; needs require_ack): "
                                 "each reaches, on its channel, every recipient who has not acknowledged on any "
                                 "channel by then"})
    channels = fields.List(fields.String(), metadata={"description": "sms, email, voice (default [\"sms\"])"})
    subject = fields.String(metadata={"description": "the e-mail's subject (default: the text's first line)"})


class ChannelReach(Out):
    recipients = fields.Integer()
    excluded = fields.Integer()
    merged = fields.Integer()
    reasons = fields.Dict(keys=fields.String(), values=fields.Integer())
    estimated_cost = fields.Float(metadata={"description": "SMS: segments × recipients × price; voice: calls × one "
                                                           "minute × price per minute; e-mail: absent"})


class RecipientsOut(Out):
    recipients = fields.Integer(metadata={"description": "contacts it would reach, each once, on any of its channels"})
    excluded = fields.Integer(metadata={"description": "contacts it reaches on none of its channels (opted out, "
                                                       "landline, no address, drill safety); merged duplicates are "
                                                       "counted in merged; channels.<c>.excluded for each channel"})
    merged = fields.Integer(metadata={"description": "contacts whose phone another recipient has: the phone gets the "
                                                     "SMS once (reasons.duplicate_phone)"})
    reasons = fields.Dict(keys=fields.String(), values=fields.Integer(),
                          metadata={"description": "every reason, duplicate_phone (the merged) included"})
    body = fields.String()
    encoding = fields.String()
    characters = fields.Integer()
    segments = fields.Integer()
    estimated_cost = fields.Float(metadata={"description": "every channel's together"})
    escalation_cost_at_most = fields.List(fields.Float(allow_none=True), metadata={
        "description": "each escalation wave's price if nobody confirms before it (null: a channel that costs "
                       "nothing); a wave reaches only the silent, so it usually costs less"})
    currency = fields.String()
    two_way = fields.Boolean(metadata={"description": "whether replies (acknowledgements) can reach the sender"})
    channels = fields.Dict(keys=fields.String(), values=fields.Nested(ChannelReach),
                           metadata={"description": "each channel asked for: who it reaches, who it cannot and why"})


class AlertAccepted(Out):
    id = fields.Integer()
    status = fields.String()
    recipients = fields.Integer()


class ChannelCounts(Out):
    """One channel's deliveries by status, and how many were acknowledged on it."""

    queued = fields.Integer()
    sending = fields.Integer()
    sent = fields.Integer()
    delivered = fields.Integer()
    undelivered = fields.Integer()
    failed = fields.Integer()
    acknowledged = fields.Integer(metadata={"description": "acknowledged on this channel"})
    opted_out = fields.Integer(metadata={"description": "recipients who answered this alert STOP (opted out)"})


class Counts(ChannelCounts):
    """The alert's deliveries on every channel, the contacts who acknowledged (each once), and
    those left out or merged."""

    excluded = fields.Integer(metadata={"description": "left out for consent or reach (not the merged duplicates)"})
    merged = fields.Integer(metadata={"description": "merged: same phone as another recipient, sent once"})
    acknowledged = fields.Integer(metadata={"description": "contacts who acknowledged, each once whatever the channel"})
    people = fields.Integer(metadata={"description": "contacts it went to, each once whatever the channels "
                                                     "(recipients counts messages)"})


class WaveOut(Out):
    after_minutes = fields.Integer()
    channel = fields.String(metadata={"enum": list(CHANNELS)})
    due_at = fields.DateTime(metadata={"description": "when it goes out (the alert's time + after_minutes)"})
    sent_at = fields.DateTime(allow_none=True, metadata={"description": "when it went out; null: not yet"})
    recipients = fields.Integer(allow_none=True, metadata={"description": "messages it sent to contacts still silent"})
    stopped_at = fields.DateTime(allow_none=True, metadata={"description": "when an officer stopped the escalation "
                                                                         "before this wave went out; null: not stopped"})
    unreachable = fields.Dict(keys=fields.String(), values=fields.Integer(),
                              metadata={"description": "contacts still silent it could not reach on its channel, by "
                                                       "reason (no_email, not_mobile, opted_out, failed_earlier…)"})


class AlertOut(StaffSchema):
    """An alert ``With`` its ``counts``."""

    staff_of = "alerts"

    id = fields.Integer()
    body = fields.String()
    status = fields.String()
    in_flight = fields.Boolean(metadata={"description": "still being sent (what the dashboard and the wall map count "
                                                        "as in flight)"})
    drill = fields.Boolean()
    require_ack = fields.Boolean()
    escalate_after_minutes = fields.Integer(allow_none=True)
    escalated_at = fields.DateTime(allow_none=True, metadata={"description": "when the first wave went out"})
    escalation = fields.List(fields.Nested(WaveOut), attribute="waves",
                             metadata={"description": "the escalation waves, in the order they go out"})
    incident_id = fields.Integer(allow_none=True)
    encoding = fields.String()
    segments = fields.Integer()
    recipients = fields.Integer()
    counts = fields.Nested(Counts)
    counts_by_channel = fields.Dict(keys=fields.String(), values=fields.Nested(ChannelCounts),
                                    metadata={"description": "the alert's channels (and those its escalation waves "
                                                             "reached people on), each with its own counts"})
    channels = fields.List(fields.String(), attribute="channel_list")
    subject = fields.String(allow_none=True)
    created_by = StaffField("field", id_attribute="created_by_id",
                            metadata={"description": "the sender's e-mail for officers and admins; for viewers "
                                                     "the name and position"})
    created_by_name = StaffField("name", label="created_by", id_attribute="created_by_id",
                                 metadata={"description": "the sender's name and position"})
    created_at = fields.DateTime()
    completed_at = fields.DateTime(allow_none=True)


AlertList = listing(AlertOut)


class AlertArgs(ListArgs):
    drill = fields.Boolean()
    incident_id = Integer()


class DeliveryOut(Out):
    id = fields.Integer()
    contact_id = fields.Integer(allow_none=True)
    name = fields.String()
    phone = Personal(mask_phone, metadata={"description": "masked for viewers"})
    status = fields.String(metadata={"enum": list(DELIVERY_STATUSES)})
    error_code = fields.Integer(allow_none=True)
    # The provider's words (an SMTP server's reply names the address): officers and admins only.
    error_message = Personal(lambda value: None, allow_none=True,
                             metadata={"description": "the provider's or mail server's reply to the last attempt; "
                                                      "null for viewers (it may name the address)"})
    provider_sid = fields.String(allow_none=True)
    attempts = fields.Integer()
    sent_at = fields.DateTime(allow_none=True)
    delivered_at = fields.DateTime(allow_none=True)
    acknowledged_at = fields.DateTime(allow_none=True)
    opted_out_at = fields.DateTime(allow_none=True, metadata={"description": "when the recipient answered this alert "
                                                                             "STOP (opted out)"})
    kind = fields.String(metadata={"description": "alert: the alert on this channel and address; reminder: the "
                                                  "alert again to an address it went to (an escalation wave)"})
    wave = fields.Integer(metadata={"description": "0: the alert as sent; n: its n-th escalation wave"})
    channel = fields.String(metadata={"enum": list(CHANNELS)})
    email = Personal(mask_email, metadata={"description": "an e-mail delivery's address; masked for viewers"})


DeliveryList = listing(DeliveryOut)


class ShownPhone(fields.String):
    """A phone number as the pages write it (``+36 20 555 0702``); masked for viewers."""

    def _serialize(self, value, attr, obj, **kwargs):
        return show_phone(value) if value else value


class ReplyOut(Out):
    id = fields.Integer()
    delivery_id = fields.Integer(allow_none=True)
    name = fields.String()
    phone = Personal(mask_phone, metadata={"description": "E.164; masked for viewers"})
    phone_display = ShownPhone(attribute="phone", dump_only=True, metadata={"description": "the phone as the alert page writes it "
                                                                           "(+36 20 555 0702); masked for viewers"})
    text = fields.String(metadata={"description": "what the recipient wrote"})
    action = fields.String(metadata={"enum": list(REPLY_ACTIONS)})
    simulated = fields.Boolean(metadata={"description": "typed by an officer on the console outbox"})
    received_at = fields.DateTime()


ReplyList = listing(ReplyOut)


class DeliveryArgs(ListArgs):
    status = fields.String(validate=validate.OneOf(DELIVERY_STATUSES))
    # Every delivery by default, the escalation waves' reminders too (``kind`` and ``wave`` tell them apart).
    kind = fields.String(validate=validate.OneOf(("alert", "reminder")), load_default=None,
                         metadata={"description": "only the alert's own deliveries (alert) or the waves' "
                                                  "reminders to addresses it went to (reminder); both if absent"})


def with_counts(alert: Alert, counts: dict | None = None) -> With:
    """The alert ``With`` its delivery and acknowledgement counts, overall and by channel
    (``counts``: ``ops.alert_counts_for(…, by_channel=True)``'s for it, when read already)."""
    counts = counts if counts is not None else ops.alert_counts_for([alert], by_channel=True)[alert.id]
    by_channel = counts.pop("by_channel", {})
    # The alert's channels, and any an escalation wave reached people on.
    channels = [channel for channel in CHANNELS if channel in alert.channel_list or channel in by_channel]
    return With(alert, counts=counts, counts_by_channel={channel: by_channel.get(channel, ops.empty_counts())
                                                         for channel in channels})


blp = Blueprint("api_alerts", __name__, url_prefix="/api/v1/alerts", description="SMS alerts")


@blp.route("/preview", methods=["POST"])
@blp.arguments(PreviewIn)
@blp.response(200, PreviewOut)
@require_role("viewer")  # a POST that writes nothing
def preview(data):
    """Encoding, characters and segments of a text (a read: viewers may call it too)."""
    text = ops.compose(data["body"], data["transliterate"], data["drill"], data["require_ack"])
    return {"body": text.body, "encoding": text.encoding, "characters": text.characters,
            "segments": text.segments, "max_characters": sms.MAX_CHARACTERS}


class AreaReachIn(Schema):
    area = fields.Dict(allow_none=True, metadata=GEOJSON_AREA)
    incident_id = Integer(allow_none=True, metadata={"description": "its affected area, when no area is given"})
    drill = fields.Boolean(load_default=False)


class AreaReachOut(Out):
    contacts = fields.Integer(metadata={"description": "contacts whose location is inside the area"})
    channels = fields.Dict(keys=fields.String(), values=fields.Integer(),
                           metadata={"description": "of them, how many each channel reaches"})


@blp.route("/area-reach", methods=["POST"])
@blp.arguments(AreaReachIn)
@blp.response(200, AreaReachOut)
@require_role("officer")
def area_reach(data):
    """Who an area reaches, before channels are chosen (the compose page shows it as the area is
    drawn or picked): the contacts located inside, and how many of them each channel reaches."""
    reach = ops.area_reach_of(data.get("area"), data.get("incident_id"), data["drill"])
    db.session.rollback()
    return {"contacts": reach.contacts, "channels": reach.by_channel}


@blp.route("/recipients", methods=["POST"])
@blp.arguments(AlertIn)
@blp.response(200, RecipientsOut)
def recipients(data):
    """Who would get this alert, who is excluded and why, and what it would cost (sends nothing)."""
    preview = ops.preview_alert(data)
    db.session.rollback()
    # People: each contact once, reached on any of the channels (``channels`` has each channel's).
    result, text = preview.reached, preview.text
    return {
        "recipients": len(result.send), "excluded": result.excluded_count, "merged": len(result.merged),
        "reasons": result.counts(),
        "body": text.body, "encoding": text.encoding, "characters": text.characters, "segments": text.segments,
        "estimated_cost": preview.cost, "currency": preview.currency, "two_way": preview.two_way,
        "escalation_cost_at_most": preview.wave_costs,
        "channels": {channel: {"recipients": len(r.send), "excluded": r.excluded_count, "merged": len(r.merged),
                               "reasons": {k: v for k, v in r.counts().items() if v},
                               **({"estimated_cost": preview.costs[channel]} if channel in preview.costs else {})}
                     for channel, r in preview.by_channel.items()},
    }


@blp.route("")
class Alerts(MethodView):
    @blp.arguments(AlertArgs, location="query")
    @blp.response(200, AlertList)
    def get(self, args):
        """Alerts, newest first."""
        result = page(ops.alerts_query(args.get("drill"), args.get("incident_id")), args)
        counts = ops.alert_counts_for(result["items"], by_channel=True)
        return {"items": [with_counts(a, counts[a.id]) for a in result["items"]], "total": result["total"]}

    @blp.arguments(AlertIn)
    @blp.response(202, AlertAccepted)
    def post(self, data):
        """Send an SMS alert. The alert and one delivery per recipient are stored in one
        transaction, then sent by the queue's workers. ``Idempotency-Key`` makes a retry safe:
        the same key again answers 202 with that alert, and nothing is sent again."""
        key = (request.headers.get("Idempotency-Key") or "").strip() or None
        if key and len(key) > 200:
            abort(422, errors={"headers": {"Idempotency-Key": ["At most 200 characters."]}})
        if key and not storable(key):
            abort(422, errors={"headers": {"Idempotency-Key": [str(UNSTORABLE_TEXT)]}})
        alert, created = ops.create_alert(data, key)
        # The answer is made before the commit: once the alert is committed, the client must hear
        # that it was accepted (a retry would alert everybody twice), whatever fails a moment later.
        body = {"id": alert.id, "status": alert.status, "recipients": alert.recipients}
        waves = ops.wave_minutes(alert)
        db.session.commit()
        if created:
            current_app.extensions["alert_tasks"].start(body["id"], waves)
        return body


@blp.route("/<int:alert_id>")
@blp.response(200, AlertOut)
def get_alert(alert_id):
    """An alert with its delivery and acknowledgement counts."""
    return with_counts(db.get_or_404(Alert, alert_id))


@blp.route("/<int:alert_id>/escalation/stop", methods=["POST"])
@blp.response(200, AlertOut)
@require_role("officer")
def stop_escalation(alert_id):
    """Stop the alert's escalation waves that have not gone out (a false alarm, a situation over):
    they are kept with ``stopped_at``, and the incident's log says who stopped them."""
    ops.stop_escalation(alert_id)
    db.session.commit()
    return with_counts(db.get_or_404(Alert, alert_id))


@blp.route("/<int:alert_id>/deliveries")
@blp.arguments(DeliveryArgs, location="query")
@blp.response(200, DeliveryList)
def deliveries(args, alert_id):
    """One row per recipient (phones masked for viewers)."""
    db.get_or_404(Alert, alert_id)
    return page(ops.deliveries_query(alert_id, args["kind"], args.get("status")), args)


@blp.route("/<int:alert_id>/replies")
@blp.arguments(ListArgs, location="query")
@blp.response(200, ReplyList)
def replies(args, alert_id):
    """Every reply that answered the alert (acknowledgements, opt-outs, other text), oldest first
    (phones masked for viewers)."""
    db.get_or_404(Alert, alert_id)
    return page(ops.replies(alert_id), args)


@blp.route("/<int:alert_id>/cap")
@blp.doc(responses=file_response("application/cap+xml", "OASIS CAP 1.2"))
def cap_xml(alert_id):
    """The alert as OASIS CAP 1.2 XML."""
    alert = db.get_or_404(Alert, alert_id)
    return Response(cap.build_cap(cap_alert(alert), current_app.config["RIADO_TIMEZONE"]),
                    mimetype="application/cap+xml")


def cap_alert(alert: Alert) -> cap.CapAlert:
    config = current_app.config
    host = urlsplit(config["PUBLIC_URL"]).hostname or "riado"
    town = current_municipality()
    incident = db.session.get(Incident, alert.incident_id) if alert.incident_id else None
    cap_incident = None
    if incident is not None:
        from flask_babel import force_locale

        with force_locale(config["RIADO_LOCALE"]):
            kind_label = label(INCIDENT_KIND_LABELS, incident.kind)
        cap_incident = cap.CapIncident(incident.number, incident.title, incident.kind, kind_label,
                                       incident.severity, incident.status, to_geojson(incident.area))
    return cap.CapAlert(
        identifier=f"riado-{host}-alert-{alert.id}", sender=f"riado@{host}",
        sender_name=(town.name if town else "Riadó"), sent=alert.created_at, drill=alert.drill, body=alert.body,
        language="hu-HU" if config["RIADO_LOCALE"] == "hu" else "en-GB",
        area_description=(incident.title if incident else (town.short_name or town.name) if town else "Riadó"),
        incident=cap_incident, web=f"{config['PUBLIC_URL']}/alerts/{alert.id}",
    )
