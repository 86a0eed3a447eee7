"""What the alert wing reports to the wall map, through ``app.extensions["riado_wall_counts"]``
(the map wing reads the counts there and never imports this wing)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, or_, select

from incident.database import utcnow
from incident.extensions import db

from .models import Alert, Delivery
from .operations import ACK_WAIT, contact_key, incident_not_closed, may_still_acknowledge


def wall_counts(drill: bool) -> list[dict]:
    """Alerts still being sent, and acknowledgements received of those expected (alerts that
    asked for one within the acknowledgement window, ``ACK_WAIT``), for drills or for real
    alerts, counted in people (a contact on three channels once). Expected are the contacts who
    acknowledged and those whose acknowledgement may still come on one of their deliveries
    (``may_still_acknowledge``, as the alert page and the dashboard decide it): not one that
    failed, nor one whose recipient opted out by answering it; nor an alert whose incident is
    closed (it waits no more)."""
    in_flight = db.session.execute(
        select(func.count()).select_from(Alert).where(Alert.in_flight, Alert.drill.is_(drill))
    ).scalar_one()  # the dashboard's "Alerts in flight" are the same ones (Alert.in_flight)
    # People, not messages: a contact reached on SMS, e-mail and voice is expected once, and has
    # acknowledged once, whichever channel they answered on.
    who = contact_key()
    people = (
        select(Delivery.alert_id, who.label("who"),
               func.max(case((Delivery.acknowledged_at.is_not(None), 1), else_=0)).label("acknowledged"))
        .join(Alert, Alert.id == Delivery.alert_id)
        .where(Alert.require_ack.is_(True), Alert.drill.is_(drill), Alert.created_at >= utcnow() - ACK_WAIT,
               incident_not_closed(),
               Delivery.kind == "alert", or_(Delivery.acknowledged_at.is_not(None), may_still_acknowledge()))
        .group_by(Delivery.alert_id, who).subquery()
    )
    acknowledged, expected = db.session.execute(
        select(func.coalesce(func.sum(people.c.acknowledged), 0), func.count()).select_from(people)
    ).one()
    hours = int(ACK_WAIT.total_seconds() // 3600)
    return [
        {"key": "alerts_in_flight", "label": _l("Alerts in flight"), "value": int(in_flight)},
        {"key": "acknowledged", "label": _l("Acknowledged (last %(hours)s h)", hours=hours),
         "value": f"{int(acknowledged)} / {int(expected)}"},
    ]
