"""The municipality the service is run for: its record and its outline."""

from __future__ import annotations

import math
from dataclasses import dataclass

from flask import current_app, g, has_request_context
from flask_babel import format_decimal
from flask_babel import lazy_gettext as _l
from geoalchemy2.shape import to_shape
from sqlalchemy import select

from ..config import DEFAULT_MAX_DISTANCE_KM
from ..extensions import db
from ..geo import boundary_from_file, distances_m, same_geometry, swapped
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


# A place far from the municipality


# The flag (API) and checkbox (forms) with which a user says that a far place is right.
CONFIRM_FAR = "confirm_far"
FAR_TEXT = {
    "location": _l("This place is %(distance)s km from the municipality (more than %(limit)s km)."),
    "area": _l("This area is %(distance)s km from the municipality (more than %(limit)s km)."),
}
SWAPPED_INSIDE = _l("Latitude and longitude look swapped: the other way round it lies inside the municipality.")
SWAPPED_NEAR = _l("Latitude and longitude look swapped: the other way round it is %(distance)s km from the "
                  "municipality.")
CHECK_COORDINATES = _l("Check the coordinates: are latitude and longitude swapped (GeoJSON puts longitude first)?")
CONFIRM_TEXT = _l("If the place is right, confirm that it is far from the municipality and save again.")


def max_distance_m() -> float:
    """How far from the outline a place may lie without being confirmed (RIADO_MAX_DISTANCE_KM)."""
    return float(current_app.config.get("RIADO_MAX_DISTANCE_KM", DEFAULT_MAX_DISTANCE_KM)) * 1000


def _km(metres: float) -> str:
    km = metres / 1000
    return format_decimal(round(km, 1) if km < 100 else round(km))


def far_message(geom, field: str) -> str | None:
    """Why ``geom`` (the value of ``field``: ``location`` or ``area``) is refused: it lies more
    than RIADO_MAX_DISTANCE_KM from the municipality's outline, most often because latitude and
    longitude were swapped (then said, when the swapped place is near). None when it is near
    enough, or when there is no outline to measure from."""
    outline = boundary()
    if outline is None or outline.intersects(geom):
        return None
    limit = max_distance_m()
    other = swapped(geom)
    distance, *swapped_distance = distances_m(outline, [geom] + ([other] if other is not None else []))
    if distance <= limit:
        return None
    parts = [str(FAR_TEXT.get(field, FAR_TEXT["location"])) % {"distance": _km(distance), "limit": _km(limit)}]
    if swapped_distance and swapped_distance[0] == 0:
        parts.append(str(SWAPPED_INSIDE))
    elif swapped_distance and swapped_distance[0] <= limit:
        parts.append(str(SWAPPED_NEAR) % {"distance": _km(swapped_distance[0])})
    else:
        parts.append(str(CHECK_COORDINATES))
    parts.append(str(CONFIRM_TEXT))
    return " ".join(parts)


def refuse_far(c, fields=("location",), current=None) -> None:
    """In the Cleaner ``c``, refuse each of ``fields`` whose clean geometry lies far from the
    municipality (``far_message``), unless the input says ``confirm_far`` (read here, never
    stored) or the geometry is the one ``current`` has stored already (confirmed before)."""
    c.boolean(CONFIRM_FAR, default=False)
    if c.out.pop(CONFIRM_FAR, False):
        return
    for field in fields:
        geom = c.out.get(field)
        if geom is None or field in c.errors:
            continue
        if current is not None and same_geometry(getattr(current, field), geom):
            continue
        message = far_message(geom, field)
        if message:
            c.error(field, message)
            c.confirm = CONFIRM_FAR
