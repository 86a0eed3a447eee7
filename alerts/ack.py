"""The personal acknowledgement link of an e-mail alert (``/ack/<token>``): opening it shows what
the alert said and a button; only pressing it (a POST) acknowledges, since mail scanners open
links. Public (the recipient has no account); the token names one delivery (``ops.ack_token``)."""

from __future__ import annotations

from flask import Blueprint, abort, render_template

from incident.extensions import db
from incident.security import public

from . import operations as ops
from .models import Alert

bp = Blueprint("ack", __name__)


def _page(token: str, **extra):
    delivery = ops.delivery_for_token(token)
    if delivery is None:
        abort(404)
    alert = db.session.get(Alert, delivery.alert_id)
    acknowledged = ops.contact_acknowledged(delivery)
    return render_template("alerts/ack.html", delivery=delivery, alert=alert, acknowledged=acknowledged, **extra)


@bp.get("/ack/<token>")
@public
def show(token):
    return _page(token)


@bp.post("/ack/<token>")
@public
def confirm(token):
    delivery = ops.delivery_for_token(token)
    if delivery is None:
        abort(404)
    done = ops.acknowledge_by_link(delivery)
    db.session.commit()
    return _page(token, just_now=done)
