"""What the alert wing reports to the wall map, through ``app.extensions["riado_wall_counts"]``
(the map wing reads the counts there and never imports this wing)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select

from incident.database import utcnow
from incident.extensions import db

from .models import Alert, Delivery
from .operations import ACK_WAIT, incident_not_closed, may_still_acknowledge


def wall_counts(drill: bool) -> list[dict]:
    """Alerts still being sent, and acknowledgements received of those expected (alerts that
    asked for one within the acknowledgement window, ``ACK_WAIT``), for drills or for real
    alerts. Expected are the deliveries acknowledged and those whose acknowledgement may still
    come (``may_still_acknowledge``, as the alert page and the dashboard decide it): not one
    that failed, nor one whose recipient opted out by answering it; nor an alert whose incident
    is closed (it waits no more)."""
    in_flight = db.session.execute(
        select(func.count()).select_from(Alert).where(Alert.in_flight, Alert.drill.is_(drill))
    ).scalar_one()  # the dashboard's "Alerts in flight" are the same ones (Alert.in_flight)
    acknowledged, expected = db.session.execute(
        select(func.count(Delivery.acknowledged_at), func.count(Delivery.id))
        .join(Alert, Alert.id == Delivery.alert_id)
        .where(Alert.require_ack.is_(True), Alert.drill.is_(drill), Alert.created_at >= utcnow() - ACK_WAIT,
               incident_not_closed(),
               Delivery.kind == "alert", or_(Delivery.acknowledged_at.is_not(None), may_still_acknowledge()))
    ).one()
    hours = int(ACK_WAIT.total_seconds() // 3600)
    return [
        {"key": "alerts_in_flight", "label": _l("Alerts in flight"), "value": int(in_flight)},
        {"key": "acknowledged", "label": _l("Acknowledged (last %(hours)s h)", hours=hours),
         "value": f"{int(acknowledged)} / {int(expected)}"},
    ]
