"""Hypothesis strategies for affected areas: valid shapely Polygons (some with a hole) and
MultiPolygons anywhere on the globe, and rings that cross themselves."""

from __future__ import annotations

import math

import shapely
from hypothesis import strategies as st
from shapely.geometry import MultiPolygon, Polygon


@st.composite
def star_ring(draw, lon=None, lat=None, min_vertices=3, max_vertices=24):
    """A ring of vertices sorted by angle around a centre, at random distances (up to half a
    degree): usually simple, and any shape from a sliver to a spiky star."""
    lon = draw(st.floats(-179.0, 179.0)) if lon is None else lon
    lat = draw(st.floats(-89.0, 89.0)) if lat is None else lat
    radius = draw(st.floats(1e-4, 0.5))
    n = draw(st.integers(min_vertices, max_vertices))
    angles = sorted(draw(st.lists(st.floats(0, 2 * math.pi, exclude_max=True), min_size=n, max_size=n, unique=True)))
    factors = draw(st.lists(st.floats(0.3, 1.0), min_size=n, max_size=n))
    return [(lon + radius * f * math.cos(a), lat + radius * f * math.sin(a)) for a, f in zip(angles, factors)]


@st.composite
def valid_polygons(draw, lon=None, lat=None):
    """A valid Polygon, with a hole around its centre when one fits."""
    ring = draw(star_ring(lon, lat))
    shell = Polygon(ring)
    if not shell.is_valid or shell.area == 0:
        return draw(st.nothing())
    if draw(st.booleans()):
        hole = shell.centroid.buffer(math.sqrt(shell.area) / 20, quad_segs=2)
        if shell.contains(hole.buffer(math.sqrt(shell.area) / 50)):
            with_hole = Polygon(shell.exterior.coords, [hole.exterior.coords])
            if with_hole.is_valid:
                return with_hole
    return shell


@st.composite
def valid_multipolygons(draw):
    """Two or three valid Polygons a degree and a half apart (so never touching)."""
    lon = draw(st.floats(-179.0, 175.0))
    lat = draw(st.floats(-89.0, 89.0))
    count = draw(st.integers(2, 3))
    parts = [draw(valid_polygons(lon + 1.5 * k, lat)) for k in range(count)]
    multi = MultiPolygon(parts)
    return multi if multi.is_valid else draw(st.nothing())


valid_areas = st.one_of(valid_polygons(), valid_multipolygons())


@st.composite
def self_intersecting_rings(draw):
    """A closed ring (as GeoJSON positions) that crosses itself: a simple ring with two of its
    vertices swapped, kept only when GEOS finds a self-intersection in it."""
    ring = draw(star_ring(min_vertices=4, max_vertices=16))
    i = draw(st.integers(0, len(ring) - 3))
    j = draw(st.integers(i + 2, len(ring) - 1))
    ring[i], ring[j] = ring[j], ring[i]
    closed = [list(p) for p in ring] + [list(ring[0])]
    reason = shapely.is_valid_reason(Polygon(closed))
    if "Self-intersection" not in reason:
        return draw(st.nothing())
    return closed


def point_inside(area) -> dict:
    """A GeoJSON Point inside (or on) the area: the incident's location."""
    p = area.representative_point()
    return {"type": "Point", "coordinates": [p.x, p.y]}

