"""folium's scripts and styles served by Riadó itself: no CDN, so that the maps work in an
operations room without internet.

folium names the files an element needs in ``default_js``/``default_css`` (JSCSSMixin), CDN
addresses on folium's own classes. Riadó's map elements (``maps.builder``) are subclasses that
mix in ``LocalAssets``: each names the files it needs from ``VENDORED`` (the npm packages under
``incident/static/vendor``; each folder has the package's LICENSE and a README naming its version
and source), and folium links those. What Riadó does without (jQuery, Bootstrap, Font Awesome,
awesome-markers: popups and icons are built by ``map-layers.js`` from the DOM) is never named. An
element that still wants a file from another host stops the page (``check_page``).
"""

from __future__ import annotations

from collections.abc import Callable
from html.parser import HTMLParser
from urllib.parse import urlsplit

from folium.elements import JSCSSMixin

# folium's name of each file → the file under /static. The names are folium's, so that an
# element of ours and one of folium's that need the same library link it once.
VENDORED = {
    "leaflet": "vendor/leaflet/leaflet.js",
    "leaflet_css": "vendor/leaflet/leaflet.css",
    "markerclusterjs": "vendor/leaflet.markercluster/leaflet.markercluster.js",
    "markerclustercss": "vendor/leaflet.markercluster/MarkerCluster.css",
    "markerclusterdefaultcss": "vendor/leaflet.markercluster/MarkerCluster.Default.css",
    "featuregroupsubgroupjs": "vendor/leaflet.featuregroup.subgroup/leaflet.featuregroup.subgroup.js",
    "leaflet_draw_js": "vendor/leaflet-draw/leaflet.draw.js",
    "leaflet_draw_css": "vendor/leaflet-draw/leaflet.draw.css",
}


class UnknownAsset(RuntimeError):
    """A map element wants a script or style from another host."""


class LocalAssets(JSCSSMixin):
    """A folium element whose scripts and styles are Riadó's own copies: a subclass names them in
    ``local_js``/``local_css`` (keys of ``VENDORED``) and is made with ``static_url`` (the app's
    ``url_for("static", filename=…)``); the lists folium links are this instance's own, so
    folium's classes and every other map keep theirs."""

    local_js: tuple[str, ...] = ()
    local_css: tuple[str, ...] = ()

    def __init__(self, *args, static_url: Callable[[str], str], **kwargs):
        super().__init__(*args, **kwargs)
        self.default_js = [(name, static_url(VENDORED[name])) for name in self.local_js]
        self.default_css = [(name, static_url(VENDORED[name])) for name in self.local_css]


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag


def check_page(html: str) -> None:
    """Refuse markup folium wrote for the page (its head and body parts) that the page cannot
    carry: a file from another host (``UnknownAsset``) or an inline script, which the CSP would
    block (only the map's one script carries the nonce; ``ValueError``)."""
    parser = _Tags()
    parser.feed(html)
    parser.close()
    for tag, attrs in parser.tags:
        for name in ("src", "href"):
            url = urlsplit((attrs.get(name) or "").strip())
            if url.scheme or url.netloc:
                raise UnknownAsset(f"the map page would load {url.geturl()} from another host")
        if tag == "script" and not attrs.get("src"):
            raise ValueError("folium wrote an inline script outside the map's script")
