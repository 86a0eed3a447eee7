"""/healthz answers for monitoring: 200 when the database and the queue work, a worker is alive
and nothing due waits for one; 503 naming what fails."""

from __future__ import annotations

import socket
import time

from conftest import running_consumer, wait_for
from factories import create_contact, create_group


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_healthz_ok_without_signing_in(app, client):
    app.extensions["huey"].flush()  # no heartbeat left by another test's worker on this queue
    response = client.get("/healthz")
    assert response.status_code == 200
    # The hazard watch's feed, never read by a worker yet: stale, which is not an error before an
    # hour has passed (RIADO_WATCH_STALE_HEALTH_MINUTES).
    assert response.get_json() == {"status": "ok", "database": "ok", "queue": "ok", "worker": "ok", "backlog": "ok",
                                   "watch": "ok", "worker_seconds_since_heartbeat": None, "backlog_seconds": 0,
                                   "watch_meteoalarm_minutes_since_read": None, "watch_meteoalarm_stale": True}


def test_healthz_names_an_unreachable_queue(app_factory):
    app = app_factory(REDIS_URL=f"redis://127.0.0.1:{_closed_port()}/0")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert {k: body[k] for k in ("status", "database", "queue", "worker")} == {
        "status": "error", "database": "ok", "queue": "error", "worker": "error"}


def test_healthz_with_redis_queue(app_factory, redis_url):
    app = app_factory(REDIS_URL=redis_url)
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["queue"] == "ok"


def test_healthz_names_a_lost_database(doomed_database, app_factory):
    app = app_factory(SQLALCHEMY_DATABASE_URI=doomed_database.url)
    app.extensions["huey"].flush()  # no heartbeat left by another test's worker on this queue
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    doomed_database.lose(app)
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert {k: body[k] for k in ("status", "database", "queue", "backlog")} == {
        "status": "error", "database": "error", "queue": "ok", "backlog": "error"}


def test_no_worker_and_a_waiting_alert_turn_healthz_503_until_a_worker_drains_it(sms_app, api, fake_twilio,
                                                                                monkeypatch):
    """The web process is up, no worker runs, an alert is queued: within the configured limits
    /healthz answers 503 naming the worker and the backlog; a worker starts and sends the alert,
    and /healthz is 200 again. When that worker stops, its heartbeat ages and /healthz says so."""
    import incident.queue

    # Limits of seconds rather than minutes, and a worker that beats four times within one.
    monkeypatch.setattr(incident.queue, "HEARTBEAT_SECONDS", 0.5)
    sms_app.config.update(RIADO_HEALTH_WORKER_SECONDS=2, RIADO_HEALTH_BACKLOG_SECONDS=2)
    headers, _ = api("officer")
    group = create_group(sms_app, "Szivattyúsok")
    for i in range(3):
        create_contact(sms_app, name=f"Szivattyús {i}", phone=f"+3630555{4100 + i}", groups=[group["id"]])
    client = sms_app.test_client()
    response = client.post("/api/v1/alerts", json={"body": "Csőtörés: gyülekező a Nádor utcában.",
                                                    "groups": [group["id"]]}, headers=headers)
    assert response.status_code == 202, response.get_json()

    response = wait_for(lambda: (r := client.get("/healthz")).status_code == 503 and r.get_json()["backlog"] == "error" and r,
                        timeout=15)
    body = response.get_json()
    assert body["status"] == "error" and body["worker"] == "error" and body["backlog"] == "error"
    assert body["database"] == "ok" and body["queue"] == "ok"
    assert body["worker_seconds_since_heartbeat"] is None  # no worker ever came
    assert body["backlog_seconds"] >= 2
    assert fake_twilio.messages == []

    huey = sms_app.extensions["huey"]
    with running_consumer(huey) as worker:
        wait_for(lambda: len(fake_twilio.messages) == 3, timeout=30)
        response = wait_for(lambda: (r := client.get("/healthz")).status_code == 200 and r, timeout=15)
        body = response.get_json()
        assert body["worker"] == "ok" and body["backlog"] == "ok" and body["backlog_seconds"] == 0
        assert body["worker_seconds_since_heartbeat"] < 2
        # A live worker keeps it 200: ten checks over three seconds, each fresh.
        for _ in range(10):
            time.sleep(0.3)
            assert client.get("/healthz").get_json()["worker"] == "ok"
        # The worker stops (as a killed process would: its queue is left as it is); its last
        # heartbeat ages past the limit.
        worker.stop(graceful=False)
        worker.scheduler.join(5)
        stopped_at = time.time()
        response = wait_for(lambda: (r := client.get("/healthz")).status_code == 503 and r, timeout=15)
        body = response.get_json()
        assert body["worker"] == "error" and body["backlog"] == "ok"
        # its last beat: within a scheduler loop (a second) of the stop
        assert 2 <= body["worker_seconds_since_heartbeat"] <= time.time() - stopped_at + 2
