"""Faults a call-out must survive: the SMS provider failing for a while."""

from __future__ import annotations

import time

from conftest import wait_for


def test_provider_outage_backlog_goes_out_once_each(sms_app, consumer, fake_twilio, api):
    client = sms_app.test_client()
    headers, _ = api("officer")
    group = client.post("/api/v1/groups", json={"name": "Mindenki"}, headers=headers).get_json()["id"]
    phones = [f"+3620555{n:04d}" for n in range(600, 620)]
    for i, phone in enumerate(phones):
        client.post("/api/v1/contacts", json={"name": f"Lakó {i}", "phone": phone, "groups": [group]}, headers=headers)
    fake_twilio.outage_status = 500
    alert_id = client.post("/api/v1/alerts", json={"body": "Áramszünet", "groups": [group]}, headers=headers).get_json()["id"]
    # Every message is tried and refused at least once while the provider is down...
    wait_for(lambda: len({to for to, status in fake_twilio.attempts if status == 500}) == len(phones), timeout=30)
    assert fake_twilio.messages == []
    time.sleep(1)
    fake_twilio.outage_status = None  # ...then the provider recovers.

    def all_sent():
        counts = client.get(f"/api/v1/alerts/{alert_id}", headers=headers).get_json()["counts"]
        return counts["sent"] == len(phones) and counts

    counts = wait_for(all_sent, timeout=60)
    assert counts["failed"] == 0
    assert fake_twilio.count_by_phone() == {phone: 1 for phone in phones}
