"""The map layers as GeoJSON (RFC 7946): WGS84, longitude first, no ``crs`` member, coordinates
rounded to six decimals (about 10 cm).

Each layer is one SQL statement over plain columns (no ORM objects, no relationship loading):
points come out as ST_X/ST_Y, areas as the database's own GeoJSON text; the features are then
encoded in batches by ``feature_collection``, a generator the response streams.

Incident points and incident areas are two layers (two endpoints) because a GIS such as QGIS
loads one geometry type per layer: ``incidents.geojson`` holds one Point per incident and
``incident-areas.geojson`` one Polygon or MultiPolygon per incident that has an affected area,
with the same properties (and the point in ``properties.point``).
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator

import numpy as np
import shapely
from flask import url_for
from flask_babel import force_locale
from shapely.geometry import mapping
from sqlalchemy import bindparam, column, func, select, table

from incident.extensions import db
from incident.labels import INCIDENT_KIND_LABELS, RESOURCE_STATUS_LABELS, SEVERITY_LABELS, STATUS_LABELS
from incident.models import Assignment, Incident, Resource, ResourceKind
from incident.operations import incidents as incident_ops
from incident.operations import municipality as municipality_ops
from incident.operations import resources as resource_ops

PRECISION = 6
BATCH = 1000
SHELTER = resource_ops.SHELTER


def _round(value: float) -> float:
    return round(float(value), PRECISION)


def _url_pattern(endpoint: str, **values) -> tuple[str, str]:
    """``url_for`` once, with a sentinel id: (before, after) around where the id goes."""
    sentinel = 987654321
    url = url_for(endpoint, **{key: sentinel for key in values})
    before, _, after = url.partition(str(sentinel))
    return before, after


def _words(table_: dict, lang: str) -> dict[str, str]:
    with force_locale(lang):
        return {code: str(word) for code, word in table_.items()}


def resource_status_words(lang: str) -> dict[str, str]:
    return _words(RESOURCE_STATUS_LABELS, lang)


# Incidents


def incident_where(status=None, drill=None, kind=None):
    """The incident list's filters (``status`` "all" for every status; none given: not closed)."""
    where = incident_ops.incidents_query(status if status not in (None, "all") else None, drill, kind).whereclause
    clauses = [] if where is None else [where]
    if status is None:
        clauses.append(Incident.status != "closed")
    return clauses


def _incident_properties(row, lang_words: dict, url: tuple[str, str]) -> dict:
    kinds, severities, statuses = lang_words["kind"], lang_words["severity"], lang_words["status"]
    number = f"{row.year}-{row.serial:04d}"
    return {
        "id": row.id,
        "number": number,
        "title": row.title,
        "name": row.title,
        "kind": row.kind,
        "kind_label": kinds.get(row.kind, row.kind),
        "severity": row.severity,
        "severity_label": severities.get(row.severity, row.severity),
        "status": row.status,
        "status_label": statuses.get(row.status, row.status),
        "drill": bool(row.drill),
        "url": f"{url[0]}{row.id}{url[1]}",
    }


def _incident_words(lang: str) -> dict:
    return {"kind": _words(INCIDENT_KIND_LABELS, lang), "severity": _words(SEVERITY_LABELS, lang),
            "status": _words(STATUS_LABELS, lang)}


INCIDENT_COLUMNS = (Incident.id, Incident.year, Incident.serial, Incident.title, Incident.kind,
                    Incident.severity, Incident.status, Incident.drill)


def incident_features(lang: str = "en", **filters) -> list[dict]:
    """One Point feature per incident matching ``filters`` (``incident_where``)."""
    query = (
        select(*INCIDENT_COLUMNS, func.ST_X(Incident.location).label("x"), func.ST_Y(Incident.location).label("y"),
               Incident.area.is_not(None).label("has_area"))
        .where(*incident_where(**filters))
        .order_by(Incident.id)
    )
    words = _incident_words(lang)
    url = _url_pattern("incidents.detail", incident_id=0)
    features = []
    for row in db.session.execute(query):
        properties = _incident_properties(row, words, url)
        properties["has_area"] = bool(row.has_area)
        features.append({
            "type": "Feature",
            "id": row.id,
            "geometry": {"type": "Point", "coordinates": [_round(row.x), _round(row.y)]},
            "properties": properties,
        })
    return features


def incident_area_features(lang: str = "en", **filters) -> list[dict]:
    """One Polygon/MultiPolygon feature per incident with an affected area (``properties.point``
    is the incident's point)."""
    query = (
        select(*INCIDENT_COLUMNS, func.ST_X(Incident.location).label("x"), func.ST_Y(Incident.location).label("y"),
               func.ST_AsGeoJSON(Incident.area, PRECISION).label("area"))
        .where(*incident_where(**filters), Incident.area.is_not(None))
        .order_by(Incident.id)
    )
    words = _incident_words(lang)
    url = _url_pattern("incidents.detail", incident_id=0)
    features = []
    for row in db.session.execute(query):
        geometry = json.loads(row.area)
        geometry.pop("crs", None)
        geometry.pop("bbox", None)
        properties = _incident_properties(row, words, url)
        properties["point"] = [_round(row.x), _round(row.y)]
        features.append({"type": "Feature", "id": row.id, "geometry": geometry, "properties": properties})
    return features


# Resources


class BBoxError(ValueError):
    """``bbox`` is not minlon,minlat,maxlon,maxlat."""


def parse_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    if text is None or not text.strip():
        return None
    parts = text.split(",")
    if len(parts) != 4:
        raise BBoxError("Must be minlon,minlat,maxlon,maxlat (four numbers, longitude first).")
    try:
        minx, miny, maxx, maxy = (float(p) for p in parts)
    except ValueError:
        raise BBoxError("Must be minlon,minlat,maxlon,maxlat (four numbers, longitude first).") from None
    if not all(np.isfinite(v) for v in (minx, miny, maxx, maxy)):
        raise BBoxError("The numbers must be finite.")
    if not (-180 <= minx <= maxx <= 180):
        raise BBoxError("Longitudes must be between -180 and 180, the smaller first.")
    if not (-90 <= miny <= maxy <= 90):
        raise BBoxError("Latitudes must be between -90 and 90, the smaller first.")
    return minx, miny, maxx, maxy


def _bbox_clauses(bbox) -> list:
    """Resources in the box, found through the spatial index on both backends."""
    minx, miny, maxx, maxy = bbox
    x, y = func.ST_X(Resource.location), func.ST_Y(Resource.location)
    exact = [x >= minx, x <= maxx, y >= miny, y <= maxy]
    if db.session.get_bind().dialect.name == "postgresql":
        envelope = func.ST_MakeEnvelope(minx, miny, maxx, maxy, 4326)
        return [Resource.location.op("&&")(envelope), *exact]
    idx = table("idx_resources_location", column("pkid"), column("xmin"), column("xmax"), column("ymin"), column("ymax"))
    in_box = select(idx.c.pkid).where(
        idx.c.xmin <= bindparam("bb_maxx", maxx), idx.c.xmax >= bindparam("bb_minx", minx),
        idx.c.ymin <= bindparam("bb_maxy", maxy), idx.c.ymax >= bindparam("bb_miny", miny),
    )
    return [Resource.id.in_(in_box), *exact]


def resource_features(lang: str = "en", kind=None, status=None, q=None, bbox=None) -> list[dict]:
    """One Point feature per resource, in one statement (and one for the open assignments): what
    it is, how much of it is available, for a shelter its capacity and free capacity (persons),
    and the incidents it is deployed to now (``assigned_to``, only where it is). (Building the
    JSON in the database instead was no faster: slower on PostgreSQL.)"""
    where = resource_ops.resources_query(kind, status, q).whereclause
    clauses = [] if where is None else [where]
    if bbox is not None:
        clauses.extend(_bbox_clauses(bbox))
    kind_label = ResourceKind.label_hu if lang == "hu" else ResourceKind.label_en
    query = (
        select(
            Resource.id, Resource.name, Resource.kind, kind_label, resource_ops.effective_status_expr(),
            Resource.quantity, Resource.unit,
            Resource.capacity, resource_ops.available_quantity_expr(),
            func.ST_X(Resource.location), func.ST_Y(Resource.location),
        )
        .select_from(Resource)
        .outerjoin(ResourceKind, ResourceKind.code == Resource.kind)
        .where(*clauses)
        .order_by(Resource.id)
    )
    statuses = resource_status_words(lang)
    before, after = _url_pattern("registry.resources.detail", resource_id=0)
    incident_before, incident_after = _url_pattern("incidents.detail", incident_id=0)
    deployed = resource_ops.assigned_to()  # the open assignments: a few, whatever the register's size
    features = []
    append = features.append
    # Plain tuples, no ORM objects: 10,000 rows become features in a few tens of milliseconds.
    for id_, name, code, word, state, quantity, unit, capacity, available, x, y in db.session.execute(query):
        available = int(available or 0)
        properties = {
            "id": id_, "name": name, "kind": code, "kind_label": word or code,
            "status": state, "status_label": statuses.get(state, state),
            "quantity": quantity, "unit": unit or "", "available_quantity": available,
            "url": f"{before}{id_}{after}",
        }
        if code == SHELTER:
            properties["capacity"] = capacity
            properties["free_capacity"] = available
        if id_ in deployed:
            properties["assigned_to"] = [
                {"number": a["number"], "title": a["title"], "quantity": a["quantity"], "drill": a["drill"],
                 "url": f"{incident_before}{a['incident_id']}{incident_after}"}
                for a in deployed[id_]]
        append({"type": "Feature", "id": id_,
                "geometry": {"type": "Point", "coordinates": [round(x, PRECISION), round(y, PRECISION)]},
                "properties": properties})
    return features


# The encoded resource layer is kept until the data it shows change: a wall map asks for it every
# few seconds, and 10,000 resources take a few hundred milliseconds to read and encode.


def resources_fingerprint() -> tuple:
    """What the resource layer depends on, summed up in three small aggregate queries: every
    insert, update (the ORM advances ``version``) and delete of a resource, every assignment and
    release, every new kind, every change of an incident (named by the open assignments) changes it. Read before the layer, so a write in between only costs
    one more encoding."""
    resources = db.session.execute(
        select(func.count(), func.max(Resource.id), func.sum(Resource.version), func.max(Resource.updated_at))
    ).one()
    assignments = db.session.execute(
        select(func.count(), func.max(Assignment.id), func.count(Assignment.released_at), func.sum(Assignment.version))
    ).one()
    kinds = db.session.execute(
        select(ResourceKind.code, ResourceKind.label_hu, ResourceKind.label_en).order_by(ResourceKind.code)
    ).all()
    # The open assignments name their incident (number, title, drill): a renamed one changes it.
    incidents = db.session.execute(select(func.count(), func.sum(Incident.version), func.max(Incident.updated_at))).one()
    return (*resources, *assignments, *incidents, hash(tuple(tuple(k) for k in kinds)))


class LayerCache:
    """Encoded layers by (request key, fingerprint), the most recent few (thread-safe)."""

    def __init__(self, size: int = 8):
        self.size = size
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key, fingerprint):
        with self._lock:
            found = self._items.get(key)
            if found is None or found[0] != fingerprint:
                return None
            self._items.move_to_end(key)
            return found[1]

    def put(self, key, fingerprint, chunks: list[str]) -> None:
        with self._lock:
            self._items[key] = (fingerprint, chunks)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


def cached_resource_collection(cache: LayerCache, lang: str, **filters) -> list[str]:
    """The resource layer's FeatureCollection text chunks, encoded again only if the data changed."""
    key = (lang, *sorted(filters.items()))
    fingerprint = resources_fingerprint()
    chunks = cache.get(key, fingerprint)
    if chunks is None:
        chunks = list(feature_collection(resource_features(lang, **filters)))
        cache.put(key, fingerprint, chunks)
    return chunks


# The municipality's outline


def _rounded(geom):
    return shapely.transform(geom, lambda coords: np.round(coords, PRECISION))


def boundary_features() -> list[dict]:
    """The municipality's outline (RIADO_BOUNDARY_GEOJSON if set, else the stored one)."""
    geom = municipality_ops.boundary()
    if geom is None:
        return []
    town = municipality_ops.current_municipality()
    properties = {"name": town.name if town else "", "short_name": (town.short_name if town else "") or ""}
    return [{"type": "Feature", "id": "boundary", "geometry": mapping(_rounded(geom)), "properties": properties}]


def boundary_bounds() -> tuple[tuple[float, float], tuple[float, float]] | None:
    """((south, west), (north, east)) of the outline, for the first view of a map."""
    features = boundary_features()
    if not features:
        return None
    minx, miny, maxx, maxy = shapely.geometry.shape(features[0]["geometry"]).bounds
    return (miny, minx), (maxy, maxx)


def data_bounds(drill: bool | None = None) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """((south, west), (north, east)) of the resources and the open incidents, for the first
    view of a map without an outline (so that it does not jump once the layers are in)."""
    boxes = []
    for model, where in ((Resource, []), (Incident, incident_where(drill=drill))):
        x, y = func.ST_X(model.location), func.ST_Y(model.location)
        row = db.session.execute(select(func.min(x), func.min(y), func.max(x), func.max(y)).where(*where)).one()
        if row[0] is not None:
            boxes.append(row)
    if not boxes:
        return None
    minx, miny = min(b[0] for b in boxes), min(b[1] for b in boxes)
    maxx, maxy = max(b[2] for b in boxes), max(b[3] for b in boxes)
    return (float(miny), float(minx)), (float(maxy), float(maxx))


# Encoding


def feature_collection(features: Iterable[dict]) -> Iterator[str]:
    """A FeatureCollection as text chunks (a batch of features per chunk), for a streamed
    response; ``"".join`` gives the whole document."""
    yield '{"type":"FeatureCollection","features":['
    batch: list[dict] = []
    first = True
    for feature in features:
        batch.append(feature)
        if len(batch) == BATCH:
            yield ("" if first else ",") + _encode(batch)
            first, batch = False, []
    if batch:
        yield ("" if first else ",") + _encode(batch)
    yield "]}"


def _encode(batch: list[dict]) -> str:
    return json.dumps(batch, ensure_ascii=False, separators=(",", ":"), allow_nan=False)[1:-1]


def incident_counts(drill: bool | None) -> dict:
    """Open (not closed) incidents by status and by severity, for the wall."""
    where = [Incident.status != "closed"]
    if drill is not None:
        where.append(Incident.drill.is_(drill))
    rows = db.session.execute(
        select(Incident.status, Incident.severity, func.count()).where(*where).group_by(Incident.status, Incident.severity)
    ).all()
    by_status: dict[str, int] = {}
    by_severity: dict[str, int] = {}
    total = 0
    for status, severity, n in rows:
        by_status[status] = by_status.get(status, 0) + n
        by_severity[severity] = by_severity.get(severity, 0) + n
        total += n
    return {"open": total, "by_status": by_status, "by_severity": by_severity}


def readiness_levels(drill: bool | None) -> list[Incident]:
    """Open incidents under a readiness level (I.–III. fokú készültség), the highest first."""
    where = [Incident.status != "closed", Incident.readiness_level > 0]
    if drill is not None:
        where.append(Incident.drill.is_(drill))
    return list(db.session.execute(
        select(Incident).where(*where).order_by(Incident.readiness_level.desc(), Incident.created_at.desc())
    ).scalars())


__all__ = [
    "BBoxError", "readiness_levels", "boundary_bounds", "boundary_features", "feature_collection", "incident_area_features",
    "incident_counts", "incident_features", "parse_bbox", "resource_features",
]
