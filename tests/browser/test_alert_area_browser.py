"""An alert to an area drawn on the compose page's map, in a real browser: the officer draws a
rectangle around the middle of the municipality (where the map opens), which chooses "an area
drawn on the map"; choosing an incident with an affected area offers its area and shows it on the
map; the confirmation lists the contact inside and not the one outside, says how many are inside
on each channel, and "Send now" stores the alert with the drawn area. Every host but 127.0.0.1 is
blocked; the tiles' failures are expected."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from browser import only_tiles, script_errors, sign_in
from factories import EMBANKMENT, create_contact, create_incident

pytestmark = pytest.mark.browser

MAP = "[data-testid=area-map]"
INSIDE_NAME = "<img src=x onerror=alert(1)> Belső Béla"  # shown as text, never run


def _stored_alert(app, alert_id: int):
    from alerts.models import Alert, Delivery
    from incident.extensions import db

    with app.app_context():
        alert = db.session.get(Alert, alert_id)
        deliveries = {(d.channel, d.name) for d in db.session.execute(
            select(Delivery).where(Delivery.alert_id == alert_id)).scalars()}
        return alert.request, deliveries


def _draw_rectangle(page, x1, y1, x2, y2) -> None:
    """Drag a rectangle with Leaflet.draw's rectangle tool, each step once the map shows it took
    the one before (a loaded machine delays the page's handling of the events): the tool is on
    (the map's crosshair), the rectangle is being drawn under the moving mouse, then let go, the
    map has it."""
    container = f"(document.querySelector('{MAP} .leaflet-container') || document.querySelector('{MAP}'))"
    shapes = f"{container}.querySelectorAll('.leaflet-overlay-pane path').length"
    tool = f"{MAP} .leaflet-draw-draw-rectangle"
    if page.locator(f"{tool}.leaflet-draw-toolbar-button-enabled").count() == 0:
        page.click(tool)
    page.wait_for_function(f"() => {container}.style.cursor === 'crosshair'")
    before = page.evaluate(f"() => {shapes}")
    page.mouse.move(x1, y1)
    page.mouse.down()
    page.mouse.move((x1 + x2) / 2, (y1 + y2) / 2, steps=8)
    page.mouse.move(x2, y2, steps=8)
    page.wait_for_function(f"() => {shapes} > {before}")  # the rectangle follows the mouse
    page.mouse.up()
    page.wait_for_function(f"() => document.querySelector('{MAP}').getAttribute('data-shapes') === '1'")


def test_officer_draws_a_rectangle_and_only_the_contact_inside_gets_the_alert(app, live_server, page, make_user):
    flood = create_incident(app, title="Rakparti elöntés", area=EMBANKMENT)
    sign_in(page, live_server, make_user("officer"))
    page.goto(live_server + "/alerts/new")
    page.wait_for_selector(f"{MAP}[data-ready=true]")
    # The map opens on the municipality; the contact inside stands in its middle, the other ~2 km east.
    lat, lon = float(page.get_attribute(MAP, "data-centre-lat")), float(page.get_attribute(MAP, "data-centre-lon"))
    create_contact(app, name=INSIDE_NAME, phone="+36205550501", email="bela@belvaros.example",
                   location={"type": "Point", "coordinates": [lon, lat]}, sms_opt_in=True)
    create_contact(app, name="Külső Kata", phone="+36205550502", email="kata@belvaros.example",
                   location={"type": "Point", "coordinates": [lon + 0.03, lat]}, sms_opt_in=True)

    page.fill("#body", "Gázszivárgás: hagyja el a lakást!")
    page.check("[data-testid=channel-email]")
    # No incident chosen: its area is not offered, and no reference area is drawn.
    assert page.locator("[data-testid=area-incident-option]").is_hidden()
    assert page.get_attribute(MAP, "data-has-reference") == "false"
    assert page.is_checked("[data-testid=area-none]")

    page.locator(MAP).evaluate("el => el.scrollIntoView({block: 'center'})")
    box = page.locator(MAP).bounding_box()
    middle_x, middle_y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    _draw_rectangle(page, middle_x - 90, middle_y - 70, middle_x + 90, middle_y + 70)
    assert page.is_checked("[data-testid=area-drawn]")  # drawing chose it
    # Who the area reaches shows at once, before the channels are chosen: the one contact inside.
    page.wait_for_selector("[data-testid=area-reach-live][data-contacts='1']")
    assert re.findall(r"\d+", page.inner_text("[data-testid=area-reach-live]")) == ["1", "1", "1", "1"]
    drawn = json.loads(page.input_value("#area"))
    assert drawn["type"] == "FeatureCollection" and drawn["features"][0]["geometry"]["type"] == "Polygon"

    # Choosing the incident offers its area and shows it on the map; the drawn area stays chosen.
    page.select_option("#incident_id", str(flood["id"]))
    page.wait_for_selector(f"{MAP}[data-has-reference=true]")
    assert page.locator("[data-testid=area-incident-option]").is_visible()
    assert page.is_checked("[data-testid=area-drawn]")
    page.select_option("#incident_id", "")
    page.wait_for_selector(f"{MAP}[data-has-reference=false]")
    assert page.locator("[data-testid=area-incident-option]").is_hidden()

    page.click("[data-testid=continue]")
    page.wait_for_selector("[data-testid=confirm]")
    assert page.inner_text("[data-testid=recipients] [data-testid=name]").startswith(INSIDE_NAME)
    assert page.locator("[data-testid=recipients] [data-testid=recipient]").count() == 1
    assert "Külső Kata" not in page.inner_text("body")
    assert page.locator("[data-testid=area-reach] li").count() == 2  # SMS and e-mail: one inside on each
    assert [re.sub(r"\D", "", t) for t in page.locator("[data-testid=area-reach] li").all_inner_texts()] == ["1", "1"]
    page.wait_for_selector("[data-testid=area-view][data-ready=true]")
    assert page.locator("[data-testid=area-view] .leaflet-overlay-pane path").count() == 1  # the area on the small map

    page.click("[data-testid=send-now]")
    page.wait_for_url(re.compile(r".*/alerts/\d+$"))
    request, deliveries = _stored_alert(app, int(page.url.rsplit("/", 1)[1]))
    assert deliveries == {("sms", INSIDE_NAME), ("email", INSIDE_NAME)}
    assert request["area"]["type"] == "Polygon"
    west, south = min(p[0] for p in request["area"]["coordinates"][0]), min(p[1] for p in request["area"]["coordinates"][0])
    east, north = max(p[0] for p in request["area"]["coordinates"][0]), max(p[1] for p in request["area"]["coordinates"][0])
    assert west < lon < east and south < lat < north and east < lon + 0.03
    only_tiles(page, app)
    assert script_errors(page) == []
