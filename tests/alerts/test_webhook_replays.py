"""A signed Twilio webhook acts once: a replay (the same MessageSid again; for a status callback
the same MessageSid and status) answers 200 with the same TwiML and changes nothing, also when two
copies arrive at the same moment."""

from __future__ import annotations

import threading
from urllib.parse import urlencode

from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from conftest import WEBHOOK_PUBLIC_URL, WEBHOOK_TOKEN
from fake_twilio import AUTH_TOKEN as FAKE_TOKEN
from fake_twilio import FakeTwilio

AUTH_TOKEN = WEBHOOK_TOKEN
PUBLIC = WEBHOOK_PUBLIC_URL
PHONE = "+36205550131"
POINT = {"type": "Point", "coordinates": [19.05, 47.5]}
INBOUND, STATUS = "/webhooks/twilio/inbound", "/webhooks/twilio/status"


def signed(client, path, params, query=""):
    """POST as Twilio does, signed over PUBLIC_URL."""
    signature = RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC + path + query, params)
    response = client.post(path + query, data=urlencode(params), headers={"X-Twilio-Signature": signature},
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_data(as_text=True)


def two_alerts_asking_for_ok(app, client, headers, phone=PHONE):
    """An incident with two alerts to ``phone`` that ask for an acknowledgement, both sent."""
    from alerts.models import Delivery
    from incident.extensions import db

    incident = client.post("/api/v1/incidents", json={"title": "Vihar", "kind": "storm", "severity": "moderate",
                                                      "location": POINT}, headers=headers).get_json()["id"]
    contact = client.post("/api/v1/contacts", json={"name": "Kovács Júlia", "phone": phone}, headers=headers).get_json()["id"]
    alerts = []
    for body in ("Első riasztás: OK", "Második riasztás: OK"):
        response = client.post("/api/v1/alerts", json={"body": body, "contacts": [contact], "require_ack": True,
                                                       "incident_id": incident}, headers=headers)
        assert response.status_code == 202, response.get_json()
        alerts.append(response.get_json()["id"])
    with app.app_context():
        for delivery in db.session.execute(select(Delivery)).scalars():
            delivery.status, delivery.provider_sid = "sent", f"SM{delivery.id:032d}"  # as if the gateway took it
        db.session.commit()
    return incident, contact, alerts


def acknowledgements(app) -> tuple[int, int]:
    """(acknowledged deliveries, communication entries in the log)."""
    from alerts.models import Delivery
    from incident.extensions import db
    from incident.models import LogEntry

    with app.app_context():
        acks = db.session.execute(select(func.count()).select_from(Delivery).where(Delivery.acknowledged_at.is_not(None)))
        log = db.session.execute(select(func.count()).select_from(LogEntry).where(LogEntry.kind == "communication"))
        return acks.scalar_one(), log.scalar_one()


def test_an_old_stop_replayed_after_start_does_not_opt_out_again(twilio_app, api):
    client = twilio_app.test_client()
    headers, _ = api("officer")
    contact = client.post("/api/v1/contacts", json={"name": "Kovács Júlia", "phone": PHONE}, headers=headers).get_json()["id"]
    stop = {"MessageSid": "SM" + "1" * 32, "From": PHONE, "To": "+36205550000", "Body": "STOP"}
    start = {"MessageSid": "SM" + "2" * 32, "From": PHONE, "To": "+36205550000", "Body": "START"}
    first = signed(client, INBOUND, stop)
    assert client.get(f"/api/v1/contacts/{contact}", headers=headers).get_json()["sms_opt_in"] is False
    signed(client, INBOUND, start)
    assert client.get(f"/api/v1/contacts/{contact}", headers=headers).get_json()["sms_opt_in"] is True
    replayed = signed(client, INBOUND, stop)
    assert replayed == first  # the same short TwiML
    assert client.get(f"/api/v1/contacts/{contact}", headers=headers).get_json()["sms_opt_in"] is True


def test_a_replayed_ok_acknowledges_once_and_is_logged_once(twilio_app, api):
    client = twilio_app.test_client()
    headers, _ = api("officer")
    incident, _contact, (older, newer) = two_alerts_asking_for_ok(twilio_app, client, headers)
    ok = {"MessageSid": "SM" + "3" * 32, "From": PHONE, "Body": "OK"}
    first = signed(client, INBOUND, ok)
    assert acknowledgements(twilio_app) == (1, 1)
    entry = client.get(f"/api/v1/incidents/{incident}/log", headers=headers).get_json()["items"][-1]
    assert entry["author"] == "sms" and "SIMULATED" not in entry["text"]  # the contact's own answer
    assert signed(client, INBOUND, ok) == first
    assert acknowledgements(twilio_app) == (1, 1)  # the older alert is not acknowledged by the copy
    assert client.get(f"/api/v1/alerts/{older}", headers=headers).get_json()["counts"]["acknowledged"] == 0
    assert client.get(f"/api/v1/alerts/{newer}", headers=headers).get_json()["counts"]["acknowledged"] == 1
    # A new reply (another MessageSid) is a new answer and acts.
    signed(client, INBOUND, {**ok, "MessageSid": "SM" + "4" * 32})
    assert acknowledgements(twilio_app) == (2, 2)


def test_a_replayed_status_callback_changes_nothing(twilio_app, api):
    from alerts.models import Delivery
    from incident.extensions import db

    client = twilio_app.test_client()
    headers, _ = api("officer")
    _incident, _contact, (alert, _newer) = two_alerts_asking_for_ok(twilio_app, client, headers)
    with twilio_app.app_context():
        delivery = db.session.execute(select(Delivery).where(Delivery.alert_id == alert)).scalar_one()
        delivery_id, sid = delivery.id, delivery.provider_sid

    def state():
        with twilio_app.app_context():
            d = db.session.get(Delivery, delivery_id)
            return d.status, d.delivered_at, d.error_code, d.updated_at

    undelivered = {"MessageSid": sid, "MessageStatus": "undelivered", "ErrorCode": "30003"}
    assert "<Response />" in signed(client, STATUS, undelivered, f"?d={delivery_id}")
    after_first = state()
    assert after_first[0] == "undelivered" and after_first[2] == 30003
    assert "<Response />" in signed(client, STATUS, undelivered, f"?d={delivery_id}")
    assert state() == after_first
    with twilio_app.app_context():
        from alerts.models import WebhookReceipt

        keys = db.session.execute(select(WebhookReceipt.kind, WebhookReceipt.key)).all()
    assert keys == [("sms-status", f"{sid}:undelivered")]


def test_two_copies_of_one_reply_at_the_same_moment_act_once(sms_app, sms_server, api):
    client = sms_app.test_client()
    headers, _ = api("officer")
    two_alerts_asking_for_ok(sms_app, client, headers, phone="+36205550132")
    ok = {"MessageSid": "SM" + "5" * 32, "From": "+36205550132", "Body": "OK"}
    answers, start = [], threading.Barrier(6)

    def deliver():
        start.wait()
        answers.append(FakeTwilio.signed_post(sms_server + INBOUND, ok, auth_token=FAKE_TOKEN))

    threads = [threading.Thread(target=deliver) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert [status for status, _body in answers] == [200] * 6
    assert len({body for _status, body in answers}) == 1
    assert acknowledgements(sms_app) == (1, 1)
    sms_app.extensions["huey"].flush()


def test_old_status_receipts_are_pruned_and_inbound_ones_are_kept(twilio_app, api):
    """The nightly housekeeping drops status-callback receipts after 30 days (a status never goes
    backwards, so an older replay changes nothing anyway) and keeps inbound ones for good: an
    old STOP replayed after START a year later still opts nobody out."""
    import datetime as dt

    from alerts import operations as ops
    from alerts.models import WebhookReceipt
    from incident.extensions import db

    client = twilio_app.test_client()
    headers, _ = api("officer")
    contact = client.post("/api/v1/contacts", json={"name": "Kovács Júlia", "phone": PHONE}, headers=headers).get_json()["id"]
    stop = {"MessageSid": "SM" + "5" * 32, "From": PHONE, "To": "+36205550000", "Body": "STOP"}
    signed(client, INBOUND, stop)
    signed(client, INBOUND, {**stop, "MessageSid": "SM" + "6" * 32, "Body": "START"})
    with twilio_app.app_context():
        db.session.add(WebhookReceipt(kind="sms-status", key="SMold:delivered", outcome=""))
        db.session.add(WebhookReceipt(kind="sms-status", key="SMnew:delivered", outcome=""))
        db.session.commit()
        for receipt in db.session.execute(select(WebhookReceipt)).scalars():
            if receipt.key != "SMnew:delivered":
                receipt.received_at = ops.utcnow() - dt.timedelta(days=31)
        db.session.commit()
        assert ops.prune_webhook_receipts() == 1
        db.session.commit()
        kept = set(db.session.execute(select(WebhookReceipt.key)).scalars())
        assert kept == {"SM" + "5" * 32, "SM" + "6" * 32, "SMnew:delivered"}
    signed(client, INBOUND, stop)  # replayed long after
    assert client.get(f"/api/v1/contacts/{contact}", headers=headers).get_json()["sms_opt_in"] is True
