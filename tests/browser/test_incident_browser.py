"""The incident page in a real browser: an officer keeps the log by typing a line and pressing Enter."""

from __future__ import annotations

import re

import pytest

from browser import only_tiles, script_errors, sign_in
from factories import EMBANKMENT, create_incident, create_resource

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


def test_closing_with_an_assigned_pump_asks_and_gives_it_back(app, live_server, page, make_user):
    import datetime as dt
    from zoneinfo import ZoneInfo

    incident_id = create_incident(app, title="Csőtörés az Október 6. utcában", kind="other", severity="moderate")["id"]
    pump = create_resource(app, name="Zagyszivattyú", kind="pump", quantity=1, unit="db")
    sign_in(page, live_server, make_user("officer"))
    path = f"{live_server}/incidents/{incident_id}"
    page.goto(path)
    page.click("[data-testid=to-active]")
    page.wait_for_selector("[data-testid=to-contained]")
    page.click(f"[data-testid=nearby-resource][data-resource='{pump['id']}'] [data-testid=assign]")
    page.wait_for_selector(f"[data-testid=active-assignments] [data-testid=assignment][data-resource='{pump['id']}']")
    page.click("[data-testid=to-contained]")
    page.wait_for_selector("[data-testid=to-closed]")

    # Closing asks: the pump, how much, since when; going back leaves everything as it was.
    page.click("[data-testid=to-closed]")
    page.wait_for_url(f"{path}/close")
    row = page.locator("[data-testid=open-assignment]")
    assert row.count() == 1
    assert row.locator("[data-testid=resource-name]").inner_text() == "Zagyszivattyú"
    assert row.locator("[data-testid=quantity]").inner_text() == "1 db"
    page.click("[data-testid=go-back]")
    page.wait_for_url(path)
    assert page.locator("[data-testid=status]").first.get_attribute("data-status") == "contained"
    assert page.locator("[data-testid=active-assignments] [data-testid=assignment]").count() == 1

    # A time in the future is refused beside the field; nothing is closed.
    page.click("[data-testid=to-closed]")
    page.wait_for_url(f"{path}/close")
    later = (dt.datetime.now(ZoneInfo("Europe/Budapest")) + dt.timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")
    page.fill("[data-testid=released-at]", later)
    page.click("[data-testid=confirm-close]")
    page.wait_for_selector("[data-testid=released-at-error]")
    assert "jövőbeli" in page.locator("[data-testid=released-at-error]").inner_text()
    assert page.get_attribute("[data-testid=released-at]", "aria-invalid") == "true"

    # Empty: given back now, and closed.
    page.fill("[data-testid=released-at]", "")
    page.click("[data-testid=confirm-close]")
    page.wait_for_url(path)
    assert page.locator("[data-testid=status]").first.get_attribute("data-status") == "closed"
    assert "1 erőforrás visszaadva." in page.locator(".flash").all_inner_texts()
    assert page.locator("[data-testid=active-assignments] [data-testid=assignment]").count() == 0
    assert page.locator(f"[data-testid=released-assignment][data-resource='{pump['id']}']").count() == 1
    texts = _texts(page)
    assert texts[:2] == ["Állapot: megfékezett → lezárt.", "Visszaadva: 1 db – Zagyszivattyú."]
    assert "A napló sértetlen" in page.locator("[data-testid=verify]").inner_text()
    only_tiles(page, app)
    assert script_errors(page) == []
