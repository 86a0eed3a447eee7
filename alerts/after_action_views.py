"""/incidents/<id>/after-action (printable HTML) and /incidents/<id>/after-action.csv."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Blueprint, Response, current_app, render_template

from incident.extensions import db
from incident.labels import READINESS_LABELS, TASK_STATUS_LABELS
from incident.models import Incident
from incident.operations.staff import staff_for
from incident.security import sees_personal_data
from incident.operations.municipality import current_municipality

from .after_action import ack_chart, build_report, report_csv
from .labels import channel_words

bp = Blueprint("after_action", __name__)


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.0f}%"


@bp.route("/incidents/<int:incident_id>/after-action")
def report(incident_id: int):
    """The after-action report of an incident or drill."""
    incident = db.get_or_404(Incident, incident_id)
    data = build_report(incident)
    charts = {f.alert.id: ack_chart(f) for f in data.alerts}
    staff = staff_for(entries=data.entries, tasks=data.checklist.tasks, personal=sees_personal_data())
    return render_template("alerts/after_action.html", report=data, incident=incident, charts=charts,
                           municipality=current_municipality(), percent=percent, staff=staff,
                           channel_words=channel_words(), readiness_words=READINESS_LABELS,
                           task_status_words=TASK_STATUS_LABELS)


@bp.route("/incidents/<int:incident_id>/after-action.csv")
def report_as_csv(incident_id: int):
    """The after-action report as CSV."""
    incident = db.get_or_404(Incident, incident_id)
    text = report_csv(build_report(incident), ZoneInfo(current_app.config["RIADO_TIMEZONE"]))
    return Response(text.encode("utf-8-sig"), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{incident.number}-after-action.csv"', "Cache-Control": "no-store"})
