"""Escalation waves across channels (issue 15, SPEC §4): an alert that asks for acknowledgement
reaches those still silent again, wave after wave, each on its channel, through the real queue
consumer, the twilio SDK against the fake Twilio and the console mailer's outbox. Whoever
acknowledged on any channel before a wave (an SMS reply, the e-mail's link) is not reached by it;
each wave reaches each silent contact once, is written once to the incident's log, and is sent
once however many times (and by however many workers) the escalation runs."""

from __future__ import annotations

import datetime as dt
import re
import threading

from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from conftest import csrf_from, wait_for, wait_until_idle
from fake_twilio import FakeTwilio
from test_alert_pages import Forms

ANNA, BELA, CECI, EDIT, FERI = "+36205550401", "+36205550402", "+36205550403", "+36205550405", "+36205550406"
PEOPLE = [  # name, phone, e-mail
    ("Kovács Anna", ANNA, "anna@belvaros.example"),  # confirms by SMS before the first wave
    ("Nagy Béla", BELA, "bela@belvaros.example"),  # confirms through the link of the second wave's e-mail
    ("Szabó Cecília", CECI, ""),  # never answers; has no e-mail address
    ("Kiss Edit", EDIT, "edit@belvaros.example"),  # answers the first wave's SMS reminder
    ("Fekete Ferenc", FERI, "feri@belvaros.example"),  # his SMS fails for good (invalid number)
]


def _people(client, headers) -> tuple[int, dict[str, int]]:
    group = client.post("/api/v1/groups", json={"name": "Védelmi bizottság"}, headers=headers).get_json()["id"]
    ids = {}
    for name, phone, email in PEOPLE:
        response = client.post("/api/v1/contacts", json={"name": name, "phone": phone, "email": email, "groups": [group],
                                                         "sms_opt_in": True}, headers=headers)
        assert response.status_code == 201, response.get_json()
        ids[name] = response.get_json()["id"]
    return group, ids


def _incident(client, headers) -> dict:
    return client.post("/api/v1/incidents", json={"title": "Gátszakadás", "kind": "flood", "severity": "severe",
                                                  "location": {"type": "Point", "coordinates": [19.05, 47.5]}},
                       headers=headers).get_json()


def _emails(app):
    from incident.extensions import db

    from alerts.models import OutboxMessage

    with app.app_context():
        rows = db.session.execute(select(OutboxMessage.to, OutboxMessage.body).where(OutboxMessage.channel == "email")
                                  .order_by(OutboxMessage.id)).all()
        db.session.rollback()
        return rows


def _escalate(app, alert_id: int, minutes: float) -> list[int]:
    """One run of the escalation as the clock reads ``minutes`` after the alert, committed, and
    the queue's drains started for what it queued (as the task does)."""
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


def _sms_reply(server, phone, text="IGEN"):
    status, _ = FakeTwilio.signed_post(server + "/webhooks/twilio/inbound", {"From": phone, "To": "+36205550000", "Body": text})
    assert status == 200


def test_waves_reach_the_still_silent_on_their_channel_once_each_and_are_logged_once(
        sms_app, sms_server, consumer, fake_twilio, api):
    from incident.extensions import db
    from incident.operations import incidents as incident_ops

    from alerts import operations as ops

    client = sms_app.test_client()
    headers, _ = api("officer")
    group, _ids = _people(client, headers)
    incident = _incident(client, headers)
    fake_twilio.script(FERI, error_code=21211)
    waves = [{"after_minutes": 5, "channel": "sms"}, {"after_minutes": 10, "channel": "email"},
             {"after_minutes": 15, "channel": "sms"}]
    created = client.post("/api/v1/alerts", json={"body": "Gátszakadás a Duna-parton, HVB ülés azonnal.", "groups": [group],
                                                  "require_ack": True, "incident_id": incident["id"], "escalation": waves},
                          headers=headers)
    assert created.status_code == 202, created.get_json()
    alert_id = created.get_json()["id"]
    wait_for(lambda: len(fake_twilio.messages) == 4)
    wait_until_idle(sms_app)
    alert = client.get(f"/api/v1/alerts/{alert_id}", headers=headers).get_json()
    assert [(w["after_minutes"], w["channel"], w["sent_at"], w["recipients"]) for w in alert["escalation"]] == [
        (5, "sms", None, None), (10, "email", None, None), (15, "sms", None, None)]
    assert alert["escalate_after_minutes"] is None  # more than one SMS reminder: not the older field

    _sms_reply(sms_server, ANNA)  # Anna confirms before any wave
    assert _escalate(sms_app, alert_id, 4.5) == []  # not yet

    # Wave 1, SMS: a reminder to each phone still silent; Ferenc's number failed for good.
    assert _escalate(sms_app, alert_id, 6) == [alert_id]
    assert _escalate(sms_app, alert_id, 6) == [] and _escalate(sms_app, alert_id, 9) == []  # once only
    reminders = wait_for(lambda: len(r := [m for m in fake_twilio.messages if m.body.startswith("EMLÉKEZTETŐ")]) == 3 and r)
    assert sorted(m.to for m in reminders) == [BELA, CECI, EDIT]
    assert all(m.body.endswith("IGEN") for m in reminders)
    wait_until_idle(sms_app)

    _sms_reply(sms_server, EDIT)  # Edit answers the reminder: that confirms the alert

    # Wave 2, e-mail: the alert itself (with its personal link) to those still silent who have an
    # address, Ferenc's too; Cecília has none.
    assert _escalate(sms_app, alert_id, 11) == [alert_id]
    assert _escalate(sms_app, alert_id, 11) == []
    emails = wait_for(lambda: len(e := _emails(sms_app)) == 2 and e)
    assert sorted(e.to for e in emails) == ["bela@belvaros.example", "feri@belvaros.example"]
    assert all("Gátszakadás a Duna-parton" in e.body and "/ack/" in e.body for e in emails)
    wait_until_idle(sms_app)

    # Béla confirms through the link of that e-mail.
    bela = next(e for e in emails if e.to == "bela@belvaros.example")
    path = re.search(r"(/ack/\S+)", bela.body).group(1)
    browser = sms_app.test_client()
    page = browser.get(path)
    assert browser.post(path, data={"csrf_token": csrf_from(page.get_data(as_text=True))}).status_code == 200

    # Wave 3, SMS again: only Cecília is left who can get one.
    assert _escalate(sms_app, alert_id, 16) == [alert_id]
    assert _escalate(sms_app, alert_id, 60) == []
    wait_for(lambda: len([m for m in fake_twilio.messages if m.body.startswith("EMLÉKEZTETŐ")]) == 4)
    wait_until_idle(sms_app)
    sent = [m.to for m in fake_twilio.messages if m.to != FERI]
    assert sorted(sent) == sorted([ANNA, BELA, CECI, EDIT] + [BELA, CECI, EDIT] + [CECI])  # nothing else
    assert fake_twilio.messages[-1].to == CECI and fake_twilio.messages[-1].body == fake_twilio.sent_to(CECI)[1].body
    assert len(_emails(sms_app)) == 2

    alert = client.get(f"/api/v1/alerts/{alert_id}", headers=headers).get_json()
    assert [(w["channel"], w["recipients"], w["unreachable"]) for w in alert["escalation"]] == [
        ("sms", 3, {"failed_earlier": 1}), ("email", 2, {"no_email": 1}), ("sms", 1, {"failed_earlier": 1})]
    assert all(w["sent_at"] for w in alert["escalation"])
    assert alert["counts"]["acknowledged"] == 3  # Anna, Edit (SMS) and Béla (e-mail), each once
    assert alert["counts_by_channel"]["email"]["sent"] == 2

    # The incident's log: one entry per wave, by the system, saying how many it reached and how
    # many it could not.
    log = client.get(f"/api/v1/incidents/{incident['id']}/log?limit=200", headers=headers).get_json()["items"]
    with sms_app.test_request_context():
        from alerts.labels import channel_words

        expected = [incident_ops.system_text(ops.WAVE_UNREACHABLE_TEXT, labels={"channel": channel_words()}, wave=number,
                                             id=alert_id, channel=channel, n=n, unreachable=1)
                    for number, channel, n in ((1, "sms", 3), (2, "email", 2), (3, "sms", 1))]
        db.session.rollback()
    waves_logged = [e["text"] for e in log if e["text"] in expected]
    assert sorted(waves_logged) == sorted(expected)
    assert all(e["kind"] == "system" for e in log if e["text"] in expected)

    # Each wave's messages, by wave: the e-mails were the alert itself (new to them), the SMS reminders.
    deliveries = client.get(f"/api/v1/alerts/{alert_id}/deliveries?limit=100", headers=headers).get_json()["items"]
    assert {(d["name"], d["wave"]) for d in deliveries if d["channel"] == "email"} == {("Nagy Béla", 2), ("Fekete Ferenc", 2)}
    # The listing has every message, the waves' reminders too, each with its wave.
    assert {(d["kind"], d["wave"]) for d in deliveries if d["kind"] == "reminder"} == {("reminder", 1), ("reminder", 3)}
    reminders = client.get(f"/api/v1/alerts/{alert_id}/deliveries?kind=reminder&limit=100", headers=headers).get_json()
    assert sorted((d["wave"], d["name"]) for d in reminders["items"]) == [
        (1, "Kiss Edit"), (1, "Nagy Béla"), (1, "Szabó Cecília"), (3, "Szabó Cecília")]


def test_a_voice_wave_calls_those_the_sms_could_not_reach(sms_app, consumer, fake_twilio, api):
    """An SMS alert with a voice wave: the landline (no SMS) and the contact who opted out of SMS
    are what the call is for; the wave calls them with the silent mobile, and counts nobody as
    unreachable. The alert still being sent to someone on the wave's own channel is not reached
    again behind it."""
    client = sms_app.test_client()
    headers, _ = api("officer")
    group = client.post("/api/v1/groups", json={"name": "Gondozási központ"}, headers=headers).get_json()["id"]
    people = [("Mobil Márta", "+36205550601", True), ("Vezetékes Vilma", "+3612345601", True),
              ("Leiratkozott Lili", "+36205550603", False)]
    for name, phone, opted_in in people:
        assert client.post("/api/v1/contacts", json={"name": name, "phone": phone, "groups": [group],
                                                     "sms_opt_in": opted_in}, headers=headers).status_code == 201
    alert = client.post("/api/v1/alerts", json={"body": "Hőségriadó: hűsítő terem nyitva.", "groups": [group],
                                                 "require_ack": True,
                                                 "escalation": [{"after_minutes": 10, "channel": "voice"}]},
                        headers=headers).get_json()
    assert alert["recipients"] == 1  # one SMS; the other two are left out of SMS, with reasons
    wait_for(lambda: len(fake_twilio.messages) == 1)
    wait_until_idle(sms_app)
    assert _escalate(sms_app, alert["id"], 11) == [alert["id"]]
    wait_for(lambda: len(fake_twilio.calls) == 3)
    wait_until_idle(sms_app)
    assert sorted(c.to for c in fake_twilio.calls) == ["+3612345601", "+36205550601", "+36205550603"]
    wave = client.get(f"/api/v1/alerts/{alert['id']}", headers=headers).get_json()["escalation"][0]
    assert wave["recipients"] == 3 and wave["unreachable"] == {}


def test_two_workers_escalating_at_once_send_a_wave_once(sms_app, consumer, fake_twilio, api):
    from incident.extensions import db

    from alerts import operations as ops
    from alerts.models import Alert, Delivery

    client = sms_app.test_client()
    headers, _ = api("officer")
    group, _ids = _people(client, headers)
    incident = _incident(client, headers)
    alert_id = client.post("/api/v1/alerts", json={"body": "Riasztás", "groups": [group], "require_ack": True,
                                                   "incident_id": incident["id"],
                                                   "escalation": [{"after_minutes": 5, "channel": "email"}]},
                           headers=headers).get_json()["id"]
    wait_for(lambda: len(fake_twilio.messages) == 5)
    wait_until_idle(sms_app)
    with sms_app.app_context():
        created_at = db.session.get(Alert, alert_id).created_at
        db.session.rollback()
    barrier = threading.Barrier(2)
    results, errors = [], []

    def worker():
        try:
            with sms_app.test_request_context():
                barrier.wait(5)
                results.append(ops.escalate_due(created_at + dt.timedelta(minutes=6)))
                db.session.commit()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert sorted(results) == [[], [alert_id]]
    with sms_app.app_context():
        # Every contact was still silent; the four with an address got the alert by e-mail, once.
        assert db.session.execute(select(func.count()).select_from(Delivery).where(
            Delivery.alert_id == alert_id, Delivery.wave == 1)).scalar_one() == 4
        db.session.rollback()
    log = client.get(f"/api/v1/incidents/{incident['id']}/log?limit=200", headers=headers).get_json()["items"]
    assert len([e for e in log if f"#{alert_id}" in e["text"] and e["kind"] == "system"]) == 2  # the alert and its wave


def test_escalation_is_validated_naming_the_wave_and_field_and_nothing_is_written(app, client, api):
    from incident.extensions import db

    from alerts import operations as ops
    from alerts.models import CHANNELS, Alert

    headers, _ = api("officer")
    group, _ids = _people(client, headers)
    base = {"body": "Próba", "groups": [group], "require_ack": True}

    def errors(**fields):
        response = client.post("/api/v1/alerts", json={**base, **fields}, headers=headers)
        assert response.status_code == 422, response.get_json()
        return response.get_json()["errors"]["json"]

    assert "escalation" in errors(require_ack=False, escalation=[{"after_minutes": 5, "channel": "sms"}])
    assert "escalation[0].after_minutes" in errors(escalation=[{"after_minutes": 0, "channel": "sms"}])
    assert "escalation[0].after_minutes" in errors(escalation=[{"after_minutes": 1441, "channel": "sms"}])
    assert "escalation[0].after_minutes" in errors(escalation=[{"after_minutes": "soon", "channel": "sms"}])
    assert "escalation[0].after_minutes" in errors(escalation=[{"channel": "sms"}])
    assert "escalation[1].after_minutes" in errors(escalation=[{"after_minutes": 5, "channel": "sms"},
                                                               {"after_minutes": 5, "channel": "email"}])
    assert "escalation[0].channel" in errors(escalation=[{"after_minutes": 5, "channel": "fax"}])
    unavailable = [channel for channel in CHANNELS if channel not in ops.AVAILABLE_CHANNELS]
    if unavailable:  # voice, until calls can be placed
        assert "escalation[0].channel" in errors(escalation=[{"after_minutes": 5, "channel": unavailable[0]}])
    assert "escalation[1]" in errors(escalation=[{"after_minutes": 5, "channel": "sms"}, 7])
    assert "escalation" in errors(escalation=[{"after_minutes": n, "channel": "sms"} for n in range(1, 8)])
    assert "escalation" in errors(escalation="10 perc")
    assert "escalation" in errors(escalation=[{"after_minutes": 5, "channel": "sms"}], escalate_after_minutes=5)
    assert "escalate_after_minutes" in errors(require_ack=False, escalate_after_minutes=5)
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(Alert)).scalar_one() == 0
        db.session.rollback()

    # Waves given in any order go out in the order of their times; the older single reminder
    # is one SMS wave, and is answered as before.
    alert_id = client.post("/api/v1/alerts", json={**base, "escalation": [{"after_minutes": 20, "channel": "email"},
                                                                          {"after_minutes": 5, "channel": "sms"}]},
                           headers=headers).get_json()["id"]
    alert = client.get(f"/api/v1/alerts/{alert_id}", headers=headers).get_json()
    assert [(w["after_minutes"], w["channel"]) for w in alert["escalation"]] == [(5, "sms"), (20, "email")]
    older = client.post("/api/v1/alerts", json={**base, "escalate_after_minutes": 15}, headers=headers).get_json()["id"]
    older = client.get(f"/api/v1/alerts/{older}", headers=headers).get_json()
    assert older["escalate_after_minutes"] == 15
    assert [(w["after_minutes"], w["channel"], w["sent_at"]) for w in older["escalation"]] == [(15, "sms", None)]


def test_the_queue_wakes_the_escalation_at_each_wave(sms_app, api):
    """``start`` schedules the escalation task at each wave's time (the sweep, every minute,
    takes up one missed)."""
    client = sms_app.test_client()
    headers, _ = api("officer")
    group, _ids = _people(client, headers)
    huey = sms_app.extensions["huey"]
    client.post("/api/v1/alerts", json={"body": "Riasztás", "groups": [group], "require_ack": True,
                                        "escalation": [{"after_minutes": 5, "channel": "sms"},
                                                       {"after_minutes": 30, "channel": "email"}]}, headers=headers)
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    # No consumer runs here: the tasks wait in the queue with their times (a consumer's scheduler
    # holds each until then).
    etas = sorted(task.eta for task in [*huey.pending(), *huey.scheduled()] if task.name.endswith("alerts.escalate"))
    assert len(etas) == 2
    assert [round((eta - now).total_seconds() / 60) for eta in etas] == [5, 30]


def test_the_compose_page_offers_wave_rows_and_the_confirmation_lists_them(app, client, api, make_user, login):
    headers, _ = api("officer")
    group, _ids = _people(client, headers)
    login(make_user("officer"))
    page = client.get("/alerts/new").get_data(as_text=True)
    assert page.count('name="escalation_minutes"') == 3 and page.count('name="escalation_channel"') == 3
    form = {"csrf_token": csrf_from(page), "body": "HVB ülés 9-kor.", "groups": str(group), "require_ack": "1",
            "channels_shown": "1", "channels": ["sms"],
            "escalation_minutes": ["10", "", "0"], "escalation_channel": ["sms", "email", "email"]}
    wrong = client.post("/alerts/new", data=form)
    html = wrong.get_data(as_text=True)
    assert wrong.status_code == 422
    # The error is beside the second wave written (the empty row is no wave).
    row = html.split('data-testid="wave-row"')[2]
    assert 'aria-invalid="true"' in row and "field-error" in row
    confirm = client.post("/alerts/new", data={**form, "escalation_minutes": ["10", "", "30"]})
    html = confirm.get_data(as_text=True)
    assert confirm.status_code == 200, html
    listed = re.findall(r'<li data-testid="wave" data-channel="(\w+)">(.*?)</li>', html)
    assert [channel for channel, _text in listed] == ["sms", "email"]
    assert "10" in listed[0][1] and "30" in listed[1][1]
    # What the waves may cost: the SMS wave at most the alert's own SMS again; e-mail costs nothing.
    preview = client.post("/api/v1/alerts/recipients", json={
        "body": "HVB ülés 9-kor.", "groups": [group], "require_ack": True,
        "escalation": [{"after_minutes": 10, "channel": "sms"}, {"after_minutes": 30, "channel": "email"}]},
        headers=headers).get_json()
    assert preview["estimated_cost"] > 0 and preview["escalation_cost_at_most"] == [preview["estimated_cost"], None]
    assert 'data-testid="wave-cost"' in listed[0][1] and 'data-testid="wave-cost"' not in listed[1][1]
    assert 'data-testid="wave-cost-total"' in html
    # The waves ride in the confirmation's hidden fields to the send step.
    fields = Forms(html).forms["send-form"]["fields"]
    assert [v for k, v in fields if k == "escalation_minutes"] == ["10", "30"]
    sent = client.post("/alerts/send", data=MultiDict(fields))
    assert sent.status_code in (302, 303)
    alert_id = int(sent.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    alert = client.get(f"/api/v1/alerts/{alert_id}", headers=headers).get_json()
    assert [(w["after_minutes"], w["channel"]) for w in alert["escalation"]] == [(10, "sms"), (30, "email")]
    detail = client.get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert detail.count('data-testid="wave"') == 2


def test_an_officer_stops_the_escalation_and_no_further_wave_goes_out(app, client, api, make_user, login):
    """A false alarm: the officer stops the escalation on the alert page; the waves not yet gone
    out are kept as stopped, nothing more is sent when their time comes, and the incident's log
    says who stopped them. A viewer cannot."""
    from incident.extensions import db

    from alerts.models import Delivery

    headers, _ = api("officer")
    group, _ids = _people(client, headers)
    incident = _incident(client, headers)
    alert_id = client.post("/api/v1/alerts", json={
        "body": "Téves riasztás?", "groups": [group], "require_ack": True, "incident_id": incident["id"],
        "escalation": [{"after_minutes": 5, "channel": "sms"}, {"after_minutes": 10, "channel": "email"}]},
        headers=headers).get_json()["id"]
    viewer_headers, _ = api("viewer")
    assert client.post(f"/api/v1/alerts/{alert_id}/escalation/stop", headers=viewer_headers).status_code == 403
    login(make_user("officer"))
    page = client.get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert 'data-testid="stop-escalation"' in page
    stopped = client.post(f"/alerts/{alert_id}/escalation/stop", data={"csrf_token": csrf_from(page)})
    assert stopped.status_code in (302, 303)
    page = client.get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert page.count('data-testid="wave-stopped"') == 2 and 'data-testid="stop-escalation"' not in page
    assert _escalate(app, alert_id, 30) == []  # their time has come: nothing goes out
    with app.app_context():
        assert db.session.query(Delivery).filter(Delivery.alert_id == alert_id, Delivery.wave > 0).count() == 0
        db.session.rollback()
    waves = client.get(f"/api/v1/alerts/{alert_id}", headers=headers).get_json()["escalation"]
    assert all(w["stopped_at"] and not w["sent_at"] for w in waves)
    log = client.get(f"/api/v1/incidents/{incident['id']}/log", headers=headers).get_json()["items"]
    stops = [e for e in log if e["kind"] == "decision" and "eszkalációját" in e["text"]]
    assert len(stops) == 1 and f"{alert_id}." in stops[0]["text"] and "2 hullám" in stops[0]["text"], stops
    assert client.post(f"/api/v1/alerts/{alert_id}/escalation/stop", headers=headers).status_code == 200  # again: no-op
    assert client.post("/api/v1/alerts/999999/escalation/stop", headers=headers).status_code == 404
