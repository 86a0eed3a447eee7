"""What the alert wing reports to the wall map, through ``app.extensions["riado_wall_counts"]``
(the map wing reads the counts there and never imports this wing)."""

from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from incident.database import utcnow
from incident.extensions import db

from .models import Alert, Delivery

# Acknowledgements are counted for the alerts that asked for them in this window.
ACK_WINDOW = dt.timedelta(hours=24)


def wall_counts(drill: bool) -> list[dict]:
    """Alerts still being sent, and acknowledgements received of those expected (alerts that
    asked for one in the last 24 hours), for drills or for real alerts."""
    in_flight = db.session.execute(
        select(func.count()).select_from(Alert).where(Alert.in_flight, Alert.drill.is_(drill))
    ).scalar_one()  # the dashboard's "Alerts in flight" are the same ones (Alert.in_flight)
    acknowledged, expected = db.session.execute(
        select(func.count(Delivery.acknowledged_at), func.count(Delivery.id))
        .join(Alert, Alert.id == Delivery.alert_id)
        .where(Alert.require_ack.is_(True), Alert.drill.is_(drill), Alert.created_at >= utcnow() - ACK_WINDOW,
               Delivery.kind == "alert")
    ).one()
    return [
        {"key": "alerts_in_flight", "label": _l("Alerts in flight"), "value": int(in_flight)},
        {"key": "acknowledged", "label": _l("Acknowledged (last 24 h)"), "value": f"{int(acknowledged)} / {int(expected)}"},
    ]
