"""Scale-out: two web processes and two workers against one database and one queue (Redis with
PostGIS, as the deployment guide says; the SQLite queue file with SpatiaLite). With JSON logs and
metrics on: /metrics counts the broadcast exactly whichever web process answers, and the logs
hold one line per delivery attempt carrying the request id of the request that sent the alert,
and no phone number or e-mail address anywhere."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import free_port, http_json, wait_for
from test_metrics import samples, value

RIADO = str(Path(sys.executable).with_name("riado"))
RECIPIENTS = 200
METRICS_TOKEN = "scale-out-metrics-token-0123456789"
INVALID = "+36705559999"  # the provider refuses it, naming the number in its answer

# Two web processes and two workers: tens of seconds.
pytestmark = pytest.mark.slow


def test_two_web_processes_and_two_workers(backend, database_url, fake_twilio, tmp_path, app_factory, request):
    from fake_twilio import ACCOUNT_SID, AUTH_TOKEN
    from incident.extensions import db
    from incident.models import User
    from incident.operations.contacts import create_contact, create_group
    from incident.operations.users import create_user
    from incident.operations.sessions import issue_token

    port = free_port()
    env = dict(os.environ, DATABASE_URL=database_url, TWILIO_ACCOUNT_SID=ACCOUNT_SID, TWILIO_AUTH_TOKEN=AUTH_TOKEN,
               TWILIO_FROM="+36205550000", TWILIO_API_URL=fake_twilio.url, PUBLIC_URL=f"http://127.0.0.1:{port}",
               RIADO_EMBEDDED_WORKER="0", RIADO_LOG_FORMAT="json", RIADO_METRICS_TOKEN=METRICS_TOKEN,
               PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"))
    if backend == "postgis":
        env["REDIS_URL"] = request.getfixturevalue("redis_url")
    app = app_factory(REDIS_URL=env.get("REDIS_URL"))
    with app.app_context():
        user = create_user("scale@riado-test.example", "correct-horse-battery", "officer")
        group = create_group({"name": "Kerület"})
        db.session.flush()
        for i in range(RECIPIENTS):
            create_contact({"name": f"Lakó {i:03d}", "phone": f"+3630{5551000 + i:07d}", "groups": [group.id]})
        create_contact({"name": "Rossz Szám", "phone": INVALID, "groups": [group.id]})
        token = issue_token(db.session.get(User, user.id), "scale")
        db.session.commit()
        group_id, user_id = group.id, user.id
    fake_twilio.script(INVALID, error_code=21211)
    logs = [tmp_path / f"{name}.log" for name in ("web", "worker1", "worker2")]
    procs = []
    try:
        with open(logs[0], "w") as out:
            procs.append(subprocess.Popen([RIADO, "serve", "--port", str(port), "--workers", "2"], env=env,
                                          stdout=out, stderr=subprocess.STDOUT, start_new_session=True))
        # The web process fans an alert out into RIADO_SMS_CONCURRENCY (4) drains; each worker here
        # runs 2 of them at a time (its sms lane), so the alert needs both workers. (With the same
        # setting everywhere one worker could take every drain of one alert, as it should.)
        for log in logs[1:]:
            with open(log, "w") as out:
                procs.append(subprocess.Popen([RIADO, "worker", "--workers", "2"],
                                              env=dict(env, RIADO_SMS_CONCURRENCY="2"), stdout=out,
                                              stderr=subprocess.STDOUT, start_new_session=True))
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: _up(base), timeout=60)
        headers = {"Authorization": f"Bearer {token}"}
        pids = {http_json("GET", base + "/api/v1/me", None, headers)[0] for _ in range(4)}
        assert pids == {200}
        request_id = "scale-out-alert-1"
        status, body = http_json("POST", base + "/api/v1/alerts", {"body": "Skálázási próba", "groups": [group_id]},
                                 {**headers, "X-Request-ID": request_id})
        assert status == 202, body
        wait_for(lambda: len(fake_twilio.messages) >= RECIPIENTS, timeout=120)
        status, alert = http_json("GET", f"{base}/api/v1/alerts/{body['id']}", None, headers)
        wait_for(lambda: (lambda c: c["sent"] == RECIPIENTS and c["failed"] == 1)(
            http_json("GET", f"{base}/api/v1/alerts/{body['id']}", None, headers)[1]["counts"]), timeout=60)
        # /metrics, whichever web process answers: the broadcast exactly, the attempts the two
        # worker processes made added up, and the four GET /api/v1/me of both web processes.
        for _ in range(4):
            scrape = _metrics(base)
            assert value(scrape, "riado_deliveries", channel="sms", status="sent") == RECIPIENTS
            assert value(scrape, "riado_deliveries", channel="sms", status="failed") == 1
            assert value(scrape, "riado_provider_errors_total", channel="sms", code="21211") == 1
            assert value(scrape, "riado_delivery_attempts_total", channel="sms", outcome="sent") == RECIPIENTS
            assert value(scrape, "riado_http_requests_total", route="/api/v1/me", method="GET", status="200") == 4
            assert value(scrape, "riado_http_requests_total", route="/api/v1/alerts", method="POST", status="202") == 1
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
    assert fake_twilio.count_by_phone() == {f"+3630{5551000 + i:07d}": 1 for i in range(RECIPIENTS)}  # not INVALID
    lines = {log.name: [json.loads(line) for line in log.read_text().splitlines() if line.strip()] for log in logs}
    web_lines = lines["web.log"]
    assert sum("Booting worker with pid" in line["message"] for line in web_lines) == 2  # two web processes
    for log in logs[1:]:  # both workers took part
        assert any("messages attempted" in line["message"] for line in lines[log.name]), log.read_text()[-2000:]
    # One request line for the POST that sent the alert, with its request id and the user.
    posts = [line for line in web_lines if line.get("event") == "request" and line.get("route") == "/api/v1/alerts"]
    assert [(p["method"], p["status"], p["request_id"], p["user_id"]) for p in posts] == [("POST", 202, request_id, user_id)]
    assert posts[0]["duration_ms"] > 0
    # One line per delivery attempt, in the workers' logs, with the alert's request id.
    attempts = [line for log in logs[1:] for line in lines[log.name] if line.get("event") == "delivery_attempt"]
    assert len(attempts) == RECIPIENTS + 1
    assert {(a["alert_id"], a["outcome"], a["channel"], a["request_id"]) for a in attempts} == {
        (body["id"], "sent", "sms", request_id), (body["id"], "failed", "sms", request_id)}
    assert len({a["delivery_id"] for a in attempts}) == RECIPIENTS + 1
    # The refusal's line has the provider's words, with the number it named masked.
    [refused] = [a for a in attempts if a["outcome"] == "failed"]
    assert refused["provider_code"] == 21211 and "number +*********99 is not" in refused["provider_message"]
    # No phone number (any way written) nor an e-mail address in any line of any log.
    everything = "\n".join(log.read_text() for log in logs)
    for i in range(RECIPIENTS):
        national = f"{5551000 + i:07d}"
        assert national not in everything and f"+3630{national}" not in everything
    assert INVALID not in everything and INVALID[1:] not in everything
    assert not re.search(r"[\w.+-]+@[\w-]+\.[\w.]+", everything.replace("***@", ""))


def _metrics(base: str) -> dict:
    import urllib.request

    request = urllib.request.Request(base + "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return samples(response.read().decode())


def _up(base: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(base + "/healthz", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False
