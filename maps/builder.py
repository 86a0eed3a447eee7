"""The folium maps, built from plain dicts, and their parts for Riadó's own templates.

``build_map(spec, static_url)`` makes a map with the configured tiles, one empty layer per entry
of ``spec["layers"]`` (a MarkerCluster, a subgroup of one, or a FeatureGroup), a LayerControl,
optionally the Leaflet.draw control, and a hook that hands the layers to
``incident/static/js/map-layers.js`` (or ``map-area.js``): the data are never inlined, the script
fetches them from the GeoJSON endpoints and builds popups with the DOM (text, never HTML).

``render_parts(map)`` renders it into the pieces a Jinja template places: the ``<head>`` links
(local files only, see ``maps.assets``), the map's ``<div>`` and the map's script, which the
template puts inside the page's one ``<script nonce>``.

Only folium's public ways are used: its elements and their parameters, subclasses with their own
template or files (``RiadoMap``, ``LocalAssets``) and the figure's rendered parts; nothing of
folium's output is rewritten. What folium writes into JavaScript goes through Jinja's ``tojson``
(safe inside ``<script>``); layer names also pass through Leaflet's layer control, which sets them
as HTML, so they are HTML-escaped here.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import folium
from branca.element import Element, MacroElement
from folium.plugins import Draw, FeatureGroupSubGroup, MarkerCluster
from folium.template import Template
from markupsafe import Markup, escape

from .assets import LocalAssets, check_page

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
# How far from the edge the first view keeps the district's outline, in pixels.
BOUNDS_PADDING = (8, 8)


class RiadoMap(LocalAssets, folium.Map):
    """folium's Map with Riadó's own template and files.

    folium's Map template also writes page-wide styles (``html, body {height: 100%}``), a viewport
    meta that forbids zooming the page, sizes in ``vw``/``vh`` (folium 1.0) and an inline
    ``<script>`` of global switches, which the CSP would block; its script may call jQuery. Here
    the page's CSS sizes the map (``.folium-map`` in maps.css), and the script creates the map
    with its zoom limits and, given ``bounds``, opens on them at once (no zoom animation over the
    layers as they load)."""

    local_js = ("leaflet",)
    local_css = ("leaflet_css",)
    _template = Template(
        """
        {% macro html(this, kwargs) %}
            <div class="folium-map" id={{ this.get_name()|tojson }}></div>
        {% endmacro %}

        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = L.map(
                {{ this.get_name()|tojson }},
                {
                    center: {{ this.location|tojson }},
                    crs: L.CRS.{{ this.crs }},
                    minZoom: {{ this.min_zoom|tojson }},
                    maxZoom: {{ this.max_zoom|tojson }},
                    ...{{ this.options|tojavascript }}
                }
            );
            {%- if this.control_scale %}
            L.control.scale().addTo({{ this.get_name() }});
            {%- endif %}
            {%- if this.bounds %}
            {{ this.get_name() }}.fitBounds({{ this.bounds|tojson }}, {{ this.fit_options|tojson }});
            {%- endif %}
        {% endmacro %}
        """
    )

    def __init__(self, *, centre, zoom: int, min_zoom: int, max_zoom: int, bounds=None, static_url):
        super().__init__(location=list(centre), zoom_start=zoom, tiles=None, control_scale=True,
                         static_url=static_url)
        self.min_zoom = min_zoom
        self.max_zoom = max_zoom
        self.bounds = [list(bounds[0]), list(bounds[1])] if bounds else None
        self.fit_options = {"padding": list(BOUNDS_PADDING), "animate": False}
        # branca's Figure declares the charset again in the head it renders (a child it names
        # "meta_http"); the page has its own. Adding a child under the same name replaces it
        # (public add_child); tests/maps/test_maps.py checks the page has one charset.
        self.get_root().header.add_child(Element(""), name="meta_http")


class RiadoMarkerCluster(LocalAssets, MarkerCluster):
    """folium's MarkerCluster with the vendored Leaflet.markercluster."""

    local_js = ("markerclusterjs",)
    local_css = ("markerclustercss", "markerclusterdefaultcss")


class RiadoSubGroup(LocalAssets, FeatureGroupSubGroup):
    """folium's FeatureGroupSubGroup with the vendored Leaflet.FeatureGroup.SubGroup."""

    local_js = ("featuregroupsubgroupjs",)


class RiadoDraw(LocalAssets, Draw):
    """folium's Draw with the vendored Leaflet.draw."""

    local_js = ("leaflet_draw_js",)
    local_css = ("leaflet_draw_css",)


class LayerHook(MacroElement):
    """Queues ``{map, layers, consumer}`` for the page's script (loaded before or after)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            (window.riadoMapQueue = window.riadoMapQueue || []).push({
                consumer: {{ this.consumer|tojson }},
                map: {{ this.map.get_name() }},
                layers: {
                {%- for key, layer in this.layers.items() %}
                    {{ key|tojson }}: {{ layer.get_name() }},
                {%- endfor %}
                }
            });
        {% endmacro %}
        """
    )

    def __init__(self, m: folium.Map, layers: dict, consumer: str):
        super().__init__()
        if consumer not in CONSUMERS:
            raise ValueError(f"unknown consumer {consumer!r}")
        self._name = "RiadoLayerHook"
        self.map = m
        self.layers = layers
        self.consumer = consumer


def layer_name(text: str) -> str:
    """A layer's name as Leaflet's layer control needs it (it sets the name as HTML)."""
    return str(escape(text))


def build_map(spec: dict, static_url: Callable[[str], str]) -> RiadoMap:
    """A folium map from a plain spec:

    ``tile_url``, ``tile_attribution`` (trusted configuration, HTML), ``centre`` (lat, lon),
    ``zoom``, optional ``bounds`` ((south, west), (north, east)), ``min_zoom``, ``max_zoom``;
    ``layers``: ``[{"key", "name", "cluster": bool, "parent": key, "show": bool, "control": bool}]``
    in the order they are drawn (a layer with a ``parent`` is a subgroup of that clustered layer:
    one clustering for several layers, each turned on and off on its own); ``layer_control``: ``{"collapsed": bool}`` or None;
    ``draw``: ``{"layer": key}`` to edit that layer's polygons with Leaflet.draw, or None;
    ``consumer``: ``"layers"`` (map-layers.js) or ``"area"`` (map-area.js).
    ``static_url(path)`` is the URL of a file under /static (the vendored scripts and styles)."""
    max_zoom = spec.get("max_zoom", DEFAULT_MAX_ZOOM)
    m = RiadoMap(centre=spec["centre"], zoom=spec.get("zoom", 15), min_zoom=spec.get("min_zoom", DEFAULT_MIN_ZOOM),
                 max_zoom=max_zoom, bounds=spec.get("bounds"), static_url=static_url)
    if spec.get("tile_url"):
        # One base map: nothing to choose in the layer control.
        folium.TileLayer(tiles=spec["tile_url"], attr=spec.get("tile_attribution") or " ", max_zoom=max_zoom,
                         max_native_zoom=max_zoom, control=False).add_to(m)
    layers = {}
    for layer in spec.get("layers", ()):
        options = {"name": layer_name(layer["name"]), "show": layer.get("show", True),
                   "control": layer.get("control", True)}
        if layer.get("parent"):
            group = RiadoSubGroup(layers[layer["parent"]], static_url=static_url, **options)
        elif layer.get("cluster"):
            group = RiadoMarkerCluster(options=dict(CLUSTER_OPTIONS), static_url=static_url, **options)
        else:
            group = folium.FeatureGroup(**options)
        layers[layer["key"]] = group.add_to(m)
    draw = spec.get("draw")
    if draw:
        RiadoDraw(
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
            static_url=static_url,
        ).add_to(m)
    if spec.get("layer_control") is not None:
        folium.LayerControl(collapsed=spec["layer_control"].get("collapsed", True)).add_to(m)
    LayerHook(m, layers, spec.get("consumer", "layers")).add_to(m)
    return m


def render_parts(m: RiadoMap) -> dict:
    """``{"head", "html", "script", "name"}`` of the map as Markup: ``head`` and ``html`` go into
    the page as they are, ``script`` inside the page's ``<script nonce>``. Markup that the page
    could not carry (a file from another host, an inline script) raises instead of reaching it."""
    m.render()
    figure = m.get_root()
    head = figure.header.render()
    html = figure.html.render()
    script = figure.script.render()
    check_page(head + html)
    if re.search(r"</script", script, re.IGNORECASE):
        raise ValueError("the map's script would end its <script> element early")
    return {"head": Markup(head), "html": Markup(html), "script": Markup(script), "name": m.get_name()}
