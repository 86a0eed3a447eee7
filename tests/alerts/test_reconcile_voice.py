"""Status reconciliation of calls (issue 15, SPEC §4): a call left "sent" because its status
callbacks never arrived is asked of Twilio's Call resource (the real twilio SDK against the fake
Twilio) after RIADO_RECONCILE_AFTER_MINUTES, in the same round as the SMS of the alert, and its
status mapped as a call's callback would be (completed → delivered, busy/no-answer → undelivered,
failed → failed; a call still ringing stays sent), never backwards; the incident's log says so
once; the console's calls are not asked about."""

from __future__ import annotations

import datetime as dt

from conftest import running_consumer, wait_for, wait_until_idle
from factories import create_group_of

PHONES = ["+36205550601", "+36205550602", "+36205550603", "+36205550604", "+36205550605", "+3612345606"]


def _incident(client, headers) -> dict:
    return client.post("/api/v1/incidents", json={
        "title": "Gázszivárgás", "kind": "other", "severity": "severe",
        "location": {"type": "Point", "coordinates": [19.05, 47.5]}}, headers=headers).get_json()


def _rows(client, headers, alert_id) -> dict[tuple[str, str], dict]:
    items = client.get(f"/api/v1/alerts/{alert_id}/deliveries?limit=50", headers=headers).get_json()["items"]
    return {(r["channel"], r["phone"]): r for r in items}


def test_calls_whose_status_callbacks_were_lost_are_asked_of_twilio(sms_app, sms_server, consumer, fake_twilio, api):
    from incident.extensions import db

    from alerts.gateways import make_gateway, make_voice_gateway
    from alerts.channels import Gateways
    from alerts.tasks import reconcile

    client = sms_app.test_client()
    headers, _ = api("officer")
    incident = _incident(client, headers)
    group, _ = create_group_of(client, "Lakók", [(f"Lakó {i + 1}", phone, True) for i, phone in enumerate(PHONES)])
    created = client.post("/api/v1/alerts", json={"body": "Gázszivárgás: hagyják el a lépcsőházat.", "groups": [group],
                                                  "channels": ["sms", "voice"], "require_ack": True,
                                                  "incident_id": incident["id"]}, headers=headers)
    assert created.status_code == 202, created.get_json()
    alert_id = created.get_json()["id"]
    wait_for(lambda: len(fake_twilio.messages) == 5 and len(fake_twilio.calls) == 6)  # the landline: a call only
    wait_until_idle(sms_app)
    calls = {c.to: c for c in fake_twilio.calls}
    sms = {m.to: m for m in fake_twilio.messages}
    # The first call's callbacks arrived. Of the others, Twilio knows how they ended, but those
    # callbacks were lost; the sixth is still going on. The first SMS was delivered, its report lost.
    assert fake_twilio.call_status(calls[PHONES[0]], "completed")[0] == 200
    fake_twilio.report_call(calls[PHONES[1]], "completed")
    fake_twilio.report_call(calls[PHONES[2]], "no-answer")
    fake_twilio.report_call(calls[PHONES[3]], "busy")
    fake_twilio.report_call(calls[PHONES[4]], "failed")
    fake_twilio.report(sms[PHONES[0]], "delivered")
    # The sixth contact pressed 1 (the key came), but its call is still going on as far as Twilio knows.
    assert fake_twilio.press(calls[PHONES[5]], "1")[0] == 200
    fake_twilio.report_call(calls[PHONES[5]], "in-progress")

    with sms_app.app_context():
        gateway, voice = make_gateway(sms_app.config), make_voice_gateway(sms_app.config)
        after = dt.timedelta(minutes=sms_app.config["RIADO_RECONCILE_AFTER_MINUTES"])
        now = dt.datetime.now(dt.timezone.utc)
        assert reconcile(Gateways(sms_app.config, sms=gateway, voice=voice), after, now) == {}  # too early: callbacks may still come
        assert fake_twilio.fetched == []
        later = now + after + dt.timedelta(seconds=5)
        assert reconcile(Gateways(sms_app.config, sms=gateway, voice=voice), after, later) == {
            alert_id: {"delivered": 2, "undelivered": 2, "failed": 1}}
        asked = sorted(fake_twilio.fetched)
        # Not the settled call, nor the one a key press answered (a key pressed: reached).
        assert asked == sorted([calls[p].sid for p in PHONES[1:5]] + [m.sid for m in sms.values()])
        fake_twilio.fetched.clear()
        assert reconcile(Gateways(sms_app.config, sms=gateway, voice=voice), after, later) == {}  # asked again only RIADO_RECONCILE_AFTER_MINUTES later
        assert fake_twilio.fetched == []
        # Later still: that call has ended as Twilio says; it was counted reached when 1 was pressed.
        fake_twilio.report_call(calls[PHONES[5]], "completed")
        again = later + after + dt.timedelta(seconds=5)
        assert reconcile(Gateways(sms_app.config, sms=gateway, voice=voice), after, again) == {}
        assert calls[PHONES[5]].sid not in fake_twilio.fetched
        db.session.remove()

    rows = _rows(client, headers, alert_id)
    assert [rows[("voice", p)]["status"] for p in PHONES] == [
        "delivered", "delivered", "undelivered", "undelivered", "failed", "delivered"]
    assert rows[("sms", PHONES[0])]["status"] == "delivered"
    assert all(rows[("sms", p)]["status"] == "sent" for p in PHONES[1:5])
    by_channel = client.get(f"/api/v1/alerts/{alert_id}", headers=headers).get_json()["counts_by_channel"]
    assert (by_channel["voice"]["delivered"], by_channel["voice"]["undelivered"], by_channel["voice"]["failed"],
            by_channel["voice"]["sent"]) == (3, 2, 1, 0)
    # Never backwards: a late "ringing" callback of an ended call changes nothing.
    assert fake_twilio.call_status(calls[PHONES[1]], "ringing")[0] == 200
    assert _rows(client, headers, alert_id)[("voice", PHONES[1])]["status"] == "delivered"
    log = client.get(f"/api/v1/incidents/{incident['id']}/log", headers=headers).get_json()["items"]
    notes = [e["text"] for e in log if "#%d" % alert_id in e["text"] and "szolgáltató" in e["text"].lower()]
    assert len(notes) == 1, [e["text"] for e in log]  # one per round that changed something


def test_the_console_calls_are_never_asked(app, client, api):
    from incident.extensions import db

    from alerts.channels import Gateways
    from alerts.tasks import reconcile

    headers, _ = api("officer")
    group, _ = create_group_of(client, "Próba", [("Próba Pál", PHONES[0], True)])
    alert_id = client.post("/api/v1/alerts", json={"body": "Próba", "groups": [group], "channels": ["voice"]},
                           headers=headers).get_json()["id"]
    with running_consumer(app.extensions["huey"]):
        wait_until_idle(app)
    with app.app_context():
        later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)
        assert reconcile(Gateways(app.config), dt.timedelta(minutes=15), later) == {}
        db.session.remove()
    assert client.get(f"/api/v1/alerts/{alert_id}", headers=headers).get_json()["counts_by_channel"]["voice"]["sent"] == 1
