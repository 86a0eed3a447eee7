"""The web shell: the officer's dashboard."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template
from sqlalchemy import select

from ..extensions import db
from ..models import Incident
from ..operations.municipality import current_municipality
from ..operations.resources import kind_summary, kinds
from ..web.hooks import dashboard_panels

SEVERITY_ORDER = {"extreme": 0, "severe": 1, "moderate": 2, "minor": 3, "unknown": 4}

bp = Blueprint("shell", __name__)


@bp.route("/")
def dashboard():
    """The officer's home screen: open incidents (drills apart), what is available by kind, and
    the wings' panels (alerts in flight…)."""
    open_incidents = db.session.execute(
        select(Incident).where(Incident.status != "closed").order_by(Incident.created_at.desc())
    ).scalars().all()
    open_incidents.sort(key=lambda i: (i.drill, SEVERITY_ORDER.get(i.severity, 9)))
    labels = {k.code: k for k in kinds()}
    return render_template(
        "incident/dashboard.html", municipality=current_municipality(),
        incidents=[i for i in open_incidents if not i.drill], drills=[i for i in open_incidents if i.drill],
        resources=sorted(kind_summary(), key=lambda row: row["kind"]), kind_labels=labels,
        panels=dashboard_panels(),
        refresh_seconds=current_app.config.get("RIADO_DASHBOARD_REFRESH_SECONDS", 30),
    )
