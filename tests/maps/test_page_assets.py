"""What each page loads: the shared browser module (js/riado.js) before the page's own scripts,
the map files (Leaflet, vendored) only on pages that show a map, and its stylesheets directly."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

from conftest import csrf_from

SCRIPTS = Path(__file__).resolve().parents[2] / "incident" / "static" / "js"
SHARED = "/static/js/riado.js"
POINT = {"type": "Point", "coordinates": [19.0493, 47.4957]}
AREA = {"type": "Polygon", "coordinates": [[[19.04, 47.49], [19.06, 47.49], [19.06, 47.50], [19.04, 47.50], [19.04, 47.49]]]}
# An element that a page script turns into a map.
MAP_ELEMENTS = ("data-location-picker", "data-location-map", "data-incident-map", "data-riado-map", "data-area-editor",
                "data-area-picker", "data-area-map")


class _Assets(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self.maps = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and attrs.get("src"):
            self.scripts.append(attrs["src"])
        if tag == "link" and attrs.get("rel") == "stylesheet":
            self.styles.append(attrs["href"])
        self.maps += any(name in attrs for name in MAP_ELEMENTS)


def _assets(response) -> _Assets:
    assert response.status_code == 200, response.request.path
    parser = _Assets()
    parser.feed(response.get_data(as_text=True))
    parser.close()
    return parser


def _pages(client, api, make_user, login) -> dict:
    """Every kind of page that has a script or a map, and a few that have neither."""
    officer = api("officer")[0]

    def post(path, body, status=201):
        response = client.post(path, json=body, headers=officer)
        assert response.status_code == status, response.get_json()
        return response.get_json()["id"]

    incident = post("/api/v1/incidents", {"title": "Árvíz", "kind": "flood", "severity": "severe", "location": POINT})
    group = post("/api/v1/groups", {"name": "HVB"})
    contact = post("/api/v1/contacts", {"name": "Kovács Júlia", "phone": "+36205550101", "sms_opt_in": True,
                                        "groups": [group], "location": POINT})
    resource = post("/api/v1/resources", {"name": "Homokzsák", "kind": "sandbags", "quantity": 5, "location": POINT})
    alert = post("/api/v1/alerts", {"body": "Próba", "groups": [group]}, status=202)
    login(make_user("officer"))
    pages = {path: client.get(path) for path in (
        "/", "/incidents", "/incidents/new", f"/incidents/{incident}", f"/incidents/{incident}/report",
        "/contacts", "/contacts/new", f"/contacts/{contact}", "/contacts/import", "/groups", f"/groups/{group}",
        "/resources", "/resources/new", f"/resources/{resource}", "/resources/import",
        "/alerts", "/alerts/new", f"/alerts/{alert}", "/map", "/map/wall", f"/map/incidents/{incident}/area",
    )}
    compose = client.get("/alerts/new").get_data(as_text=True)
    pages["/alerts/new (confirm)"] = client.post("/alerts/new", data={
        "csrf_token": csrf_from(compose), "body": "Próba", "groups": str(group)})
    pages["/alerts/new (confirm with an area)"] = client.post("/alerts/new", data={
        "csrf_token": csrf_from(compose), "body": "Próba", "area_source": "drawn", "area": json.dumps(AREA)})
    return pages


def test_pages_load_the_shared_module_first_and_map_files_only_with_a_map(client, api, make_user, login):
    for path, response in _pages(client, api, make_user, login).items():
        page = _assets(response)
        own = [src for src in page.scripts if src.startswith("/static/js/") and src != SHARED]
        if own:
            assert SHARED in page.scripts, (path, page.scripts)
            assert page.scripts.index(SHARED) < page.scripts.index(own[0]), (path, page.scripts)
        vendored = [url for url in page.scripts + page.styles if url.startswith("/static/vendor/")]
        if page.maps:
            assert "/static/vendor/leaflet/leaflet.js" in page.scripts, path
            assert "/static/vendor/leaflet/leaflet.css" in page.styles, path
        else:
            assert vendored == [], (path, vendored)
    # The registry's pages have their stylesheet with or without a map.
    for path in ("/contacts", "/groups", "/contacts/import", "/resources", "/contacts/new"):
        assert "/static/css/registry.css" in _assets(client.get(path)).styles, path


def test_page_scripts_share_one_module_of_helpers():
    """The helpers every page script needs (a page's elements, a form sent once, JSON in a data
    attribute, waiting for the document, the tile layer, the district outline's style, the map
    queue) are written once, in riado.js."""
    repeated = {
        "a helper of riado.js": re.compile(r"function\s+(register|once|each|parseJson|ready)\s*\("),
        "the tile layer": re.compile(r"L\.tileLayer\("),
        "the outline's colour": re.compile(r"#0b3d6b", re.IGNORECASE),
        "the start-up": re.compile(r"DOMContentLoaded"),
        "the map queue": re.compile(r"riadoMapQueue|riadoMapConsumers"),
    }
    shared = (SCRIPTS / "riado.js").read_text(encoding="utf-8")
    for what, pattern in repeated.items():
        assert pattern.search(shared), what
    for path in sorted(SCRIPTS.glob("*.js")):
        if path.name == "riado.js":
            continue
        text = path.read_text(encoding="utf-8")
        for what, pattern in repeated.items():
            assert not pattern.search(text), f"{path.name} writes {what} again"
