"""Twilio's webhooks: status callbacks and inbound messages, each checked against
``X-Twilio-Signature`` computed over the public URL (PUBLIC_URL), 403 otherwise."""

from __future__ import annotations

import logging
from functools import wraps

from flask import Blueprint, Response, abort, current_app, request
from flask_babel import force_locale, gettext
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from incident.errors import FieldError
from incident.extensions import db
from incident.security import csrf_exempt, public
from incident.validation import record_id, whole_number
from incident.web.errors import BadField

from . import operations as ops
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
            "stop": gettext("You will get no more alerts from us. Reply START to receive them again."),
            "start": gettext("You will receive alerts again."),
        }
    return twiml(replies.get(outcome.action))
