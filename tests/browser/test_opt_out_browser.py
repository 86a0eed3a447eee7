"""An opt-out seen on the alert page in a real browser: the officer watches an alert that asks for
OK; one recipient answers STOP through (the fake) Twilio; without a reload the page lists the reply
(his phone written as the page writes phones), takes him off "still silent", counts and marks him
as opted out; opened again, it warns that a member of the alert group no longer gets alerts."""

from __future__ import annotations

import pytest

from browser import sign_in
from conftest import wait_for
from fake_twilio import FakeTwilio

pytestmark = pytest.mark.browser

GROUP = "Törzsvezetési csoport"
MEMBERS = [("Kovács Júlia", "+36205550701"), ("Nagy Péter", "+36205550702"), ("Szabó Ödön", "+36205550703")]


def test_an_officer_sees_a_stop_reply_on_the_alert_page(sms_app, sms_server, consumer, fake_twilio, page, make_user, api):
    headers, _ = api("officer")
    client = sms_app.test_client()
    group = client.post("/api/v1/groups", json={"name": GROUP}, headers=headers).get_json()["id"]
    for name, phone in MEMBERS:
        client.post("/api/v1/contacts", json={"name": name, "phone": phone, "groups": [group]}, headers=headers)
    alert_id = client.post("/api/v1/alerts", json={"body": "Riasztás: válaszoljon OK-val", "groups": [group],
                                                   "require_ack": True}, headers=headers).get_json()["id"]
    wait_for(lambda: len(fake_twilio.messages) == 3)

    sign_in(page, sms_server, make_user("officer"))
    page.goto(f"{sms_server}/alerts/{alert_id}")
    assert page.inner_text("[data-testid=silent-count]") == "3"
    assert page.locator("[data-testid=reply]").count() == 0
    page.evaluate("window.__notReloaded = true")

    status, _body = FakeTwilio.signed_post(sms_server + "/webhooks/twilio/inbound",
                                           {"MessageSid": "SM" + "7" * 32, "From": MEMBERS[1][1], "Body": "STOP"})
    assert status == 200

    # The page follows: the reply, who sent it and what it did; Péter leaves "still silent".
    reply = page.locator("[data-testid=reply][data-action=stop]")
    reply.wait_for(timeout=20_000)
    assert reply.locator("[data-testid=reply-name]").inner_text() == "Nagy Péter"
    assert reply.locator("[data-testid=reply-text]").inner_text() == "STOP"
    # The phone as the page writes it (as a reload shows it too), not as the API stores it.
    assert reply.locator("[data-testid=reply-phone]").inner_text() == "+36 20 555 0702"
    assert reply.locator("[data-testid=reply-action]").inner_text() == "leiratkozott az SMS-riasztásokról"
    page.wait_for_selector("[data-testid=silent-count]:text-is('2')")
    still_silent = page.locator("[data-testid=silent-person]:visible").all_inner_texts()
    assert len(still_silent) == 2 and not any("Nagy Péter" in person for person in still_silent)
    assert page.inner_text("[data-count=opted_out]") == "1"
    peter = page.locator("[data-testid=delivery]", has_text="Nagy Péter")
    assert peter.locator("[data-testid=delivery-opted-out]").is_visible()
    assert peter.get_attribute("data-status") == "delivered"
    # The opt-out is an answer, not an error: it stands under "Válasz", the error column stays empty.
    column = peter.locator("[data-testid=delivery-opted-out]").evaluate(
        "el => el.closest('table').querySelectorAll('thead th')[el.closest('td').cellIndex].textContent.trim()")
    assert column == "Válasz"
    assert peter.locator("[data-cell=error]").inner_text().strip() == ""
    assert page.evaluate("window.__notReloaded === true")

    # Free text is an answer too: off "still silent", into "replied with other text" with what they wrote.
    status, _body = FakeTwilio.signed_post(sms_server + "/webhooks/twilio/inbound",
                                           {"MessageSid": "SM" + "8" * 32, "From": MEMBERS[2][1],
                                            "Body": "Útban vagyok, 10 perc múlva ott"})
    assert status == 200
    page.wait_for_selector("[data-testid=silent-count]:text-is('1')")
    other = page.locator("[data-testid=other-text-person]")
    other.wait_for(timeout=20_000)
    assert other.count() == 1 and MEMBERS[2][0] in other.inner_text()
    assert other.locator("[data-testid=other-text]").inner_text() == "Útban vagyok, 10 perc múlva ott"
    assert page.evaluate("window.__notReloaded === true")

    # Opened again, the page warns that a member of the group opted out.
    page.reload()
    assert page.inner_text("[data-testid=reply][data-action=stop] [data-testid=reply-phone]") == "+36 20 555 0702"
    warning = page.locator("[data-testid=opt-out-warning]")
    assert warning.is_visible()
    assert "Nagy Péter" in warning.inner_text() and GROUP in warning.inner_text()

    assert page.offsite_requests == []
    assert page.console_errors == []
