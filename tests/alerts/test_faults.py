"""Faults a call-out must survive: the SMS provider failing for a while; PostgreSQL restarted
under traffic (web processes and a worker); Redis lost in the middle of a broadcast.

PostgreSQL and Redis are the tests' own (tests/private_services.py), started on free ports and
stopped, killed and restarted at will; the machine's servers on 5432 and 6379, which other
people's tests use, are never touched."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import free_port, wait_for
from private_services import stop_process

RIADO = str(Path(sys.executable).with_name("riado"))

# Kills and restarts processes and servers; one xdist worker runs them one after another.
pytestmark = [pytest.mark.fault, pytest.mark.xdist_group("fault")]


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


# PostgreSQL restarted during traffic

VIGADO = {"type": "Point", "coordinates": [19.0493, 47.4957]}
OK = {200, 201, 202}
GROUP_SIZE = 20  # recipients of each alert the traffic sends
WORKER_THREADS = 4
SMS_IN_FLIGHT = 4  # RIADO_SMS_CONCURRENCY's default: the drains' own threads in the worker


@pytest.fixture
def private_postgres(backend):
    """A PostgreSQL + PostGIS cluster of this test's own, which it may stop and start (never the
    machine's server on 5432: other people's tests use it)."""
    if backend != "postgis":
        pytest.skip("a PostgreSQL restart is a PostgreSQL fault: runs with --db=postgis")
    from private_services import PrivatePostgres, postgres_missing

    why = postgres_missing()
    if why:
        pytest.skip(why)
    pg = PrivatePostgres()
    try:
        pg.start()
        yield pg
    finally:
        pg.destroy()


@dataclass
class Call:
    kind: str
    key: str  # what the request would write (a title, a text), to find it in the database
    began: float
    ended: float
    status: int
    content_type: str
    body: str
    retry_after: str | None


class Traffic:
    """Threads that keep writing and reading through the API (and one browser session reading a
    page) and record every answer with its time."""

    def __init__(self, base, headers, cookies, shared_incident, group_id):
        import requests

        self.requests = requests
        self.base, self.headers, self.cookies = base, headers, cookies
        self.shared_incident, self.group_id = shared_incident, group_id
        self.calls: list[Call] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.running = threading.Event()  # cleared: the threads wait, idle, between requests
        self.running.set()
        self.idle: list[threading.Event] = []
        self.threads: list[threading.Thread] = []

    def _record(self, kind, key, began, response=None, error=None):
        if response is None:
            call = Call(kind, key, began, time.monotonic(), 0, "", repr(error), None)
        else:
            call = Call(kind, key, began, time.monotonic(), response.status_code,
                        response.headers.get("Content-Type", ""), response.text, response.headers.get("Retry-After"))
        with self.lock:
            self.calls.append(call)

    def _one(self, session, kind, n, tag):
        key = f"{kind}-{tag}-{n}"
        began = time.monotonic()
        try:
            if kind == "incident":
                response = session.post(f"{self.base}/api/v1/incidents", headers=self.headers, timeout=30, json={
                    "title": key, "kind": "flood", "severity": "severe", "location": VIGADO})
            elif kind == "log":
                response = session.post(f"{self.base}/api/v1/incidents/{self.shared_incident}/log", headers=self.headers,
                                        timeout=30, json={"text": key, "kind": "note"})
            elif kind == "alert":
                response = session.post(f"{self.base}/api/v1/alerts", headers=self.headers, timeout=30,
                                        json={"body": key, "groups": [self.group_id], "incident_id": self.shared_incident})
            elif kind == "read":
                response = session.get(f"{self.base}/api/v1/incidents?limit=5", headers=self.headers, timeout=30)
            elif kind == "health":  # as a monitor asks: without the browser's cookies
                response = self.requests.get(f"{self.base}/healthz", timeout=30)
            else:  # a page, in a signed-in browser session
                response = session.get(f"{self.base}/incidents", cookies=self.cookies, timeout=30)
        except self.requests.RequestException as exc:
            self._record(kind, key, began, error=exc)
        else:
            self._record(kind, key, began, response)

    def _loop(self, kinds, tag, idle):
        session = self.requests.Session()
        n = 0
        while not self.stop.is_set():
            if not self.running.is_set():
                idle.set()
                self.running.wait(1)
                continue
            idle.clear()
            for kind in kinds:
                n += 1
                self._one(session, kind, n, tag)
            time.sleep(0.02)

    def start(self):
        plans = [("incident", "read"), ("incident", "log"), ("log", "alert"), ("alert", "incident"), ("log", "read"),
                 ("page", "health")]
        for i, kinds in enumerate(plans):
            idle = threading.Event()
            self.idle.append(idle)
            thread = threading.Thread(target=self._loop, args=(kinds, f"t{i}", idle), daemon=True)
            thread.start()
            self.threads.append(thread)

    def pause(self):
        """Stop sending, and wait until no request is in flight."""
        self.running.clear()
        for idle in self.idle:
            assert idle.wait(60)

    def resume(self):
        self.running.set()

    def finish(self):
        self.stop.set()
        for thread in self.threads:
            thread.join(40)

    def between(self, start, end):
        """The calls made wholly within [start, end]."""
        return [c for c in self.calls if c.began >= start and c.ended <= end]


def _serve(env, port, log_path):
    with open(log_path, "w") as out:
        return subprocess.Popen([RIADO, "serve", "--port", str(port), "--workers", "2", "--threads", "8"], env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


_stop = stop_process


def _healthy(base):
    import requests

    try:
        return requests.get(base + "/healthz", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def test_postgres_restart_fails_cleanly_and_recovers(private_postgres, tmp_path):
    """PostgreSQL stopped under traffic (``fast``: sessions are ended; ``immediate``: as a crash),
    and started again: every request meanwhile is answered 503 with a JSON body (the API) or an
    error page (the pages), never a 500 or a traceback; every request once it is back succeeds,
    also after a restart nobody saw (the pool pings its connections before lending them);
    nothing is half written; the worker sends every alert once it is back."""
    import requests

    from conftest import csrf_from

    pg = private_postgres
    with pg.admin() as conn:
        conn.execute("CREATE DATABASE riado")
    url = pg.url("riado")
    email, password = "pg@riado-test.example", "correct-horse-battery"
    token, group_id, shared = _prepare_database(url, email, password)
    headers = {"Authorization": f"Bearer {token}"}
    port = free_port()
    env = dict(os.environ, DATABASE_URL=url, RIADO_INSTANCE_PATH=str(tmp_path / "instance"), RIADO_EMBEDDED_WORKER="0",
               SECRET_KEY="fault-test-" + uuid.uuid4().hex, PUBLIC_URL=f"http://127.0.0.1:{port}", RIADO_LOCALE="en")
    for name in ("REDIS_URL", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"):
        env.pop(name, None)
    log_path, worker_log = tmp_path / "web.log", tmp_path / "worker.log"
    web = _serve(env, port, log_path)
    # A worker sends the alerts meanwhile (the console gateway: into the outbox table); a lease
    # of 5 s, so that a message caught in flight by a stop is taken up again within the test.
    with open(worker_log, "w") as out:
        worker = subprocess.Popen([RIADO, "worker", "--workers", str(WORKER_THREADS)], env=dict(env, RIADO_SMS_LEASE_SECONDS="5"),
                                  stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _healthy(base), timeout=60)
        browser = requests.Session()
        page = browser.get(f"{base}/login")
        browser.post(f"{base}/login", data={"email": email, "password": password, "csrf_token": csrf_from(page.text)},
                     allow_redirects=False)
        assert browser.get(f"{base}/incidents", allow_redirects=False).status_code == 200

        traffic = Traffic(base, headers, browser.cookies, shared, group_id)
        marks = {"begin": time.monotonic()}
        traffic.start()
        try:
            time.sleep(1.5)
            for mode in ("fast", "immediate"):
                marks[f"{mode}-stop"] = time.monotonic()
                pg.stop(mode)
                time.sleep(2)
                marks[f"{mode}-restart"] = time.monotonic()
                pg.start()
                marks[f"{mode}-up"] = time.monotonic()
                time.sleep(2.5)
                marks[f"{mode}-end"] = time.monotonic()
            # A restart nobody saw (at night): the pools still hold connections to the old server;
            # pinged before being lent, they are replaced, and the next requests all succeed.
            traffic.pause()
            pg.stop("fast")
            pg.start()
            marks["quiet-up"] = time.monotonic()
            traffic.resume()
            time.sleep(2)
            marks["quiet-end"] = time.monotonic()
        finally:
            traffic.finish()
        calls = traffic.calls
        timeline = {k: round(v - marks["begin"], 2) for k, v in marks.items()}

        # Before the first stop, everything worked.
        before = traffic.between(marks["begin"], marks["fast-stop"])
        assert before and all(c.status in OK for c in before), _show([c for c in before if c.status not in OK], marks)
        for mode in ("fast", "immediate"):
            # While it was down: clean refusals, and some (or the test proved nothing).
            down = traffic.between(marks[f"{mode}-stop"] + 0.3, marks[f"{mode}-restart"])
            refused = [c for c in down if c.status == 503]
            assert {c.kind for c in refused} >= {"incident", "log", "alert", "read", "page", "health"}, (mode, timeline)
            # Once it was back, every request succeeded: no dead connection was lent again.
            after = traffic.between(marks[f"{mode}-up"], marks[f"{mode}-end"])
            assert {c.kind for c in after} >= {"incident", "log", "alert", "read", "page", "health"}, (mode, timeline)
            assert all(c.status in OK for c in after), _show([c for c in after if c.status not in OK], marks)
        quiet = traffic.between(marks["quiet-up"], marks["quiet-end"])
        assert {c.kind for c in quiet} >= {"incident", "log", "alert", "read", "page", "health"}, timeline
        assert all(c.status in OK for c in quiet), _show([c for c in quiet if c.status not in OK], marks)
        for call in calls:  # never a 500, never a traceback, never a dropped connection
            assert call.status in OK | {503}, _show([call], marks)
            if call.status == 503:
                _assert_clean_refusal(call)
        assert web.poll() is None
        _assert_nothing_half_written(pg, base, headers, calls, shared)
        # The worker went on by itself too: every alert goes out, a few seconds after the end.
        _assert_alerts_went_out(pg, stops=3)
        assert worker.poll() is None
    finally:
        _stop(web)
        _stop(worker)
    # Nothing escaped the application as an unhandled error, and no web process died.
    web_log = log_path.read_text()
    assert "Error handling request" not in web_log and "Exception on " not in web_log, web_log[-4000:]
    assert web_log.count("Booting worker with pid") == 2, "a web process died and was replaced"


def _assert_alerts_went_out(pg, stops: int) -> None:
    """Every delivery of every alert is sent (into the console outbox), each alert done. A message
    is sent again only if it was in flight when the database went away (sent, but its "sent" not
    recorded: taken up again when its lease ran out): at most as many messages per stop as the
    drains keep in flight (RIADO_SMS_CONCURRENCY, 4 here), and a delivery at most once more per
    stop (on a loaded machine the one taken up again after a stop may be in flight at the next)."""

    def pending():
        with pg.admin("riado") as conn:
            return conn.execute("SELECT count(*) FROM deliveries WHERE status <> 'sent'").fetchone()[0] or \
                conn.execute("SELECT count(*) FROM alerts WHERE status <> 'done'").fetchone()[0]

    wait_for(lambda: pending() == 0, timeout=30, interval=0.5)
    with pg.admin("riado") as conn:
        deliveries = conn.execute("SELECT count(*) FROM deliveries").fetchone()[0]
        sent = dict(conn.execute("SELECT d.id, count(o.id) FROM deliveries d LEFT JOIN sms_outbox o "
                                 "ON o.delivery_id = d.id GROUP BY d.id").fetchall())
    assert deliveries > 0 and len(sent) == deliveries
    assert min(sent.values()) == 1, "a delivery marked sent never went out"
    twice = {d: n for d, n in sent.items() if n > 1}
    extra = sum(n - 1 for n in twice.values())
    assert max(sent.values()) <= 1 + stops and extra <= SMS_IN_FLIGHT * stops, twice


def _prepare_database(url, email, password):
    """Migrate the private database and add an officer (with a token), a group of GROUP_SIZE
    contacts and the incident every thread writes to. Returns (token, group id, incident id)."""
    from flask_migrate import upgrade

    from incident import create_app
    from incident.extensions import db
    from incident.operations.contacts import create_contact, create_group
    from incident.operations.incidents import create_incident
    from incident.operations.users import create_user
    from incident.operations.sessions import issue_token

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    with app.app_context():
        upgrade()
        user = create_user(email, password, "officer")
        group = create_group({"name": "Készenlét"})
        db.session.flush()
        for i in range(GROUP_SIZE):
            create_contact({"name": f"Tag {i}", "phone": f"+3630{5552000 + i:07d}", "groups": [group.id]})
        incident = create_incident({"title": "shared", "kind": "flood", "severity": "severe", "location": VIGADO})
        token = issue_token(user, "faults")
        db.session.commit()
        ids = (token, group.id, incident.id)
        db.session.remove()
        db.engine.dispose()
    return ids


def _show(calls, marks):
    return [(round(c.began - marks["begin"], 2), c.kind, c.status, c.body[:200]) for c in calls[:10]]


def _assert_clean_refusal(call: Call) -> None:
    if call.kind != "health":  # a probe, not a client to slow down
        assert call.retry_after is not None and int(call.retry_after) > 0, call
    if call.kind == "page":
        assert call.content_type.startswith("text/html"), call
        assert "<h1>503</h1>" in call.body and "Traceback" not in call.body, call.body[:500]
    elif call.kind == "health":
        assert call.content_type == "application/json" and json.loads(call.body)["database"] == "error", call
    else:
        assert call.content_type == "application/json", call
        body = json.loads(call.body)
        assert body["code"] == 503 and body["status"] == "Service Unavailable" and body["message"], body


def _assert_nothing_half_written(pg, base, headers, calls, shared) -> None:
    """What the clients were told was saved is there; what they were refused may or may not be (a
    connection can die after PostgreSQL committed), but nothing is there in part."""
    import requests

    def keys(kind, statuses):
        return {c.key for c in calls if c.kind == kind and c.status in statuses}

    with pg.admin("riado") as conn:
        incidents = conn.execute("SELECT id, title, serial, log_count, log_head FROM incidents ORDER BY id").fetchall()
        entries = dict(conn.execute("SELECT incident_id, count(*) FROM log_entries GROUP BY incident_id").fetchall())
        first = dict(conn.execute("SELECT incident_id, kind FROM log_entries WHERE seq = 1").fetchall())
        notes = {row[0] for row in conn.execute("SELECT text FROM log_entries WHERE incident_id = %s AND kind = 'note'", (shared,))}
        alerts = conn.execute("SELECT a.id, a.body, a.recipients, a.incident_id, (SELECT count(*) FROM deliveries d "
                              "WHERE d.alert_id = a.id) FROM alerts a ORDER BY a.id").fetchall()
        alert_entries = {row[0] for row in conn.execute(
            "SELECT text FROM log_entries WHERE incident_id = %s AND kind = 'system' AND text LIKE 'SMS alert %%'", (shared,))}
        counter = conn.execute("SELECT value FROM counters WHERE name LIKE 'incident-%%'").fetchone()[0]

    # Incidents: each with its number and its first log entry, or not at all.
    titles = {title for _id, title, *_ in incidents if title != "shared"}
    assert keys("incident", OK) <= titles
    assert titles <= keys("incident", OK | {503})
    for incident_id, title, _serial, log_count, _head in incidents:
        assert first.get(incident_id) == "system", title
        assert entries.get(incident_id) == log_count, title
    serials = sorted(serial for *_x, serial, _c, _h in incidents)
    assert serials == list(range(1, len(incidents) + 1)) and counter == len(incidents)  # no number lost or taken twice

    # The shared incident's log: each note acknowledged is there, and the chain holds.
    assert keys("log", OK) <= notes <= keys("log", OK | {503})
    # Alerts: the alert, every delivery and its log entry, or none of them.
    bodies = {body for _id, body, *_ in alerts}
    assert keys("alert", OK) <= bodies <= keys("alert", OK | {503})
    for alert_id, body, recipients, incident_id, deliveries in alerts:
        assert recipients == GROUP_SIZE and deliveries == GROUP_SIZE, (alert_id, body, deliveries)
        assert incident_id == shared
    assert len(alert_entries) == len(alerts)
    # Every incident's log chain holds, as the application verifies it.
    for incident_id, title, _serial, log_count, _head in incidents:
        response = requests.get(f"{base}/api/v1/incidents/{incident_id}/log/verify", headers=headers, timeout=30)
        assert response.json() == {"ok": True, "entries": log_count, "first_bad_seq": None}, (title, response.text)


# Redis lost during a broadcast

BROADCAST = 300


@pytest.fixture
def private_redis():
    """A redis-server of this test's own, without persistence: killed and started again, it comes
    back empty (the queue lost), which the machine's Redis on 6379 must never be put through."""
    from private_services import PrivateRedis, redis_missing

    why = redis_missing()
    if why:
        pytest.skip(why)
    server = PrivateRedis(appendonly=False)
    server.start()
    yield server
    server.destroy()


def _redis_worker(env, log_path):
    with open(log_path, "a") as log:
        return subprocess.Popen([RIADO, "worker", "--workers", "4"], env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)


def _delivery_counts(app, alert_id):
    from sqlalchemy import func, select

    from alerts.models import Delivery
    from incident.extensions import db

    with app.app_context():
        rows = db.session.execute(
            select(Delivery.status, func.count()).where(Delivery.alert_id == alert_id).group_by(Delivery.status)
        ).all()
        db.session.rollback()
        return dict(rows)


def _alert_status(app, alert_id):
    from alerts.models import Alert
    from incident.extensions import db

    with app.app_context():
        status = db.session.get(Alert, alert_id).status
        db.session.rollback()
        return status


def test_redis_lost_mid_broadcast_loses_nobody(app_factory, database_url, fake_twilio, private_redis, api, tmp_path):
    """Redis killed in the middle of a broadcast (while the provider also refuses for a moment, so
    that the retries' wake-ups are in the queue) and started again empty, as a Redis without
    persistence comes back: every recipient gets the message exactly once, the alert completes,
    and an alert sent while Redis was down is accepted (202) and goes out once it is back."""
    from fake_twilio import ACCOUNT_SID, AUTH_TOKEN
    from incident.extensions import db
    from incident.operations.contacts import create_contact, create_group

    port = free_port()
    settings = dict(TWILIO_ACCOUNT_SID=ACCOUNT_SID, TWILIO_AUTH_TOKEN=AUTH_TOKEN, TWILIO_FROM="+36205550000",
                    TWILIO_API_URL=fake_twilio.url, PUBLIC_URL=f"http://127.0.0.1:{port}", RIADO_SMS_CONCURRENCY=8,
                    RIADO_SMS_MAX_ATTEMPTS=20)
    app = app_factory(REDIS_URL=private_redis.url, **settings)
    env = dict(os.environ, DATABASE_URL=database_url, REDIS_URL=private_redis.url, RIADO_SMS_CONCURRENCY="8",
               RIADO_SMS_MAX_ATTEMPTS="20", **{k: str(v) for k, v in settings.items() if k.startswith(("TWILIO", "PUBLIC"))})
    phones = [f"+3630{5553000 + i:07d}" for i in range(BROADCAST)]
    late_phones = [f"+3620{5554000 + i:07d}" for i in range(20)]
    headers, officer = api("officer")
    with app.app_context():
        everyone, late = create_group({"name": "Mindenki"}), create_group({"name": "Később"})
        db.session.flush()
        for i, phone in enumerate(phones):
            create_contact({"name": f"Lakó {i:03d}", "phone": phone, "groups": [everyone.id]})
        for i, phone in enumerate(late_phones):
            create_contact({"name": f"Később {i:02d}", "phone": phone, "groups": [late.id]})
        db.session.commit()
        everyone_id, late_id = everyone.id, late.id
    for phone in phones:
        fake_twilio.script(phone, delay=0.01)  # a provider that takes its time: the kill lands mid-way
    log_path = tmp_path / "workers.log"
    workers = [_redis_worker(env, log_path) for _ in range(2)]
    client = app.test_client()
    try:
        wait_for(lambda: log_path.read_text().count("Riadó worker:") == 2, timeout=60)
        response = client.post("/api/v1/alerts", json={"body": "Kitelepítés: gyülekezés a Szabadság téren.",
                                                        "groups": [everyone_id]}, headers=headers)
        assert response.status_code == 202, response.get_json()
        alert_id = response.get_json()["id"]
        wait_for(lambda: len(fake_twilio.messages) >= BROADCAST // 2, timeout=60, interval=0.01)
        # Redis dies; at the same moment the provider refuses for a while, so every message left
        # goes into backoff and its wake-up is scheduled in the queue: lost with Redis.
        fake_twilio.outage_status = 503
        fake_twilio.scripts.clear()  # refusing takes no time: the drains soon run out of due work
        private_redis.kill()
        at_kill = len(fake_twilio.messages)
        assert at_kill < BROADCAST, "the broadcast finished before the kill: the test proves nothing"
        # An alert sent while the queue is down is stored and accepted all the same.
        response = client.post("/api/v1/alerts", json={"body": "Második riasztás", "groups": [late_id]}, headers=headers)
        assert response.status_code == 202, response.get_json()
        late_alert = response.get_json()["id"]
        # Signing in still works: the sign-in limits are counted in the database, not in Redis.
        response = client.post("/api/v1/tokens", json={"email": officer["email"], "password": officer["password"]})
        assert response.status_code == 201, response.get_json()

        def drains_ran_dry():
            """Every message left was refused and waits for its retry, and the drains, finding
            nothing due, have ended: their wake-ups could only go to the dead Redis. (A running
            drain tries a message every few milliseconds; none for 1.5 s means none runs.)"""
            attempts = len(fake_twilio.attempts)
            time.sleep(1.5)
            counts = _delivery_counts(app, alert_id)
            return len(fake_twilio.attempts) == attempts and not counts.get("sending")

        wait_for(drains_ran_dry, timeout=30, interval=0)
        time.sleep(1)  # the retries fall due, and nothing wakes the workers for them
        left = _delivery_counts(app, alert_id).get("queued", 0)
        assert left >= BROADCAST // 4, f"only {left} messages were left to the queue: the test proves little"
        fake_twilio.outage_status = None
        private_redis.start()  # the same port, empty
        # It came back with nothing: no file was loaded (the workers may already have written a
        # key or two by now, so the key count would race them).
        persistence = private_redis.client().info("persistence")
        assert persistence["rdb_last_load_keys_loaded"] == 0 and persistence["aof_enabled"] == 0

        # Well before the next periodic sweep (a minute after the workers started): the workers
        # noticed that the queue came back empty and took up the alerts at once.
        wait_for(lambda: _delivery_counts(app, alert_id) == {"sent": BROADCAST}, timeout=30, interval=0.25)
        wait_for(lambda: _delivery_counts(app, late_alert) == {"sent": len(late_phones)}, timeout=30, interval=0.25)
        wait_for(lambda: _alert_status(app, alert_id) == "done" and _alert_status(app, late_alert) == "done", timeout=30)
        assert all(proc.poll() is None for proc in workers), "a worker died with Redis"
    finally:
        for proc in workers:
            _stop(proc)
    # Exactly once each: nobody was lost, and as no worker died, no lease lapsed and nothing was
    # sent twice (the only duplicates the design allows are messages in flight at a worker's crash).
    assert fake_twilio.count_by_phone() == {phone: 1 for phone in phones + late_phones}
    assert "died" not in log_path.read_text()
