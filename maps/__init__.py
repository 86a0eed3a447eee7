"""Riadó's map wing: spatial views, GeoJSON layers and folium pages (built on the core)."""

from flask import Blueprint, render_template

bp = Blueprint("maps", __name__, url_prefix="/map")


@bp.route("")
def index():
    """The operational map."""
    return render_template("incident/section.html", section="map")


def init_app(app):
    app.register_blueprint(bp)
