"""Twilio's webhooks: status callbacks and inbound messages, and for voice calls the key pressed
(the <Gather>'s action) and the call's status callbacks, each checked against
``X-Twilio-Signature`` computed over the public URL (PUBLIC_URL), 403 otherwise."""

from __future__ import annotations

import logging
from functools import wraps

from flask import Blueprint, Response, abort, current_app, request
from flask_babel import force_locale, gettext
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import VoiceResponse

from incident.errors import FieldError
from incident.extensions import db
from incident.security import csrf_exempt, public
from incident.validation import record_id, whole_number
from incident.web.errors import BadField

from . import operations as ops
from .gateways import call_twiml, call_words, goodbye_twiml, thanks_twiml
from .metrics import WEBHOOK_SIGNATURE_FAILURES

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks/twilio")
log = logging.getLogger(__name__)


def public_request_url() -> str:
    """The URL Twilio called, rebuilt from PUBLIC_URL (behind a proxy the request's own differs)."""
    query = request.query_string.decode()
    return current_app.config["PUBLIC_URL"] + request.path + (f"?{query}" if query else "")


def signed(view):
    """Refuse (403) a request whose X-Twilio-Signature does not match; also when Twilio is not
    configured, since nothing could then have been signed."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        token = current_app.config.get("TWILIO_AUTH_TOKEN")
        signature = request.headers.get("X-Twilio-Signature", "")
        if not token or not signature or not RequestValidator(token).validate(public_request_url(), request.form, signature):
            log.warning("refused a webhook with a bad or missing signature from %s", request.remote_addr)
            WEBHOOK_SIGNATURE_FAILURES.labels(request.endpoint or "unknown").inc()
            abort(403)
        return view(*args, **kwargs)

    return wrapper


def twiml(message: str | None = None) -> Response:
    """A TwiML answer: the reply ``message`` to the sender, or nothing to say."""
    answer = MessagingResponse()
    if message:
        answer.message(message)
    return Response(answer.to_xml(), mimetype="text/xml")


@bp.route("/status", methods=["POST"])
@public
@csrf_exempt
@signed
def status():
    """A message's status changed (sent, delivered, undelivered, failed); the same MessageSid and
    status again changes nothing."""
    error = (request.form.get("ErrorCode") or "").strip()
    try:
        delivery_id = record_id(request.args.get("d", ""), "d")
        error_code = whole_number(error, "ErrorCode", minimum=0) if error else None
    except FieldError as exc:
        # Signed, so Twilio's (or made with its token): a 400 it logs, nothing recorded.
        raise BadField(exc.field, exc.message, "query" if exc.field == "d" else "form") from None
    ops.apply_status(delivery_id, request.form.get("MessageSid"), request.form.get("MessageStatus", ""), error_code)
    db.session.commit()
    return twiml()


@bp.route("/inbound", methods=["POST"])
@public
@csrf_exempt
@signed
def inbound():
    """A reply: OK / 1 / IGEN / YES acknowledges; STOP / LEIRATKOZOM opts out; START opts in.
    The same MessageSid again (a replay) acts no more and gets the first answer again."""
    sid = request.form.get("MessageSid") or request.form.get("SmsSid") or None
    outcome = ops.handle_reply(request.form.get("From", ""), request.form.get("Body", ""), sid)
    db.session.commit()
    with force_locale(current_app.config["RIADO_LOCALE"]):
        replies = {
            "ack": gettext("Thank you, your confirmation is recorded."),
            # An SMS STOP is about SMS: a call-out list member is still called and e-mailed.
            "stop": gettext("You will get no more SMS alerts from us. Reply START to receive them again."),
            "start": gettext("You will receive SMS alerts again."),
        }
    return twiml(replies.get(outcome.action))


def _delivery_and_error() -> tuple[int, int | None]:
    """The delivery id of the URL (``d``) and the ErrorCode of the form; a 400 naming the field."""
    error = (request.form.get("ErrorCode") or "").strip()
    try:
        return record_id(request.args.get("d", ""), "d"), (whole_number(error, "ErrorCode", minimum=0) if error else None)
    except FieldError as exc:
        raise BadField(exc.field, exc.message, "query" if exc.field == "d" else "form") from None


def voice_twiml(xml: str) -> Response:
    return Response(xml, mimetype="text/xml")


@bp.route("/voice", methods=["POST"])
@public
@csrf_exempt
@signed
def voice():
    """The key a listener pressed during an alert's call (its <Gather>'s action): 1 acknowledges
    (the contact once, whatever the channel) and the call thanks them; another key hears the
    alert again. The same key again changes nothing more."""
    delivery_id, _error = _delivery_and_error()
    call_sid = request.form.get("CallSid") or None
    digits = (request.form.get("Digits") or "").strip()
    words = call_words(current_app.config)
    delivery = ops.delivery_for_call(delivery_id, call_sid)
    if delivery is None:
        db.session.rollback()
        return voice_twiml(goodbye_twiml(words))
    if digits == "1":
        ops.acknowledge_by_call(delivery, call_sid)
        db.session.commit()
        return voice_twiml(thanks_twiml(words))
    text = delivery.body
    db.session.rollback()
    return voice_twiml(call_twiml(text, public_request_url(), words))


@bp.route("/voice/status", methods=["POST"])
@public
@csrf_exempt
@signed
def voice_status():
    """A call's status changed (placed, ringing, answered, ended, busy, unanswered, failed); the
    same CallSid and CallStatus again changes nothing."""
    delivery_id, error_code = _delivery_and_error()
    ops.apply_call_status(delivery_id, request.form.get("CallSid"), request.form.get("CallStatus", ""), error_code)
    db.session.commit()
    return voice_twiml(VoiceResponse().to_xml())
