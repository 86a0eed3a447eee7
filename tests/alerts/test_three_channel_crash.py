"""A worker killed with SIGKILL in the middle of an alert on SMS, e-mail and voice at once (the fake
Twilio slowed, so that messages, e-mails and calls are all in flight at the kill) and started
again: every recipient ends with its message on each channel (counted at the fake Twilio and at
the real SMTP server), and the duplicates are limited to what was in flight at the crash."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from conftest import wait_for

RIADO = str(Path(sys.executable).with_name("riado"))
CONTACTS = 240
CONCURRENCY = 4
LATENCY = 0.04  # seconds the fake Twilio takes to answer a message or a call

# Kills and restarts a worker (some 25 s); one xdist worker runs these one after another.
pytestmark = [pytest.mark.fault, pytest.mark.slow, pytest.mark.xdist_group("fault")]


def _phone(i: int) -> str:
    return f"+3630{5560000 + i:07d}"


def _address(i: int) -> str:
    return f"lako{i:04d}@kerulet.example"


def _worker(app, smtp_url, log_path):
    from fake_twilio import ACCOUNT_SID, AUTH_TOKEN

    config = app.config
    env = dict(os.environ, TWILIO_ACCOUNT_SID=ACCOUNT_SID, TWILIO_AUTH_TOKEN=AUTH_TOKEN, TWILIO_FROM="+36205550000",
               TWILIO_API_URL=config["TWILIO_API_URL"], PUBLIC_URL=config["PUBLIC_URL"],
               SMTP_URL=smtp_url, MAIL_FROM="riado@kerulet.example",
               RIADO_SMS_CONCURRENCY=str(CONCURRENCY), RIADO_SMS_LEASE_SECONDS="5",
               DATABASE_URL=config["SQLALCHEMY_DATABASE_URI"])
    with open(log_path, "a") as log:  # the child keeps its own descriptor
        return subprocess.Popen([RIADO, "worker", "--workers", str(CONCURRENCY)], env=env,
                                stdout=log, stderr=subprocess.STDOUT)


def _status_counts(app, alert_id) -> dict[tuple[str, str], int]:
    from incident.extensions import db

    from alerts.models import Delivery

    with app.app_context():
        rows = db.session.execute(
            select(Delivery.channel, Delivery.status, func.count()).where(Delivery.alert_id == alert_id)
            .group_by(Delivery.channel, Delivery.status)
        ).all()
        db.session.rollback()
        return {(channel, status): n for channel, status, n in rows}


def _counts(items) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in items:
        counts[item] = counts.get(item, 0) + 1
    return counts


def test_sigkill_mid_alert_on_three_channels_loses_nobody(sms_app, sms_server, fake_twilio, smtp_server, api, tmp_path):
    from incident.extensions import db
    from incident.operations.contacts import create_contact, create_group

    headers, _ = api("officer")
    with sms_app.app_context():
        group = create_group({"name": "Kerület"})
        db.session.flush()
        for i in range(CONTACTS):
            create_contact({"name": f"Lakó {i:04d}", "phone": _phone(i), "email": _address(i), "groups": [group.id]})
        db.session.commit()
        group_id = group.id
    fake_twilio.latency = LATENCY
    log_path = tmp_path / "worker.log"
    worker = _worker(sms_app, smtp_server.url, log_path)
    try:
        client = sms_app.test_client()
        response = client.post("/api/v1/alerts", json={"body": "Kitelepítés: gyülekezés a Szabadság téren.",
                                                       "groups": [group_id], "channels": ["sms", "email", "voice"]},
                               headers=headers)
        assert response.status_code == 202, response.get_json()
        alert_id = response.get_json()["id"]
        assert response.get_json()["recipients"] == 3 * CONTACTS
        # Kill once every channel has gone some way (the channels' messages go out side by side).
        wait_for(lambda: len(fake_twilio.messages) >= 40 and len(fake_twilio.calls) >= 40 and len(smtp_server.messages) >= 40,
                 timeout=120, interval=0.05)
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        at_kill = (len(fake_twilio.messages), len(smtp_server.messages), len(fake_twilio.calls))
        assert all(n < CONTACTS for n in at_kill), f"a channel finished before the kill: the test proves nothing {at_kill}"
        worker = _worker(sms_app, smtp_server.url, log_path)
        done = {(channel, "sent"): CONTACTS for channel in ("sms", "email", "voice")}
        wait_for(lambda: _status_counts(sms_app, alert_id) == done, timeout=240, interval=0.5)
    finally:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(30)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait(10)
    assert "Traceback" not in log_path.read_text()
    phones = {_phone(i) for i in range(CONTACTS)}
    addresses = {_address(i) for i in range(CONTACTS)}
    by_channel = {"sms": _counts(m.to for m in fake_twilio.messages),
                  "email": _counts(r for m in smtp_server.messages for r in m.rcpt_tos),
                  "voice": _counts(c.to for c in fake_twilio.calls)}
    # Nobody lost, nobody who was not asked for.
    assert set(by_channel["sms"]) == phones and set(by_channel["voice"]) == phones
    assert set(by_channel["email"]) == addresses
    # Duplicates only of what was in flight at the crash: one per drain at most, on any channel.
    duplicates = {channel: {to: n for to, n in counts.items() if n > 1} for channel, counts in by_channel.items()}
    assert all(n == 2 for found in duplicates.values() for n in found.values()), duplicates
    assert sum(len(found) for found in duplicates.values()) <= CONCURRENCY, duplicates
