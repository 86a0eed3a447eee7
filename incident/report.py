"""The situation report's drawing maths, pure (no I/O): an affected area's size in hectares and
its outline as SVG path data with a scale bar, from shapely geometry in WGS84 degrees."""

from __future__ import annotations

import math

import shapely
from shapely.geometry import MultiPolygon, Polygon

from .geo import EARTH_RADIUS_M
# The round distances a scale bar may show.
SCALE_STEPS_M = (10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000)


def local_metres(geom, lat0: float):
    """``geom`` in metres on a plane tangent at latitude ``lat0`` (good for a district)."""
    kx = math.radians(1) * EARTH_RADIUS_M * math.cos(math.radians(lat0))
    ky = math.radians(1) * EARTH_RADIUS_M
    return shapely.transform(geom, lambda coords: coords * (kx, ky))


def hectares(area) -> float:
    """The area's size in hectares."""
    _minx, miny, _maxx, maxy = area.bounds
    return local_metres(area, (miny + maxy) / 2).area / 10_000


def scale_bar(px_per_degree: float, width: int, height: int, pad: int) -> dict | None:
    """The longest round distance (10 m … 50 km) that fits a quarter of ``width`` pixels, at
    ``px_per_degree`` (of latitude): its position and length in pixels; None if none fits."""
    metres_per_px = math.radians(1) * EARTH_RADIUS_M / px_per_degree
    fitting = [m for m in SCALE_STEPS_M if m / metres_per_px <= width / 4]
    if not fitting:
        return None
    metres = fitting[-1]
    return {"x": pad, "y": height - pad, "length": f"{metres / metres_per_px:.1f}", "metres": metres}


def area_outline(area, point, width: int = 420, height: int = 280, pad: int = 14) -> dict | None:
    """An SVG outline of the area and the point (lon, lat): path data and coordinates made of
    numbers only, in a ``width`` × ``height`` box, north up, with the area's own proportions."""
    if area is None:
        return None
    minx, miny, maxx, maxy = area.bounds
    if point is not None:
        minx, maxx = min(minx, point[0]), max(maxx, point[0])
        miny, maxy = min(miny, point[1]), max(maxy, point[1])
    kx = math.cos(math.radians((miny + maxy) / 2))
    span_x, span_y = (maxx - minx) * kx, maxy - miny
    if span_x <= 0 or span_y <= 0:
        return None
    scale = min((width - 2 * pad) / span_x, (height - 2 * pad) / span_y)
    off_x = (width - span_x * scale) / 2
    off_y = (height - span_y * scale) / 2

    def xy(lon: float, lat: float) -> tuple[float, float]:
        return off_x + (float(lon) - minx) * kx * scale, off_y + (maxy - float(lat)) * scale

    polygons = list(area.geoms) if isinstance(area, MultiPolygon) else [area] if isinstance(area, Polygon) else []
    parts = []
    for polygon in polygons:
        for ring in [polygon.exterior, *polygon.interiors]:
            parts.append("M" + " L".join("%.1f %.1f" % xy(lon, lat) for lon, lat, *_ in ring.coords) + " Z")
    marker = None
    if point is not None:
        x, y = xy(*point)
        marker = {"x": f"{x:.1f}", "y": f"{y:.1f}"}
    return {"width": width, "height": height, "path": " ".join(parts), "point": marker,
            "scale": scale_bar(scale, width, height, pad)}
