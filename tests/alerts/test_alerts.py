"""SMS alerts end to end: composition, recipients, the queue, the real twilio SDK against a
fake Twilio server, status callbacks, replies, escalation."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from conftest import wait_for, wait_until_idle
from factories import create_group_of
from fake_twilio import FakeTwilio

PHONES = ["+36205550101", "+36205550102", "+36205550103"]


def deliveries(client, headers, alert_id):
    return client.get(f"/api/v1/alerts/{alert_id}/deliveries?limit=500", headers=headers).get_json()["items"]


def test_group_duplicates_and_opt_outs_then_idempotency(sms_app, consumer, fake_twilio, api):
    client = sms_app.test_client()
    headers, _ = api("officer")
    group, _ids = create_group_of(client, "Helyi Védelmi Bizottság", [
        ("Tag Egy", PHONES[0], True), ("Tag Kettő", PHONES[1], True), ("Tag Három", PHONES[2], True),
        ("Ügyeletes (ugyanaz a telefon)", PHONES[0], True), ("Leiratkozott", "+36205550109", False),
    ])
    body = {"body": "Árvízvédelmi készültség, 9:00 HVB ülés.", "groups": [group]}
    first = client.post("/api/v1/alerts", json=body, headers={**headers, "Idempotency-Key": "hvb-2026-11-26"})
    assert first.status_code == 202, first.get_json()
    accepted = first.get_json()
    assert accepted["recipients"] == 3
    wait_for(lambda: len(fake_twilio.messages) == 3)
    again = client.post("/api/v1/alerts", json=body, headers={**headers, "Idempotency-Key": "hvb-2026-11-26"})
    assert again.status_code in (200, 202) and again.get_json()["id"] == accepted["id"]
    alert = wait_for(lambda: (a := client.get(f"/api/v1/alerts/{accepted['id']}", headers=headers).get_json())["counts"]["sent"] == 3 and a)
    assert alert["counts"]["excluded"] == 1
    assert sorted(m.to for m in fake_twilio.messages) == PHONES  # one message per phone
    assert all(m.body == "Árvízvédelmi készültség, 9:00 HVB ülés." for m in fake_twilio.messages)
    assert all(m.sender == "+36205550000" and int(m.validity_period) <= 3600 for m in fake_twilio.messages)
    wait_until_idle(sms_app)
    assert len(fake_twilio.messages) == 3  # the retry with the same key sent nothing
    reused = client.post("/api/v1/alerts", json={**body, "body": "más szöveg"}, headers={**headers, "Idempotency-Key": "hvb-2026-11-26"})
    assert reused.status_code == 409


def test_429_then_success_is_sent_once_and_21211_fails_without_retry(sms_app, consumer, fake_twilio, api):
    client = sms_app.test_client()
    headers, _ = api("officer")
    fake_twilio.script("+36205550201", transient=[429, 429])
    fake_twilio.script("+36205550202", error_code=21211)
    group, _ = create_group_of(client, "Teszt", [("Türelmes", "+36205550201", True), ("Rossz szám", "+36205550202", True)])
    alert_id = client.post("/api/v1/alerts", json={"body": "Próba", "groups": [group]}, headers=headers).get_json()["id"]

    def settled():
        rows = {d["phone"]: d for d in deliveries(client, headers, alert_id)}
        return rows if rows["+36205550201"]["status"] == "sent" and rows["+36205550202"]["status"] == "failed" else None

    rows = wait_for(settled, timeout=30)
    assert len(fake_twilio.sent_to("+36205550201")) == 1
    assert [s for to, s in fake_twilio.attempts if to == "+36205550201"] == [429, 429, 201]
    assert rows["+36205550201"]["attempts"] == 3
    assert rows["+36205550202"]["error_code"] == 21211
    assert [s for to, s in fake_twilio.attempts if to == "+36205550202"] == [400]  # never retried


def test_status_callbacks_track_delivery_and_are_signed(sms_app, sms_server, consumer, fake_twilio, api):
    client = sms_app.test_client()
    headers, _ = api("officer")
    group, _ = create_group_of(client, "Iskolák", [("Igazgató", PHONES[0], True), ("Helyettes", PHONES[1], True)])
    alert_id = client.post("/api/v1/alerts", json={"body": "Tanítási szünet", "groups": [group]}, headers=headers).get_json()["id"]
    wait_for(lambda: len(fake_twilio.messages) == 2)
    first, second = sorted(fake_twilio.messages, key=lambda m: m.to)
    assert first.status_callback.startswith(sms_server + "/webhooks/twilio/status?d=")
    assert fake_twilio.status_callback(first, "delivered")[0] == 200
    assert fake_twilio.status_callback(second, "undelivered", error_code=30003)[0] == 200
    assert fake_twilio.status_callback(first, "sent")[0] == 200  # late and out of order: ignored

    def done():
        counts = client.get(f"/api/v1/alerts/{alert_id}", headers=headers).get_json()["counts"]
        return counts if counts["delivered"] == 1 and counts["undelivered"] == 1 else None

    wait_for(done)
    rows = {d["phone"]: d for d in deliveries(client, headers, alert_id)}
    assert rows[second.to]["error_code"] == 30003
    assert rows[first.to]["delivered_at"]
    # Forged or unsigned callbacks are refused.
    forged = FakeTwilio.signed_post(first.status_callback, {"MessageSid": first.sid, "MessageStatus": "failed"},
                                    auth_token="not-the-token")
    assert forged[0] == 403
    import urllib.request

    with pytest.raises(urllib.error.HTTPError) as unsigned:
        urllib.request.urlopen(urllib.request.Request(first.status_callback, data=b"MessageStatus=failed", method="POST"))
    assert unsigned.value.code == 403
    unsigned.value.close()
    assert {d["status"] for d in deliveries(client, headers, alert_id)} == {"delivered", "undelivered"}


def test_replies_acknowledge_opt_out_and_opt_in(sms_app, sms_server, consumer, fake_twilio, api):
    client = sms_app.test_client()
    headers, _ = api("officer")
    incident = client.post("/api/v1/incidents", json={"title": "Vihar", "kind": "storm", "severity": "moderate",
                                                      "location": {"type": "Point", "coordinates": [19.05, 47.5]}},
                           headers=headers).get_json()
    group, ids = create_group_of(client, "Ügyelet", [("Kovács Júlia", PHONES[0], True), ("Nagy Péter", PHONES[1], True)])
    alert_id = client.post("/api/v1/alerts", json={"body": "Kérjük, erősítse meg: OK", "groups": [group], "require_ack": True,
                                                   "incident_id": incident["id"]}, headers=headers).get_json()["id"]
    wait_for(lambda: len(fake_twilio.messages) == 2)
    inbound = sms_server + "/webhooks/twilio/inbound"
    status, body = FakeTwilio.signed_post(inbound, {"From": PHONES[0], "To": "+36205550000", "Body": " igen. "})
    assert status == 200 and "<Message>" in body
    counts = client.get(f"/api/v1/alerts/{alert_id}", headers=headers).get_json()["counts"]
    assert counts["acknowledged"] == 1
    log = client.get(f"/api/v1/incidents/{incident['id']}/log", headers=headers).get_json()["items"]
    assert any("Kovács Júlia" in e["text"] and e["kind"] == "communication" for e in log)
    assert FakeTwilio.signed_post(inbound, {"From": "06 20 555 0102", "Body": "LEIRATKOZOM"})[0] == 200
    assert client.get(f"/api/v1/contacts/{ids[1]}", headers=headers).get_json()["sms_opt_in"] is False
    assert FakeTwilio.signed_post(inbound, {"From": PHONES[1], "Body": "START"})[0] == 200
    assert client.get(f"/api/v1/contacts/{ids[1]}", headers=headers).get_json()["sms_opt_in"] is True
    assert FakeTwilio.signed_post(inbound, {"From": PHONES[1], "Body": "hello"}, auth_token="wrong")[0] == 403


HINT_HU = "\nHa megkapta, küldje vissza: IGEN"


def test_an_alert_asking_for_acknowledgement_says_what_to_reply_and_that_word_acknowledges(
        sms_app, sms_server, consumer, fake_twilio, api):
    client = sms_app.test_client()
    headers, _ = api("officer")
    asking, _ = create_group_of(client, "Ügyelet", [("Kovács Júlia", PHONES[0], True), ("Nagy Péter", PHONES[1], True)])
    telling, _ = create_group_of(client, "Sajtó", [("Szabó Ödön", PHONES[2], True)])
    body = "HVB ülés ma 9:00-kor a hivatalban."
    ack_id = client.post("/api/v1/alerts", json={"body": body, "groups": [asking], "require_ack": True},
                         headers=headers).get_json()["id"]
    plain_id = client.post("/api/v1/alerts", json={"body": body, "groups": [telling]}, headers=headers).get_json()["id"]
    wait_for(lambda: len(fake_twilio.messages) == 3)
    received = {m.to: m.body for m in fake_twilio.messages}
    # What the phones got: the hint on a line of its own at the end, only where an answer is asked for.
    assert received[PHONES[0]] == received[PHONES[1]] == body + HINT_HU
    assert received[PHONES[2]] == body
    alert = client.get(f"/api/v1/alerts/{ack_id}", headers=headers).get_json()
    assert alert["body"] == body + HINT_HU and alert["encoding"] == "GSM-7"  # the hint keeps a GSM-7 text GSM-7
    assert client.get(f"/api/v1/alerts/{plain_id}", headers=headers).get_json()["body"] == body

    # The word the SMS asks for acknowledges, taken from what the phone got (whatever it becomes)
    # and typed as people type it; the same word from the phone that was not asked finds no alert.
    word = received[PHONES[0]].rsplit(" ", 1)[-1]
    status, answer = FakeTwilio.signed_post(sms_server + "/webhooks/twilio/inbound",
                                            {"From": PHONES[0], "To": "+36205550000", "Body": f" {word.lower()}. "})
    assert status == 200 and "<Message>" in answer
    assert client.get(f"/api/v1/alerts/{ack_id}", headers=headers).get_json()["counts"]["acknowledged"] == 1
    FakeTwilio.signed_post(sms_server + "/webhooks/twilio/inbound", {"From": PHONES[2], "To": "+36205550000", "Body": word})
    with sms_app.app_context():
        from alerts.models import Reply
        from incident.extensions import db

        assert db.session.execute(select(Reply.action).where(Reply.phone == PHONES[2])).scalar_one() == "nothing_to_ack"


@pytest.mark.parametrize("locale", ["hu", "en"])
def test_the_word_the_hint_asks_for_is_an_acknowledgement_in_every_language(app_factory, locale):
    """What the SMS asks people to reply must be one of the words a reply is acknowledged by (the
    hint's word is translated; the words a reply is read by are not)."""
    from alerts import operations as ops
    from incident.config import LOCALES

    assert locale in LOCALES and set(LOCALES) == {"hu", "en"}  # a new language gets its case here
    with app_factory(RIADO_LOCALE=locale).test_request_context():
        word = ops.ack_word()
        assert word in ops.reply_hint().split()
        assert ops.normalise_reply(word) in ops.ACK_WORDS
        assert ops.normalise_reply(word.capitalize() + "!") in ops.ACK_WORDS


def test_the_reply_hint_is_in_the_sms_language_and_keeps_gsm7_text_gsm7(app_factory):
    from incident.extensions import db

    from alerts import operations as ops

    english = app_factory(RIADO_LOCALE="en")
    with english.test_request_context():
        assert ops.compose("Meeting at 9.", False, False, require_ack=True).body == "Meeting at 9.\nReply YES to confirm."
        assert ops.compose("Meeting at 9.", False, False).body == "Meeting at 9."
        db.session.rollback()
    hungarian = app_factory(RIADO_LOCALE="hu")
    with hungarian.test_request_context():
        text = ops.compose("Árvíz", True, True, require_ack=True)
        assert text.body == "GYAKORLAT! Arviz" + HINT_HU and text.encoding == "GSM-7"
        db.session.rollback()


@pytest.mark.parametrize("transliterate", [False, True])
def test_a_reminder_too_long_for_one_sms_shortens_the_alert_text_and_keeps_the_reply_hint(app, transliterate):
    from alerts import operations as ops
    from alerts import sms
    from alerts.models import Alert

    with app.test_request_context():
        written = "Árvíz – a gát átázott, " * 80  # far past what "EMLÉKEZTETŐ: " leaves room for
        text = ops.compose(written[: sms.MAX_CHARACTERS - len(HINT_HU)], transliterate, False, require_ack=True)
        assert len(text.body) <= sms.MAX_CHARACTERS and text.body.endswith(HINT_HU)
        reminder = ops.reminder_text(Alert(body=text.body, transliterate=transliterate))
        assert reminder.startswith("EMLÉKEZTETÖ: " if transliterate else "EMLÉKEZTETŐ: ") and reminder.endswith(HINT_HU)
        assert len(reminder) == sms.MAX_CHARACTERS
        assert sms.preview(reminder, transliterate).body == reminder
        # An alert written before the hint existed gets it too, whole.
        old = ops.reminder_text(Alert(body="x" * sms.MAX_CHARACTERS, transliterate=False))
        assert old.endswith(HINT_HU) and len(old) == sms.MAX_CHARACTERS


def test_escalation_sends_one_reminder_to_the_silent(sms_app, consumer, fake_twilio, api):
    from incident.extensions import db

    from alerts import operations as ops
    from alerts.models import Alert

    client = sms_app.test_client()
    headers, _ = api("officer")
    group, _ = create_group_of(client, "Vezetők", [("Válaszol", PHONES[0], True), ("Hallgat", PHONES[1], True)])
    alert_id = client.post("/api/v1/alerts", json={"body": "Riasztás", "groups": [group], "require_ack": True,
                                                   "escalate_after_minutes": 5}, headers=headers).get_json()["id"]
    wait_for(lambda: len(fake_twilio.messages) == 2)
    with sms_app.test_request_context():
        ops.handle_reply(PHONES[0], "OK")
        alert = db.session.get(Alert, alert_id)
        assert ops.escalate_due(alert.created_at) == []  # not yet
        escalated = ops.escalate_due(alert.created_at + __import__("datetime").timedelta(minutes=6))
        assert escalated == [alert_id]
        assert ops.escalate_due(alert.created_at + __import__("datetime").timedelta(minutes=60)) == []  # once only
        db.session.commit()  # operations do not commit: their caller does
        sms_app.extensions["alert_tasks"].fan_out(alert_id)
    reminder = wait_for(lambda: [m for m in fake_twilio.messages if m.body.startswith("EMLÉKEZTETŐ")])
    assert [m.to for m in reminder] == [PHONES[1]]
    assert reminder[0].body == "EMLÉKEZTETŐ: Riasztás" + HINT_HU  # the same word to reply, once
    silent = client.get(f"/api/v1/alerts/{alert_id}/deliveries", query_string={"kind": "reminder"}, headers=headers).get_json()
    assert silent["total"] == 1


def test_preview_and_limits(client, api):
    headers, _ = api("viewer")
    p = client.post("/api/v1/alerts/preview", json={"body": "Árvízveszély", "transliterate": True}, headers=headers).get_json()
    assert p == {"body": "Arvizveszély", "encoding": "GSM-7", "characters": 12, "segments": 1, "max_characters": 1600}
    drill = client.post("/api/v1/alerts/preview", json={"body": "Próba", "drill": True}, headers=headers).get_json()
    assert drill["body"] == "GYAKORLAT! Próba"
    officer, _ = api("officer")
    too_long = client.post("/api/v1/alerts", json={"body": "a" * 1601, "groups": []}, headers=officer)
    assert too_long.status_code == 422 and "body" in too_long.get_json()["errors"]["json"]
    nobody = client.post("/api/v1/alerts", json={"body": "a"}, headers=officer)
    assert "recipients" in nobody.get_json()["errors"]["json"]
    assert client.post("/api/v1/alerts", json={"body": "a", "groups": [1]}, headers=headers).status_code == 403


def test_drill_alerts_are_prefixed_and_go_to_the_outbox_with_the_console_gateway(app, api, client):
    from conftest import wait_for as _wait  # noqa: F401

    headers, _ = api("officer")
    group = client.post("/api/v1/groups", json={"name": "Gyakorlók"}, headers=headers).get_json()["id"]
    client.post("/api/v1/contacts", json={"name": "Gyakorló", "phone": PHONES[0], "groups": [group]}, headers=headers)
    incident = client.post("/api/v1/incidents", json={"title": "Törzsvezetési gyakorlat", "kind": "other", "severity": "minor",
                                                      "drill": True, "location": {"type": "Point", "coordinates": [19.05, 47.5]}},
                           headers=headers).get_json()
    created = client.post("/api/v1/alerts", json={"body": "Gyülekező 10-kor", "groups": [group], "incident_id": incident["id"]},
                          headers=headers)
    alert = client.get(f"/api/v1/alerts/{created.get_json()['id']}", headers=headers).get_json()
    assert alert["drill"] is True and alert["body"] == "GYAKORLAT! Gyülekező 10-kor"
    from incident.extensions import db

    from alerts.models import Delivery

    with app.app_context():
        assert db.session.execute(select(Delivery.body)).scalar_one() == "GYAKORLAT! Gyülekező 10-kor"


def test_rfc9457_errors_are_handled_too(sms_app, consumer, fake_twilio, api):
    """twilio raises TwilioServiceException (not a TwilioRestException) for problem-details bodies."""
    client = sms_app.test_client()
    headers, _ = api("officer")
    fake_twilio.script("+36205550301", transient=[503], problem_json=True)
    fake_twilio.script("+36205550302", error_code=21614, problem_json=True)
    group, _ = create_group_of(client, "Problémák", [("Átmeneti", "+36205550301", True), ("Vezetékes", "+36205550302", True)])
    alert_id = client.post("/api/v1/alerts", json={"body": "Próba", "groups": [group]}, headers=headers).get_json()["id"]

    def settled():
        rows = {d["phone"]: d for d in deliveries(client, headers, alert_id)}
        return rows if rows["+36205550301"]["status"] == "sent" and rows["+36205550302"]["status"] == "failed" else None

    rows = wait_for(settled)
    assert rows["+36205550302"]["error_code"] == 21614
    assert [s for to, s in fake_twilio.attempts if to == "+36205550302"] == [400]
    assert len(fake_twilio.sent_to("+36205550301")) == 1


def test_the_redis_queue_carries_alerts_too(app_factory, fake_twilio, api, redis_url):
    """With REDIS_URL the same tasks run on Redis (workers on any number of machines)."""
    from fake_twilio import ACCOUNT_SID, AUTH_TOKEN
    from incident.queue import create_consumer

    app = app_factory(TWILIO_ACCOUNT_SID=ACCOUNT_SID, TWILIO_AUTH_TOKEN=AUTH_TOKEN, TWILIO_FROM="+36205550000",
                      TWILIO_API_URL=fake_twilio.url, REDIS_URL=redis_url)
    from huey import RedisHuey

    huey = app.extensions["huey"]
    assert isinstance(huey, RedisHuey)
    client = app.test_client()
    headers, _ = api("officer")
    group, _ = create_group_of(client, "Redis", [("Egy", PHONES[0], True), ("Kettő", PHONES[1], True)])
    worker = create_consumer(huey, workers=2)
    worker._set_signal_handlers = lambda: None
    worker.start()
    try:
        client.post("/api/v1/alerts", json={"body": "Redis-sor", "groups": [group]}, headers=headers)
        wait_for(lambda: len(fake_twilio.messages) == 2)
    finally:
        worker.stop()
        for _, thread in worker.worker_threads:
            thread.join(5)
        worker.scheduler.join(5)
        huey.flush()
    assert sorted(m.to for m in fake_twilio.messages) == PHONES[:2]


def test_drill_safety_switch_sends_only_to_the_test_group(app_factory, api):
    app = app_factory(RIADO_DRILL_TEST_GROUP="Gyakorló csoport")
    client = app.test_client()
    headers, _ = api("officer")
    test_group, _ = create_group_of(client, "Gyakorló csoport", [("Próbababa", PHONES[0], True)])
    everyone, _ = create_group_of(client, "Mindenki", [("Lakó", PHONES[1], True), ("Szomszéd", PHONES[2], True)])
    drill = client.post("/api/v1/alerts/recipients", json={"body": "x", "groups": [test_group, everyone], "drill": True},
                        headers=headers).get_json()
    assert drill["recipients"] == 1 and drill["reasons"]["drill_safety"] == 2
    real = client.post("/api/v1/alerts/recipients", json={"body": "x", "groups": [test_group, everyone]}, headers=headers).get_json()
    assert real["recipients"] == 3  # the switch holds back drills only


def test_alerts_on_one_incident_at_once_all_go_through(app, api, live_server):
    """Alerts sent on one incident at the same moment are all accepted and all logged. (Creating
    an alert used to insert it, which takes a key-share lock on its incident through the foreign
    key, before taking the incident's row lock for the log entry: on PostgreSQL two at once
    deadlocked, and one of them failed.)"""
    import threading

    from conftest import http_json

    headers, _ = api("officer")
    client = app.test_client()
    group, _ids = create_group_of(client, "Ügyelet", [("Ügyeletes", PHONES[0], True)])
    incident = client.post("/api/v1/incidents", headers=headers, json={
        "title": "Gázszivárgás", "kind": "gas_leak", "severity": "severe",
        "location": {"type": "Point", "coordinates": [19.0493, 47.4957]}}).get_json()
    barrier = threading.Barrier(8)
    statuses = []

    def send(n):
        barrier.wait()
        for i in range(3):
            status, _ = http_json("POST", f"{live_server}/api/v1/alerts",
                                  {"body": f"Riasztás {n}-{i}", "groups": [group], "incident_id": incident["id"]}, headers)
            statuses.append(status)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert statuses == [202] * 24
    verdict = client.get(f"/api/v1/incidents/{incident['id']}/log/verify", headers=headers).get_json()
    assert verdict == {"ok": True, "entries": 1 + 24, "first_bad_seq": None}
