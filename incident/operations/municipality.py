"""The municipality the service is run for: its record and its outline."""

from __future__ import annotations

import math
from dataclasses import dataclass

from flask import current_app, g, has_request_context
from geoalchemy2.shape import to_shape
from sqlalchemy import select

from ..extensions import db
from ..geo import boundary_from_file
from ..models import Municipality

# Where a map opens when the municipality has no outline yet (neither stored nor in
# RIADO_BOUNDARY_GEOJSON): Budapest, at a town's zoom.
FALLBACK_CENTRE = (47.4979, 19.0402)
FALLBACK_ZOOM = 13


def current_municipality() -> Municipality | None:
    """The municipality's record (there is one row, or none before set-up)."""
    return db.session.execute(select(Municipality).order_by(Municipality.id).limit(1)).scalar_one_or_none()


def boundary():
    """The municipality's outline as a shapely MultiPolygon: RIADO_BOUNDARY_GEOJSON if set, else
    the stored one; None without either. Read once per request."""
    cache = g if has_request_context() else None
    if cache is not None and "riado_boundary" in cache:
        return cache.riado_boundary
    path = current_app.config.get("RIADO_BOUNDARY_GEOJSON")
    if path:
        outline = boundary_from_file(path)
    else:
        stored = db.session.execute(select(Municipality.boundary).order_by(Municipality.id).limit(1)).scalar_one_or_none()
        outline = to_shape(stored) if stored is not None else None
    if cache is not None:
        cache.riado_boundary = outline
    return outline


@dataclass(frozen=True)
class MapView:
    """Where a map opens: ``lat``, ``lon`` and ``zoom``."""

    lat: float
    lon: float
    zoom: int

    def as_dict(self) -> dict:
        return {"lat": self.lat, "lon": self.lon, "zoom": self.zoom}


def map_view() -> MapView:
    """The first view of a map with nothing else to show: the middle of the municipality's
    outline at a zoom that shows about all of it (a district at 15, a town at 12), else
    FALLBACK_CENTRE."""
    outline = boundary()
    if outline is None:
        return MapView(*FALLBACK_CENTRE, FALLBACK_ZOOM)
    middle = outline.centroid if outline.centroid.within(outline) else outline.representative_point()
    minx, miny, maxx, maxy = outline.bounds
    span = max((maxx - minx) * math.cos(math.radians(middle.y)), maxy - miny, 1e-6)
    # At zoom z the world's 360° span 256·2^z pixels: about 1,000 pixels for the outline.
    zoom = min(max(math.floor(math.log2(360 / span)) + 2, 10), 17)
    return MapView(round(middle.y, 6), round(middle.x, 6), zoom)
