"""The web shell: dashboard and the core sections."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template
from sqlalchemy import select

from ..extensions import db
from ..models import Incident, Municipality
from ..operations.resources import kind_summary, kinds

SEVERITY_ORDER = {"extreme": 0, "severe": 1, "moderate": 2, "minor": 3, "unknown": 4}

bp = Blueprint("shell", __name__)


def register_panel(app, template: str, context) -> None:
    """Let a wing add a panel to the dashboard: ``template`` rendered with ``context()``."""
    app.extensions.setdefault("dashboard_panels", []).append((template, context))


def municipality() -> Municipality | None:
    return db.session.execute(select(Municipality).order_by(Municipality.id).limit(1)).scalar_one_or_none()


@bp.route("/")
def dashboard():
    """The officer's home screen: open incidents (drills apart), what is available by kind."""
    open_incidents = db.session.execute(
        select(Incident).where(Incident.status != "closed").order_by(Incident.created_at.desc())
    ).scalars().all()
    open_incidents.sort(key=lambda i: (i.drill, SEVERITY_ORDER.get(i.severity, 9)))
    labels = {k.code: k for k in kinds()}
    return render_template(
        "incident/dashboard.html", municipality=municipality(),
        incidents=[i for i in open_incidents if not i.drill], drills=[i for i in open_incidents if i.drill],
        resources=sorted(kind_summary(), key=lambda row: row["kind"]), kind_labels=labels,
        panels=[(template, context()) for template, context in current_app.extensions.get("dashboard_panels", [])],
        refresh_seconds=current_app.config.get("RIADO_DASHBOARD_REFRESH_SECONDS", 30),
    )
