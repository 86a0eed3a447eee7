"""The web shell: the officer's dashboard."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template
from ..database import utcnow
from ..labels import READINESS_LABELS
from ..labels import NEED_LABELS
from ..operations.evacuees import summary as reception_summary
from ..operations.incidents import open_incidents as open_incidents_now
from ..operations.plans import overdue_count, overdue_tasks
from ..operations.municipality import current_municipality
from ..operations.resources import kind_summary, kinds
from ..web.hooks import banners, dashboard_panels

bp = Blueprint("shell", __name__)

OVERDUE_SHOWN = 20  # the dashboard's list of overdue tasks: the longest overdue; the rest a link away


@bp.route("/")
def dashboard():
    """The officer's home screen: the wings' banners (a hazard watch proposal…), open incidents
    (drills apart) with their readiness level, the checklists' overdue tasks, what is available
    by kind, and the wings' panels (alerts in flight…)."""
    open_incidents = open_incidents_now()
    labels = {k.code: k for k in kinds()}
    now = utcnow()
    return render_template(
        "incident/dashboard.html", municipality=current_municipality(),
        incidents=[i for i in open_incidents if not i.drill], drills=[i for i in open_incidents if i.drill],
        resources=sorted(kind_summary(), key=lambda row: row["kind"]), kind_labels=labels,
        panels=dashboard_panels(), banners=banners(False), overdue=overdue_tasks(now, limit=OVERDUE_SHOWN), overdue_total=overdue_count(now), now=now,
        readiness_words=READINESS_LABELS,
        # Evacuees present in open incidents, drills apart: counts only.
        reception=reception_summary(drill=False, open_only=True),
        drill_reception=reception_summary(drill=True, open_only=True), need_words=NEED_LABELS,
        refresh_seconds=current_app.config.get("RIADO_DASHBOARD_REFRESH_SECONDS", 30),
    )
