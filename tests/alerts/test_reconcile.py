"""Status reconciliation (issue 15, SPEC §4): a message left "sent" because its status callback
never arrived is asked of Twilio (its Message resource) after RIADO_RECONCILE_AFTER_MINUTES, and
corrected, never backwards; the incident's log says so once; the console's messages and messages
whose callbacks came are not asked about."""

from __future__ import annotations

import datetime as dt

from conftest import wait_for, wait_until_idle
from factories import create_group_of

PHONES = ["+36205550501", "+36205550502", "+36205550503", "+36205550504"]


def _incident(client, headers) -> dict:
    return client.post("/api/v1/incidents", json={
        "title": "Vízszintemelkedés", "kind": "flood", "severity": "severe",
        "location": {"type": "Point", "coordinates": [19.05, 47.5]}}, headers=headers).get_json()


def test_lost_status_callbacks_are_corrected_from_the_provider(sms_app, sms_server, consumer, fake_twilio, api):
    from incident.extensions import db

    from alerts.gateways import make_gateway
    from alerts.tasks import reconcile

    client = sms_app.test_client()
    headers, _ = api("officer")
    incident = _incident(client, headers)
    group, _ = create_group_of(client, "Gátőrök", [(f"Gátőr {i + 1}", phone, True) for i, phone in enumerate(PHONES)])
    alert_id = client.post("/api/v1/alerts", json={"body": "Gátőrség riasztás", "groups": [group],
                                                   "incident_id": incident["id"]}, headers=headers).get_json()["id"]
    wait_for(lambda: len(fake_twilio.messages) == 4)
    wait_until_idle(sms_app)
    by_phone = {m.to: m for m in fake_twilio.messages}
    # One callback arrived; the carrier delivered two more and failed one, but those reports were lost.
    assert fake_twilio.status_callback(by_phone[PHONES[0]], "delivered")[0] == 200
    fake_twilio.report(by_phone[PHONES[1]], "delivered")
    fake_twilio.report(by_phone[PHONES[2]], "delivered")
    fake_twilio.report(by_phone[PHONES[3]], "undelivered", error_code=30003)

    with sms_app.app_context():
        gateway = make_gateway(sms_app.config)
        after = dt.timedelta(minutes=sms_app.config["RIADO_RECONCILE_AFTER_MINUTES"])
        now = dt.datetime.now(dt.timezone.utc)
        assert reconcile(gateway, after, now) == {}  # too early: callbacks may still come
        assert fake_twilio.fetched == []
        later = now + after + dt.timedelta(seconds=5)
        assert reconcile(gateway, after, later) == {alert_id: {"delivered": 2, "undelivered": 1}}
        assert sorted(fake_twilio.fetched) == sorted(by_phone[p].sid for p in PHONES[1:])  # not the settled one
        fake_twilio.fetched.clear()
        assert reconcile(gateway, after, later) == {}  # asked again only RIADO_RECONCILE_AFTER_MINUTES later
        assert fake_twilio.fetched == []
        db.session.remove()

    counts = client.get(f"/api/v1/alerts/{alert_id}", headers=headers).get_json()["counts"]
    assert (counts["delivered"], counts["undelivered"], counts["sent"]) == (3, 1, 0)
    rows = {d["phone"]: d for d in client.get(f"/api/v1/alerts/{alert_id}/deliveries", headers=headers).get_json()["items"]}
    assert rows[PHONES[3]]["error_code"] == 30003
    log = client.get(f"/api/v1/incidents/{incident['id']}/log", headers=headers).get_json()["items"]
    notes = [e["text"] for e in log if "#%d" % alert_id in e["text"] and "szolgáltató" in e["text"].lower()]
    assert len(notes) == 1 and "3" in notes[0], [e["text"] for e in log]


def test_the_console_gateway_is_never_asked(app, client, api):
    from incident.extensions import db

    from alerts.gateways import make_gateway
    from alerts.tasks import reconcile
    from conftest import running_consumer

    headers, _ = api("officer")
    group, _ = create_group_of(client, "Próba", [("Próba Pál", PHONES[0], True)])
    alert_id = client.post("/api/v1/alerts", json={"body": "Próba", "groups": [group]}, headers=headers).get_json()["id"]
    with running_consumer(app.extensions["huey"]):
        wait_until_idle(app)
    with app.app_context():
        later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)
        assert reconcile(make_gateway(app.config), dt.timedelta(minutes=15), later) == {}
        db.session.remove()
    assert client.get(f"/api/v1/alerts/{alert_id}", headers=headers).get_json()["counts"]["sent"] == 1


def test_a_correction_of_an_alert_without_incident_is_listed_on_its_page(sms_app, sms_server, consumer, fake_twilio,
                                                                          api, make_user):
    """An alert sent outside any incident has no log to write to: the corrections the provider
    made are listed on the alert's page (when, how many asked, what they became)."""
    from conftest import csrf_from
    from incident.extensions import db

    from alerts.gateways import make_gateway
    from alerts.tasks import reconcile

    client = sms_app.test_client()
    headers, _ = api("officer")
    group, _ = create_group_of(client, "Gondnokok", [("Gondnok 1", PHONES[0], True), ("Gondnok 2", PHONES[1], True)])
    alert_id = client.post("/api/v1/alerts", json={"body": "Fűtéskimaradás", "groups": [group]},
                           headers=headers).get_json()["id"]
    wait_for(lambda: len(fake_twilio.messages) == 2)
    wait_until_idle(sms_app)
    for message in fake_twilio.messages:
        fake_twilio.report(message, "delivered")  # the carrier delivered both; the reports were lost
    user = make_user("officer")
    page = client.get("/login").get_data(as_text=True)
    client.post("/login", data={"email": user["email"], "password": user["password"], "csrf_token": csrf_from(page)})
    assert 'data-testid="reconciled"' not in client.get(f"/alerts/{alert_id}").get_data(as_text=True)

    with sms_app.app_context():
        after = dt.timedelta(minutes=sms_app.config["RIADO_RECONCILE_AFTER_MINUTES"])
        later = dt.datetime.now(dt.timezone.utc) + after + dt.timedelta(seconds=5)
        assert reconcile(make_gateway(sms_app.config), after, later) == {alert_id: {"delivered": 2}}
        db.session.remove()
    html = client.get(f"/alerts/{alert_id}").get_data(as_text=True)
    listed = html.split('data-testid="reconciled"')[1].split("</ul>")[0]
    assert listed.count("<li>") == 1 and 'data-status="delivered"' in listed and "2 <span" in listed
