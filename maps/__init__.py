"""Riadó's map wing: spatial views, GeoJSON layers and folium pages (built on the core).

- ``maps.api``: the layers as GeoJSON under /api/v1/map (on the core's flask-smorest Api);
- ``maps.views``: /map (operational), /map/wall (operations room, drills), the area editor;
- ``maps.builder``: the folium maps from plain dicts; ``maps.assets``: their files, served locally;
- ``maps.geojson``: the queries and the RFC 7946 serialisation.

The core never imports this package; the wing adds its entry to the core's navigation, and the
alert wing's counts for the wall arrive through the core's hooks (``incident.web.hooks``).
"""


def init_app(app):
    from flask_babel import lazy_gettext as _l

    from incident.web.hooks import register_navigation, register_record_action

    from . import api, views

    register_navigation(app, "maps.index", _l("Map"), "maps.", order=60)
    register_record_action(app, "incident", "maps.area", _l("Draw the affected area on the map"), place="area",
                           writes=True, testid="draw-area")
    app.config.setdefault("RIADO_WALL_REFRESH_SECONDS", views.DEFAULT_REFRESH_SECONDS)
    app.config.setdefault("RIADO_MAP_REFRESH_SECONDS", views.OPERATIONAL_REFRESH_SECONDS)
    app.register_blueprint(views.bp)
    app.extensions["riado_api"].register_blueprint(api.blp)
