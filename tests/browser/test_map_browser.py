"""The map pages in a real browser, with every host but 127.0.0.1 blocked: the operational map
draws every layer from the GeoJSON endpoints, popups show the records' texts as text (script
payloads never run), the wall map picks up a new incident without a reload, and an officer
draws an incident's affected area."""

from __future__ import annotations

import json
import re

import pytest

from browser import draw_polygon, only_tiles, script_errors, sign_in
from factories import EMBANKMENT, PAYLOADS, create_incident, create_resource, store_district_outline

pytestmark = pytest.mark.browser

VIGADO = {"type": "Point", "coordinates": [19.0493, 47.4957]}


def _incident(app, **fields):
    return create_incident(app, **{"title": "Dunai árvíz", **fields})["id"]


def _resource(app, **fields):
    return create_resource(app, **{"location": {"type": "Point", "coordinates": [19.0457, 47.5071]}, **fields})["id"]




def _grid(i: int, columns: int = 8) -> dict:
    """Points about 200 m apart inside the district."""
    return {"type": "Point", "coordinates": [19.0440 + (i % columns) * 0.0022, 47.4900 + (i // columns) * 0.0019]}


def _close_popup(page):
    page.evaluate("document.querySelector('[data-riado-map]').riadoMap.map.closePopup()")
    page.locator(".leaflet-popup").wait_for(state="detached")


def _ready(page, frame="[data-riado-map]", loads=1, timeout=20_000):
    page.wait_for_selector(f"{frame}[data-state=ready]", timeout=timeout)
    page.wait_for_function(
        "([sel, n]) => Number(document.querySelector(sel).getAttribute('data-loads')) >= n", arg=[frame, loads],
        timeout=timeout,
    )
    return page.locator(frame)


def test_operational_map_draws_every_layer_with_other_hosts_blocked(app, live_server, page, make_user):
    store_district_outline(app)
    incidents = [_incident(app, title=f"Esemény {i}", location=_grid(i), severity=("severe", "moderate", "minor")[i % 3])
                 for i in range(7)]
    drill = _incident(app, title="Gyakorlat: gázszivárgás", kind="gas_leak", severity="moderate", drill=True,
                      location=_grid(9), area=EMBANKMENT)
    resources = [_resource(app, name=f"Szivattyú {i}", kind="pump", quantity=2, unit="db", location=_grid(12 + i))
                 for i in range(20)]
    shelter = _resource(app, name="Szent István Gimnázium", kind="shelter", quantity=1, capacity=120, unit="fő",
                        location=_grid(40))
    sign_in(page, live_server, make_user("viewer"))
    page.goto(live_server + "/map")
    frame = _ready(page)

    assert page.evaluate("window.L && window.L.version") == "1.9.3"
    assert page.evaluate("typeof L.markerClusterGroup") == "function"
    assert frame.get_attribute("data-incidents-drawn") == str(len(incidents) + 1)
    assert frame.get_attribute("data-drills-drawn") == "1"
    assert frame.get_attribute("data-resources-drawn") == str(len(resources) + 1)
    assert frame.get_attribute("data-areas-drawn") == "1"
    assert frame.get_attribute("data-boundary-drawn") == "1"
    # What is on the screen: markers or clusters that hold them all.
    shown = page.evaluate("""() => {
        const count = (sel) => Array.from(document.querySelectorAll(sel));
        const clustered = count('.marker-cluster').reduce((n, el) => n + Number(el.textContent), 0);
        return count('.riado-pin, .riado-incident').length + clustered;
    }""")
    assert shown == len(incidents) + 1 + len(resources) + 1
    assert page.locator(".leaflet-overlay-pane path.leaflet-interactive").count() >= 1  # the area
    assert page.locator(".leaflet-control-layers").count() == 1
    legend = page.locator("[data-testid=map-legend]")
    assert "Szivattyú" in legend.inner_text() and legend.locator("[data-count-for='kind:pump']").inner_text() == "(20)"
    assert legend.locator("[data-kind-icon=pump] svg").count() == 1

    # A popup: the shelter's free places and a link to its page.
    assert page.evaluate(f"document.querySelector('[data-riado-map]').riadoMap.show('resources:shelter', {shelter})")
    popup = page.locator(".leaflet-popup-content .map-popup")
    popup.wait_for()
    assert "Szent István Gimnázium" in popup.inner_text() and "120" in popup.inner_text()
    assert popup.locator("a").get_attribute("href") == f"/resources/{shelter}"
    _close_popup(page)

    # A real click on the drill's marker (zoomed in far enough that it stands alone).
    assert page.evaluate(f"document.querySelector('[data-riado-map]').riadoMap.show('drills', {drill})")
    page.locator(".map-popup[data-record=incident]").wait_for()
    _close_popup(page)
    page.locator(".riado-incident-drill").first.click()
    popup = page.locator(".map-popup[data-record=incident]")
    popup.wait_for()
    assert "Gyakorlat: gázszivárgás" in popup.inner_text() and "GYAKORLAT" in popup.inner_text()
    popup.locator("a").click()
    page.wait_for_url(f"{live_server}/incidents/{drill}")
    only_tiles(page, app)
    assert script_errors(page) == []


def test_script_payloads_in_records_show_as_text_and_never_run(app, live_server, page, make_user, api):
    admin_headers = api("admin")[0]
    client = app.test_client()
    created = client.post("/api/v1/resource-kinds", json={"code": "evil", "label_hu": PAYLOADS[1],
                                                          "label_en": PAYLOADS[0]}, headers=admin_headers)
    assert created.status_code == 201
    incidents, resources = {}, {}
    for i, text in enumerate(PAYLOADS):
        incidents[_incident(app, title=text, commander=text, location=_grid(i * 2))] = text
        resources[_resource(app, name=text, kind="evil", owner=text, notes=text, unit=text,
                            location=_grid(20 + i * 2))] = text
    sign_in(page, live_server, make_user("viewer"))
    page.add_init_script("window.__ran = []; window.alert = (m) => window.__ran.push(String(m));")
    page.goto(live_server + "/map")
    frame = _ready(page)
    assert frame.get_attribute("data-incidents-drawn") == "5" and frame.get_attribute("data-resources-drawn") == "5"

    for layer, records in (("incidents", incidents), ("resources:evil", resources)):
        for record_id, text in records.items():
            assert page.evaluate(f"document.querySelector('[data-riado-map]').riadoMap.show({json.dumps(layer)}, {record_id})")
            popup = page.locator(f".map-popup[data-id='{record_id}']")
            popup.wait_for()
            title = popup.locator(".map-popup-title").inner_text()
            assert title == text
            if layer.startswith("resources"):
                assert PAYLOADS[1] in popup.inner_text()  # the kind's (Hungarian) label, as text
            hrefs = popup.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
            assert all(h.startswith("/") and not h.startswith("//") for h in hrefs), hrefs
            _close_popup(page)
    # The titles in the tooltips and in the marker's title attribute stay text too.
    assert page.locator(".leaflet-marker-pane [title='" + PAYLOADS[2] + "']").count() >= 1
    # The layer control and the legend name the kind as text.
    page.locator(".leaflet-control-layers").hover()
    assert PAYLOADS[1] in page.locator(".leaflet-control-layers-overlays").inner_text()
    assert PAYLOADS[1] in page.locator("[data-testid=map-legend]").inner_text()
    assert page.locator("img[src=x], img[src$='/x']").count() == 0
    # Links are made only to this site's own paths.
    own = page.evaluate("""() => ["/incidents/1", "javascript:alert(1)", "//evil.example/x", "/\\\\evil", " /x",
                                  "data:text/html,x", "https://evil.example/"].map(RiadoMapLayers.ownPath)""")
    assert own == ["/incidents/1", None, None, None, None, None, None]
    assert page.evaluate("window.__ran") == []
    assert page.evaluate("document.querySelectorAll('script:not([src])').length") == 1  # folium's, nonce'd
    only_tiles(page, app)
    assert script_errors(page) == []


def test_wall_map_picks_up_a_new_incident_without_a_reload(app, live_server, page, make_user, api):
    from conftest import http_json

    app.config["RIADO_WALL_REFRESH_SECONDS"] = 2
    store_district_outline(app)
    _incident(app, title="Meglévő esemény", location=_grid(3))
    _incident(app, title="Futó gyakorlat", drill=True, location=_grid(5))
    headers, _ = api("officer")
    sign_in(page, live_server, make_user("viewer"))
    page.goto(live_server + "/map/wall")
    frame = _ready(page)
    assert page.locator("nav.mainnav").count() == 0
    assert page.locator("[data-testid=drill-banner]").count() == 0
    assert frame.get_attribute("data-incidents-drawn") == "1"  # the drill is left out
    page.wait_for_function("() => document.querySelector('[data-testid=count-open]').textContent === '1'")
    clock = page.locator("[data-testid=wall-clock] .wall-clock-time")
    assert re.fullmatch(r"\d\d:\d\d:\d\d", clock.inner_text())
    assert "Folyamatban" in page.locator("[data-testid=wall-counts]").inner_text()  # alerts in flight
    page.evaluate("window.__same_page = true")
    loads = int(frame.get_attribute("data-loads"))

    status, body = http_json("POST", live_server + "/api/v1/incidents", {
        "title": "Új esemény: csőtörés", "kind": "water_outage", "severity": "moderate", "location": _grid(30)},
        headers)
    assert status == 201, body
    page.wait_for_function("() => document.querySelector('[data-riado-map]').getAttribute('data-incidents-drawn') === '2'",
                           timeout=15_000)
    assert page.evaluate("window.__same_page") is True  # no reload
    assert int(frame.get_attribute("data-loads")) > loads
    page.wait_for_function("() => document.querySelector('[data-testid=count-open]').textContent === '2'", timeout=15_000)
    assert page.evaluate(f"document.querySelector('[data-riado-map]').riadoMap.show('incidents', {body['id']})")
    assert "Új esemény: csőtörés" in page.locator(".map-popup").inner_text()

    # The drill's wall: a banner, and the drills only.
    page.goto(live_server + "/map/wall?drill=1")
    frame = _ready(page)
    assert page.locator("[data-testid=drill-banner]").inner_text().startswith("GYAKORLAT")
    assert frame.get_attribute("data-incidents-drawn") == "1" and frame.get_attribute("data-drills-drawn") == "1"
    only_tiles(page, app)
    assert script_errors(page) == []


def test_officer_draws_an_affected_area_and_saves_it(app, live_server, page, make_user):
    from shapely.geometry import shape

    incident_id = _incident(app, title="Csőtörés a Váci utcában", kind="water_outage", severity="moderate")
    sign_in(page, live_server, make_user("officer"))
    page.goto(f"{live_server}/incidents/{incident_id}")
    page.click("[data-testid=draw-area]")
    page.wait_for_url(f"{live_server}/map/incidents/{incident_id}/area")
    page.wait_for_selector("[data-testid=area-map][data-ready=true]")
    assert page.locator("[data-testid=area-map]").get_attribute("data-shapes") == "0"

    # A self-crossing shape first: refused with the reason, nothing stored.
    page.click(".leaflet-draw-draw-polygon")
    draw_polygon(page, "[data-testid=area-map]", [(300, 150), (500, 350), (500, 150), (300, 350)], shapes_after=1)
    page.click("[data-testid=save-area]")
    error = page.locator("[data-testid=area-error]")
    error.wait_for()
    assert "érvénytelen" in error.inner_text()

    # The page shows the refused shape again; delete it and draw a proper one.
    page.wait_for_selector("[data-testid=area-map][data-ready=true]")
    page.click(".leaflet-draw-edit-remove")
    page.locator(".leaflet-draw-actions:visible li:last-child a").click()  # "delete all"
    page.wait_for_function("() => document.querySelector('[data-testid=area-map]').getAttribute('data-shapes') === '0'")
    page.click(".leaflet-draw-draw-polygon")
    draw_polygon(page, "[data-testid=area-map]", [(300, 150), (500, 160), (520, 340), (310, 330)], shapes_after=1)
    page.click("[data-testid=save-area]")
    page.wait_for_url(f"{live_server}/incidents/{incident_id}")
    page.wait_for_selector("[data-testid=incident-map][data-ready=true][data-has-area=true]")

    from incident.extensions import db
    from incident.geo import to_shapely
    from incident.models import Incident

    with app.app_context():
        stored = db.session.get(Incident, incident_id)
        area = to_shapely(stored.area)
        assert area.geom_type == "Polygon" and area.is_valid and len(area.exterior.coords) == 5
        assert area.contains(shape(VIGADO)) or area.area > 0
        assert stored.version == 2
    only_tiles(page, app)
    assert script_errors(page) == []
