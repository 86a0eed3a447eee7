"""A new colleague, with nothing but the guide: a browser reads the steps of the guide's call-out
and drill from Riadó's own help page and does what they say, by the words on the screen (a menu
entry, a link's or a button's text, a field's label), as a person who has never seen Riadó
would. Both end as the guide promises: an alert sent to the committee, followed on its page; a
drill recorded, alerted, answered, closed and reported on."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from browser.guide import (assert_page_accessible, follow, load_demo_district, new_page, read_steps, sign_in,
                           stop_the_clock)
from conftest import running_consumer

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("lang", ["hu", "en"])
def test_a_new_colleague_sends_a_call_out_and_runs_a_drill_from_the_guide_alone(app, live_server, browser, make_user,
                                                                                 monkeypatch, lang):
    from alerts.models import Alert, Delivery
    from incident.extensions import db
    from incident.models import Incident

    stop_the_clock(monkeypatch)
    load_demo_district(app)
    colleague = make_user("officer", name="Új Kolléga" if lang == "hu" else "New Colleague")
    base = live_server
    urls = app.url_map.bind("localhost")

    def endpoint_of(url: str) -> str | None:
        try:
            return urls.match(urlsplit(url).path, method="GET")[0]
        except HTTPException:
            return None

    page = new_page(browser, base, lang)
    huey = app.extensions["huey"]
    huey.flush()
    done: list[str] = []
    try:
        sign_in(page, base, colleague["email"], colleague["password"], lang)
        with running_consumer(huey):
            # The call-out, from the dashboard.
            steps = read_steps(page, base, "callout", "callout")
            assert len(steps) >= 8
            page.goto(base + "/")
            follow(page, steps, endpoint_of, done)
            call_out = page.url
            # The drill, from the dashboard again.
            steps = read_steps(page, base, "drill", "drill")
            drill_title = page.locator("ol[data-walk=drill] [data-kind=record]").inner_text()
            page.goto(base + "/")
            follow(page, steps, endpoint_of, done)
    except Exception as exc:  # what the colleague had done when the guide lost them
        raise AssertionError("the guide lost the new colleague after:\n" + "\n".join(done[-6:])) from exc
    else:
        assert_page_accessible(page)  # every page the colleague saw, the guide's own included
    finally:
        page.context.close()
        huey.flush()

    with app.app_context():
        alerts = db.session.execute(select(Alert).where(Alert.created_by_id == colleague["id"]).order_by(Alert.id)).scalars().all()
        assert len(alerts) == 2
        first, second = alerts
        # The call-out: to the committee (8 phones; one member takes no SMS), asking for a reply.
        assert call_out.endswith(f"/alerts/{first.id}")
        assert not first.drill and first.require_ack and first.recipients == 8
        assert first.status == "done"
        # The drill: recorded as the guide says, alerted with the drill prefix, answered, closed.
        drill = db.session.execute(select(Incident).where(Incident.title == drill_title)).scalar_one()
        assert drill.drill and drill.kind == "gas_leak" and drill.severity == "severe" and drill.status == "closed"
        assert second.drill and second.incident_id == drill.id and second.body.startswith("GYAKORLAT! ")
        acknowledged = db.session.execute(select(Delivery).where(Delivery.alert_id == second.id,
                                                                 Delivery.acknowledged_at.is_not(None))).scalars().all()
        assert len(acknowledged) == 1


# The reader is strict: a name fits one element, whole; a page is the page the guide names.
ORIGIN = "http://127.0.0.1:9"  # nothing listens here: the test answers (see test_axe_hook_browser.py)
PAGES = {
    "/start": "<!doctype html><html lang='hu'><head><title>Riasztások · Riadó</title></head><body><main><h1>Riasztások</h1>"
              "<p><a href='/new'>Új riasztás</a> <a class='button' href='/new'>Az esemény lezárása…</a></p>"
              "<button type='button'>Készültségi fok módosítása</button>"
              "<button type='button'>Mentés</button><button type='button'>Mentés</button></main></body></html>",
    "/new": "<!doctype html><html lang='hu'><head><title>Új riasztás · Riadó</title></head><body><main><h1>Új riasztás</h1>"
            "</main></body></html>",
}


def test_the_reader_wants_a_whole_name_one_element_and_the_page_the_guide_names(browser):
    page = new_page(browser, ORIGIN)
    page.route(f"{ORIGIN}/**", lambda route: route.fulfill(
        status=200, content_type="text/html; charset=utf-8", body=PAGES[urlsplit(route.request.url).path]))
    endpoints = {"/start": "alerts.index", "/new": "alerts.new"}

    def endpoint_of(url):
        return endpoints.get(urlsplit(url).path)

    def mark(kind, text, endpoint="alerts.index", **how):
        return {"kind": kind, "text": text, "endpoint": endpoint, **how}

    def walk(*marks):
        page.goto(f"{ORIGIN}/start")
        follow(page, [list(marks)], endpoint_of, timeout=500)

    def lost(*marks) -> str:
        with pytest.raises(AssertionError) as failure:
            walk(*marks)
        return str(failure.value)

    try:
        # What a guide can say.
        walk(mark("button", "Készültségi fok módosítása"), mark("button", "Készültségi fok", prefix=True),
             mark("button", "Mentés", first=True), mark("page", "Riasztások"),
             mark("link", "Új riasztás"), mark("page", "Új riasztás", "alerts.new"))
        walk(mark("button", "Az esemény lezárása", prefix=True), mark("page", "Új riasztás", "alerts.new"))
        # A piece of a name, another's capitals, a name two elements have, a page by another name or
        # a name looked for on another page: the reader is lost.
        assert "0 elements" in lost(mark("button", "Kész"))
        assert "0 elements" in lost(mark("button", "Kész", prefix=True))
        assert "0 elements" in lost(mark("button", "Készültségi fok"))
        assert "0 elements" in lost(mark("button", "készültségi fok módosítása"))
        assert "0 elements" in lost(mark("link", "Új"))
        assert "0 elements" in lost(mark("button", "Új riasztás"))  # a plain link is not a button
        assert "2 elements" in lost(mark("button", "Mentés"))
        assert "the page is “Riasztások”" in lost(mark("page", "Riasztás"))
        assert "the browser shows" in lost(mark("see", "Riasztások", "alerts.new"))
        assert_page_accessible(page)
    finally:
        page.context.close()
