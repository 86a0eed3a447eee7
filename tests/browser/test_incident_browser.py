"""The incident page in a real browser: an officer keeps the log by typing a line and pressing Enter."""

from __future__ import annotations

import re

import pytest

from browser import only_tiles, script_errors, sign_in
from factories import EMBANKMENT, create_incident

pytestmark = pytest.mark.browser



def _texts(page) -> list[str]:
    return page.locator("[data-testid=timeline] [data-testid=entry-text]").all_inner_texts()


def test_officer_types_log_lines_and_presses_enter(app, live_server, page, make_user):
    incident_id = create_incident(app, area=EMBANKMENT, drill=True)["id"]
    sign_in(page, live_server, make_user("officer"))
    page.goto(f"{live_server}/incidents/{incident_id}")
    assert page.locator("[data-testid=drill-banner]").inner_text().startswith("GYAKORLAT")
    page.wait_for_selector("[data-testid=incident-map][data-ready=true][data-has-area=true]")
    assert page.locator("[data-testid=incident-map] path.leaflet-interactive, [data-testid=incident-map] svg path").count() >= 1
    assert len(_texts(page)) == 1  # the system's "recorded" entry

    line = page.locator("#entry-text")
    line.click()
    line.type("Vízállás a Vigadó térnél: 780 cm, emelkedik.")
    line.press("Enter")
    page.wait_for_url(re.compile(rf".*/incidents/{incident_id}\?entry=2$"))
    page.wait_for_selector("#entry-2")

    # Newest first: the line just typed is right under the input, the input is focused and empty.
    assert _texts(page)[0] == "Vízállás a Vigadó térnél: 780 cm, emelkedik."
    assert page.locator("[data-testid=timeline] [data-testid=log-entry]").first.get_attribute("data-seq") == "2"
    assert page.evaluate("document.activeElement && document.activeElement.id") == "entry-text"
    assert page.input_value("#entry-text") == ""
    assert "A napló sértetlen: 2 bejegyzés." in page.locator("[data-testid=verify]").inner_text()

    # The next line straight away, without touching the mouse; this time a decision.
    page.select_option("#entry-kind", "decision")
    page.focus("#entry-text")
    page.keyboard.type("Kitelepítés elrendelve: Belgrád rakpart 1–5.")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf".*/incidents/{incident_id}\?entry=3$"))
    page.wait_for_selector("#entry-3")
    assert _texts(page)[:2] == ["Kitelepítés elrendelve: Belgrád rakpart 1–5.", "Vízállás a Vigadó térnél: 780 cm, emelkedik."]
    assert page.locator("#entry-3").get_attribute("data-kind") == "decision"
    assert page.evaluate("document.activeElement && document.activeElement.id") == "entry-text"
    assert page.input_value("#entry-text") == ""
    assert page.input_value("#entry-kind") == "note"  # each line starts as a note again
    assert "A napló sértetlen: 3 bejegyzés." in page.locator("[data-testid=verify]").inner_text()

    only_tiles(page, app)
    assert script_errors(page) == []


def test_the_report_prints_without_navigation(app, live_server, page, make_user):
    incident_id = create_incident(app, area=EMBANKMENT)["id"]
    sign_in(page, live_server, make_user("viewer"))
    page.goto(f"{live_server}/incidents/{incident_id}/report")
    assert page.locator("h1").inner_text() == "Helyzetjelentés"
    assert page.locator("[data-print]").is_visible()  # the script shows the print button
    assert page.locator("[data-testid=area-svg] path.svg-area").count() == 1
    page.emulate_media(media="print")
    assert not page.locator(".topbar").is_visible()
    assert not page.locator("[data-print]").is_visible()
    only_tiles(page, app)
    assert script_errors(page) == []
