"""A registration desk session in a real browser: an officer checks in a family of four, then a
person in a wheelchair, with the keyboard; the shelter's free places drop on the map (its popup
shows the headcounts, never names); the shelter's printed list names them."""

from __future__ import annotations

import pytest

from browser import script_errors, sign_in
from factories import create_incident, create_resource

pytestmark = pytest.mark.browser

SCHOOL = {"type": "Point", "coordinates": [19.0502, 47.5003]}


def _type_person(page, row: int, name: str, year: str):
    page.fill(f"#name_{row}", name)
    page.keyboard.press("Tab")
    page.keyboard.type(year)


def _shelter_popup(page, live_server, shelter_id: int) -> str:
    page.goto(live_server + "/map")
    page.wait_for_selector("[data-riado-map][data-state=ready]", timeout=20_000)
    assert page.evaluate(f"document.querySelector('[data-riado-map]').riadoMap.show('resources:shelter', {shelter_id})")
    popup = page.locator(".leaflet-popup-content .map-popup")
    popup.wait_for()
    return popup.inner_text()


def test_desk_session_family_then_wheelchair_map_and_print(app, live_server, page, make_user):
    incident = create_incident(app, title="Dunai árvíz – kitelepítés a rakpartról")
    gym = create_resource(app, name="Szemere utcai iskola tornaterme", kind="shelter", quantity=1, unit="épület",
                          capacity=40, location=SCHOOL)
    sign_in(page, live_server, make_user("officer"))

    assert "40" in _shelter_popup(page, live_server, gym["id"])

    page.goto(live_server + "/reception/desk")
    page.select_option("#incident_id", str(incident["id"]))
    page.select_option("#shelter_id", str(gym["id"]))
    page.fill("#household", "Varga család, Nádor utca 3.")
    for row, (name, year) in enumerate((("Varga Péter", "1980"), ("Varga Réka", "1982"), ("Varga Bence", "2015"),
                                        ("Varga Zsófi", "2024"))):
        _type_person(page, row, name, year)
    page.check("input[name=needs_3][value=infant]")
    page.locator("#name_3").press("Enter")  # the keyboard submits the one form
    page.wait_for_selector(".flash-success")
    assert "1, 2, 3, 4" in page.locator(".flash-success").inner_text()
    assert page.locator("[data-testid=desk-free-places]").inner_text().startswith("36")
    # The incident and the shelter are remembered; the cursor waits in the first name.
    assert page.locator("#shelter_id").input_value() == str(gym["id"])
    page.wait_for_function("() => document.activeElement.id === 'name_0'")  # autofocus, at the first paint

    page.keyboard.type("Kerekes Kálmán")
    page.keyboard.press("Tab")
    page.keyboard.type("1941")
    page.check("input[name=needs_0][value=wheelchair]")
    page.locator("#name_0").press("Enter")
    page.wait_for_selector(".flash-success")
    assert page.locator("[data-testid=desk-free-places]").inner_text().startswith("35")

    # A narrow screen: the desk's fields fit the width (no sideways scrolling).
    page.set_viewport_size({"width": 360, "height": 740})
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.set_viewport_size({"width": 1280, "height": 800})

    text = _shelter_popup(page, live_server, gym["id"])
    assert "35" in text and "Varga" not in text and "Kerekes" not in text
    reception = page.locator("[data-testid=popup-reception]").inner_text()
    assert "5" in reception and "2" in reception  # five present; two children (Bence 11, Zsófi 2)

    page.goto(live_server + "/reception/desk")
    page.click("[data-testid=desk-print]")
    page.wait_for_selector("[data-testid=reception-print]")
    printed = page.locator("[data-testid=print-people]").inner_text()
    for name in ("Varga Péter", "Varga Réka", "Varga Bence", "Varga Zsófi", "Kerekes Kálmán"):
        assert name in printed
    assert page.locator("[data-testid=print-present]").inner_text() == "5"
    page.emulate_media(media="print")
    assert page.locator("[data-testid=print-people]").is_visible()
    assert page.pdf()[:4] == b"%PDF"  # it prints
    assert not script_errors(page)
