"""Riadó's map wing: spatial views, GeoJSON layers and folium pages (built on the core).

- ``maps.api``: the layers as GeoJSON under /api/v1/map (on the core's flask-smorest Api);
- ``maps.views``: /map (operational), /map/wall (operations room, drills), the area editor;
- ``maps.builder``: the folium maps from plain dicts; ``maps.assets``: their files, served locally;
- ``maps.geojson``: the queries and the RFC 7946 serialisation.

The core never imports this package; the alert wing's counts for the wall arrive through
``app.extensions["riado_wall_counts"]``.
"""


def init_app(app):
    from . import api, views

    app.config.setdefault("RIADO_WALL_REFRESH_SECONDS", views.DEFAULT_REFRESH_SECONDS)
    app.config.setdefault("RIADO_MAP_REFRESH_SECONDS", views.OPERATIONAL_REFRESH_SECONDS)
    app.register_blueprint(views.bp)
    app.extensions["riado_api"].register_blueprint(api.blp)
