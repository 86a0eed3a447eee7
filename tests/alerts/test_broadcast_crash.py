"""A worker killed with SIGKILL in the middle of a 2,000-recipient broadcast and started again:
every recipient ends with a delivery in a final state, and duplicates are limited to the
messages that were in flight at the crash."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from conftest import wait_for

RIADO = str(Path(sys.executable).with_name("riado"))
RECIPIENTS = 2000
CONCURRENCY = 4

# Kills and restarts processes and servers; one xdist worker runs them one after another.
pytestmark = [pytest.mark.fault, pytest.mark.xdist_group("fault")]


@pytest.fixture
def fake_twilio():
    from fake_twilio import FakeTwilio

    fake = FakeTwilio(auto_deliver=True).start()
    yield fake
    fake.stop()


def _worker(sms_app, log_path):
    from fake_twilio import ACCOUNT_SID, AUTH_TOKEN

    config = sms_app.config
    env = dict(os.environ, TWILIO_ACCOUNT_SID=ACCOUNT_SID, TWILIO_AUTH_TOKEN=AUTH_TOKEN, TWILIO_FROM="+36205550000",
               TWILIO_API_URL=config["TWILIO_API_URL"], PUBLIC_URL=config["PUBLIC_URL"],
               RIADO_SMS_CONCURRENCY=str(CONCURRENCY), RIADO_SMS_LEASE_SECONDS="5",
               DATABASE_URL=config["SQLALCHEMY_DATABASE_URI"])
    with open(log_path, "a") as log:  # the child keeps its own descriptor
        return subprocess.Popen([RIADO, "worker", "--workers", str(CONCURRENCY)], env=env,
                                stdout=log, stderr=subprocess.STDOUT)


def _status_counts(sms_app, alert_id):
    from incident.extensions import db

    from alerts.models import Delivery

    with sms_app.app_context():
        rows = db.session.execute(
            select(Delivery.status, func.count()).where(Delivery.alert_id == alert_id).group_by(Delivery.status)
        ).all()
        db.session.rollback()
        return dict(rows)


def test_sigkill_mid_broadcast_loses_nobody(sms_app, sms_server, fake_twilio, api, tmp_path):
    from incident.extensions import db
    from incident.operations.contacts import create_contact, create_group

    headers, _ = api("officer")
    with sms_app.app_context():
        group = create_group({"name": "Mindenki"})
        db.session.flush()
        for i in range(RECIPIENTS):
            create_contact({"name": f"Lakó {i:04d}", "phone": f"+3630{5550000 + i:07d}", "groups": [group.id]})
        db.session.commit()
        group_id = group.id
    log_path = tmp_path / "worker.log"
    worker = _worker(sms_app, log_path)
    try:
        client = sms_app.test_client()
        response = client.post("/api/v1/alerts", json={"body": "Kitelepítés: gyülekezés a Szabadság téren.", "groups": [group_id]},
                               headers=headers)
        assert response.status_code == 202, response.get_json()
        alert_id = response.get_json()["id"]
        assert response.get_json()["recipients"] == RECIPIENTS
        wait_for(lambda: len(fake_twilio.messages) >= 400, timeout=120)
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        at_kill = len(fake_twilio.messages)
        assert at_kill < RECIPIENTS, "the broadcast finished before the kill: the test proves nothing"
        time.sleep(0.5)
        worker = _worker(sms_app, log_path)
        wait_for(lambda: _status_counts(sms_app, alert_id).get("delivered", 0) == RECIPIENTS, timeout=240, interval=0.5)
    finally:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(30)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait(10)
    assert "Traceback" not in log_path.read_text()
    counts = fake_twilio.count_by_phone()
    phones = {f"+3630{5550000 + i:07d}" for i in range(RECIPIENTS)}
    assert set(counts) == phones, {"missing": sorted(phones - set(counts))[:10], "strangers": sorted(set(counts) - phones)}
    duplicates = {phone: n for phone, n in counts.items() if n > 1}
    assert max(counts.values()) <= 2
    assert len(duplicates) <= CONCURRENCY, duplicates  # only what was in flight at the crash
    assert _status_counts(sms_app, alert_id) == {"delivered": RECIPIENTS}
