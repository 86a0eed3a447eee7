"""Riadó's alert wing: SMS composition, fan-out, delivery tracking, CAP (built on the core)."""

from flask import Blueprint, render_template

bp = Blueprint("alerts", __name__, url_prefix="/alerts")


@bp.route("")
def index():
    """Alerts sent and being sent."""
    return render_template("incident/section.html", section="alerts")


def init_app(app):
    app.register_blueprint(bp)
