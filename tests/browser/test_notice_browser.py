"""The press desk in a real browser (issue 18): the press officer drafts a public notice on the
demo storm from the incident's page (the preview follows the typing) and submits it; an officer
approves it in a browser of their own; an anonymous resident opens /public on a phone-sized
screen and reads it (headings, no sideways scrolling, the map only after the text), and it is in
the Atom feed; the press officer then e-mails it to the press list, and the e-mails arrive at a
real SMTP server on 127.0.0.1 (through the queue's real consumer); the notice's page lists who
received it."""

from __future__ import annotations

import threading
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from browser import script_errors, sign_in
from browser.axe import assert_accessible, watch_accessibility
from conftest import free_port, running_consumer, wait_for, wait_until_idle
from factories import create_contact, create_group

pytestmark = pytest.mark.browser

TITLE = "Viharos szél: a Szent István körút lezárva"
BODY = "Kidőlt fák miatt a Szent István körút a Falk Miksa utcánál le van zárva, a villamos nem jár."
INSTRUCTION = "Kerülje el a körutat; ne parkoljon fák alatt. <script>alert(1)</script>"
PRESS_LIST = [("Szerkesztő Szilvia", "+36205550811", "szilvia@hirlap.example"),
              ("Kábel Kálmán", "+36205550812", "kalman@kabeltv.example")]


@pytest.fixture
def served(app_factory, smtp_server):
    """An app sending e-mail through the real SMTP server, served over HTTP on 127.0.0.1."""
    from werkzeug.serving import make_server

    port = free_port()
    app = app_factory(SMTP_URL=smtp_server.url, MAIL_FROM="Riadó <riado@belvaros.example>",
                      PUBLIC_URL=f"http://127.0.0.1:{port}")
    app.extensions["huey"].flush()
    server = make_server("127.0.0.1", port, app, threaded=True)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{port}"
    server.shutdown()
    thread.join(5)
    server.server_close()


def _context(browser, **options):
    context = browser.new_context(locale="hu-HU", **options)
    page = context.new_page()
    page.axe_found = watch_accessibility(context)
    page.offsite_requests = []
    page.console_errors = []

    def route(route):
        if urlsplit(route.request.url).hostname in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            page.offsite_requests.append(route.request.url)
            route.abort()

    page.route("**/*", route)
    page.on("console", lambda msg: page.console_errors.append(msg.text) if msg.type == "error" else None)
    return context, page


def _storm(app) -> int:
    from incident.demo import load_demo
    from incident.extensions import db
    from incident.models import Incident

    with app.test_request_context():
        load_demo()
        return db.session.execute(select(Incident.id).where(Incident.kind == "storm", Incident.drill.is_(False))
                                  ).scalar_one()


def test_press_drafts_officer_approves_resident_reads_it_on_a_phone_and_the_press_gets_it(
        served, browser, smtp_server, make_user):
    app, base = served
    storm = _storm(app)
    group = create_group(app, "Sajtólista (teszt)", press_list=True)
    for name, phone, email in PRESS_LIST:
        create_contact(app, name=name, phone=phone, email=email, groups=[group["id"]])

    # The press officer, from the storm's page.
    press_context, press = _context(browser, viewport={"width": 1280, "height": 900})
    sign_in(press, base, make_user("press", name="Németh Anna", position="Sajtóreferens"))
    press.goto(f"{base}/incidents/{storm}")
    assert press.locator("[data-testid=edit]").count() == 0  # the press reads the incident, does not change it
    press.click("[data-testid=notice-link]")
    press.wait_for_selector("[data-testid=notice-form][data-ready=true]")  # its preview script has started
    assert press.locator("#incident_id").input_value() == str(storm)
    press.fill("#title", TITLE)
    press.fill("#body", BODY)
    press.fill("#instruction", INSTRUCTION)
    preview = press.locator("[data-testid=preview]")
    assert TITLE in preview.inner_text() and BODY in preview.inner_text()  # follows the typing
    press.select_option("#urgency", "immediate")
    press.click("[data-testid=save]")
    press.wait_for_selector("[data-testid=submit-notice]")
    notice_url = press.url
    notice_id = int(notice_url.rstrip("/").rsplit("/", 1)[1])
    press.click("[data-testid=submit-notice]")
    press.wait_for_selector("[data-testid=waits-for-officer]")  # a press officer never approves
    assert press.locator("[data-testid=approve-notice]").count() == 0

    # Not public yet.
    resident_context, resident = _context(browser, viewport={"width": 390, "height": 844}, is_mobile=True,
                                          has_touch=True)
    assert resident.goto(f"{base}/public/notices/{notice_id}").status == 404

    # An officer approves it.
    officer_context, officer = _context(browser, viewport={"width": 1280, "height": 900})
    sign_in(officer, base, make_user("officer"))
    officer.goto(notice_url)
    officer.click("[data-testid=approve-notice]")
    officer.wait_for_selector("[data-testid=approved-by]")
    assert "közzétéve" in officer.inner_text("[data-testid=notice-status]").lower()

    # A resident on a phone, not signed in.
    response = resident.goto(f"{base}/public")
    assert response.status == 200 and len(response.body()) < 100_000
    resident.wait_for_selector("[data-testid=public-notice]")
    notice = resident.locator("[data-testid=public-notice]").first
    assert TITLE in notice.inner_text() and "<script>alert(1)</script>" in notice.inner_text()
    assert resident.locator("h1").count() == 1 and resident.locator("h2").count() >= 2
    assert resident.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert resident.evaluate("document.documentElement.lang") == "hu"
    assert "Lipótvárosi Sportcsarnok" in resident.inner_text("[data-testid=shelters]")  # a demo shelter marked public
    assert resident.locator("img:not([alt])").count() == 0
    # The text comes before the map, and the map draws the storm's area once it has loaded.
    resident.wait_for_selector("[data-public-map][data-ready=true]")
    order = resident.evaluate("""() => {
        const text = document.querySelector('[data-testid=public-notice]');
        const map = document.querySelector('[data-public-map]');
        return Boolean(text.compareDocumentPosition(map) & Node.DOCUMENT_POSITION_FOLLOWING); }""")
    assert order
    resident.click(f"text={TITLE}")
    resident.wait_for_url(f"{base}/public/notices/{notice_id}")
    assert INSTRUCTION in resident.inner_text("[data-testid=notice-instruction]")
    feed = resident.request.get(f"{base}/public/feed.atom")
    assert feed.status == 200 and TITLE in feed.text() and f"/public/notices/{notice_id}.cap" in feed.text()
    english = resident.goto(f"{base}/public?lang=en")
    assert english.status == 200 and resident.evaluate("document.documentElement.lang") == "en"
    assert [m for m in resident.console_errors if "Failed to load resource" not in m] == []
    assert {urlsplit(u).hostname for u in resident.offsite_requests} <= {urlsplit(app.config["RIADO_TILE_URL"]).hostname}

    # The press officer e-mails it to the press list.
    with running_consumer(app.extensions["huey"], workers=2):
        press.goto(notice_url)
        press.check(f"[data-testid=send-group][data-name='{group['name']}']")
        press.click("[data-testid=send-notice]")
        press.wait_for_selector("[data-testid=recipients]")
        wait_for(lambda: len(smtp_server.messages) == 2, timeout=60)
        wait_until_idle(app, timeout=60)
    received = {m.rcpt_tos[0]: m.message for m in smtp_server.messages}
    assert set(received) == {"szilvia@hirlap.example", "kalman@kabeltv.example"}
    mail = received["szilvia@hirlap.example"]
    assert mail["Subject"] == TITLE
    text = mail.get_body(("plain",)).get_content()
    assert BODY in text and f"{base}/public/notices/{notice_id}" in text
    press.reload()
    rows = press.locator("[data-testid=recipients] tbody tr")
    assert rows.count() == 2
    assert "Szerkesztő Szilvia" in press.inner_text("[data-testid=recipients]")
    assert "szilvia@hirlap.example" not in press.inner_text("[data-testid=recipients]")  # masked for the press

    for context, person in ((press_context, press), (officer_context, officer), (resident_context, resident)):
        assert_accessible(person, person.axe_found)
        context.close()


def test_the_editors_preview_shows_what_to_do_where_and_the_severity_as_the_public_page_will(
        app, live_server, page, make_user):
    """What to do, where and the severity are in the preview as they are typed and chosen (each
    part left out while empty, as the public page leaves it out; no severity chosen: the
    incident's), as text; and the preview the script drew is the one the server draws for the
    public page (the same template), word for word."""
    from factories import create_incident

    incident = create_incident(app, severity="severe")
    sign_in(page, live_server, make_user("press"))
    page.goto(f"{live_server}/notices/new?incident_id={incident['id']}")
    page.wait_for_selector("[data-testid=notice-form][data-ready=true]")
    preview = page.locator("[data-testid=preview]")
    article = preview.locator("[data-testid=public-notice]")
    instruction = preview.locator("[data-testid=notice-instruction]")
    where = preview.locator("[data-testid=notice-where]")
    # Nothing chosen: the incident's severity, as the notice will have it.
    assert preview.locator("[data-testid=notice-severity]").inner_text().lower() == "súlyos"
    assert "notice-severe" in article.get_attribute("class")
    assert not instruction.is_visible() and not where.is_visible()

    page.fill("#title", "Lezárt rakpart")
    page.fill("#body", "A pesti alsó rakpart lezárva.")
    page.fill("#instruction", "Kerülje el a rakpartot. <b>Ne</b> parkoljon ott.")
    page.fill("#area_desc", "Pesti alsó rakpart, Vigadó tér")
    page.select_option("#severity", "minor")
    assert instruction.is_visible() and where.is_visible()
    assert instruction.inner_text() == "Teendő: Kerülje el a rakpartot. <b>Ne</b> parkoljon ott."
    assert instruction.locator("b").count() == 0  # text, never markup
    assert where.inner_text() == "Hol: Pesti alsó rakpart, Vigadó tér"
    assert preview.locator("[data-testid=notice-severity]").inner_text().lower() == "csekély"
    classes = article.get_attribute("class").split()
    assert "notice-minor" in classes and "notice-severe" not in classes
    # The public page's look: the severity's colour at the edge (public.css's minor green).
    assert article.evaluate("e => getComputedStyle(e).borderLeftColor") == "rgb(46, 107, 48)"
    drawn = preview.inner_text()

    # The server draws the same preview from the same form (the public page's template).
    with page.expect_navigation():
        page.click("[data-testid=preview-button]")
    page.wait_for_selector("[data-testid=notice-form][data-ready=true]")
    assert page.locator("#severity").input_value() == "minor"
    assert preview.inner_text() == drawn

    # Emptied again: the parts go, and the severity follows the incident once more.
    page.fill("#instruction", "")
    page.fill("#area_desc", "")
    page.select_option("#severity", "")
    assert not instruction.is_visible() and not where.is_visible()
    assert preview.locator("[data-testid=notice-severity]").inner_text().lower() == "súlyos"
    assert script_errors(page) == []


def test_the_public_map_shows_shelters_as_markers_whose_popups_are_text(app, live_server, page, api):
    """On the public map a notice's area is an area and a shelter a marker (a pin, not a shape
    styled as an area); the marker's popup gives the shelter's name and free places as text, even
    when the name looks like markup."""
    from factories import EMBANKMENT, create_resource

    hostile = "Sportcsarnok <img src=x onerror=\"window.pwned=1\"> ${document.title}"
    create_resource(app, name=hostile, kind="shelter", quantity=1, capacity=120, public=True,
                    location={"type": "Point", "coordinates": [19.0493, 47.4957]})
    press, officer = api("press")[0], api("officer")[0]
    client = app.test_client()
    notice = client.post("/api/v1/notices", json={"title": "Lezárt rakpart", "body": "A rakpart lezárva.",
                                                  "area": EMBANKMENT}, headers=press).get_json()
    client.post(f"/api/v1/notices/{notice['id']}/submit", headers=press)
    assert client.post(f"/api/v1/notices/{notice['id']}/approve", headers=officer).status_code == 200

    page.goto(f"{live_server}/public")
    page.wait_for_selector("[data-public-map][data-ready=true]")
    markers = page.locator("[data-public-map] .leaflet-marker-icon")
    assert markers.count() == 1  # the shelter, as a pin
    assert "marker-icon" in markers.first.get_attribute("src")
    assert markers.first.get_attribute("alt") == f"Befogadóhely: {hostile} (120 szabad férőhely)"
    # The notice's area is the one shape drawn, in the areas' colour.
    shapes = page.locator("[data-public-map] path.leaflet-interactive")
    assert shapes.count() == 1 and shapes.first.get_attribute("fill") == "#b34700"
    markers.first.click()
    popup = page.locator("[data-public-map] .leaflet-popup-content")
    popup.wait_for()
    lines = [line for line in popup.inner_text().split("\n") if line]
    assert lines == [f"Befogadóhely: {hostile}", "120 szabad férőhely"]
    assert popup.locator("img").count() == 0
    assert page.evaluate("window.pwned") is None
    assert script_errors(page) == []
