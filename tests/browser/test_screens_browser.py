"""What an officer sees on the screens they use (issue 13): the wall map fills the operations
room's screen at 1920×1080 and 2560×1440, drill or not; no page scrolls sideways on a 390 px
phone; a wholly assigned pump is faded on the map and its popup leads to the incident."""

from __future__ import annotations

import pytest
from browser import script_errors, sign_in
from browser.axe import assert_accessible, watch_accessibility
from factories import assign, create_incident, create_resource

pytestmark = pytest.mark.browser

VIGADO = {"type": "Point", "coordinates": [19.0493, 47.4957]}


@pytest.mark.parametrize("width, height", [(1920, 1080), (2560, 1440)])
def test_the_wall_map_fills_the_screen(app, live_server, page, make_user, width, height):
    create_incident(app, title="Dunai árvíz")
    create_incident(app, title="Gyakorlat: gátszakadás", drill=True)
    sign_in(page, live_server, make_user("viewer"))
    page.set_viewport_size({"width": width, "height": height})
    for path in ("/map/wall", "/map/wall?drill=1"):
        page.goto(live_server + path)
        page.wait_for_selector("[data-riado-map][data-state=ready]", timeout=20_000)
        box = page.locator("[data-testid=wall-map]").bounding_box()
        status = page.locator("[data-map-status]").bounding_box()
        # The map reaches the status line at the bottom, and nothing scrolls.
        assert abs(box["y"] + box["height"] - status["y"]) <= 1, (path, box, status)
        assert status["y"] + status["height"] >= height - 1, (path, status)
        assert box["height"] >= height * 0.8, (path, box)
        assert page.evaluate("document.documentElement.scrollHeight") <= height, path
    assert script_errors(page) == []


PHONE_PAGES = ["/", "/incidents", "/incidents/{incident}", "/incidents/new", "/incidents/{incident}/edit",
               "/incidents/{incident}/report", "/incidents/{incident}/after-action", "/contacts", "/contacts/new",
               "/contacts/import", "/groups", "/resources", "/resources/{resource}", "/resources/new",
               "/resources/import", "/alerts", "/alerts/new", "/alerts/outbox", "/map", "/map/wall",
               "/map/incidents/{incident}/area", "/account", "/admin/users", "/admin/audit"]


def test_no_page_scrolls_sideways_on_a_390_px_phone(app, live_server, browser, make_user):
    incident = create_incident(app, title="Csőtörés az Október 6. utcában, a Zrínyi utca és a József Attila utca között")
    resource = create_resource(app, name="Zagyszivattyú (Fővárosi Vízművek, Budapest V. kerületi telephely)",
                               kind="pump", quantity=2, unit="db", location=VIGADO)
    assign(app, incident["id"], resource["id"], 1)
    context = browser.new_context(locale="hu-HU", viewport={"width": 390, "height": 844}, is_mobile=True,
                                  has_touch=True)
    found = watch_accessibility(context)
    page = context.new_page()
    page.route("**/*", lambda route: route.continue_() if "127.0.0.1" in route.request.url else route.abort())
    try:
        sign_in(page, live_server, make_user("admin"))
        wide = []
        for path in PHONE_PAGES:
            url = live_server + path.format(incident=incident["id"], resource=resource["id"])
            response = page.goto(url)
            assert response.status == 200, path
            page.wait_for_load_state("load")
            scroll, client = page.evaluate(
                "[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
            if scroll > client:
                wide.append((path, scroll))
        assert wide == []
        assert_accessible(page, found)
    finally:
        context.close()


def test_a_wholly_assigned_pump_is_faded_on_the_map_and_leads_to_its_incident(app, live_server, page, make_user):
    incident = create_incident(app, title="Csőtörés")
    pump = create_resource(app, name="Zagyszivattyú", kind="pump", quantity=1, unit="db", location=VIGADO)
    spare = create_resource(app, name="Tartalék szivattyú", kind="pump", quantity=1, unit="db",
                            location={"type": "Point", "coordinates": [19.0457, 47.5071]})
    assign(app, incident["id"], pump["id"], 1)
    sign_in(page, live_server, make_user("viewer"))
    page.goto(live_server + "/map")
    page.wait_for_selector("[data-riado-map][data-state=ready]", timeout=20_000)
    show = "([id]) => document.querySelector('[data-riado-map]').riadoMap.show('resources:pump', id)"
    assert page.evaluate(show, [spare["id"]])
    page.wait_for_selector(f".map-popup-resource[data-id='{spare['id']}']")
    spare_icon = page.locator(".leaflet-marker-icon[title='Tartalék szivattyú']")
    assert "riado-pin-faded" not in spare_icon.get_attribute("class")
    assert page.locator(".map-popup [data-testid=popup-assigned-to]").count() == 0
    assert page.evaluate(show, [pump["id"]])
    page.wait_for_selector(".map-popup [data-testid=popup-assigned-to]")
    pump_icon = page.locator(".leaflet-marker-icon[title='Zagyszivattyú']")
    assert "riado-pin-faded" in pump_icon.get_attribute("class")  # nothing of it is left to deploy
    deployed = page.locator(".map-popup [data-testid=popup-assigned-to]")
    assert incident["number"] in deployed.inner_text() and "Csőtörés" in deployed.inner_text()
    assert deployed.locator("a").get_attribute("href") == f"/incidents/{incident['id']}"
    # The link opens the incident's page (followed by address: the map refreshes its layers and may
    # redraw the popup under a click on a loaded machine).
    page.goto(live_server + deployed.locator("a").get_attribute("href"))
    assert "Csőtörés" in page.locator("h1").inner_text()
    assert script_errors(page) == []


def test_the_outbox_reads_on_a_390_px_phone(app, live_server, browser, make_user, api):
    """Each message stacked under its labels: nothing wider than the phone, the reply button in
    reach (a six-column table was 940 px wide in a 324 px scroller)."""
    from conftest import running_consumer, wait_until_idle
    from factories import create_contact, create_group

    group = create_group(app, "Vízművek ügyelet")
    create_contact(app, name="Kelemen Tímea", phone="+36205550412", groups=[group["id"]])
    headers, _ = api("officer")
    client = app.test_client()
    with running_consumer(app.extensions["huey"]):
        response = client.post("/api/v1/alerts", headers=headers, json={
            "body": "Csőtörés az Október 6. utcában: a vízszolgáltatás szünetel, ivóvíz a Hold utcai lajtos kocsinál.",
            "groups": [group["id"]], "require_ack": True})
        assert response.status_code == 202, response.get_json()
        wait_until_idle(app)
    context = browser.new_context(locale="hu-HU", viewport={"width": 390, "height": 844}, is_mobile=True,
                                  has_touch=True)
    found = watch_accessibility(context)
    page = context.new_page()
    page.route("**/*", lambda route: route.continue_() if "127.0.0.1" in route.request.url else route.abort())
    try:
        sign_in(page, live_server, make_user("officer"))
        page.goto(live_server + "/alerts/outbox")
        table = page.locator("[data-testid=outbox]")
        assert table.locator("[data-testid=outbox-message]").count() == 1
        inner, shown = table.evaluate("t => [t.parentElement.scrollWidth, t.parentElement.clientWidth]")
        assert inner <= shown, (inner, shown)
        button = page.locator("[data-testid=simulate]")
        button.scroll_into_view_if_needed()
        box = button.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, box
        assert "+36 20 555 0412" in page.inner_text("[data-testid=outbox-message] [data-testid=to]")
        scroll, client_width = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert scroll <= client_width
        assert_accessible(page, found)
    finally:
        context.close()
