"""The registers in a real browser: an officer records a pump by clicking on the map, and takes
the contacts out to Excel and back in."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from browser import script_errors, sign_in
from factories import create_contact

pytestmark = pytest.mark.browser


def _tile_host(app) -> str:
    return urlsplit(app.config["RIADO_TILE_URL"].replace("{s}", "a")).hostname


def _only_tiles(page, app):
    tile_host = _tile_host(app)
    hosts = {urlsplit(url).hostname for url in page.offsite_requests}
    assert hosts <= {tile_host}, page.offsite_requests


def _script_errors(page):
    # Tiles cannot load here (no network, and the fixture blocks other hosts): that is expected.
    return [m for m in page.console_errors if "Failed to load resource" not in m]


def test_officer_sets_a_resource_location_by_clicking_the_map(app, live_server, page, make_user):
    sign_in(page, live_server, make_user("officer"))
    page.goto(live_server + "/resources/new")
    picker = page.locator("[data-testid=location-map]")
    picker.wait_for()
    page.wait_for_selector("[data-testid=location-map][data-ready=true]")
    assert page.input_value("#latitude") == "" and page.input_value("#longitude") == ""
    assert picker.locator(".leaflet-marker-icon").count() == 0

    box = picker.bounding_box()
    picker.click(position={"x": box["width"] / 2 + 40, "y": box["height"] / 2 - 30})
    lat, lon = float(page.input_value("#latitude")), float(page.input_value("#longitude"))
    # A little north-east of where the map opened (the municipality's middle; Budapest before
    # any outline exists): tens of metres to a few hundred, as 40 and 30 pixels are at its zoom.
    centre_lat = float(picker.get_attribute("data-centre-lat"))
    centre_lon = float(picker.get_attribute("data-centre-lon"))
    assert 0 < lat - centre_lat < 0.01 and 0 < lon - centre_lon < 0.02, (lat, lon, centre_lat, centre_lon)
    assert page.input_value("#latitude-visible") == page.input_value("#latitude")
    assert picker.locator(".leaflet-marker-icon").count() == 1

    page.fill("#name", "Zagyva-szivattyú <2>")
    page.select_option("#kind", "pump")
    page.fill("#quantity", "2")
    page.fill("#unit", "db")
    page.fill("#owner", "Városgazdálkodási Kft.")
    page.click("form[data-testid=resource-form] button[type=submit]")
    page.wait_for_url(re.compile(r".*/resources/\d+$"))

    assert page.locator("h1").inner_text() == "Zagyva-szivattyú <2>"
    assert page.locator("[data-testid=kind]").inner_text() == "Szivattyú"
    view = page.locator("[data-testid=location-view]")
    view.locator(".leaflet-marker-icon").wait_for()
    assert view.locator(".leaflet-marker-icon").count() == 1
    assert f"{lat:.6f}" in page.locator("main").inner_text()
    _only_tiles(page, app)
    assert _script_errors(page) == []


def test_keyboard_coordinates_and_clear_button_on_the_contact_form(app, live_server, page, make_user):
    sign_in(page, live_server, make_user("officer"))
    page.goto(live_server + "/contacts/new")
    page.wait_for_selector("[data-testid=location-map][data-ready=true]")
    picker = page.locator("[data-testid=location-map]")
    clear = page.locator("#location-clear")
    assert clear.is_visible()  # the script shows it

    page.fill("#latitude-visible", "47.4966")
    page.fill("#longitude-visible", "19.0502")
    assert page.input_value("#latitude") == "47.4966" and page.input_value("#longitude") == "19.0502"
    assert picker.locator(".leaflet-marker-icon").count() == 1

    clear.click()
    assert page.input_value("#latitude") == "" and page.input_value("#longitude") == ""
    assert page.input_value("#latitude-visible") == ""
    assert picker.locator(".leaflet-marker-icon").count() == 0

    picker.click()  # the centre of the map, which followed the typed point
    assert abs(float(page.input_value("#latitude")) - 47.4966) < 0.001
    assert abs(float(page.input_value("#longitude")) - 19.0502) < 0.001
    assert page.input_value("#latitude-visible") == page.input_value("#latitude")
    page.fill("#name", "Kovács Júlia")
    page.fill("#phone", "06 30 123 4567")
    page.click("form[data-testid=contact-form] button[type=submit]")
    page.wait_for_url(re.compile(r".*/contacts/\d+$"))
    assert page.locator("[data-testid=phone]").inner_text() == "+36 30 123 4567"
    page.locator("[data-testid=location-view] .leaflet-marker-icon").wait_for()
    _only_tiles(page, app)
    assert _script_errors(page) == []


def test_officer_exports_the_contacts_in_hungarian_and_checks_files_on_the_import_page(app, live_server, page,
                                                                                     make_user):
    create_contact(app, name="Kovács Anna", phone="06 30 123 4567", role="Polgármester")
    sign_in(page, live_server, make_user("officer"))
    page.goto(live_server + "/contacts")
    with page.expect_download() as download:
        page.click("[data-testid=export-contacts]")
    exported = download.value.path()
    assert Path(exported).read_bytes().decode("utf-8-sig").startswith(
        'Azonosító,Név,Telefonszám,E-mail,Szervezet,"Beosztás, feladat",Riasztási csoportok,SMS-hozzájárulás,')

    # The export, checked on the import page as it came: it imports back unchanged.
    page.click("[data-testid=import-contacts]")
    page.set_input_files("#file", exported)
    page.check("#dry_run")
    page.click("form[data-testid=import-form] button[type=submit]")
    page.locator("[data-testid=dry-run]").wait_for()
    assert page.locator("[data-testid=unchanged]").inner_text() == "1"
    assert page.locator("[data-testid=import-warnings]").count() == 0

    # The office's own list, with Hungarian column names and Kovács Anna on it again.
    own = "Név;Telefonszám;Beosztás, feladat;SMS-hozzájárulás\nKovács Anna;+36 30 123 4567;;igen\nÚj Ember;06 20 555 0101;;nem\n"
    page.set_input_files("#file", files=[{"name": "sajat.csv", "mimeType": "text/csv", "buffer": own.encode()}])
    page.check("#dry_run")
    page.click("form[data-testid=import-form] button[type=submit]")
    page.locator("[data-testid=dry-run]").wait_for()
    assert page.locator("[data-testid=created]").inner_text() == "2"
    warnings = page.locator("[data-testid=import-warnings]")
    assert "2. sor (Kovács Anna): ezzel a névvel és telefonszámmal" in warnings.inner_text()
    assert "Új Ember" not in warnings.inner_text()
    assert script_errors(page) == []
