"""Readiness plans in a real browser, on the demo district: the officer raises the demo flood
drill's readiness level to II, accepts the offer to apply the level-II plan, ticks two tasks,
sees the task left overdue on the dashboard and on the wall map, and prints the checklist."""

from __future__ import annotations

import re

import pytest

from browser import script_errors, sign_in

pytestmark = pytest.mark.browser

DRILL = "GYAKORLAT – árvízvédelmi törzsvezetési gyakorlat a pesti rakparton"


def _demo(app) -> int:
    """The demo district as ``riado demo load`` leaves it: the flood drill at readiness level I,
    whose level-I plan was applied when the level was declared (44 minutes ago): its tasks due in
    15 and 30 minutes are overdue by now."""
    from sqlalchemy import select

    from incident.audit import set_actor
    from incident.demo import load_demo
    from incident.extensions import db
    from incident.models import Incident

    with app.app_context():
        set_actor(None, "demo")
        load_demo()
        return db.session.execute(select(Incident.id).where(Incident.title == DRILL)).scalar_one()


def test_raise_the_level_apply_the_offered_plan_tick_and_print(app, live_server, page, make_user):
    drill_id = _demo(app)
    sign_in(page, live_server, make_user("officer"))
    page.goto(f"{live_server}/incidents/{drill_id}")
    assert page.locator("[data-testid=readiness]").first.inner_text() == "I. fokú készültség"
    assert page.locator("[data-testid=task][data-overdue=true]").count() == 2
    assert page.locator("[data-testid=plan-offer]").count() == 0  # the level-I plan is applied already

    # Raise to II: the page offers the level-II plan and applies nothing by itself.
    page.select_option("#readiness-level", "2")
    page.click("[data-testid=readiness-submit]")
    page.wait_for_url(re.compile(rf".*/incidents/{drill_id}#plan-offer$"))
    badge = page.locator(".incident-head [data-testid=readiness]")
    assert badge.inner_text() == "II. fokú készültség" and badge.get_attribute("data-level") == "2"
    offer = page.locator("[data-testid=plan-offer]")
    assert "Dunai árvíz – II. fokú készültség" in offer.inner_text()
    assert page.locator("[data-testid=task]").count() == 5
    offer.locator("[data-testid=apply-offered]").click()
    page.wait_for_url(re.compile(rf".*/incidents/{drill_id}#checklist$"))
    assert page.locator("[data-testid=plan-offer]").count() == 0
    assert page.locator("[data-testid=task]").count() == 11

    # Tick two tasks: the first overdue one of level I, and the first of level II.
    def tick(title: str) -> None:
        row = page.locator("[data-testid=task]", has=page.locator(f"[data-testid=task-title]:text-is('{title}')"))
        row.locator("[data-testid=task-done]").click()
        page.wait_for_selector(f"[data-testid=task][data-status=done]:has([data-testid=task-title]:text-is('{title}'))")

    tick("Vízállás-előrejelzés figyelése")
    tick("HVB összehívása")
    assert page.locator("[data-testid=task][data-status=done]").count() == 2
    timeline = page.inner_text("[data-testid=timeline]")
    assert "Feladat elvégezve: Vízállás-előrejelzés figyelése." in timeline
    assert "Feladat elvégezve: HVB összehívása." in timeline
    assert "Terv alkalmazva: Dunai árvíz – II. fokú készültség" in timeline
    assert "Készültség: I. fokú készültség → II. fokú készültség." in timeline
    assert page.locator("[data-testid=verify]").get_attribute("data-ok") == "true"

    # The dashboard lists the task still overdue, not the one done.
    page.goto(live_server + "/")
    overdue = page.locator("[data-testid=overdue-tasks]")
    assert overdue.locator("[data-testid=overdue-task]").count() == 1
    assert "Helyi Védelmi Bizottság tagjainak értesítése" in overdue.inner_text()
    assert "Vízállás-előrejelzés" not in overdue.inner_text()
    assert "II. fokú készültség" in page.inner_text("[data-testid=open-drills]")

    # The drill's wall map counts it and shows the level, large.
    page.goto(live_server + "/map/wall?drill=1")
    page.wait_for_selector("[data-wall-summary][data-loaded]")
    assert page.locator(".wall-count[data-key=overdue_tasks] .wall-count-value").inner_text() == "1"
    assert page.locator("[data-testid=wall-readiness] li[data-level='2']").inner_text().startswith("II. fokú készültség")

    # Print the checklist.
    page.goto(f"{live_server}/incidents/{drill_id}")
    page.click("[data-testid=checklist-link]")
    page.wait_for_url(f"{live_server}/incidents/{drill_id}/checklist")
    sheet = page.locator("[data-testid=checklist-print]")
    assert sheet.locator("[data-testid=checklist-task]").count() == 11
    assert sheet.locator("[data-testid=checklist-task][data-status=done]").count() == 2
    assert sheet.locator("[data-testid=checklist-task][data-overdue=true]").count() == 1
    assert page.locator("[data-testid=print]").is_visible()
    page.emulate_media(media="print")
    assert not page.locator(".report-actions").is_visible()
    assert sheet.is_visible()
    assert script_errors(page) == []
