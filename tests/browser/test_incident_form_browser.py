"""The new-incident and edit forms' map in a real browser: the officer clicks the location and
draws the affected area (polygon and rectangle; edited shapes can be deleted) on the form itself;
pasting GeoJSON text into the advanced field still works and is drawn. Every host but 127.0.0.1
is blocked; the tiles' failures are expected."""

from __future__ import annotations

import json
import re
import time

import pytest

from browser import draw_polygon, only_tiles, script_errors, sign_in
from factories import EMBANKMENT, VIGADO, create_incident, store_district_outline

pytestmark = pytest.mark.browser

MAP = "[data-testid=location-map]"




def _stored(app, incident_id: int):
    from incident.extensions import db
    from incident.geo import to_shapely
    from incident.models import Incident

    with app.app_context():
        incident = db.session.get(Incident, incident_id)
        return to_shapely(incident.location), to_shapely(incident.area), incident.version


def _map_in_view(page) -> dict:
    """Scroll the form's map to the middle of the window; its box on the screen."""
    page.wait_for_selector(f"{MAP}[data-ready=true]")
    page.locator(MAP).evaluate("el => el.scrollIntoView({block: 'center'})")
    return page.locator(MAP).bounding_box()


def _fill_in(page, title: str) -> None:
    page.fill("#title", title)
    page.select_option("#kind", "flood")
    page.select_option("#severity", "severe")


def _save(page, live_server) -> int:
    page.click("form[data-testid=incident-form] button[type=submit]")
    page.wait_for_url(re.compile(re.escape(live_server) + r"/incidents/\d+$"))
    return int(page.url.rsplit("/", 1)[1])


def test_officer_clicks_the_location_and_draws_the_area_in_the_new_incident_form(app, live_server, page, make_user):
    store_district_outline(app)  # the drawn area and the point are inside: the distance check lets them through
    sign_in(page, live_server, make_user("officer"))
    page.goto(live_server + "/incidents/new")
    assert page.locator("[data-testid=area-advanced]").get_attribute("open") is None  # GeoJSON text is advanced
    _fill_in(page, "Belvízelöntés a rakparton")
    box = _map_in_view(page)
    assert page.locator(MAP).get_attribute("data-shapes") == "0"

    # The location: one click on the map.
    page.mouse.click(box["x"] + 430, box["y"] + 60)
    page.wait_for_function("() => document.querySelector('#latitude-visible').value !== ''")
    lat, lon = float(page.input_value("#latitude-visible")), float(page.input_value("#longitude-visible"))
    assert page.input_value("#latitude") == page.input_value("#latitude-visible")

    # The area: a polygon, then a rectangle beside it. Neither moves the location.
    page.click(f"{MAP} .leaflet-draw-draw-polygon")
    draw_polygon(page, MAP, [(150, 150), (350, 160), (370, 340), (160, 330)], shapes_after=1)
    page.click(f"{MAP} .leaflet-draw-draw-rectangle")
    time.sleep(0.15)
    page.mouse.move(box["x"] + 500, box["y"] + 150)
    page.mouse.down()
    page.mouse.move(box["x"] + 600, box["y"] + 250, steps=8)
    page.mouse.move(box["x"] + 650, box["y"] + 300, steps=8)
    page.mouse.up()
    page.wait_for_function(f"() => document.querySelector('{MAP}').getAttribute('data-shapes') === '2'")
    assert (float(page.input_value("#latitude-visible")), float(page.input_value("#longitude-visible"))) == (lat, lon)
    drawn = json.loads(page.input_value("#area"))  # what the form sends
    assert drawn["type"] == "FeatureCollection" and len(drawn["features"]) == 2

    incident_id = _save(page, live_server)
    page.wait_for_selector("[data-testid=incident-map][data-ready=true][data-has-area=true]")
    location, area, _version = _stored(app, incident_id)
    assert (round(location.y, 6), round(location.x, 6)) == (lat, lon)
    assert area.geom_type == "MultiPolygon" and len(area.geoms) == 2 and area.is_valid
    polygon, rectangle = sorted(area.geoms, key=lambda g: g.bounds[0])
    assert len(polygon.exterior.coords) == 5 and len(rectangle.exterior.coords) == 5
    # The point was clicked between the two shapes, above them.
    assert polygon.bounds[2] < location.x < rectangle.bounds[0] and location.y > max(area.bounds[3], area.bounds[1])
    only_tiles(page, app)
    assert script_errors(page) == []


def test_pasted_geojson_is_drawn_and_saved(app, live_server, page, make_user):
    sign_in(page, live_server, make_user("officer"))
    page.goto(live_server + "/incidents/new")
    _fill_in(page, "Árvíz a Vigadó téren")
    page.fill("#latitude-visible", str(VIGADO["coordinates"][1]))
    page.fill("#longitude-visible", str(VIGADO["coordinates"][0]))
    page.click("[data-testid=area-advanced] summary")
    page.fill("#area", json.dumps({"type": "Feature", "properties": {}, "geometry": EMBANKMENT}))
    page.locator("#area").blur()
    page.wait_for_function(f"() => document.querySelector('{MAP}').getAttribute('data-shapes') === '1'")
    assert page.locator(f"{MAP} path.leaflet-interactive").count() == 1

    incident_id = _save(page, live_server)
    location, area, _version = _stored(app, incident_id)
    assert list(location.coords)[0] == tuple(VIGADO["coordinates"])
    assert [list(c) for c in area.exterior.coords] == EMBANKMENT["coordinates"][0]
    only_tiles(page, app)
    assert script_errors(page) == []


def test_the_edit_form_shows_the_area_and_deletes_it(app, live_server, page, make_user):
    incident_id = create_incident(app, title="Gátszakadás", area=EMBANKMENT)["id"]
    sign_in(page, live_server, make_user("officer"))
    page.goto(f"{live_server}/incidents/{incident_id}/edit")
    _map_in_view(page)
    assert page.locator(MAP).get_attribute("data-shapes") == "1"
    # Saved untouched, nothing changes (the stored area is sent as it was).
    _save(page, live_server)
    assert _stored(app, incident_id)[2] == 1

    page.goto(f"{live_server}/incidents/{incident_id}/edit")
    _map_in_view(page)
    page.click(f"{MAP} .leaflet-draw-edit-remove")
    page.locator(f"{MAP} .leaflet-draw-actions:visible li:last-child a").click()  # "delete all"
    page.wait_for_function(f"() => document.querySelector('{MAP}').getAttribute('data-shapes') === '0'")
    assert page.input_value("#area") == ""
    _save(page, live_server)
    location, area, version = _stored(app, incident_id)
    assert area is None and version == 2 and list(location.coords)[0] == tuple(VIGADO["coordinates"])
    only_tiles(page, app)
    assert script_errors(page) == []
