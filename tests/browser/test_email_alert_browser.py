"""An alert by SMS and e-mail in a real browser: the officer ticks both channels, writes a subject,
picks a group, sees on the confirmation whom each channel reaches and who it cannot (no e-mail
address, a landline) and what the SMS cost, sends, and watches the progress (the console gateway
and mailer, and a real Huey consumer, do the sending). A recipient then opens the personal link of
their e-mail in a browser of their own (not signed in), confirms, and the officer's alert page
counts one acknowledgement."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from browser import only_tiles, script_errors, sign_in
from browser.axe import assert_accessible, watch_accessibility
from conftest import running_consumer
from factories import create_contact, create_group

pytestmark = pytest.mark.browser

BODY = "Viharriasztas: a sportcsarnok ma 18 orakor nyit."  # GSM-7 with the reply hint: one segment
SUBJECT = "Vihar <II. fokozat> – sportcsarnok"
MEMBERS = [  # name, phone, e-mail
    ("Kovács Júlia", "+36205550111", "julia.kovacs@belvaros.example"),
    ("Nagy Péter", "+36205550112", ""),  # no e-mail address: SMS only
    ("Szabó Ödön", "+36205550113", "odon.szabo@belvaros.example"),
    ("Tóth Dénes", "+3612345678", "denes.toth@belvaros.example"),  # a landline: e-mail only
]


def _people(app) -> int:
    group = create_group(app, "Intézményvezetők")
    for name, phone, email in MEMBERS:
        create_contact(app, name=name, phone=phone, email=email, groups=[group["id"]])
    create_contact(app, name="Ügyeletes tiszt", phone="+36205550199", email="ugyelet@belvaros.example")  # not in it
    return group["id"]


def _email_to(app, address: str):
    from incident.extensions import db

    from alerts.models import OutboxMessage

    with app.app_context():
        return db.session.execute(select(OutboxMessage).where(OutboxMessage.channel == "email",
                                                              OutboxMessage.to == address)).scalar_one()


def _own_browser(browser):
    """A recipient's own browser: a fresh context (no officer's session), other hosts blocked."""
    context = browser.new_context(locale="hu-HU", viewport={"width": 420, "height": 800})
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


def test_officer_sends_by_sms_and_e_mail_and_a_recipient_confirms_by_the_link(app, live_server, browser, page,
                                                                              make_user):
    app.extensions["huey"].flush()  # nothing left over from another test
    app.config["PUBLIC_URL"] = live_server  # the e-mails' links point at the server the browsers use
    group_id = _people(app)
    sign_in(page, live_server, make_user("officer"))
    page.goto(live_server + "/alerts/new")

    page.fill("#body", BODY)
    page.check("[data-testid=channel-sms]")
    page.check("[data-testid=channel-email]")
    page.fill("[data-testid=subject]", SUBJECT)
    page.check("#require_ack")
    page.check(f"input[name=groups][value='{group_id}']")
    page.click("[data-testid=continue]")

    # The confirmation: whom each channel reaches, and who it cannot, by name; the SMS cost only.
    page.wait_for_selector("[data-testid=confirm]")
    sms = page.inner_text("[data-testid=channel-reach] [data-channel=sms]")
    email = page.inner_text("[data-testid=channel-reach] [data-channel=email]")
    assert sms.startswith("SMS: 3 címzett") and "Tóth Dénes" in sms and "vezetékes" in sms
    assert email.startswith("e-mail: 3 címzett") and "nincs e-mail-cím: 1" in email and "(Nagy Péter)" in email
    assert "Tóth Dénes" not in email and "Kovács Júlia" not in email
    assert page.inner_text("[data-testid=email-subject]") == SUBJECT  # as typed, the markup shown as text
    assert page.inner_text("[data-testid=segments]") == "1"
    assert page.inner_text("[data-testid=cost]").replace("\xa0", " ") == "105 Ft"  # 35 Ft × 1 segment × 3 SMS
    page.click("[data-testid=send-now]")
    page.wait_for_url(re.compile(r".*/alerts/\d+$"))
    alert_url = page.url

    # The alert's page: six messages wait; the consumer sends them and the page shows it.
    assert page.inner_text("[data-count=queued]") == "6"
    with running_consumer(app.extensions["huey"], workers=2):
        page.wait_for_selector("[data-testid=counts] [data-count=sent]:text-is('6')", timeout=30_000)
        page.wait_for_selector("[data-alert-status-slot] [data-status=done]", timeout=30_000)
    assert page.inner_text("[data-count=queued]") == "0"
    assert page.inner_text("[data-count=acknowledged]") == "0"
    assert page.locator("[data-delivery-rows] [data-testid=email]").count() == 3

    # Júlia opens the link of her e-mail in her own browser: a button, nothing confirmed yet.
    message = _email_to(app, "julia.kovacs@belvaros.example")
    assert message.subject == SUBJECT
    link = re.search(r"(http://\S+/ack/\S+)", message.body).group(1)
    assert link.startswith(live_server + "/ack/")
    context, recipient = _own_browser(browser)
    try:
        recipient.goto(link)
        assert BODY in recipient.inner_text("[data-testid=ack-page]")
        page.reload()
        assert page.inner_text("[data-count=acknowledged]") == "0"  # opening the link confirms nothing
        recipient.click("[data-testid=ack-button]")
        recipient.wait_for_selector("[data-testid=ack-done]")
        assert "Köszönjük" in recipient.inner_text("[data-testid=ack-done]")
        assert recipient.locator("[data-testid=ack-button]").count() == 0
        assert recipient.offsite_requests == [] and recipient.console_errors == []
        assert_accessible(recipient, recipient.axe_found)
    finally:
        context.close()

    # Back on the officer's page: one acknowledged, Júlia's e-mail row with its time.
    page.goto(alert_url)
    assert page.inner_text("[data-count=acknowledged]") == "1"
    assert page.inner_text("[data-count=acknowledged-summary]") == "1"
    acked = page.locator("[data-delivery-rows] tr:has([data-cell=acknowledged_at] time)")
    assert acked.count() == 1 and "julia.kovacs@belvaros.example" in acked.inner_text()
    only_tiles(page, app)  # the compose page's map asks the tile server; nothing else leaves 127.0.0.1
    assert script_errors(page) == []
