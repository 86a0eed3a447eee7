"""The web shell: dashboard and the core sections."""

from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import select

from ..extensions import db
from ..models import Municipality

bp = Blueprint("shell", __name__)


def municipality() -> Municipality | None:
    return db.session.execute(select(Municipality).order_by(Municipality.id).limit(1)).scalar_one_or_none()


@bp.route("/")
def dashboard():
    """The officer's home screen."""
    return render_template("incident/dashboard.html", municipality=municipality())


@bp.route("/incidents")
def incidents():
    """Incidents and drills (the incident register arrives with its issue)."""
    return render_template("incident/section.html", section="incidents")
