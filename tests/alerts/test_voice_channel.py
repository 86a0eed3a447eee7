"""Alerts by voice call beside SMS (issue 15, SPEC §4): every contact's phone is called once
(landlines too), through the real twilio SDK against the fake Twilio and the real queue; the
call reads the text twice in Hungarian and gathers one key, posted to a signed action URL; 1
acknowledges (a contact once, whatever the channel), another key hears the text again; the
call's status callbacks map onto the delivery statuses, never backwards, a replay changes
nothing; errors are classified like SMS ones; the console records calls in the outbox."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from sqlalchemy import select

from conftest import csrf_from, wait_for, wait_until_idle
from fake_twilio import FakeTwilio

POINT = {"type": "Point", "coordinates": [19.05, 47.5]}
BODY = "Árvízvédelmi készültség: HVB ülés 9:00-kor a városházán."
PEOPLE = [  # name, phone, SMS opt-in
    ("Kovács Anna", "+36205550401", True),
    ("Nagy Béla", "+36205550402", True),
    ("Tóth Dénes", "+3612345678", True),  # a landline: no SMS, but a call
    ("Varga Erika", "+36205550404", False),  # opted out of SMS: still called
]


def _group(client, headers, people=PEOPLE, name="Védelmi bizottság") -> int:
    group = client.post("/api/v1/groups", json={"name": name}, headers=headers).get_json()["id"]
    for person, phone, opt_in in people:
        response = client.post("/api/v1/contacts", json={"name": person, "phone": phone, "groups": [group],
                                                         "sms_opt_in": opt_in}, headers=headers)
        assert response.status_code == 201, response.get_json()
    return group


def _rows(client, headers, alert_id) -> dict[tuple[str, str], dict]:
    items = client.get(f"/api/v1/alerts/{alert_id}/deliveries?limit=50", headers=headers).get_json()["items"]
    return {(r["channel"], r["name"]): r for r in items}


def _delivery_ids(app, alert_id) -> dict[str, int]:
    """The voice delivery of each phone."""
    from alerts.models import Delivery
    from incident.extensions import db

    with app.app_context():
        return dict(db.session.execute(select(Delivery.phone, Delivery.id).where(
            Delivery.alert_id == alert_id, Delivery.channel == "voice")).all())


def test_an_alert_by_sms_and_voice_calls_each_phone_once_and_1_confirms(sms_app, sms_server, consumer, fake_twilio,
                                                                         api):
    client = sms_app.test_client()
    headers, _ = api("officer")
    group = _group(client, headers)
    incident = client.post("/api/v1/incidents", json={"title": "Árvíz", "kind": "flood", "severity": "severe",
                                                      "location": POINT}, headers=headers).get_json()["id"]
    created = client.post("/api/v1/alerts", json={"body": BODY, "groups": [group], "channels": ["sms", "voice"],
                                                  "require_ack": True, "incident_id": incident}, headers=headers)
    assert created.status_code == 202, created.get_json()
    alert_id = created.get_json()["id"]
    assert created.get_json()["recipients"] == 2 + 4  # Anna's and Béla's SMS, everybody's call
    wait_for(lambda: len(fake_twilio.messages) == 2 and len(fake_twilio.calls) == 4)
    wait_until_idle(sms_app)
    assert sorted(m.to for m in fake_twilio.messages) == ["+36205550401", "+36205550402"]
    assert sorted(c.to for c in fake_twilio.calls) == sorted(phone for _, phone, _ in PEOPLE)

    ids = _delivery_ids(sms_app, alert_id)
    public = sms_app.config["PUBLIC_URL"]
    calls = {c.to: c for c in fake_twilio.calls}
    anna = calls["+36205550401"]
    assert anna.sender == "+36205550000"  # TWILIO_FROM: no TWILIO_VOICE_FROM of its own
    assert anna.status_callback == f"{public}/webhooks/twilio/voice/status?d={ids[anna.to]}"
    assert anna.status_callback_events == ["initiated", "ringing", "answered", "completed"]
    assert anna.status_callback_method == "POST"
    # The text twice, then the request to press 1, in Hungarian, inside one <Gather> of one key.
    gather = anna.gather()
    assert gather.get("numDigits") == "1" and gather.get("method") == "POST"
    assert gather.get("action") == f"{public}/webhooks/twilio/voice?d={ids[anna.to]}"
    inside = [(say.text, say.get("language")) for say in gather.iter("Say")]
    assert inside[:2] == [(BODY, "hu-HU"), (BODY, "hu-HU")]
    assert inside[2][1] == "hu-HU" and "nyomja meg az egyes gombot" in inside[2][0]
    assert len(inside) == 3 and anna.says()[3] == ("Viszonthallásra.", "hu-HU")  # no key: a goodbye
    rows = _rows(client, headers, alert_id)
    assert rows[("voice", "Kovács Anna")]["status"] == "sent"  # placed
    assert ("sms", "Tóth Dénes") not in rows and ("voice", "Tóth Dénes") in rows

    # Another key: the text again, no acknowledgement.
    status, answer = fake_twilio.press(anna, "2")
    assert status == 200 and [say.text for say in ET.fromstring(answer).iter("Say")][:2] == [BODY, BODY]
    assert ET.fromstring(answer).find("Gather").get("action") == gather.get("action")
    alert = client.get(f"/api/v1/alerts/{alert_id}", headers=headers).get_json()
    assert alert["counts"]["acknowledged"] == 0
    # 1: acknowledged, thanked, written to the incident's log by "voice".
    status, answer = fake_twilio.press(anna, "1")
    assert status == 200 and "Köszönjük" in answer and "<Gather" not in answer
    # Anna also replies OK to the SMS, and presses 1 again: still one contact who confirmed.
    assert FakeTwilio.signed_post(sms_server + "/webhooks/twilio/inbound", {"From": anna.to, "Body": "OK"})[0] == 200
    assert fake_twilio.press(anna, "1")[0] == 200
    alert = client.get(f"/api/v1/alerts/{alert_id}", headers=headers).get_json()
    assert alert["counts"]["acknowledged"] == 1
    assert alert["counts_by_channel"]["voice"]["acknowledged"] == 1
    # Her SMS OK came after she had confirmed on the call: counted on SMS too, never as a new person.
    assert alert["counts_by_channel"]["sms"]["acknowledged"] == 1
    log = client.get(f"/api/v1/incidents/{incident}/log", headers=headers).get_json()["items"]
    voice_entries = [e for e in log if e["author"] == "voice"]
    assert len(voice_entries) == 1 and "Kovács Anna" in voice_entries[0]["text"]
    assert voice_entries[0]["kind"] == "communication"

    # Status callbacks: answered → sent, ended → delivered; a replay and a late "ringing" change nothing.
    for call_status in ("initiated", "ringing", "in-progress", "completed"):
        assert fake_twilio.call_status(anna, call_status)[0] == 200
    assert _rows(client, headers, alert_id)[("voice", "Kovács Anna")]["status"] == "delivered"
    before = _rows(client, headers, alert_id)[("voice", "Kovács Anna")]
    assert fake_twilio.call_status(anna, "completed")[0] == 200
    assert fake_twilio.call_status(anna, "ringing")[0] == 200
    assert _rows(client, headers, alert_id)[("voice", "Kovács Anna")] == before
    from alerts.models import WebhookReceipt
    from incident.extensions import db

    with sms_app.app_context():
        receipts = db.session.execute(select(WebhookReceipt.key).where(WebhookReceipt.kind == "voice-status",
                                                                       WebhookReceipt.key.startswith(anna.sid))).scalars()
        assert sorted(receipts) == sorted(f"{anna.sid}:{s}" for s in ("initiated", "ringing", "in-progress", "completed"))
    # Busy, unanswered, failed.
    fake_twilio.call_status(calls["+3612345678"], "busy")
    fake_twilio.call_status(calls["+36205550402"], "no-answer")
    fake_twilio.call_status(calls["+36205550404"], "failed", error_code=32009)
    rows = _rows(client, headers, alert_id)
    assert rows[("voice", "Tóth Dénes")]["status"] == "undelivered"
    assert rows[("voice", "Nagy Béla")]["status"] == "undelivered"
    assert rows[("voice", "Varga Erika")]["status"] == "failed" and rows[("voice", "Varga Erika")]["error_code"] == 32009
    # A busy call is not ours to retry: Dénes was called once.
    wait_until_idle(sms_app)
    assert len(fake_twilio.calls_to("+3612345678")) == 1
    assert client.get(f"/api/v1/alerts/{alert_id}", headers=headers).get_json()["counts_by_channel"]["voice"] == {
        "queued": 0, "sending": 0, "sent": 0, "delivered": 1, "undelivered": 2, "failed": 1, "acknowledged": 1,
        "opted_out": 0}

    # A forged signature is refused on both, and changes nothing.
    assert FakeTwilio.signed_post(gather.get("action"), {"CallSid": calls["+36205550402"].sid, "Digits": "1"},
                                  auth_token="not-the-token")[0] == 403
    forged = FakeTwilio.signed_post(f"{public}/webhooks/twilio/voice/status?d={ids['+36205550402']}",
                                    {"CallSid": calls["+36205550402"].sid, "CallStatus": "completed"},
                                    auth_token="not-the-token")
    assert forged[0] == 403
    rows = _rows(client, headers, alert_id)
    assert rows[("voice", "Nagy Béla")]["status"] == "undelivered" and rows[("voice", "Nagy Béla")]["acknowledged_at"] is None
    # A key press with another call's sid (a URL of another delivery) acknowledges nobody.
    wrong = FakeTwilio.signed_post(f"{public}/webhooks/twilio/voice?d={ids['+36205550402']}",
                                   {"CallSid": anna.sid, "Digits": "1"})
    assert wrong[0] == 200 and "Köszönjük" not in wrong[1]
    assert client.get(f"/api/v1/alerts/{alert_id}", headers=headers).get_json()["counts"]["acknowledged"] == 1


def test_twilio_refusing_a_call_is_retried_or_recorded_like_an_sms(sms_app, sms_server, consumer, fake_twilio, api):
    """429 and 500 are tried again and the call then placed once; a permanent code (no permission
    to call that country) fails that call at once, with its code, and nobody else's."""
    client = sms_app.test_client()
    headers, _ = api("officer")
    people = [("Első Ede", "+36205550411", True), ("Második Márta", "+36205550412", True)]
    group = _group(client, headers, people)
    fake_twilio.script("+36205550411", transient=[429, 500])
    fake_twilio.script("+36205550412", error_code=21215)
    alert_id = client.post("/api/v1/alerts", json={"body": "Próba", "groups": [group], "channels": ["voice"]},
                           headers=headers).get_json()["id"]
    wait_for(lambda: len(fake_twilio.calls) == 1, timeout=30)
    wait_until_idle(sms_app)
    rows = _rows(client, headers, alert_id)
    assert rows[("voice", "Első Ede")]["status"] == "sent" and rows[("voice", "Első Ede")]["attempts"] == 3
    assert rows[("voice", "Második Márta")]["status"] == "failed"
    assert rows[("voice", "Második Márta")]["error_code"] == 21215 and rows[("voice", "Második Márta")]["attempts"] == 1
    assert [c.to for c in fake_twilio.calls] == ["+36205550411"]


def test_who_a_call_reaches_and_what_it_costs(app_factory, api, make_user):
    """Voice reaches every contact's phone, landlines and SMS opt-outs included; a shared phone is
    called once (merged); the drill safety switch applies. The preview and the confirm page price
    the calls at one minute each beside the SMS."""
    app = app_factory(RIADO_DRILL_TEST_GROUP="Próbacsoport", RIADO_VOICE_PRICE_PER_MINUTE=25)
    client = app.test_client()
    headers, _ = api("officer")
    people = PEOPLE + [("Kovács Ádám", "+36205550401", True)]  # Anna's phone (a duty phone)
    group = _group(client, headers, people)
    preview = client.post("/api/v1/alerts/recipients", json={"body": "Próba", "groups": [group],
                                                             "channels": ["sms", "voice"]}, headers=headers).get_json()
    assert preview["channels"]["voice"] == {"recipients": 4, "excluded": 0, "merged": 1,
                                            "reasons": {"duplicate_phone": 1}, "estimated_cost": 100.0}
    assert preview["channels"]["sms"]["recipients"] == 2
    assert preview["channels"]["sms"]["reasons"] == {"not_mobile": 1, "opted_out": 1, "duplicate_phone": 1}
    assert preview["estimated_cost"] == 2 * 35 + 4 * 25
    drill = client.post("/api/v1/alerts/recipients", json={"body": "Próba", "groups": [group], "drill": True,
                                                           "channels": ["voice"]}, headers=headers).get_json()
    assert drill["channels"]["voice"]["recipients"] == 0 and drill["channels"]["voice"]["reasons"] == {"drill_safety": 5}

    # Bad channel input is named, never a 500.
    for wrong in (["fax"], [], "voice,fax", [1], {"voice": True}):
        response = client.post("/api/v1/alerts", json={"body": "Próba", "groups": [group], "channels": wrong},
                               headers=headers)
        assert response.status_code == 422 and "channels" in response.get_json()["errors"]["json"], wrong

    # The confirm page: each channel's reach and both costs.
    browser = app.test_client()
    user = make_user("officer")
    page = browser.get("/login").get_data(as_text=True)
    browser.post("/login", data={"email": user["email"], "password": user["password"], "csrf_token": csrf_from(page)})
    compose = browser.get("/alerts/new").get_data(as_text=True)
    assert 'data-testid="channel-voice"' in compose
    form = {"csrf_token": csrf_from(compose), "body": "Próba", "groups": str(group), "channels_shown": "1",
            "channels": ["sms", "voice"]}
    html = browser.post("/alerts/new", data=form).get_data(as_text=True)
    reach = html.split('data-testid="channel-reach"')[1].split("</ul>")[0]
    assert 'data-channel="voice"' in reach and "4 címzett" in reach
    cost = re.search(r'data-testid="cost">([^<]+)<', html).group(1).replace("\xa0", " ")
    assert cost == "170 Ft"
    voice_formula = re.search(r'data-testid="voice-cost-formula">([^<]+)<', html).group(1).replace("\xa0", " ")
    assert "100 Ft" in voice_formula and "25 Ft percenként × 1 perc × 4 hívás" in voice_formula


def test_the_console_records_calls_in_the_outbox_and_calls_nobody(app, client, api, make_user, login):
    from conftest import running_consumer

    from alerts.models import OutboxMessage
    from incident.extensions import db

    headers, _ = api("officer")
    group = _group(client, headers)
    client.post("/api/v1/alerts", json={"body": "Próbariasztás <hanghívás>", "groups": [group],
                                        "channels": ["voice"], "require_ack": True}, headers=headers)

    def calls():
        with app.app_context():
            return db.session.execute(select(OutboxMessage).where(OutboxMessage.channel == "voice")
                                      .order_by(OutboxMessage.to)).scalars().all()

    with running_consumer(app.extensions["huey"]):
        wait_for(lambda: len(calls()) == 4)
        wait_until_idle(app)
    recorded = calls()
    assert sorted(c.to for c in recorded) == sorted(phone for _, phone, _ in PEOPLE)
    assert {c.body for c in recorded} == {"Próbariasztás <hanghívás>"}
    rows = _rows(client, headers, client.get("/api/v1/alerts", headers=headers).get_json()["items"][0]["id"])
    assert {r["status"] for r in rows.values()} == {"sent"}
    login(make_user("officer"))
    page = client.get("/alerts/outbox").get_data(as_text=True)
    assert page.count('data-testid="voice-confirm-note"') == 4 and 'data-testid="simulate-form"' not in page
    assert page.count('data-testid="simulate-key-form"') == 4
    assert "hanghívás</small>" in page and "Próbariasztás &lt;hanghívás&gt;" in page
    # No SMS reply on a call; a simulated key press 1 acknowledges, once.
    refused = client.post(f"/alerts/outbox/{recorded[0].id}/reply", data={"csrf_token": csrf_from(page), "text": "OK"})
    assert refused.status_code in (302, 303)
    assert client.get("/api/v1/alerts", headers=headers).get_json()["items"][0]["counts"]["acknowledged"] == 0
    pressed = client.post(f"/alerts/outbox/{recorded[0].id}/press", data={"csrf_token": csrf_from(page)},
                          follow_redirects=True).get_data(as_text=True)
    assert "Szimulált 1-es gombnyomás" in pressed and "visszaigazolása rögzítve" in pressed
    client.post(f"/alerts/outbox/{recorded[0].id}/press", data={"csrf_token": csrf_from(page)})
    assert client.get("/api/v1/alerts", headers=headers).get_json()["items"][0]["counts"]["acknowledged"] == 1
    page = client.get("/alerts/outbox").get_data(as_text=True)
    assert page.count('data-testid="voice-acknowledged"') == 1 and page.count('data-testid="simulate-key-form"') == 3
    # Without the CSRF token, nothing.
    assert client.post(f"/alerts/outbox/{recorded[1].id}/press").status_code == 400
    assert client.get("/api/v1/alerts", headers=headers).get_json()["items"][0]["counts"]["acknowledged"] == 1


def test_a_text_too_long_for_twilios_inline_twiml_is_said_once_or_cut_at_a_word():
    """Twilio refuses inline TwiML over 4,000 characters (error 32018): a long text is said
    once, and one too long even for that is cut at a word, whatever escaping makes it grow."""
    from alerts.gateways import TWIML_LIMIT, CallWords, call_twiml

    words = CallWords("hu-HU", None, "Ha hallotta, nyomja meg az egyes gombot.", "Viszonthallásra.", "Köszönjük.")
    url = "https://riado.example/webhooks/twilio/voice?d=1"
    short = call_twiml("Rövid szöveg.", url, words)
    assert short.count("Rövid szöveg.") == 2
    medium = "Árvíz & gátszakadás " * 80  # ~1,600 characters, each & escaped
    twiml = call_twiml(medium, url, words)
    assert len(twiml) <= TWIML_LIMIT and twiml.count("Árvíz &amp; gátszakadás") == 80  # said once, whole
    long = "Ez & az " * 600  # ~4,800 characters
    twiml = call_twiml(long, url, words)
    assert len(twiml) <= TWIML_LIMIT and "…" in twiml and "nyomja meg az egyes gombot" in twiml
    ET.fromstring(twiml)  # still well-formed
