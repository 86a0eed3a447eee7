"""The alert wing's part of the demo district: on the first morning of the flood defence (10 June
2025) the public-safety officer calls the local defence committee (HVB) to its 09:00 meeting by
SMS and asks for an acknowledgement, so that a new user's alert list and the incident's
after-action report are not empty.

It goes through the same operations as any alert, as if at those times (``clock_at``): the alert
with its deliveries, the sending through the console gateway, the provider's status callbacks and
the members' replies. One member takes no SMS (left out), one phone is unreachable (Twilio error
30003), one member never replies. Its steps run among the flood's own (``register_steps``), so
the incident's log tells one story in time order, and only when the flood is loaded: once."""

from __future__ import annotations

import datetime as dt
import uuid
from contextlib import contextmanager

from flask import current_app
from sqlalchemy import select

from incident.audit import current_actor, set_actor
from incident.database import clock_at
from incident.extensions import db
from incident.models import AlertGroup

from . import operations as ops
from .gateways import ConsoleGateway
from .models import Delivery
from .tasks import drain

GROUP = "Helyi Védelmi Bizottság"
IDEMPOTENCY_KEY = "riado-demo:flood:hvb-call-out"
# The reply hint (what to answer) is added to the text by the alert itself: it asks for acknowledgement.
BODY = ("Árvízvédelem: I. fokú készültség a Dunán (Vigadó tér 628 cm). A HVB ülése ma 09:00-kor a "
        "Polgármesteri Hivatal dísztermében.")
SENT_AT = "2025-06-10 07:35:00"
# The provider's word on each message, seconds after sending: delivered, except where an error
# code is given (the status callback says undelivered with it).
STATUS_AFTER_S = {
    "Horváth Bence": (3, None), "Dr. Szabó Katalin": (4, None), "Dr. Farkas Péter": (4, None),
    "Kiss Gábor": (6, None), "Dr. Lengyel Árpád": (5, None), "Sipos László": (7, None),
    "Tóth Judit": (9, None), "Dr. Vass Károly": (31, 30003),
}
# The replies, as people type the word the SMS asks for (or OK), and when they came (Tóth Judit
# never answers).
REPLIES = (
    ("2025-06-10 07:35:40", "Horváth Bence", "IGEN"),
    ("2025-06-10 07:36:25", "Dr. Szabó Katalin", "igen"),
    ("2025-06-10 07:38:10", "Dr. Farkas Péter", "IGEN"),
    ("2025-06-10 07:41:30", "Dr. Lengyel Árpád", "Igen."),
    ("2025-06-10 07:44:05", "Sipos László", "OK"),
    ("2025-06-10 07:51:45", "Kiss Gábor", "igen"),
)


@contextmanager
def _acting_as(author):
    """The alert is the officer's, as the log entries of the story are."""
    saved = current_actor()
    set_actor(author.id, author.label)
    try:
        yield
    finally:
        set_actor(*saved)


def _delivery(alert_id: int, name: str) -> Delivery:
    return db.session.execute(
        select(Delivery).where(Delivery.alert_id == alert_id, Delivery.kind == "alert", Delivery.name == name)
    ).scalar_one()


def send(incident, _payload, *, at: dt.datetime, author) -> dict[str, int]:
    """The call-out as it went: written, sent through the console gateway, then the provider's
    status callbacks."""
    group = db.session.execute(select(AlertGroup).where(AlertGroup.name == GROUP)).scalar_one_or_none()
    if group is None:  # the committee's group was renamed or removed: nobody to call out
        return {"alerts": 0}
    with clock_at(at), _acting_as(author):
        alert, created = ops.create_alert({"body": BODY, "groups": [group.id], "incident_id": incident.id,
                                           "require_ack": True}, idempotency_key=IDEMPOTENCY_KEY)
    if not created:
        return {"alerts": 0}
    with clock_at(at + dt.timedelta(seconds=1)):
        drain(current_app._get_current_object(), alert.id, ConsoleGateway())
    for name, (seconds, error_code) in sorted(STATUS_AFTER_S.items(), key=lambda item: item[1][0]):
        delivery = _delivery(alert.id, name)
        with clock_at(at + dt.timedelta(seconds=seconds)):
            ops.apply_status(delivery.id, delivery.provider_sid, "undelivered" if error_code else "delivered", error_code)
    with clock_at(at + dt.timedelta(seconds=max(s for s, _code in STATUS_AFTER_S.values()))):
        ops.finish_done_alerts()
    return {"alerts": 1}


def reply(_incident, payload, *, at: dt.datetime, author) -> dict[str, int]:
    """A member's reply, as Twilio's inbound webhook hands it over (with a message id of its own)."""
    name, text = payload
    alert = ops.find_by_idempotency_key(IDEMPOTENCY_KEY)
    if alert is None:
        return {}
    phone = _delivery(alert.id, name).phone
    with clock_at(at):
        ops.handle_reply(phone, text, message_sid="SM" + uuid.uuid5(uuid.NAMESPACE_URL, f"{IDEMPOTENCY_KEY}:{name}").hex)
    return {}


def steps() -> list:
    """The steps of the call-out in the flood's story (see ``incident.demo.register_steps``)."""
    return [(SENT_AT, "referens", send, None),
            *((when, "referens", reply, (name, text)) for when, name, text in REPLIES)]
