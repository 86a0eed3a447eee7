"""Human words for the alert wing's codes (alert and delivery statuses, why a contact was left
out, what a reply did, the Twilio error codes people meet most), in the UI language: the wing's labels in one place,
as the core's are in ``incident.labels``."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

ALERT_STATUS_LABELS = {"sending": _l("sending"), "done": _l("done")}
DELIVERY_STATUS_LABELS = {
    "queued": _l("queued"),
    "sending": _l("sending"),
    "sent": _l("sent"),
    "delivered": _l("delivered"),
    "undelivered": _l("undelivered"),
    "failed": _l("failed"),
}
EXCLUSION_REASON_LABELS = {
    "opted_out": _l("opted out of SMS alerts"),
    "not_mobile": _l("landline: not a mobile number, cannot receive SMS"),
    "drill_safety": _l("drill safety switch: not in the drill test group"),
    "duplicate_phone": _l("merged: same phone as another recipient (sent once)"),
    "no_email": _l("no e-mail address"),
    "duplicate_email": _l("merged: same e-mail address as another recipient (sent once)"),
    # Why an escalation wave did not reach a contact still silent (besides the reasons above).
    "failed_earlier": _l("an earlier message on this channel failed"),
    "still_sending": _l("the alert itself is still being sent to them on this channel"),
    "contact_deleted": _l("deleted from the contacts since"),
}
CHANNEL_LABELS = {"sms": _l("SMS"), "email": _l("e-mail"), "voice": _l("voice call")}
REPLY_ACTION_LABELS = {
    "ack": _l("acknowledged"),
    "stop": _l("opted out of SMS alerts"),
    "start": _l("opted in to SMS alerts again"),
    "unknown": _l("other text (not YES or STOP)"),
    "nothing_to_ack": _l("no alert waited for an acknowledgement"),
}
# Short explanations of the Twilio error codes people meet most.
TWILIO_ERROR_LABELS = {
    21211: _l("invalid phone number"),
    21610: _l("the recipient has blocked our messages (replied STOP)"),
    21612: _l("this number cannot be reached from our sender"),
    21614: _l("not a mobile number"),
    30003: _l("phone unreachable (switched off or out of coverage)"),
    30005: _l("unknown number or inactive subscription"),
    30006: _l("landline or unreachable carrier"),
    30007: _l("filtered by the carrier (taken for spam)"),
    30008: _l("unknown error at the carrier"),
}


def alert_status_words() -> dict:
    return ALERT_STATUS_LABELS


def delivery_status_words() -> dict:
    return DELIVERY_STATUS_LABELS


def reason_words() -> dict:
    return EXCLUSION_REASON_LABELS


def reply_action_words() -> dict:
    return REPLY_ACTION_LABELS


def channel_words() -> dict:
    return CHANNEL_LABELS


def error_words() -> dict:
    return TWILIO_ERROR_LABELS
