"""Accessibility as the law asks of a municipality (the EU Web Accessibility Directive: WCAG 2.1
AA), checked by axe-core in Chromium over every page of Riadó, for an officer and a viewer, in
Hungarian and in English, on the demo district."""

from __future__ import annotations

import datetime as dt

import pytest
from browser.axe import AXE_SOURCE, describe, unique, violations

pytestmark = pytest.mark.browser

# Every GET address of the web app but the API and the static files: the pages below visit each
# of them; these ones answer something other than a page (a file, a feed, a redirect).
NOT_PAGES = {
    "static", "health.healthz", "metrics.metrics", "auth.set_language", "account.create_token",
    "registry.contacts.export_csv", "registry.resources.export_csv", "after_action.report_as_csv",
    "reception.export_csv", "public_notices.feed", "public_notices.cap",
    "reception.import_choose",  # a redirect to the shelter's import page, which is visited
}


def _demo(app, api, client):
    """The demo district, plus what it lacks: a published notice, a draft, evacuees at a shelter,
    a gauge reading and an acknowledgement link. The ids of the pages' records."""
    from sqlalchemy import select

    from alerts.models import Alert, Delivery
    from alerts.operations import ack_token
    from incident.audit import set_actor
    from incident.demo import load_demo
    from incident.extensions import db
    from incident.models import Contact, AlertGroup, Incident, Plan, Resource, User

    with app.test_request_context():
        set_actor(None, "demo")
        load_demo()
        flood = db.session.execute(select(Incident).where(Incident.kind == "flood", Incident.drill.is_(False))).scalar_one()
        storm = db.session.execute(select(Incident).where(Incident.kind == "storm")).scalar_one()
        drill = db.session.execute(select(Incident).where(Incident.kind == "flood", Incident.drill.is_(True))).scalar_one()
        ids = {
            "incident": flood.id, "storm": storm.id, "drill": drill.id,
            "contact": db.session.execute(select(Contact.id).order_by(Contact.id)).scalars().first(),
            "group": db.session.execute(select(AlertGroup.id).order_by(AlertGroup.id)).scalars().first(),
            "resource": db.session.execute(select(Resource.id).where(Resource.kind == "pump")).scalars().first(),
            "shelter": db.session.execute(select(Resource.id).where(Resource.kind == "shelter")).scalars().first(),
            "plan": db.session.execute(select(Plan.id).order_by(Plan.id)).scalars().first(),
            "user": db.session.execute(select(User.id).order_by(User.id)).scalars().first(),
            "alert": db.session.execute(select(Alert.id).order_by(Alert.id)).scalars().first(),
        }
    press, _ = api("press")
    officer, _ = api("officer")
    expires = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=3)).isoformat()
    notice = {"title": "Viharos szél: kerülje a Szent István körutat", "body": "Kidőlt fák a körúton.",
              "instruction": "Kerülje el a körutat.", "incident_id": ids["storm"], "expires_at": expires}
    published = client.post("/api/v1/notices", headers=press, json=notice).get_json()
    assert client.post(f"/api/v1/notices/{published['id']}/submit", headers=press).status_code == 200
    assert client.post(f"/api/v1/notices/{published['id']}/approve", headers=officer).status_code == 200
    ids["notice"] = published["id"]
    ids["draft"] = client.post("/api/v1/notices", headers=press, json={**notice, "title": "Tervezet"}).get_json()["id"]
    people = client.post("/api/v1/evacuees/household", headers=officer, json={
        "incident_id": ids["drill"], "shelter_id": ids["shelter"], "household": "Varga család",
        "members": [{"name": "Varga Péter", "birth_year": 1980}, {"name": "Varga Zsófi", "birth_year": 2024,
                                                                 "needs": ["infant"]}]})
    assert people.status_code == 201, people.get_json()
    ids["evacuee"] = people.get_json()["items"][0]["id"]
    # A reading typed in on the watch page: its row in the station's latest readings, with Delete….
    typed = client.post("/api/v1/gauges/Vigadó tér/readings", headers=officer, json={"level_cm": 480})
    assert typed.status_code == 201, typed.get_json()
    # An e-mail alert asking for acknowledgement: its link's page (nothing is sent: the queue is emptied).
    mailed = client.post("/api/v1/alerts", headers=officer, json={
        "body": "Próbariasztás: kérjük, erősítse meg.", "groups": [ids["group"]], "channels": ["email"],
        "require_ack": True})
    assert mailed.status_code == 202, mailed.get_json()
    app.extensions["huey"].flush()
    with app.app_context():
        delivery = db.session.execute(select(Delivery.id).where(Delivery.alert_id == mailed.get_json()["id"])
                                      ).scalars().first()
        ids["ack"] = ack_token(delivery)
    return ids


# The pages of a signed-in officer, then the admin's, then the ones anybody may open.
PAGES = [
    "/", "/incidents", "/incidents/{incident}", "/incidents/{incident}/report", "/incidents/{incident}/after-action",
    "/incidents/{drill}", "/incidents/{drill}/checklist", "/incidents/{drill}/edit", "/incidents/{drill}/close",
    "/incidents/new", "/incidents/overdue-tasks",
    "/plans", "/plans/{plan}", "/plans/{plan}/edit", "/plans/{plan}/print", "/plans/new", "/plans/import",
    "/reception", "/reception/desk", "/reception/search?q=varga", "/reception/evacuees/{evacuee}",
    "/reception/incidents/{drill}/shelters/{shelter}/print",
    "/reception/incidents/{drill}/shelters/{shelter}/import",
    "/contacts", "/contacts?sms=no", "/contacts/{contact}", "/contacts/{contact}/edit", "/contacts/new",
    "/contacts/import", "/groups", "/groups/{group}",
    "/resources", "/resources/{resource}", "/resources/{resource}/edit", "/resources/new", "/resources/import",
    "/alerts", "/alerts/new", "/alerts/{alert}", "/alerts/outbox",
    "/notices", "/notices/new", "/notices/{notice}", "/notices/{draft}", "/notices/{draft}/edit",
    "/notices/media/{storm}",
    "/watch", "/map", "/map/wall", "/map/wall?drill=1", "/map/incidents/{incident}/area", "/account",
    "/help", "/help/callout", "/help/print",
]
ADMIN = ["/admin/users", "/admin/users/{user}", "/admin/audit"]
PUBLIC = ["/login", "/public", "/public/notices/{notice}", "/ack/{ack}"]


def _settle(page):
    """Wait for the page's own scripts: a map has drawn its layers."""
    if page.locator("[data-riado-map]").count():
        page.wait_for_selector("[data-riado-map][data-state=ready]", timeout=20_000)
    if page.locator("[data-public-map]").count():
        page.wait_for_selector("[data-public-map][data-ready=true]", timeout=20_000)


def _sign_in(page, base, user):
    page.goto(base + "/login")
    page.fill("#email", user["email"])
    page.fill("#password", user["password"])
    page.press("#password", "Enter")
    page.wait_for_url(base + "/")


def _check(page, base, paths, ids, found, refused):
    """Open each page and add what axe finds; a page the user may not open (403) is checked once."""
    for path in paths:
        response = page.goto(base + path.format(**ids))
        assert response.status in (200, 403), (path, response.status)
        if response.status == 403:
            if refused:
                continue
            refused.append(path)
        _settle(page)
        found += violations(page)
        if path == "/map":  # a popup, as a click opens it: an incident's, then a shelter's
            for layer, record, kind in (("drills", ids["drill"], "incident"),
                                        ("resources:shelter", ids["shelter"], "resource")):
                assert page.evaluate("([l, id]) => document.querySelector('[data-riado-map]').riadoMap.show(l, id)",
                                     [layer, record])
                page.wait_for_selector(f".leaflet-popup-content .map-popup-{kind}[data-id='{record}']")
                # Leaflet fades a popup in: checked once it is wholly shown, as the officer reads it.
                page.wait_for_function("() => getComputedStyle(document.querySelector('.leaflet-popup')).opacity"
                                       " === '1'")
                found += violations(page)


def test_the_check_visits_every_page_of_the_app(app):
    """Every GET address of the web app (but the API and the files) is one the check opens."""
    adapter = app.url_map.bind("localhost")
    visited = {adapter.match(path.split("?")[0].format(incident=1, drill=1, storm=1, plan=1, evacuee=1, shelter=1,
                                                       contact=1, group=1, resource=1, alert=1, notice=1, draft=1,
                                                       user=1, ack="1-" + "0" * 32))[0]
               for path in PAGES + ADMIN + PUBLIC}
    pages = {rule.endpoint for rule in app.url_map.iter_rules()
             if "GET" in rule.methods and not rule.rule.startswith("/api/")} - NOT_PAGES
    assert pages - visited == set()


@pytest.mark.parametrize("lang", ["hu", "en"])
@pytest.mark.parametrize("role", ["officer", "viewer"])
def test_every_page_has_no_wcag_aa_violation(app, live_server, browser, make_user, api, client, role, lang):
    """An officer's pages (and the admin's, and the public ones), or a viewer's, in one language:
    axe finds nothing at WCAG 2.1 AA. One context for them all, with no other check in it.

    The officer's every page in both languages; the viewer's (the officer's pages less what a
    viewer may not do) every other page in Hungarian and the rest in English, so that each of a
    viewer's pages is checked once and both languages are, in half the time."""
    ids = _demo(app, api, client)
    context = browser.new_context(locale="hu-HU", viewport={"width": 1280, "height": 800})
    context.add_init_script(script=AXE_SOURCE)  # in every page once, not sent again for each
    page = context.new_page()
    page.route("**/*", lambda route: route.continue_() if "127.0.0.1" in route.request.url else route.abort())
    found, refused = [], []
    try:
        page.goto(f"{live_server}/lang/{lang}?next=/login")
        assert page.locator("html").get_attribute("lang") == lang
        if role == "officer":
            _check(page, live_server, PUBLIC, ids, found, refused)
        _sign_in(page, live_server, make_user(role))
        _check(page, live_server, PAGES if role == "officer" else PAGES[lang == "en"::2], ids, found, refused)
        if role == "officer":
            page.click("form[action$='/logout'] button")
            page.wait_for_url(lambda url: "/login" in url)
            _sign_in(page, live_server, make_user("admin"))
            _check(page, live_server, ADMIN, ids, found, refused)
        assert len(refused) == (0 if role == "officer" else 1)  # a viewer's refusal page is checked too
    finally:
        context.close()
    found = unique(found)
    print(describe(found))
    assert found == [], "WCAG 2.1 AA violations (axe):\n" + describe(found)
