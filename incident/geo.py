"""Geometry in and out (GeoJSON, RFC 7946: WGS84, longitude first) and the spatial queries
that differ per backend: nearest in metres, using the spatial index on both."""

from __future__ import annotations

import functools
import json
import math
import struct
from dataclasses import dataclass

from geoalchemy2.elements import WKBElement, WKTElement
import shapely
from geoalchemy2.shape import to_shape
from shapely.geometry import MultiPolygon, Point, Polygon, mapping, shape
from sqlalchemy import bindparam, column, func, literal_column, select, table, text

from flask_babel import lazy_gettext as _l

from .errors import FieldError, FieldErrors
from .validation import MAX_JSON_DEPTH, TOO_DEEP, json_depth

SRID = 4326
# The mean Earth radius (IUGG): the one sphere of the approximations (the situation report's
# local metres, the first phase of the SpatiaLite nearest search).
EARTH_RADIUS_M = 6_371_008.8
# Conservative metres per degree: the smallest on the ellipsoid, so a box of
# r metres in degrees always holds the whole circle of radius r.
METRES_PER_DEGREE_MIN = 110_574.0
# The most positions an affected area may have (a district's streets drawn by hand are hundreds).
MAX_AREA_VERTICES = 20_000


def point_from_geojson(value, field: str = "location") -> Point:
    """A validated shapely Point from a GeoJSON Point dict; FieldError naming ``field`` otherwise."""
    if not isinstance(value, dict) or value.get("type") != "Point":
        raise FieldError(field, _l('Must be a GeoJSON Point: {"type": "Point", "coordinates": [lon, lat]}.'))
    coords = value.get("coordinates")
    if (
        not isinstance(coords, (list, tuple))
        or len(coords) not in (2, 3)
        or not all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in coords)
    ):
        raise FieldError(field, _l("Point coordinates must be [longitude, latitude] numbers."))
    return point_from_lonlat(coords[0], coords[1], field)


def location_from_latlon(row: dict) -> dict | None:
    """A GeoJSON Point from ``latitude``/``longitude`` texts as people type them (a form, a CSV
    row; decimal comma allowed); None if both are empty; FieldErrors naming the one that is wrong."""
    lat, lon = (row.get("latitude") or "").strip(), (row.get("longitude") or "").strip()
    if not lat and not lon:
        return None
    errors = {}
    values = {}
    for key, typed in (("latitude", lat), ("longitude", lon)):
        if not typed:
            errors[key] = [str(_l("Give both latitude and longitude, or neither."))]
            continue
        try:
            values[key] = float(typed.replace(",", "."))
        except ValueError:
            errors[key] = [str(_l("Must be a number in degrees (e.g. 47.4966)."))]
    if errors:
        raise FieldErrors(errors)
    if not -90 <= values["latitude"] <= 90:
        raise FieldErrors({"latitude": [str(_l("Latitude must be between -90 and 90."))]})
    if not -180 <= values["longitude"] <= 180:
        raise FieldErrors({"longitude": [str(_l("Longitude must be between -180 and 180."))]})
    return {"type": "Point", "coordinates": [values["longitude"], values["latitude"]]}


def point_from_lonlat(lon, lat, field: str = "location") -> Point:
    """A validated Point from longitude and latitude."""
    try:
        lon, lat = float(lon), float(lat)
    except (TypeError, ValueError, OverflowError):  # OverflowError: a JSON integer of 400 digits
        raise FieldError(field, _l("Longitude and latitude must be numbers.")) from None
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise FieldError(field, _l("Longitude and latitude must be finite numbers."))
    if not -180 <= lon <= 180:
        raise FieldError(field, _l("Longitude must be between -180 and 180 (GeoJSON puts longitude first)."))
    if not -90 <= lat <= 90:
        raise FieldError(field, _l("Latitude must be between -90 and 90 (GeoJSON puts longitude first)."))
    return Point(lon, lat)


def to_element(geom) -> WKBElement | None:
    """A shapely geometry as a value for a Geometry column (SRID 4326, two dimensions)."""
    if geom is None:
        return None
    return WKBElement(shapely.to_wkb(geom, output_dimension=2), srid=SRID)


def same_geometry(stored, geom) -> bool:
    """Whether a stored geometry equals a shapely one (both may be None)."""
    if stored is None or geom is None:
        return stored is None and geom is None
    return to_shape(stored).equals_exact(geom, 0.0)


def to_geojson(value) -> dict | None:
    """A stored geometry (or shapely geometry) as a GeoJSON dict, longitude first."""
    if value is None:
        return None
    if isinstance(value, WKBElement):
        coordinates = _wkb_point(value.data)
        if coordinates is not None:
            return {"type": "Point", "coordinates": coordinates}
    geom = to_shape(value) if isinstance(value, (WKBElement, WKTElement)) else value
    return mapping(geom)


_POINT = struct.Struct("<dd")


def _wkb_point(data) -> tuple[float, float] | None:
    """(x, y) of a two-dimensional little-endian WKB or EWKB point, as bytes or hex (what the
    backends return for a stored point), read without building a shapely geometry; None for
    anything else (which takes the general path)."""
    if isinstance(data, str):  # hex (SpatiaLite's results)
        if len(data) not in (42, 50):
            return None
        data = bytes.fromhex(data)
    else:
        data = bytes(data)
    if len(data) == 21 and data[:5] == b"\x01\x01\x00\x00\x00":
        return _POINT.unpack_from(data, 5)
    if len(data) == 25 and data[:5] == b"\x01\x01\x00\x00\x20":
        return _POINT.unpack_from(data, 9)
    return None


def to_shapely(value):
    return None if value is None else to_shape(value)


def lonlat(value) -> tuple[float, float] | None:
    """(lon, lat) of a stored point."""
    if value is None:
        return None
    p = to_shape(value)
    return p.x, p.y


# Affected areas (Polygon or MultiPolygon)


def area_from_geojson(value, field: str = "area"):
    """A valid shapely Polygon or MultiPolygon from GeoJSON; FieldError naming ``field`` otherwise."""
    if not isinstance(value, dict) or value.get("type") not in ("Polygon", "MultiPolygon"):
        raise FieldError(field, _l("Must be a GeoJSON Polygon or MultiPolygon."))
    if json_depth(value) > MAX_JSON_DEPTH:
        raise FieldError(field, TOO_DEEP)
    try:
        geom = shape(value)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, OverflowError, shapely.errors.GEOSException):
        raise FieldError(field, _l("The coordinates are not a polygon: rings of [longitude, latitude] pairs.")) from None
    if not isinstance(geom, (Polygon, MultiPolygon)) or geom.is_empty:
        raise FieldError(field, _l("The polygon is empty."))
    if shapely.get_num_coordinates(geom) > MAX_AREA_VERTICES:
        raise FieldError(field, _l("The polygon has too many points (at most %(n)s).", n=MAX_AREA_VERTICES))
    minx, miny, maxx, maxy = geom.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise FieldError(field, _l("Coordinates must be [longitude, latitude] in degrees (longitude first)."))
    for ring in _rings(value):
        if len(ring) < 4 or list(ring[0]) != list(ring[-1]):
            raise FieldError(field, _l("Each ring must have at least four positions and end where it starts."))
    if not geom.is_valid:
        raise FieldError(field, _l("The polygon is not valid: %(reason)s.", reason=shapely.is_valid_reason(geom)))
    return geom


def _rings(value: dict):
    polygons = [value["coordinates"]] if value["type"] == "Polygon" else value["coordinates"]
    for polygon in polygons:
        yield from polygon


def area_text(stored) -> str:
    """A stored area as GeoJSON text (for a form's text field); empty when there is none."""
    value = to_geojson(stored)
    return "" if value is None else json.dumps(value)


def parse_area_text(text: str | None) -> tuple[dict | None, str | None]:
    """An area typed, pasted or drawn, as GeoJSON text: (the value or None, a message if it is
    not JSON at all). Features and FeatureCollections give their geometry (``drawn_area``);
    ``area_from_geojson`` then checks that it is a valid Polygon or MultiPolygon."""
    text = (text or "").strip()
    if not text:
        return None, None
    try:
        value = json.loads(text)
    except RecursionError:
        return None, str(TOO_DEEP)
    except ValueError as exc:
        return None, str(_l("This is not GeoJSON text: check the brackets, commas and quotes near line "
                            "%(line)s, column %(column)s.", line=getattr(exc, "lineno", 1),
                            column=getattr(exc, "colno", 1)))
    return drawn_area(value), None


def drawn_area(value):
    """What a drawing tool saves or a user pastes, as one area value: a Feature gives its
    geometry; a FeatureCollection gives None when it has no shape, the geometry of its one shape,
    or the union of its polygons (shapes drawn so that they overlap or touch become one outline).
    Anything else is handed on as it is, for ``area_from_geojson`` to refuse with its message."""
    if isinstance(value, dict) and value.get("type") == "FeatureCollection":
        features = value.get("features")
        if not isinstance(features, list):
            return value
        geometries = [f.get("geometry") if isinstance(f, dict) and f.get("type") == "Feature" else f for f in features]
        if not geometries:
            return None
        if len(geometries) == 1:
            return geometries[0]
        parts = []
        for geometry in geometries:
            try:
                parts.append(area_from_geojson(geometry))
            except FieldError:
                return geometry  # refused with its own message where the area is checked
        return json.loads(shapely.to_geojson(shapely.unary_union(parts)))
    if isinstance(value, dict) and value.get("type") == "Feature":
        return value.get("geometry")
    return value


@dataclass(frozen=True)
class Nearest:
    id: int
    distance_m: float


def _box(lon: float, lat: float, radius_m: float) -> tuple[float, float, float, float]:
    """A lon/lat box holding every point within ``radius_m`` (geodesic) of (lon, lat)."""
    dlat = radius_m / METRES_PER_DEGREE_MIN
    far_lat = min(abs(lat) + dlat, 90.0)
    cos_far = math.cos(math.radians(far_lat))
    if far_lat >= 89.9 or cos_far * 180 * METRES_PER_DEGREE_MIN <= radius_m:
        return -180.0, max(lat - dlat, -90.0), 180.0, min(lat + dlat, 90.0)
    dlon = radius_m / (METRES_PER_DEGREE_MIN * cos_far)
    return lon - dlon, max(lat - dlat, -90.0), lon + dlon, min(lat + dlat, 90.0)


def nearest(
    model,
    lon: float,
    lat: float,
    limit: int,
    within_m: float | None = None,
    where=(),
    geometry_column: str = "location",
    session=None,
) -> list[Nearest]:
    """The ``limit`` rows of ``model`` nearest to (lon, lat) that satisfy ``where``, nearest first,
    with geodesic distances in metres; only those within ``within_m`` if given.

    PostGIS: KNN (``<->``) on a GiST index over ``location::geography``.
    SpatiaLite: the R*Tree searched in growing boxes until the k-th nearest is proven."""
    from .extensions import db

    session = session or db.session
    if session.get_bind().dialect.name == "postgresql":
        return _nearest_postgis(session, model, lon, lat, limit, within_m, where, geometry_column)
    return _nearest_spatialite(session, model, lon, lat, limit, within_m, where, geometry_column)


def _nearest_postgis(session, model, lon, lat, limit, within_m, where, geometry_column):
    ref = text("ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography").bindparams(lon=lon, lat=lat)
    # Matches the expression index ``USING gist ((location::geography))`` of the migration.
    geog = literal_column(f"{model.__tablename__}.{geometry_column}::geography")
    query = select(model.id, func.ST_Distance(geog, ref).label("d")).where(*where)
    if within_m is not None:
        query = query.where(func.ST_DWithin(geog, ref, within_m))
    query = query.order_by(geog.op("<->")(ref)).limit(limit)
    rows = session.execute(query).all()
    # <-> orders on the sphere, ST_Distance measures on the spheroid: re-sort the few rows.
    return sorted((Nearest(r.id, float(r.d)) for r in rows), key=lambda n: (n.distance_m, n.id))


# Phase 1 of the SpatiaLite search works in an equirectangular approximation on the sphere;
# it is within a few per cent of the geodesic distance below APPROX_TRUSTED_M.
SPHERE_METRES_PER_DEGREE = math.radians(1) * EARTH_RADIUS_M  # 111,195 m
APPROX_TRUSTED_M = 100_000.0
APPROX_MARGIN = 1.05
APPROX_SLACK_M = 10.0  # the R*Tree keeps float32 bounds: about a metre of rounding
START_RADIUS_M = 500.0


def _approx_box(lon, lat, radius_m, coslat):
    dlat = radius_m / SPHERE_METRES_PER_DEGREE
    dlon = radius_m / (SPHERE_METRES_PER_DEGREE * coslat)
    if dlon >= 180:
        return -180.0, max(lat - dlat, -90.0), 180.0, min(lat + dlat, 90.0)
    return lon - dlon, max(lat - dlat, -90.0), lon + dlon, min(lat + dlat, 90.0)


@dataclass(frozen=True)
class _SpatialitePlan:
    """The statements of one model's nearest search, built once: a statement built anew costs
    about as much as running it (its construction and its cache key), and every nearest search
    runs two to four of them."""

    phase1: object  # the approximate squared distance of the nearest k within the box
    phase2_all: object  # every match measured exactly
    phase2_box: object  # the matches within the box and the reach measured exactly


@functools.cache
def _spatialite_plan(model, geometry_column: str) -> _SpatialitePlan:
    idx = table(
        f"idx_{model.__tablename__}_{geometry_column}",
        column("pkid"), column("xmin"), column("xmax"), column("ymin"), column("ymax"),
    )
    in_box = (
        idx.c.xmin <= bindparam("maxx"), idx.c.xmax >= bindparam("minx"),
        idx.c.ymin <= bindparam("maxy"), idx.c.ymax >= bindparam("miny"),
    )
    dx = (idx.c.xmin - bindparam("lon")) * bindparam("coslat")
    dy = idx.c.ymin - bindparam("lat")
    approx_sq = (dx * dx + dy * dy).label("a")
    phase1 = (
        select(approx_sq)
        .select_from(idx.join(model.__table__, idx.c.pkid == model.id))
        .where(*in_box)
        .order_by(approx_sq)
        .limit(bindparam("k"))
    )
    distance = func.ST_Distance(
        getattr(model, geometry_column), func.MakePoint(bindparam("lon"), bindparam("lat"), SRID), 1
    ).label("d")
    phase2_all = select(model.id, distance).order_by(distance, model.id).limit(bindparam("k"))
    phase2_box = (
        select(model.id, distance)
        .join(idx, idx.c.pkid == model.id)
        .where(*in_box, distance <= bindparam("reach"))
        .order_by(distance, model.id)
        .limit(bindparam("k"))
    )
    return _SpatialitePlan(phase1, phase2_all, phase2_box)


def _nearest_spatialite(session, model, lon, lat, limit, within_m, where, geometry_column):
    """Two phases on the R*Tree (no geometry is parsed in the first):
    1. grow a box until it holds ``limit`` matches nearer (approximately) than its own radius;
    2. measure exactly every match within that radius plus a margin, which must hold the true
       ``limit`` nearest, and keep the nearest.
    The statements are built once per model (``_spatialite_plan``; a filter adds its WHERE) and
    re-run with bind parameters as the box grows."""
    plan = _spatialite_plan(model, geometry_column)
    phase1 = plan.phase1.where(*where) if where else plan.phase1
    conn = session.connection()
    coslat = max(math.cos(math.radians(lat)), 1e-9)
    params = {"lon": lon, "lat": lat, "coslat": coslat, "k": limit}

    # Phase 1: the approximate k-th nearest distance.
    radius = min(START_RADIUS_M, within_m) if within_m is not None else START_RADIUS_M
    reach = None
    while True:
        box = _approx_box(lon, lat, radius, coslat)
        rows = conn.execute(phase1, {**params, **dict(zip(("minx", "miny", "maxx", "maxy"), box))}).all()
        world = box[0] <= -180 and box[2] >= 180 and box[1] <= -90 and box[3] >= 90
        if len(rows) == limit:
            kth = math.sqrt(rows[-1].a) * SPHERE_METRES_PER_DEGREE
            if kth <= radius:
                reach = kth * APPROX_MARGIN + APPROX_SLACK_M if kth < APPROX_TRUSTED_M else None
                break
        if world or (within_m is not None and radius >= within_m):
            reach = within_m  # fewer than `limit` matches: measure every one of them
            break
        radius *= 4
        if within_m is not None:
            radius = min(radius, within_m)

    # Phase 2: exact metres for every match within reach (all matches if reach is unknown).
    if within_m is not None:
        reach = within_m if reach is None else min(reach, within_m)
    phase2 = plan.phase2_all if reach is None else plan.phase2_box
    if reach is not None:
        params.update(zip(("minx", "miny", "maxx", "maxy"), _box(lon, lat, reach)), reach=reach)
    rows = conn.execute(phase2.where(*where) if where else phase2, params).all()
    return [Nearest(r.id, float(r.d)) for r in rows if r.d is not None]


def distances_m(outline, geometries, session=None) -> list[float]:
    """Geodesic distances in metres from ``outline`` to each of ``geometries`` (shapely, WGS84),
    0 where they touch or overlap: one statement, measured by the database on the ellipsoid
    (PostGIS: ``geography``; SpatiaLite: ``ST_Distance(a, b, 1)``), so that both backends agree."""
    from .extensions import db

    session = session or db.session
    geometries = list(geometries)
    if not geometries:
        return []
    if session.get_bind().dialect.name == "postgresql":
        measure = "ST_Distance(ST_GeomFromWKB(:outline, 4326)::geography, ST_GeomFromWKB(:g{i}, 4326)::geography)"
    else:
        measure = "ST_Distance(GeomFromWKB(:outline, 4326), GeomFromWKB(:g{i}, 4326), 1)"
    params = {"outline": shapely.to_wkb(outline, output_dimension=2)}
    params.update({f"g{i}": shapely.to_wkb(geom, output_dimension=2) for i, geom in enumerate(geometries)})
    statement = "SELECT " + ", ".join(measure.format(i=i) for i in range(len(geometries)))
    row = session.execute(text(statement), params).one()
    return [float(value) for value in row]


def swapped(geom):
    """``geom`` with each position's two numbers swapped (latitude taken for longitude and back),
    or None when the swapped numbers are no position (a longitude beyond ±90 as a latitude)."""
    minx, _miny, maxx, _maxy = geom.bounds
    if minx < -90 or maxx > 90:
        return None
    return shapely.transform(geom, lambda coords: coords[:, ::-1])


def boundary_from_file(path) -> "shapely.MultiPolygon":
    """A municipality outline from a GeoJSON file (a Polygon or MultiPolygon, bare or in a Feature
    or FeatureCollection), as one valid MultiPolygon."""
    import json
    from pathlib import Path

    from shapely.geometry import MultiPolygon, Polygon
    from shapely.ops import unary_union

    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if data.get("type") == "FeatureCollection":
        geoms = [shape(f["geometry"]) for f in data["features"] if f.get("geometry")]
    elif data.get("type") == "Feature":
        geoms = [shape(data["geometry"])]
    else:
        geoms = [shape(data)]
    merged = unary_union([g for g in geoms if isinstance(g, (Polygon, MultiPolygon))])
    if merged.is_empty:
        raise ValueError(f"{path}: no Polygon or MultiPolygon in it")
    return merged if isinstance(merged, MultiPolygon) else MultiPolygon([merged])
