"""One alert on SMS, e-mail and voice at once (issue 15, SPEC §4), to 50 contacts of whom most
have a mobile and an address, some a landline only and some no address, with one escalation
wave, through the real queue consumer, the real twilio SDK against the fake Twilio (messages and
calls) and the SMTP mailer against a real SMTP server (aiosmtpd):

- every contact gets exactly one message on each channel they can be reached on, counted where
  it arrives (the fake's messages and calls, the SMTP server's envelopes), and nobody else does;
- acknowledgements arrive on each channel (an SMS reply, the key 1 pressed during the call, the
  e-mail's link pressed), some contacts confirming on two: ``counts.acknowledged`` counts each
  contact once, ``counts_by_channel`` counts who confirmed on each channel, and the incident's
  log has each contact's first confirmation only;
- the wave (an SMS reminder after 5 minutes) reaches the still-silent contacts who have a
  mobile, and only them."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from conftest import csrf_from, wait_for, wait_until_idle
from factories import create_contact, create_group, create_incident
from fake_twilio import FakeTwilio

BODY = "Vegyi baleset a Duna-parton: maradjanak zárt ablakok mögött, kövessék a híradást."
SUBJECT = "Vegyi baleset – maradjanak bent"
RANGE_BOTH, RANGE_LANDLINE, RANGE_NO_ADDRESS = range(0, 40), range(40, 45), range(45, 50)


def _phone(i: int) -> str:
    return f"+36123456{i:02d}" if i in RANGE_LANDLINE else f"+3620555{7000 + i:04d}"


def _address(i: int) -> str:
    return f"lako{i:02d}@belvaros.example" if i in RANGE_BOTH else ""


MOBILES = {_phone(i) for i in [*RANGE_BOTH, *RANGE_NO_ADDRESS]}
PHONES = {_phone(i) for i in range(50)}
ADDRESSES = {_address(i) for i in RANGE_BOTH}
# Who confirms on which channel, in this order: by SMS reply, then the key 1 pressed during the
# call (5–9 had replied already: two channels), then the e-mail's link, opened before and pressed
# after the calls (12–14 had pressed 1 meanwhile).
BY_SMS = range(0, 10)
BY_KEY = [*range(5, 15), 40, 41]
BY_LINK = range(12, 20)
CONFIRMED = set(BY_SMS) | set(BY_KEY) | set(BY_LINK)


@pytest.fixture
def sms_app(sms_app, smtp_server):
    """The SMS app of tests/conftest.py, its e-mail through the real SMTP server."""
    sms_app.config.update(SMTP_URL=smtp_server.url, MAIL_FROM="Riadó <riado@belvaros.example>")
    return sms_app


def _people(app) -> int:
    group = create_group(app, "Duna-parti lakók")["id"]
    for i in range(50):
        create_contact(app, name=f"Lakó {i:02d}", phone=_phone(i), email=_address(i), groups=[group], sms_opt_in=True)
    return group


def _by_recipient(items) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in items:
        counts[item] = counts.get(item, 0) + 1
    return counts


def _escalate(app, alert_id: int, minutes: float) -> list[int]:
    """One run of the escalation as the clock reads ``minutes`` after the alert, committed, and
    the drains started for what it queued (as the escalation task does)."""
    from incident.extensions import db

    from alerts import operations as ops
    from alerts.models import Alert

    with app.test_request_context():
        alert = db.session.get(Alert, alert_id)
        escalated = ops.escalate_due(alert.created_at + dt.timedelta(minutes=minutes))
        db.session.commit()
        for escalated_id in escalated:
            app.extensions["alert_tasks"].fan_out(escalated_id)
    return escalated


def test_an_alert_on_three_channels_reaches_each_once_counts_each_confirmation_and_escalates_to_the_silent(
        sms_app, sms_server, consumer, fake_twilio, smtp_server, api):
    client = sms_app.test_client()
    headers, _ = api("officer")
    group = _people(sms_app)
    incident = create_incident(sms_app, title="Vegyi baleset")
    created = client.post("/api/v1/alerts", json={
        "body": BODY, "subject": SUBJECT, "groups": [group], "channels": ["sms", "email", "voice"], "require_ack": True,
        "incident_id": incident["id"], "escalation": [{"after_minutes": 5, "channel": "sms"}]}, headers=headers)
    assert created.status_code == 202, created.get_json()
    alert_id = created.get_json()["id"]
    assert created.get_json()["recipients"] == 45 + 40 + 50

    wait_for(lambda: len(fake_twilio.messages) == 45 and len(fake_twilio.calls) == 50 and len(smtp_server.messages) == 40,
             timeout=120)
    wait_until_idle(sms_app, timeout=60)
    # Exactly one message on each channel a contact can be reached on, and nothing to anybody else.
    assert _by_recipient(m.to for m in fake_twilio.messages) == dict.fromkeys(MOBILES, 1)
    assert _by_recipient(c.to for c in fake_twilio.calls) == dict.fromkeys(PHONES, 1)
    envelopes = smtp_server.messages
    assert all(len(e.rcpt_tos) == 1 for e in envelopes)
    assert _by_recipient(e.rcpt_tos[0] for e in envelopes) == dict.fromkeys(ADDRESSES, 1)
    assert {e.message["Subject"] for e in envelopes} == {SUBJECT}
    assert all(m.body.startswith(BODY) for m in fake_twilio.messages)
    assert {c.says()[0][0] for c in fake_twilio.calls} == {BODY}
    alert = client.get(f"/api/v1/alerts/{alert_id}", headers=headers).get_json()
    assert {channel: figures["sent"] for channel, figures in alert["counts_by_channel"].items()} == {
        "sms": 45, "email": 40, "voice": 50}
    preview = client.post("/api/v1/alerts/recipients", json={"body": BODY, "groups": [group],
                                                             "channels": ["sms", "email", "voice"]},
                          headers=headers).get_json()["channels"]
    assert preview["sms"]["reasons"] == {"not_mobile": 5} and preview["email"]["reasons"] == {"no_email": 10}
    assert preview["voice"]["excluded"] == 0

    # Confirmations on each channel.
    calls = {c.to: c for c in fake_twilio.calls}
    links = {e.rcpt_tos[0]: re.search(r"(/ack/[^\s\"<>]+)", e.message.get_body(("plain",)).get_content()).group(1)
             for e in envelopes}
    assert len(set(links.values())) == 40  # a personal link each
    browser = sms_app.test_client()  # the recipients' browser: nobody signed in
    pages = {}
    for i in BY_LINK:  # they open their e-mail's link first: a button, nothing confirmed yet
        page = browser.get(links[_address(i)])
        assert page.status_code == 200 and 'data-testid="ack-button"' in page.get_data(as_text=True)
        pages[i] = page.get_data(as_text=True)
    for i in BY_SMS:
        status, answer = FakeTwilio.signed_post(sms_server + "/webhooks/twilio/inbound",
                                                {"From": _phone(i), "To": "+36205550000", "Body": "OK"})
        assert status == 200 and "Köszönjük" in answer
    for i in BY_KEY:
        status, answer = fake_twilio.press(calls[_phone(i)], "1")
        assert status == 200 and "Köszönjük" in answer
    for i in BY_LINK:  # then press its button (12–14 have pressed 1 on the call meanwhile)
        done = browser.post(links[_address(i)], data={"csrf_token": csrf_from(pages[i])})
        assert done.status_code == 200 and 'data-testid="ack-done"' in done.get_data(as_text=True)
    # A contact who confirmed by SMS and opens the link later is told when, and offered no button.
    later = browser.get(links[_address(3)]).get_data(as_text=True)
    assert "Már visszaigazolva" in later and 'data-testid="ack-button"' not in later

    alert = client.get(f"/api/v1/alerts/{alert_id}", headers=headers).get_json()
    assert alert["counts"]["acknowledged"] == len(CONFIRMED) == 22  # each contact once
    acknowledged = {channel: figures["acknowledged"] for channel, figures in alert["counts_by_channel"].items()}
    assert acknowledged == {"sms": 10, "voice": 12, "email": 8}  # who confirmed on each channel
    rows = client.get(f"/api/v1/alerts/{alert_id}/deliveries?limit=200", headers=headers).get_json()["items"]
    on = {(r["name"], r["channel"]) for r in rows if r["acknowledged_at"]}
    assert {("Lakó 07", "sms"), ("Lakó 07", "voice")} <= on and ("Lakó 07", "email") not in on
    assert {("Lakó 13", "voice"), ("Lakó 13", "email")} <= on
    assert {name for name, _channel in on} == {f"Lakó {i:02d}" for i in CONFIRMED}
    # The incident's log: each contact's first confirmation, on the channel it came by.
    log = client.get(f"/api/v1/incidents/{incident['id']}/log?limit=200", headers=headers).get_json()["items"]
    confirmations = [e for e in log if e["kind"] == "communication" and e["author"] in ("sms", "voice", "e-mail")]
    assert _by_recipient(e["author"] for e in confirmations) == {"sms": 10, "voice": 7, "e-mail": 5}
    assert len({re.search(r"Lakó \d\d", e["text"]).group(0) for e in confirmations}) == 22

    # The wave: an SMS reminder after 5 minutes to the still silent who have a mobile.
    assert _escalate(sms_app, alert_id, 4.5) == []
    assert _escalate(sms_app, alert_id, 6) == [alert_id]
    assert _escalate(sms_app, alert_id, 7) == []
    silent_mobiles = {_phone(i) for i in range(50) if i not in CONFIRMED} & MOBILES
    assert len(silent_mobiles) == 25
    reminders = wait_for(lambda: len(r := [m for m in fake_twilio.messages if m.body.startswith("EMLÉKEZTETŐ")]) == 25
                         and r, timeout=60)
    wait_until_idle(sms_app, timeout=60)
    assert _by_recipient(m.to for m in reminders) == dict.fromkeys(silent_mobiles, 1)
    assert len(fake_twilio.messages) == 45 + 25 and len(fake_twilio.calls) == 50 and len(smtp_server.messages) == 40
    wave = client.get(f"/api/v1/alerts/{alert_id}", headers=headers).get_json()["escalation"][0]
    assert (wave["channel"], wave["recipients"], wave["unreachable"]) == ("sms", 25, {"not_mobile": 3})  # Lakó 42–44

    # One of them answers the reminder: the alert is confirmed, once more on SMS.
    status, _ = FakeTwilio.signed_post(sms_server + "/webhooks/twilio/inbound",
                                       {"From": _phone(47), "To": "+36205550000", "Body": "IGEN"})
    assert status == 200
    alert = client.get(f"/api/v1/alerts/{alert_id}", headers=headers).get_json()
    assert alert["counts"]["acknowledged"] == 23 and alert["counts_by_channel"]["sms"]["acknowledged"] == 11
