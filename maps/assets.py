"""folium's scripts and styles served by Riadó itself: no CDN, so that the maps work in an
operations room without internet.

folium keeps the links of each element in the *class* attributes ``default_js``/``default_css``
(and ``add_js_link`` changes the class, hence every later map). ``localise`` walks one map's
element tree and gives each element *instance* lists that point at the files vendored under
``incident/static/vendor`` (each folder has the package's LICENSE and a README naming its version
and source), leaving out what Riadó does not use (jQuery, Bootstrap, Font Awesome,
awesome-markers: popups and icons are built by ``map-layers.js`` from the DOM). An asset it does
not know stops the page instead of reaching out to a CDN.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from branca.element import Element

# folium's asset name → the file under /static (the npm packages, see each folder's README).
LOCAL_ASSETS = {
    "leaflet": "vendor/leaflet/leaflet.js",
    "leaflet_css": "vendor/leaflet/leaflet.css",
    "markerclusterjs": "vendor/leaflet.markercluster/leaflet.markercluster.js",
    "markerclustercss": "vendor/leaflet.markercluster/MarkerCluster.css",
    "markerclusterdefaultcss": "vendor/leaflet.markercluster/MarkerCluster.Default.css",
    "featuregroupsubgroupjs": "vendor/leaflet.featuregroup.subgroup/leaflet.featuregroup.subgroup.js",
    "leaflet_draw_js": "vendor/leaflet-draw/leaflet.draw.js",
    "leaflet_draw_css": "vendor/leaflet-draw/leaflet.draw.css",
}
# What folium adds by default and Riadó's maps do without.
DROPPED_ASSETS = frozenset({
    "jquery", "bootstrap", "awesome_markers", "bootstrap_css", "glyphicons_css",
    "awesome_markers_font_css", "awesome_markers_css", "awesome_rotate_css",
})

EXTERNAL_URL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:[a-z][a-z0-9+.-]*:)?//""", re.IGNORECASE)


class UnknownAsset(RuntimeError):
    """A folium element wants a script or style that Riadó does not vendor."""


def _walk(element: Element):
    yield element
    for child in list(element._children.values()):
        yield from _walk(child)


def _local(pairs, static_url: Callable[[str], str]) -> list[tuple[str, str]]:
    out = []
    for name, url in pairs:
        if name in DROPPED_ASSETS:
            continue
        if name not in LOCAL_ASSETS:
            raise UnknownAsset(f"folium asset {name!r} ({url}) is not vendored under incident/static/vendor")
        out.append((name, static_url(LOCAL_ASSETS[name])))
    return out


def localise(root: Element, static_url: Callable[[str], str]) -> None:
    """Point every script and style of ``root``'s tree at Riadó's own copies (instance lists, so
    that no other map is affected); ``static_url("vendor/…")`` makes the URL."""
    for element in _walk(root):
        for attribute in ("default_js", "default_css"):
            pairs = getattr(element, attribute, None)
            if pairs is not None:
                setattr(element, attribute, _local(pairs, static_url))


def external_references(html: str) -> list[str]:
    """The ``src``/``href`` attributes of ``html`` that name another host (should be none)."""
    return [match.group(0) for match in EXTERNAL_URL.finditer(html)]
