"""API of the map wing: the map layers as GeoJSON FeatureCollections (for the map pages, QGIS or
any GIS) and the counts of the wall map. Any signed-in role may read them."""

from __future__ import annotations

from flask import Response, current_app
from flask_babel import force_locale
from flask_smorest import abort
from marshmallow import Schema, fields, validate

from incident.api.common import Blueprint, search_text
from incident.api.fields import Out
from incident.config import LOCALES
from incident.labels import READINESS_LABELS, label
from incident.models import INCIDENT_KINDS, RESOURCE_STATUSES, STATUSES
from incident.web.hooks import banners, wall_counters

from . import geojson

blp = Blueprint("api_map", __name__, url_prefix="/api/v1/map",
                description="Map layers as GeoJSON (RFC 7946: WGS84, longitude first)")

GEOJSON_TYPE = "application/geo+json"
GEOJSON_DOC = {
    "200": {
        "description": "A GeoJSON FeatureCollection (RFC 7946)",
        "content": {GEOJSON_TYPE: {"schema": {"type": "object"}}},
    }
}


class LangArgs(Schema):
    lang = fields.String(load_default="en", validate=validate.OneOf(LOCALES),
                         metadata={"description": "language of the *_label properties"})


class IncidentLayerArgs(LangArgs):
    status = fields.String(validate=validate.OneOf((*STATUSES, "all")),
                           metadata={"description": "one status, or all; by default every status but closed"})
    drill = fields.Boolean(metadata={"description": "true: drills only; false: real incidents only"})
    kind = fields.String(validate=validate.OneOf(INCIDENT_KINDS))


class ResourceLayerArgs(LangArgs):
    kind = fields.String(metadata={"description": "a code from /resource-kinds"})
    status = fields.String(validate=validate.OneOf(RESOURCE_STATUSES))
    q = search_text(metadata={"description": "search in name, owner, unit, notes (accents ignored)"})
    bbox = fields.String(metadata={"description": "minlon,minlat,maxlon,maxlat", "example": "19.04,47.49,19.06,47.51"})


class SummaryArgs(LangArgs):
    drill = fields.Boolean(load_default=False, metadata={"description": "count drills (true) or real incidents and alerts"})


def geojson_response(features=None, chunks=None) -> Response:
    """The features (or the collection's text) as a streamed FeatureCollection, never cached by
    the browser or a proxy (the map is live)."""
    body = chunks if chunks is not None else geojson.feature_collection(features)
    response = Response(body, mimetype=GEOJSON_TYPE)
    response.headers["Cache-Control"] = "no-store"
    return response


@blp.route("/incidents.geojson")
@blp.arguments(IncidentLayerArgs, location="query")
@blp.doc(responses=GEOJSON_DOC)
def incidents(args):
    """Incidents and drills as Points (default: not closed). Properties: id, number, title (also
    as name), kind, severity, status with their *_label words, drill, has_area, url."""
    lang = args.pop("lang")
    return geojson_response(geojson.incident_features(lang, **args))


@blp.route("/incident-areas.geojson")
@blp.arguments(IncidentLayerArgs, location="query")
@blp.doc(responses=GEOJSON_DOC)
def incident_areas(args):
    """Affected areas (Polygon or MultiPolygon) of the incidents that have one, with the same
    filters and properties as incidents.geojson and the incident's point in ``properties.point``
    (a separate layer: one geometry type per layer, as QGIS loads it)."""
    lang = args.pop("lang")
    return geojson_response(geojson.incident_area_features(lang, **args))


@blp.route("/resources.geojson")
@blp.arguments(ResourceLayerArgs, location="query")
@blp.doc(responses=GEOJSON_DOC)
def resources(args):
    """Resources as Points. Properties: id, name, kind, kind_label, status, status_label,
    quantity, unit, available_quantity, url; shelters also capacity and free_capacity (persons) and
    reception, reception_drill (headcounts of the evacuees present: present, received, children,
    elderly, needs; counts only);
    a resource deployed now also assigned_to, its incidents (number, title, drill, quantity, url)."""
    try:
        bbox = geojson.parse_bbox(args.get("bbox"))
    except geojson.BBoxError as exc:
        abort(422, errors={"query": {"bbox": [str(exc)]}}, message="Unprocessable Entity")
    cache = current_app.extensions.setdefault("riado_map_layer_cache", geojson.LayerCache())
    return geojson_response(chunks=geojson.cached_resource_collection(
        cache, args["lang"], kind=args.get("kind"), status=args.get("status"), q=args.get("q"), bbox=bbox,
    ))


@blp.route("/boundary.geojson")
@blp.doc(responses=GEOJSON_DOC)
def boundary():
    """The municipality's outline (RIADO_BOUNDARY_GEOJSON if set, else the stored boundary); an
    empty FeatureCollection if there is none."""
    return geojson_response(geojson.boundary_features())


class CountOut(Out):
    key = fields.String()
    label = fields.String()
    value = fields.Raw()


class BannerOut(Out):
    key = fields.String()
    level = fields.String(metadata={"enum": ["warning", "danger"]})
    title = fields.String()
    text = fields.String()
    url = fields.String()
    link = fields.String()


class ReadinessOut(Out):
    incident_id = fields.Integer()
    number = fields.String()
    title = fields.String()
    level = fields.Integer(metadata={"description": "1–3"})
    label = fields.String(metadata={"example": "II. fokú készültség"})


class SummaryOut(Out):
    drill = fields.Boolean()
    readiness = fields.Nested(ReadinessOut, many=True, metadata={
        "description": "open incidents under a readiness level, the highest first"})
    incidents = fields.Dict(metadata={"description": "open (not closed) incidents: open, by_status, by_severity"})
    counts = fields.Nested(CountOut, many=True, metadata={"description": "from the wings (alerts in flight, acknowledgements…)"})
    banners = fields.Nested(BannerOut, many=True, metadata={"description": "from the wings (a hazard watch proposal…)"})


def wing_counts(drill: bool, lang: str) -> list[dict]:
    """What the other wings count for the wall (``incident.web.hooks.register_wall_counter``:
    ``fn(drill) -> [{"key", "label", "value"}]``), labels in ``lang``."""
    out = []
    with force_locale(lang):
        for count in wall_counters():
            for item in count(drill):
                out.append({"key": str(item["key"]), "label": str(item["label"]), "value": item["value"]})
    return out


@blp.route("/summary")
@blp.arguments(SummaryArgs, location="query")
@blp.response(200, SummaryOut)
def summary(args):
    """Counts for the wall map: open incidents, and what the other wings report (alerts in
    flight, acknowledgements), for drills or for real incidents."""
    drill = args["drill"]
    with force_locale(args["lang"]):
        wing_banners = banners(drill)
        readiness = [{"incident_id": i.id, "number": i.number, "title": i.title, "level": i.readiness_level,
                      "label": label(READINESS_LABELS, i.readiness_level)} for i in geojson.readiness_levels(drill)]
    return {"drill": drill, "incidents": geojson.incident_counts(drill), "counts": wing_counts(drill, args["lang"]),
            "readiness": readiness, "banners": wing_banners}


@blp.after_request
def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response
