"""Keyboard only (Tab, Shift+Tab, Enter, Space, the arrow keys; never the mouse): an officer
composes and sends an alert, and a desk officer checks a household in. The focus is always
visible, and after a refusal it lands on what went wrong, not at the top of the page. (axe checks
every page they load: conftest.py's ``page``.)"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from browser import script_errors
from factories import create_contact, create_group, create_incident, create_resource

pytestmark = pytest.mark.browser

MEMBERS = [("Kovács Júlia", "+36205550101", "julia.kovacs@belvaros.example"),
           ("Nagy Péter", "+36205550102", "peter.nagy@belvaros.example"),
           ("Szabó Ödön", "+36205550103", "")]
TEXT = "Gyakorlo riasztas: a HVB ma 9 orakor ulesezik a Varoshazan."

FOCUSED = """() => { const e = document.activeElement;
  return {tag: e.tagName.toLowerCase(), id: e.id, name: e.getAttribute('name'), value: e.value,
          testid: e.dataset ? e.dataset.testid : null, text: (e.innerText || '').trim().slice(0, 80)}; }"""
# The focused element shows it: an outline (ours: 3 px) or, where a page draws its own ring, a box shadow.
FOCUS_SHOWN = """() => { const s = getComputedStyle(document.activeElement);
  return (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2) || s.boxShadow !== 'none'; }"""


def focused(page) -> dict:
    return page.evaluate(FOCUSED)


def tab_to(page, selector: str, back: bool = False, limit: int = 120) -> None:
    """Press Tab (Shift+Tab with ``back``) until the focus is on ``selector``; it shows."""
    key = "Shift+Tab" if back else "Tab"
    for _press in range(limit):
        page.keyboard.press(key)
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            assert page.evaluate(FOCUS_SHOWN), f"the focus on {selector} is not visible"
            return
    raise AssertionError(f"{key} never reached {selector}; the focus is on {focused(page)}")


def wait_for_focus(page, selector: str) -> None:
    """The page has put the focus on ``selector`` (autofocus acts at the page's first rendering,
    just after it is parsed); it shows."""
    page.wait_for_function("(s) => document.activeElement && document.activeElement.matches(s)", arg=selector,
                           timeout=5_000)
    assert page.evaluate(FOCUS_SHOWN), f"the focus on {selector} is not visible"


def sign_in_by_keyboard(page, base: str, user: dict) -> None:
    page.goto(base + "/login")
    wait_for_focus(page, "#email")  # the form waits in its first field
    page.keyboard.type(user["email"])
    page.keyboard.press("Tab")
    assert focused(page)["id"] == "password"
    page.keyboard.type(user["password"])
    page.keyboard.press("Enter")
    page.wait_for_url(base + "/")


def test_an_officer_composes_and_sends_an_alert_with_the_keyboard_alone(app, live_server, page, make_user):
    app.extensions["huey"].flush()  # nothing left over from another test
    group = create_group(app, "Helyi Védelmi Bizottság")
    for name, phone, email in MEMBERS:
        create_contact(app, name=name, phone=phone, email=email, groups=[group["id"]])
    create_contact(app, name="Ügyeletes tiszt", phone="+36205550199")
    incident = create_incident(app, title="Dunai árvíz")
    sign_in_by_keyboard(page, live_server, make_user("officer"))

    # The skip link comes first and shows; then the main menu leads to the alerts.
    page.keyboard.press("Tab")
    assert focused(page)["text"] == "Ugrás a tartalomra"
    assert page.locator("a.skip").bounding_box()["x"] >= 0  # on the screen while focused
    tab_to(page, "nav.mainnav a[href='/alerts']")
    page.keyboard.press("Enter")
    page.wait_for_url(live_server + "/alerts")
    # The list fits the screen: its table takes no tab stop (on a phone, where it scrolls, it does).
    assert page.locator(".table-wrap").count() and page.locator(".table-wrap[tabindex]").count() == 0
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_selector(".table-wrap[tabindex='0']")
    page.set_viewport_size({"width": 1280, "height": 800})
    page.wait_for_selector(".table-wrap[tabindex]", state="detached")
    tab_to(page, "[data-testid=new-alert]")
    page.keyboard.press("Enter")
    page.wait_for_url(live_server + "/alerts/new")

    # Continue with nothing written: the page comes back with the focus on its error summary,
    # whose first link leads to the message's field.
    tab_to(page, "[data-testid=continue]")
    page.keyboard.press("Enter")
    wait_for_focus(page, "[data-testid=form-errors]")
    summary = page.locator("[data-testid=form-errors]").inner_text()
    assert "Az üzenet szövege" in summary and "Címzettek" in summary
    page.keyboard.press("Tab")
    assert focused(page)["text"].startswith("Az üzenet szövege")
    page.keyboard.press("Enter")
    assert focused(page)["id"] == "body"
    assert page.get_attribute("#body", "aria-invalid") == "true"

    # The message, a second channel (Space), the incident (arrow key) and the group (Space).
    page.keyboard.type(TEXT)
    page.wait_for_function("(n) => document.querySelector('[data-testid=length]').textContent === String(n)",
                           arg=len(TEXT))
    tab_to(page, "#channel-email")
    page.keyboard.press("Space")
    assert page.is_checked("#channel-email") and page.is_checked("#channel-sms")
    tab_to(page, "#incident_id")
    page.keyboard.press("ArrowDown")
    assert page.input_value("#incident_id") == str(incident["id"])
    tab_to(page, f"#group-{group['id']}")
    page.keyboard.press("Space")
    assert page.is_checked(f"#group-{group['id']}")
    tab_to(page, "[data-testid=continue]")
    page.keyboard.press("Enter")

    # The confirmation; Shift+Tab goes back through it, and Enter on "Send now" sends.
    page.wait_for_selector("[data-testid=confirm]")
    assert page.inner_text("[data-testid=recipient-count]") == "3"
    assert page.locator("[data-testid=channel-reach] li").count() == 2  # SMS and e-mail
    tab_to(page, "[data-testid=send-now]")
    tab_to(page, "[data-testid=edit]")
    tab_to(page, "[data-testid=send-now]", back=True)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/alerts/\d+$"))
    alert_id = int(page.url.rsplit("/", 1)[1])

    from alerts.models import Alert
    from incident.extensions import db

    with app.app_context():
        alert = db.session.get(Alert, alert_id)
        assert alert.body.endswith(TEXT) and alert.incident_id == incident["id"]
        assert sorted(alert.channels) == ["email", "sms"]
    assert "Dunai árvíz" in page.inner_text("main")
    app.extensions["huey"].flush()  # nothing is sent: the queue is not run
    assert script_errors(page) == []


def test_a_desk_officer_checks_a_household_in_with_the_keyboard_alone(app, live_server, page, make_user):
    incident = create_incident(app, title="Dunai árvíz – kitelepítés a rakpartról")
    gym = create_resource(app, name="Szemere utcai iskola tornaterme", kind="shelter", quantity=1, unit="épület",
                          capacity=3)
    sign_in_by_keyboard(page, live_server, make_user("officer"))
    tab_to(page, "nav.mainnav a[href='/reception']")
    page.keyboard.press("Enter")
    page.wait_for_url(live_server + "/reception")
    tab_to(page, "[data-testid=open-desk]")
    page.keyboard.press("Enter")
    page.wait_for_url(live_server + "/reception/desk")

    # The desk opens in the first name; the incident and the shelter are chosen with the arrow
    # keys, going back with Shift+Tab.
    wait_for_focus(page, "#name_0")
    tab_to(page, "#shelter_id", back=True)
    page.keyboard.press("ArrowDown")
    assert page.input_value("#shelter_id") == str(gym["id"])
    tab_to(page, "#incident_id", back=True)
    page.keyboard.press("ArrowDown")
    assert page.input_value("#incident_id") == str(incident["id"])
    tab_to(page, "#household")
    page.keyboard.type("Varga család, Nádor utca 3.")
    page.keyboard.press("Tab")
    assert focused(page)["id"] == "name_0"
    page.keyboard.type("Varga Péter")
    page.keyboard.press("Tab")
    page.keyboard.type("3000")  # a typo: a year to come
    tab_to(page, "#name_1")
    page.keyboard.type("Varga Zsófi")
    page.keyboard.press("Tab")
    page.keyboard.type("2024")
    tab_to(page, "#needs_1_infant")
    page.keyboard.press("Space")
    tab_to(page, "[data-testid=check-in]")
    page.keyboard.press("Enter")

    # Refused: the focus is on the error summary, whose link leads to the wrong year.
    wait_for_focus(page, "[data-testid=desk-errors]")
    assert "1. személy · Születési év" in page.inner_text("[data-testid=desk-errors]")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    assert focused(page)["id"] == "birth_year_0"
    assert page.get_attribute("#birth_year_0", "aria-invalid") == "true"
    page.keyboard.press("Control+A")
    page.keyboard.type("1980")
    assert page.is_checked("#needs_1_infant")  # what was typed and ticked is still there
    page.keyboard.press("Enter")  # Enter in a field checks the household in
    page.wait_for_selector(".flash-success")
    assert "1, 2" in page.inner_text(".flash-success")
    assert page.inner_text("[data-testid=desk-free-places]").startswith("1")
    wait_for_focus(page, "#name_0")  # ready for the next household

    # Two more people where one place is left: refused, and the focus is on why.
    page.keyboard.type("Kerekes Kálmán")
    tab_to(page, "#name_1")
    page.keyboard.type("Kerekes Kata")
    page.keyboard.press("Enter")
    wait_for_focus(page, "[data-testid=desk-conflict]")

    from incident.extensions import db
    from incident.models import Evacuee

    with app.app_context():
        names = db.session.execute(select(Evacuee.name).order_by(Evacuee.id)).scalars().all()
        assert names == ["Varga Péter", "Varga Zsófi"]
    assert script_errors(page) == []
