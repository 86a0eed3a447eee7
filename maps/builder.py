"""The folium maps, built from plain dicts, and their parts for Riadó's own templates.

``build_map(spec)`` makes a folium.Map with the configured tiles, one empty layer per entry of
``spec["layers"]`` (a MarkerCluster, a subgroup of one, or a FeatureGroup), a LayerControl, optionally the
Leaflet.draw control, and a hook that hands the layers to ``incident/static/js/map-layers.js``
(or ``map-area.js``): the data are never inlined, the script fetches them from the GeoJSON
endpoints and builds popups with the DOM (text, never HTML).

``render_parts(map, nonce)`` renders it into the pieces a Jinja template places: the ``<head>``
links (local files only, see ``maps.assets``), the map's ``<div>`` and the inline script, each
``<script>`` carrying the response's CSP nonce.

What folium writes into JavaScript goes through Jinja's ``tojson`` (safe inside ``<script>``);
layer names also pass through Leaflet's layer control, which sets them as HTML, so they are
HTML-escaped here.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import folium
from branca.element import Element, MacroElement
from folium.plugins import Draw, FeatureGroupSubGroup, MarkerCluster
from folium.template import Template
from markupsafe import Markup, escape

from . import assets

DEFAULT_MAX_ZOOM = 19
# A municipality's map needs no world view; fewer zoom levels also mean less clustering work.
DEFAULT_MIN_ZOOM = 10
# Markers closer than this many pixels form a cluster; from this zoom on, none do.
CLUSTER_OPTIONS = {
    "chunkedLoading": True,
    "chunkInterval": 200,
    "chunkDelay": 10,
    "showCoverageOnHover": False,
    "maxClusterRadius": 50,
    "disableClusteringAtZoom": 18,
    "spiderfyOnMaxZoom": False,
}
# The JavaScript that receives the layers (a fixed list: the name is written into the script).
CONSUMERS = ("layers", "area")
SCRIPT_TAG = re.compile(r"<script\b", re.IGNORECASE)


class LayerHook(MacroElement):
    """Queues ``{map, layers, consumer}`` for the page's script (loaded before or after)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            (window.riadoMapQueue = window.riadoMapQueue || []).push({
                consumer: {{ this.consumer|tojson }},
                map: {{ this._parent.get_name() }},
                layers: {
                {%- for key, layer in this.layers.items() %}
                    {{ key|tojson }}: {{ layer.get_name() }},
                {%- endfor %}
                }
            });
        {% endmacro %}
        """
    )

    def __init__(self, layers: dict, consumer: str):
        super().__init__()
        if consumer not in CONSUMERS:
            raise ValueError(f"unknown consumer {consumer!r}")
        self._name = "RiadoLayerHook"
        self.layers = layers
        self.consumer = consumer


def layer_name(text: str) -> str:
    """A layer's name as Leaflet's layer control needs it (it sets the name as HTML)."""
    return str(escape(text))


def build_map(spec: dict) -> folium.Map:
    """A folium map from a plain spec:

    ``tile_url``, ``tile_attribution`` (trusted configuration, HTML), ``centre`` (lat, lon),
    ``zoom``, optional ``bounds`` ((south, west), (north, east)), ``min_zoom``, ``max_zoom``;
    ``layers``: ``[{"key", "name", "cluster": bool, "parent": key, "show": bool, "control": bool}]``
    in the order they are drawn (a layer with a ``parent`` is a subgroup of that clustered layer:
    one clustering for several layers, each turned on and off on its own); ``layer_control``: ``{"collapsed": bool}`` or None;
    ``draw``: ``{"layer": key}`` to edit that layer's polygons with Leaflet.draw, or None;
    ``consumer``: ``"layers"`` (map-layers.js) or ``"area"`` (map-area.js)."""
    max_zoom = spec.get("max_zoom", DEFAULT_MAX_ZOOM)
    tile_url = spec.get("tile_url") or None
    m = folium.Map(
        location=list(spec["centre"]),
        zoom_start=spec.get("zoom", 15),
        tiles=tile_url,
        attr=spec.get("tile_attribution") or " ",
        max_zoom=max_zoom,
        control_scale=True,
    )
    m.options["minZoom"] = spec.get("min_zoom", DEFAULT_MIN_ZOOM)
    m.options["maxZoom"] = max_zoom
    for child in m._children.values():
        if isinstance(child, folium.TileLayer):
            child.control = False  # one base map: nothing to choose in the layer control
            child.options["maxNativeZoom"] = max_zoom
    layers = {}
    for layer in spec.get("layers", ()):
        name = layer_name(layer["name"])
        show = layer.get("show", True)
        control = layer.get("control", True)
        if layer.get("parent"):
            group = FeatureGroupSubGroup(layers[layer["parent"]], name=name, show=show, control=control)
        elif layer.get("cluster"):
            group = MarkerCluster(name=name, show=show, control=control, options=dict(CLUSTER_OPTIONS))
        else:
            group = folium.FeatureGroup(name=name, show=show, control=control)
        layers[layer["key"]] = group.add_to(m)
    draw = spec.get("draw")
    if draw:
        Draw(
            feature_group=layers[draw["layer"]],
            show_geometry_on_click=False,
            position="topleft",
            draw_options={
                "polyline": False, "circle": False, "marker": False, "circlemarker": False,
                "polygon": {"allowIntersection": True, "showArea": False},
                # showArea: Leaflet.draw 1.0.4's area readout fails for rectangles.
                "rectangle": {"showArea": False},
            },
            edit_options={"poly": {"allowIntersection": True}},
        ).add_to(m)
    if spec.get("layer_control") is not None:
        folium.LayerControl(collapsed=spec["layer_control"].get("collapsed", True)).add_to(m)
    bounds = spec.get("bounds")
    if bounds:
        fit = folium.map.FitBounds([list(bounds[0]), list(bounds[1])], padding=(8, 8))
        fit.options["animate"] = False  # the first view, not a zoom animation over the layers
        m.add_child(fit)
    LayerHook(layers, spec.get("consumer", "layers")).add_to(m)
    return m


MAP_STYLE = "<style>#{name} {{ position: relative; width: 100%; height: 100%; }}</style>"


def render_parts(m: folium.Map, nonce: str, static_url: Callable[[str], str]) -> dict:
    """``{"head", "html", "script"}`` of the map as Markup: ``head`` and ``html`` go into the
    page as they are, ``script`` inside ``<script nonce>``. Every asset is local; folium's global
    page styles (``html, body {height: 100%}``…) are left out, the page's CSS sizes the map."""
    assets.localise(m.get_root(), static_url)
    m.render()
    figure = m.get_root()
    figure.header._children[m.get_name()] = Element(MAP_STYLE.format(name=m.get_name()))
    tag = f'<script nonce="{escape(nonce)}"'
    head = SCRIPT_TAG.sub(tag, figure.header.render())
    html = SCRIPT_TAG.sub(tag, figure.html.render())
    script = figure.script.render()
    outside = assets.external_references(head + html)
    if outside:
        raise assets.UnknownAsset(f"the map page would load from another host: {outside}")
    if re.search(r"</script", script, re.IGNORECASE):
        raise ValueError("the map's script would end its <script> element early")
    return {"head": Markup(head), "html": Markup(html), "script": Markup(script), "name": m.get_name()}


def render_standalone(m: folium.Map, static_url: Callable[[str], str], title: str = "") -> str:
    """The whole folium page (for the benchmark's plain map), with local assets."""
    assets.localise(m.get_root(), static_url)
    if title:
        m.get_root().title = title
    return m.get_root().render()
