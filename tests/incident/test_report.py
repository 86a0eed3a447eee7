"""The situation report's drawing maths (incident/report.py), for any area: the size in hectares
agrees with the exact area on the sphere, the outline fits its box north up with the area's own
proportions, and the scale bar shows the longest round distance that fits."""

from __future__ import annotations

import math
import re

import pytest
from area_strategies import valid_polygons
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import MultiPolygon, Point, Polygon, box

from incident.geo import EARTH_RADIUS_M
from incident.report import SCALE_STEPS_M, area_outline, hectares, scale_bar

# Areas a municipality draws: within a district or a county, at Hungary's latitudes and beyond.
district_areas = st.one_of(
    valid_polygons(lon=19.05, lat=47.5),
    valid_polygons(lon=16.4, lat=48.2),
    valid_polygons(lon=21.6, lat=47.53),
)
sizes = st.tuples(st.integers(120, 1200), st.integers(120, 900), st.integers(0, 30))


def spherical_hectares(area) -> float:
    """The exact area on the sphere of the mean Earth radius of a polygon whose edges are
    straight in longitude and latitude (as GeoJSON's are): by Green's theorem, the integral of
    sin(latitude) along the rings, each edge integrated in closed form."""
    polygons = list(area.geoms) if isinstance(area, MultiPolygon) else [area]
    total = 0.0
    for polygon in polygons:
        for k, ring in enumerate([polygon.exterior, *polygon.interiors]):
            s = 0.0
            coords = [(math.radians(x), math.radians(y)) for x, y, *_ in ring.coords]
            for (x1, y1), (x2, y2) in zip(coords, coords[1:]):
                # (cos y1 - cos y2) / (y2 - y1), written so that it does not cancel when close
                half = (y2 - y1) / 2
                s += (x2 - x1) * math.sin((y1 + y2) / 2) * (math.sin(half) / half if half else 1.0)
            total += abs(s) if k == 0 else -abs(s)
    return total * EARTH_RADIUS_M**2 / 10_000


def numbers_of(path: str) -> list[tuple[float, float]]:
    values = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", path)]
    return list(zip(values[::2], values[1::2]))


@settings(max_examples=150, deadline=None)
@given(district_areas)
def test_hectares_agree_with_the_area_on_the_sphere(area):
    # A plane tangent at the area's middle latitude: within half a per cent of the sphere's exact
    # area for anything up to a degree across (the strategy's radius is at most half a degree).
    assert hectares(area) == pytest.approx(spherical_hectares(area), rel=5e-3)


def test_a_hectare_is_a_hundred_metres_square():
    lat = 47.5
    dlat = math.degrees(100 / EARTH_RADIUS_M)
    dlon = dlat / math.cos(math.radians(lat))
    square = box(19.05, lat - dlat / 2, 19.05 + dlon, lat + dlat / 2)
    assert hectares(square) == pytest.approx(1.0, rel=1e-3)


@settings(max_examples=150, deadline=None)
@given(district_areas, sizes, st.booleans(), st.data())
def test_the_outline_fits_its_box_north_up_with_the_areas_proportions(area, size, with_point, data):
    width, height, pad = size
    point = None
    if with_point:
        minx, miny, maxx, maxy = area.bounds
        point = (data.draw(st.floats(minx - 0.05, maxx + 0.05)), data.draw(st.floats(miny - 0.05, maxy + 0.05)))
    drawing = area_outline(area, point, width=width, height=height, pad=pad)
    assert drawing is not None
    # Nothing but numbers and the path letters reach the page.
    assert re.fullmatch(r"[MLZ0-9. \-]+", drawing["path"])
    polygons = list(area.geoms) if isinstance(area, MultiPolygon) else [area]
    assert drawing["path"].count("M") == sum(1 + len(p.interiors) for p in polygons)
    xy = numbers_of(drawing["path"])
    if point is not None:
        xy.append((float(drawing["point"]["x"]), float(drawing["point"]["y"])))
    # Inside the box with its padding (0.05 px of rounding either way).
    assert all(pad - 0.06 <= x <= width - pad + 0.06 and pad - 0.06 <= y <= height - pad + 0.06 for x, y in xy)
    # It fills the box along one side at least: the scale is the largest that fits.
    xs, ys = [x for x, _ in xy], [y for _, y in xy]
    assert max(xs) - min(xs) >= width - 2 * pad - 0.2 or max(ys) - min(ys) >= height - 2 * pad - 0.2
    # North up: the northernmost vertex is drawn highest, the southernmost lowest.
    ring = list(polygons[0].exterior.coords)[:-1]
    drawn = numbers_of(drawing["path"].split("Z")[0])[: len(ring)]
    north = max(range(len(ring)), key=lambda i: ring[i][1])
    south = min(range(len(ring)), key=lambda i: ring[i][1])
    assert drawn[north][1] <= min(y for _, y in drawn) + 0.06
    assert drawn[south][1] >= max(y for _, y in drawn) - 0.06
    # The area's own proportions: east-west over north-south in metres at its latitude.
    if point is None:
        minx, miny, maxx, maxy = area.bounds
        span_x = (maxx - minx) * math.cos(math.radians((miny + maxy) / 2))
        span_y = maxy - miny
        drawn_w, drawn_h = max(xs) - min(xs), max(ys) - min(ys)
        if drawn_w > 20 and drawn_h > 20:  # rounding to 0.1 px matters below that
            assert drawn_w / drawn_h == pytest.approx(span_x / span_y, rel=0.02)


def test_a_point_or_a_line_has_no_outline():
    assert area_outline(None, (19.05, 47.5)) is None
    sliver = Polygon([(19.05, 47.5), (19.06, 47.5), (19.07, 47.5)])  # no height
    assert area_outline(sliver, None) is None
    assert area_outline(Point(19.05, 47.5).buffer(0.001), None) is not None


@given(st.floats(1e2, 1e7), st.integers(40, 2000), st.integers(40, 2000), st.integers(0, 30))
def test_the_scale_bar_is_the_longest_round_distance_in_a_quarter_of_the_width(px_per_degree, width, height, pad):
    bar = scale_bar(px_per_degree, width, height, pad)
    metres_per_px = math.radians(1) * EARTH_RADIUS_M / px_per_degree
    fitting = [m for m in SCALE_STEPS_M if m / metres_per_px <= width / 4]
    if not fitting:
        assert bar is None
        return
    assert bar["metres"] in SCALE_STEPS_M
    length = float(bar["length"])
    assert length <= width / 4 + 0.05
    assert length == pytest.approx(bar["metres"] / metres_per_px, abs=0.05)
    longer = [m for m in SCALE_STEPS_M if m > bar["metres"]]
    assert not longer or longer[0] / metres_per_px > width / 4  # the next round distance would not fit
    assert (bar["x"], bar["y"]) == (pad, height - pad)
