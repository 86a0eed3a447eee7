"""The map pages: the operational map (/map), the wall map for the operations room and drills
(/map/wall) and the affected-area editor of an incident (/map/incidents/<id>/area).

The pages are folium maps (``maps.builder``) whose layers ``map-layers.js`` fills from the
GeoJSON endpoints of ``maps.api``: no record's text is ever written into the page or its script.
folium's inline script is allowed by a nonce made for the response (``script-src 'self'
'nonce-…'``); every other page keeps ``script-src 'self'``.
"""

from __future__ import annotations

import json

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _

from incident.errors import ConflictError, FieldErrors
from incident.extensions import db
from incident.geo import lonlat
from incident.labels import NEED_LABELS, SEVERITY_LABELS, label
from incident.models import SEVERITIES, Incident
from incident.operations import incidents as incident_ops
from incident.security import csp_nonce, require_role
from incident.geo import area_text, parse_area_text
from incident.operations.municipality import current_municipality, map_view
from incident.web.display import draw_labels, kind_labels, locale
from incident.web.hooks import banners
from incident.web.params import flag_arg, version_value

from . import builder, geojson

bp = Blueprint("maps", __name__, url_prefix="/map")

SHELTER = "shelter"
DEFAULT_REFRESH_SECONDS = 15  # the wall map
OPERATIONAL_REFRESH_SECONDS = 60


def static_url(filename: str) -> str:
    return url_for("static", filename=filename)


def resource_layer_key(code: str) -> str:
    return f"resources:{code}"


def resource_layer_name(code: str, word: str) -> str:
    return _("Shelters: free places") if code == SHELTER else word


def map_spec(*, kinds: dict[str, str], drills: str, bounds=None, layer_control_collapsed=True) -> dict:
    """The layers of the operational and the wall map. ``drills``: "layer" (a layer of its own),
    "only" (the wall in a drill) or "none" (the wall otherwise)."""
    layers = [
        {"key": "boundary", "name": _("District boundary"), "cluster": False},
        {"key": "areas", "name": _("Affected areas"), "cluster": False},
        # One clustering for every kind of resource, one for the incidents; the layers of the
        # layer control are their subgroups.
        {"key": "cluster:resources", "name": _("Resources"), "cluster": True, "control": False},
        {"key": "cluster:incidents", "name": _("Incidents"), "cluster": True, "control": False},
    ]
    for code, word in kinds.items():
        layers.append({"key": resource_layer_key(code), "name": resource_layer_name(code, word),
                       "parent": "cluster:resources"})
    if drills in ("layer", "none"):
        layers.append({"key": "incidents", "name": _("Incidents"), "parent": "cluster:incidents"})
    if drills in ("layer", "only"):
        layers.append({"key": "drills", "name": _("Drills"), "parent": "cluster:incidents"})
    config = current_app.config
    view = map_view()
    return {
        "tile_url": config.get("RIADO_TILE_URL"),
        "tile_attribution": config.get("RIADO_TILE_ATTRIBUTION"),
        "centre": (view.lat, view.lon),
        "zoom": view.zoom,
        "bounds": bounds,
        "layers": layers,
        "layer_control": {"collapsed": layer_control_collapsed},
        "consumer": "layers",
    }


def js_labels() -> dict:
    """Words the map scripts put on the page (as text)."""
    return {
        "drill": _("DRILL"),
        "open_incident": _("Open the incident page"),
        "open_resource": _("Open the resource page"),
        "severity": _("Severity"),
        "status": _("Status"),
        "kind": _("Type"),
        "available": _("Available"),
        "free_places": _("Free places"),
        "assigned_to": _("Deployed to"),
        "persons": _("persons"),
        "has_area": _("An affected area is recorded."),
        "loading": _("Loading the map data…"),
        "failed": _("The map data could not be loaded; trying again."),
        "signed_out": _("You are signed out: sign in again to see the map data."),
        "updated": _("Updated"),
        "of": _("of"),
        "present": _("Present"),
        "children": _("children (under 14)"),
        "elderly": _("elderly (65 and over)"),
        "in_drills": _("In drills"),
        "needs": {code: str(word) for code, word in NEED_LABELS.items()},
    }


def severity_words() -> list[tuple[str, str]]:
    return [(code, label(SEVERITY_LABELS, code)) for code in SEVERITIES]


def _endpoints(lang: str, drill: bool | None) -> dict:
    filters = {} if drill is None else {"drill": "true" if drill else "false"}
    return {
        "incidents": url_for("api_map.incidents", lang=lang, **filters),
        "areas": url_for("api_map.incident_areas", lang=lang, **filters),
        "resources": url_for("api_map.resources", lang=lang),
        "boundary": url_for("api_map.boundary"),
        "summary": url_for("api_map.summary", lang=lang, drill="true" if drill else "false"),
    }


def _render_map(template: str, spec: dict, **context):
    parts = builder.render_parts(builder.build_map(spec, static_url))
    return render_template(template, parts=parts, nonce=csp_nonce(), labels=js_labels(), severities=severity_words(),
                           **context)


@bp.route("", endpoint="index")
def operational_map():
    """The operational map: incidents (drills as a layer of their own) with their affected areas,
    resources by kind, shelters with their free places, the district outline; clustered."""
    kinds = kind_labels()
    bounds = geojson.boundary_bounds() or geojson.data_bounds()
    spec = map_spec(kinds=kinds, drills="layer", bounds=bounds)
    lang = locale()
    return _render_map(
        "maps/map.html", spec, kinds=kinds, endpoints=_endpoints(lang, None),
        refresh=current_app.config.get("RIADO_MAP_REFRESH_SECONDS", OPERATIONAL_REFRESH_SECONDS),
        fit="page" if bounds else "data", mode="operational",
    )


@bp.route("/wall", endpoint="wall")
def wall_map():
    """Full screen for the operations room: a clock, the counts, the legend and layers that
    refresh themselves. ``?drill=1``: drills only, under a GYAKORLAT / DRILL banner; without
    it, drills are left out."""
    drill = flag_arg("drill")
    kinds = kind_labels()
    bounds = geojson.boundary_bounds() or geojson.data_bounds(drill)
    spec = map_spec(kinds=kinds, drills="only" if drill else "none", bounds=bounds)
    lang = locale()
    return _render_map(
        "maps/wall.html", spec, kinds=kinds, endpoints=_endpoints(lang, drill), drill=drill,
        refresh=current_app.config.get("RIADO_WALL_REFRESH_SECONDS", DEFAULT_REFRESH_SECONDS),
        fit="page" if bounds else "data", mode="wall", municipality=current_municipality(),
        timezone=current_app.config["RIADO_TIMEZONE"], banners=banners(drill),
    )


# Drawing an incident's affected area


def area_spec(incident: Incident, bounds) -> dict:
    point = lonlat(incident.location)
    config = current_app.config
    return {
        "tile_url": config.get("RIADO_TILE_URL"),
        "tile_attribution": config.get("RIADO_TILE_ATTRIBUTION"),
        "centre": (point[1], point[0]) if point else (map_view().lat, map_view().lon),  # no point: the municipality's middle
        "zoom": 16,
        "bounds": bounds,
        "layers": [
            {"key": "boundary", "name": _("District boundary"), "cluster": False},
            {"key": "area", "name": _("Affected area"), "cluster": False},
        ],
        "layer_control": None,
        "draw": {"layer": "area"},
        "consumer": "area",
    }


def _area_page(incident: Incident, code: int = 200, error: str | None = None, conflict: str | None = None,
               drawn: str | None = None, version: int | None = None, confirm: str | None = None):
    bounds = None  # centred on the incident; the script zooms to the area if there is one
    area = area_text(incident.area) if drawn is None else drawn
    point = lonlat(incident.location)
    return _render_map(
        "maps/area.html", area_spec(incident, bounds), incident=incident, area_json=area, point=point,
        version=incident.version if version is None else version, error=error, conflict=conflict, confirm=confirm,
        draw_words=draw_labels(), endpoints={"boundary": url_for("api_map.boundary")},
    ), code


@bp.route("/incidents/<int:incident_id>/area", methods=["GET", "POST"], endpoint="area")
@require_role("officer")
def incident_area(incident_id: int):
    """Draw or change an incident's affected area on the map; saved through
    ``update_incident`` (version checked, geometry validated, the change written to the log)."""
    incident = db.get_or_404(Incident, incident_id)
    if request.method == "GET":
        return _area_page(incident)
    text = request.form.get("area", "")
    version = version_value(request.form.get("version"))
    value, problem = parse_area_text(text)
    if problem:
        db.session.rollback()
        return _area_page(incident, 422, error=problem, drawn=text, version=version)
    before = incident.log_count
    try:
        incident_ops.update_incident(incident, {"area": value, "version": version,
                                                "confirm_far": request.form.get("confirm_far") == "y"})
        db.session.commit()
    except FieldErrors as exc:
        db.session.rollback()
        message = " ".join(m for messages in exc.errors.values() for m in messages)
        return _area_page(db.get_or_404(Incident, incident_id), 422, error=message, drawn=_as_text(value, text),
                          version=version, confirm=exc.confirm)
    except ConflictError as exc:
        db.session.rollback()
        # Someone changed the incident meanwhile: show what is stored now, with its version.
        return _area_page(db.get_or_404(Incident, incident_id), 409, conflict=exc.message)
    changed = db.session.get(Incident, incident_id).log_count != before
    if not changed:
        flash(_("Nothing was changed."), "success")
    elif value is None:
        flash(_("The affected area was removed."), "success")
    else:
        flash(_("The affected area was saved."), "success")
    return redirect(url_for("incidents.detail", incident_id=incident_id))


def _as_text(value, fallback: str) -> str:
    if value is None:
        return ""
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return fallback

