"""One setting, RIADO_SMS_CONCURRENCY, says how many messages are in flight at the provider, in
every mode: the consumer embedded in ``riado run``, ``riado worker`` on the SQLite queue and on
Redis, and a consumer with fewer threads of its own than that. The fake Twilio holds each message
a while, so every drain that can send is sending at once; the test reads the most requests the
fake had in hand at one time (no clock is asserted)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import free_port, http_json, wait_for
from private_services import stop_process

RIADO = str(Path(sys.executable).with_name("riado"))
CONCURRENCY = 6  # neither the consumer's threads (1 below, 2 in riado run) nor riado worker's 4
RECIPIENTS = 5 * CONCURRENCY
LATENCY_S = 0.2  # the fake holds each message this long: long beside a drain's own work


def phones() -> list[str]:
    return [f"+3670555{2000 + i:04d}" for i in range(RECIPIENTS)]


def make_group(app) -> int:
    from incident.extensions import db
    from incident.operations.contacts import create_contact, create_group

    with app.app_context():
        group = create_group({"name": "Párhuzamos küldés"})
        db.session.flush()
        for i, phone in enumerate(phones()):
            create_contact({"name": f"Lakó {i:02d}", "phone": phone, "groups": [group.id]})
        db.session.commit()
        return group.id


def twilio_settings(fake) -> dict:
    from fake_twilio import ACCOUNT_SID, AUTH_TOKEN

    return {"TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "TWILIO_FROM": "+36205550000",
            "TWILIO_API_URL": fake.url}


def assert_sent_once_each_with_the_setting_in_flight(fake) -> None:
    wait_for(lambda: len(fake.messages) >= RECIPIENTS, timeout=120)
    assert fake.count_by_phone() == {phone: 1 for phone in phones()}
    assert fake.peak_in_flight == CONCURRENCY


def start(command: list[str], env: dict, log: Path) -> subprocess.Popen:
    with open(log, "w") as out:
        return subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


stop = stop_process


def test_a_consumer_with_one_thread_has_the_setting_in_flight(app_factory, fake_twilio, api):
    from incident.queue import create_consumer

    fake_twilio.latency = LATENCY_S
    fake_twilio.gather_until = CONCURRENCY  # the peak does not depend on how fast threads start
    app = app_factory(RIADO_SMS_CONCURRENCY=CONCURRENCY, **twilio_settings(fake_twilio))
    huey = app.extensions["huey"]
    huey.flush()
    group = make_group(app)
    headers, _ = api("officer")
    consumer = create_consumer(huey, workers=1)
    consumer._set_signal_handlers = lambda: None
    consumer.start()
    try:
        response = app.test_client().post("/api/v1/alerts", json={"body": "Egyszerre hat", "groups": [group]},
                                          headers=headers)
        assert response.status_code == 202, response.get_json()
        assert_sent_once_each_with_the_setting_in_flight(fake_twilio)
    finally:
        consumer.stop(graceful=False)
        for _, thread in consumer.worker_threads:
            thread.join(5)
        consumer.scheduler.join(5)
        huey.flush()


def test_riado_run_has_the_setting_in_flight(app_factory, database_url, fake_twilio, make_user, token_for, tmp_path):
    """``riado run`` (and so ``make run``): the consumer it embeds sends as many at once as the
    setting says, not as many as its own threads."""
    fake_twilio.latency = LATENCY_S
    fake_twilio.gather_until = CONCURRENCY  # the peak does not depend on how fast threads start
    app = app_factory()
    group = make_group(app)
    token = token_for(make_user("officer"))
    port = free_port()
    env = dict(os.environ, DATABASE_URL=database_url, RIADO_INSTANCE_PATH=str(tmp_path / "instance"),
               PUBLIC_URL=f"http://127.0.0.1:{port}", RIADO_SMS_CONCURRENCY=str(CONCURRENCY),
               RIADO_EMBEDDED_WORKER="1", **twilio_settings(fake_twilio))
    env.pop("REDIS_URL", None)
    log = tmp_path / "run.log"
    proc = start([RIADO, "run", "--port", str(port)], env, log)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: proc.poll() is None and _up(base), timeout=60)
        # The embedded consumer counts as the worker /healthz looks for.
        wait_for(lambda: http_json("GET", base + "/healthz", None, {})[1]["worker_seconds_since_heartbeat"] is not None,
                 timeout=15)
        status, body = http_json("POST", base + "/api/v1/alerts", {"body": "Egyszerre hat", "groups": [group]},
                                 {"Authorization": f"Bearer {token}"})
        assert status == 202, body
        assert_sent_once_each_with_the_setting_in_flight(fake_twilio)
    finally:
        stop(proc)
    assert "Traceback" not in log.read_text()


@pytest.mark.parametrize("queue", ["sqlite", "redis"])
def test_riado_worker_has_the_setting_in_flight(queue, app_factory, database_url, fake_twilio, api, tmp_path,
                                                request):
    """``riado worker`` with its default threads (4), on either queue: the drains have their own."""
    fake_twilio.latency = LATENCY_S
    fake_twilio.gather_until = CONCURRENCY  # the peak does not depend on how fast threads start
    settings = {"RIADO_SMS_CONCURRENCY": CONCURRENCY, **twilio_settings(fake_twilio)}
    env = dict(os.environ, DATABASE_URL=database_url, RIADO_SMS_CONCURRENCY=str(CONCURRENCY),
               RIADO_EMBEDDED_WORKER="0", PUBLIC_URL="http://127.0.0.1:5000", **twilio_settings(fake_twilio))
    env.pop("REDIS_URL", None)
    if queue == "redis":
        # This process's own Redis (emptied), not a database number shared with another run.
        settings["REDIS_URL"] = env["REDIS_URL"] = request.getfixturevalue("redis_url")
    app = app_factory(**settings)
    huey = app.extensions["huey"]
    huey.flush()
    group = make_group(app)
    headers, _ = api("officer")
    log = tmp_path / "worker.log"
    proc = start([RIADO, "worker"], env, log)
    try:
        wait_for(lambda: proc.poll() is None and "Huey consumer started" in log.read_text(), timeout=60)
        # The worker's heartbeat reaches the web process through the queue's storage.
        wait_for(lambda: app.test_client().get("/healthz").get_json()["worker_seconds_since_heartbeat"] is not None,
                 timeout=15)
        assert f"Riadó worker: 4 threads on the {'Redis' if queue == 'redis' else 'SQLite'} queue, and {CONCURRENCY} " \
               "for sms" in log.read_text()
        response = app.test_client().post("/api/v1/alerts", json={"body": "Egyszerre hat", "groups": [group]},
                                          headers=headers)
        assert response.status_code == 202, response.get_json()
        assert_sent_once_each_with_the_setting_in_flight(fake_twilio)
    finally:
        stop(proc)
        huey.flush()
    assert "Traceback" not in log.read_text()


def _up(base: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(base + "/healthz", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False
