"""The hazard watch in a real browser: the officer types a reading of 705 cm at Vigadó tér, the
proposal's banner appears on the dashboard and on the wall map (which picks it up without a
reload), the officer accepts it, and the alert composer opens with the drafted text, the
incident chosen, nothing sent."""

from __future__ import annotations

import pytest
from factories import store_district_outline

from browser import only_tiles, script_errors, sign_in

pytestmark = pytest.mark.browser


def second_page(page):
    """Another tab of the same browser (signed in too), kept offline and watched like ``page``."""
    from urllib.parse import urlsplit

    other = page.context.new_page()
    other.offsite_requests, other.console_errors = [], []

    def route(route):
        if urlsplit(route.request.url).hostname in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            other.offsite_requests.append(route.request.url)
            route.abort()

    other.route("**/*", route)
    other.on("console", lambda msg: other.console_errors.append(msg.text) if msg.type == "error" else None)
    return other


def test_a_reading_of_705_becomes_a_banner_and_an_accepted_proposal_drafts_the_alert(app, live_server, page,
                                                                                      make_user, client, officer):
    store_district_outline(app)
    plan = client.post("/api/v1/plans", headers=officer, json={
        "name": "Dunai árvíz – II. fok", "hazard": "flood", "level": 2,
        "tasks": [{"title": "Alsó rakpart lezárása", "due_minutes": 30}]}).get_json()
    sign_in(page, live_server, make_user("officer"))
    wall = second_page(page)
    wall.goto(live_server + "/map/wall")
    wall.wait_for_selector("[data-wall-summary][data-loaded]")
    assert wall.locator("[data-testid=wall-banner]").count() == 0

    page.goto(live_server + "/watch")
    page.fill("[data-testid=reading-station]", "Vigadó tér")
    page.fill("[data-testid=reading-level_cm]", "705")
    page.click("[data-testid=reading-save]")
    page.wait_for_url(live_server + "/watch")
    proposal = page.locator("[data-testid=proposal]")
    assert "705 cm" in proposal.inner_text() and "II" in proposal.inner_text()
    assert page.locator("[data-testid=gauge-chart] svg polyline, [data-testid=gauge-chart] svg circle").count() >= 1

    page.goto(live_server + "/")
    banner = page.locator("[data-testid=banner]")
    assert banner.count() == 1 and "Vigadó tér: 705 cm" in banner.inner_text()

    # The wall map shows it at its next refresh of the summary, without a reload.
    wall.evaluate("document.querySelector('[data-riado-map]').dispatchEvent(new Event('riado:map-loaded'))")
    wall.wait_for_selector("[data-testid=wall-banner]")
    assert "705 cm" in wall.locator("[data-testid=wall-banner]").inner_text()

    page.click("[data-testid=banner-link]")
    page.wait_for_url(live_server + "/watch")
    page.click("[data-testid=accept]")
    page.wait_for_url(lambda url: "/alerts/new" in url)
    drafted = page.input_value("#body")
    assert "705 cm" in drafted and "Vigadó tér" in drafted
    assert page.locator("#incident_id option:checked").inner_text().strip()
    assert plan["name"] in page.locator(".flash").inner_text()  # the level-II plan applied, said
    assert client.get("/api/v1/alerts", headers=officer).get_json()["total"] == 0  # nothing sent
    incident = client.get("/api/v1/incidents", headers=officer).get_json()["items"][0]
    assert incident["readiness_level"] == 2
    assert script_errors(page) == [] and script_errors(wall) == []
    only_tiles(wall, app)
