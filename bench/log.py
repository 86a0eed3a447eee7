"""Appends per second with concurrent writers, and verification of a 100,000-entry log chain, on both backends.

    .venv/bin/python bench/log.py [--backend sqlite|postgis|both] [--writers N] [--appends N]
                                  [--rounds N] [--entries N] [--pg-url URL] [--profile]

For each backend: a fresh database (a SQLite file in a temporary folder; a PostgreSQL database
``riado_bench_<pid>`` created through ``--pg-url`` and dropped WITH (FORCE) at the end),
migrated with ``flask_migrate.upgrade()``, with one officer and a bearer token. The real app is
served in this process by werkzeug's threaded server (as in bench/spatial.py, whose set-up this
script shares); every writer has its own keep-alive connection (TCP_NODELAY).

Appends (``--appends`` in all per scenario, through ``POST /api/v1/incidents/<id>/log``):

- one incident: ``--writers`` threads append to the same incident, so every append waits for the
  incident's row lock (``SELECT … FOR UPDATE`` on PostgreSQL; on SQLite every transaction is
  ``BEGIN IMMEDIATE``, one writer at a time for the whole database);
- N incidents: the same threads, each on an incident of its own: no row-lock contention;
- for reference, first: one writer alone (``--appends / --writers`` appends).

The two N-writer scenarios alternate over ``--rounds`` rounds (A B B A …) so that drift hits both
alike. The wall time gives appends/second; each request's latency gives the median and p95; on
the server side, the time waited for the serialising lock and the time it was held. Afterwards
every chain must hold: ``GET …/log/verify`` says ok with ``entries`` = appends + 1 (the system's
first entry), the sequence numbers in the answers are exactly 2…appends + 1, and in the database
``seq`` runs 1…n without gaps or duplicates. Anything else is a functional error.

Verification: a chain of ``--entries`` entries is built in an app context with
``operations.incidents.append_entry`` (committed every 5,000 entries, the incident locked once
per batch), then ``verify_log()`` is timed directly (median of 3) and once through
``GET …/log/verify``, with a write to another incident sent while that request runs.

Timing never fails the run: the exit status is 1 only if an answer is wrong or something fails.
"""

from __future__ import annotations

import argparse
import cProfile
import http.client
import io
import json
import os
import pstats
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))  # runnable as a plain script from any folder

from bench.spatial import (  # noqa: E402  (the shared set-up: databases, app, token, server)
    BACKEND_TITLES,
    DEFAULT_PG_URL,
    ServerSide,
    build_app,
    create_database,
    make_token,
    serve,
    summary,
)

VIGADO = {"type": "Point", "coordinates": [19.0493, 47.4957]}
USER_KINDS = ("note", "action", "communication", "decision")
WARM_UP_PER_WRITER = 5
BUILD_BATCH = 5_000
VERIFY_RUNS = 3
VERIFY_GOAL_S = 5.0        # when to look closer (see --profile)
SQLITE_APPENDS_FLOOR = 100  # appends/second
PROFILE_APPENDS = 200
REQUEST_TIMEOUT_S = 60
VERIFY_TIMEOUT_S = 900


def entry_text(writer: int, n: int) -> str:
    """A log entry of the usual size (80–150 characters), different every time."""
    km = 1640 + (writer * 7 + n) % 60
    return (f"{writer + 1}. szakasz, {n + 1}. jelentés: a gát a {km}. fkm-nél stabil, "
            f"{(n * 37) % 400 + 20} homokzsák kihelyezve, a szivattyúk {n % 5 + 1} órája üzemelnek.")


# HTTP ---------------------------------------------------------------------------------------


class Client:
    """One persistent keep-alive connection with TCP_NODELAY, bearer token, JSON bodies."""

    def __init__(self, port: int, token: str, timeout: float = REQUEST_TIMEOUT_S):
        self.port, self.timeout = port, timeout
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "application/json",
                        "Content-Type": "application/json"}
        self.conn: http.client.HTTPConnection | None = None
        self._connect()

    def _connect(self):
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        self.conn.connect()
        self.conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def request(self, method: str, path: str, body=None) -> tuple[int, bytes]:
        payload = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        try:
            self.conn.request(method, path, body=payload, headers=self.headers)
            response = self.conn.getresponse()
            return response.status, response.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()  # a broken connection: the next request gets a new one
            self._connect()
            raise

    def close(self):
        self.conn.close()


def create_incident(client: Client, title: str) -> dict:
    status, body = client.request("POST", "/api/v1/incidents", {
        "title": title, "kind": "flood", "severity": "severe", "location": VIGADO,
        "description": "Bench: bench/log.py", "commander": "Bench Béla",
    })
    if status != 201:
        raise RuntimeError(f"creating an incident: HTTP {status}: {body[:200]!r}")
    return json.loads(body)


def verify_api(client: Client, incident_id: int) -> tuple[int, dict | bytes]:
    status, body = client.request("GET", f"/api/v1/incidents/{incident_id}/log/verify")
    return status, json.loads(body) if status == 200 else body


# Appends ------------------------------------------------------------------------------------


class LockTiming(ServerSide):
    """ServerSide (server time per request, time in SQL) plus, per request, how long it waited
    for the lock that serialises appends and how long it held it, summed over the request's
    transactions: from the first ``… FOR UPDATE`` of a transaction on PostgreSQL (the incident's
    row lock), from ``BEGIN IMMEDIATE`` on SQLite (the database's write lock, taken by every
    transaction), until its COMMIT or ROLLBACK is sent."""

    def __init__(self, app, engine):
        from sqlalchemy import event

        super().__init__(app, engine)
        self.lock_wait_ms: list[float] = []
        self.lock_held_ms: list[float] = []
        self.lock_count: list[int] = []
        event.listen(engine, "after_cursor_execute", self._locking)
        event.listen(engine, "commit", self._release)
        event.listen(engine, "rollback", self._release)

    def reset(self):
        super().reset()
        self.lock_wait_ms.clear()
        self.lock_held_ms.clear()
        self.lock_count.clear()

    def __call__(self, environ, start_response):
        local = self.local
        local.acquired, local.waited, local.held, local.locks = None, 0.0, 0.0, 0
        try:
            return super().__call__(environ, start_response)
        finally:
            if local.locks:
                self.lock_wait_ms.append(local.waited * 1000)
                self.lock_held_ms.append(local.held * 1000)
                self.lock_count.append(local.locks)

    def _locking(self, _conn, _cursor, statement, *_args):
        local = self.local
        if not getattr(local, "active", False) or local.acquired is not None:
            return
        if statement.startswith("BEGIN IMMEDIATE") or statement.rstrip().endswith("FOR UPDATE"):
            local.acquired = time.perf_counter()
            local.waited += local.acquired - local.sql_started
            local.locks += 1

    def _release(self, _conn):
        local = self.local
        if getattr(local, "active", False) and local.acquired is not None:
            local.held += time.perf_counter() - local.acquired
        local.acquired = None


def append_round(clients: list[Client], targets: list[int], total: int) -> dict:
    """``total`` appends, writer i (on clients[i]) to incident targets[i], all at once.

    Returns the wall time, every request's latency (ms), the seq of every accepted entry per
    incident, and the failures."""
    writers = len(clients)
    counts = [total // writers + (1 if i < total % writers else 0) for i in range(writers)]
    latencies: list[list[float]] = [[] for _ in range(writers)]
    seqs: list[list[int]] = [[] for _ in range(writers)]
    failures: list[str] = []
    marks: dict[str, float] = {}
    barrier = threading.Barrier(writers, action=lambda: marks.setdefault("start", time.perf_counter()))

    def work(i: int):
        client, path = clients[i], f"/api/v1/incidents/{targets[i]}/log"
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            return
        for n in range(counts[i]):
            body = {"text": entry_text(i, n), "kind": USER_KINDS[n % len(USER_KINDS)]}
            started = time.perf_counter()
            try:
                status, data = client.request("POST", path, body)
            except Exception as exc:  # noqa: BLE001 (count it, go on)
                failures.append(f"writer {i + 1}, append {n + 1}: {type(exc).__name__}: {exc}")
                continue
            latencies[i].append((time.perf_counter() - started) * 1000)
            if status != 201:
                failures.append(f"writer {i + 1}, append {n + 1}: HTTP {status}: {data[:160]!r}")
                continue
            seqs[i].append(json.loads(data)["seq"])

    threads = [threading.Thread(target=work, args=(i,), name=f"bench-writer-{i + 1}") for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - marks["start"]
    by_incident: dict[int, list[int]] = {}
    for i, incident_id in enumerate(targets):
        by_incident.setdefault(incident_id, []).extend(seqs[i])
    return {
        "wall_s": wall,
        "accepted": sum(len(s) for s in seqs),
        "latencies": [ms for per in latencies for ms in per],
        "seqs": by_incident,
        "failures": failures,
    }


def chain_problems(app, client: Client, incident_id: int, before: int, seqs: list[int]) -> list[str]:
    """What is wrong with incident ``incident_id``'s chain after ``len(seqs)`` appends accepted
    on top of ``before`` entries (nothing: an empty list)."""
    from sqlalchemy import text

    from incident.extensions import db

    problems = []
    expected = before + len(seqs)
    if sorted(seqs) != list(range(before + 1, expected + 1)):
        dupes = len(seqs) - len(set(seqs))
        problems.append(f"the answers' seq are not {before + 1}…{expected} ({dupes} duplicates, "
                        f"min {min(seqs, default=None)}, max {max(seqs, default=None)})")
    status, body = verify_api(client, incident_id)
    if status != 200:
        problems.append(f"verify: HTTP {status}: {body[:200]!r}")
    elif body != {"ok": True, "entries": expected, "first_bad_seq": None}:
        problems.append(f"verify answered {body}, expected ok with {expected} entries")
    with app.app_context():
        count, low, high, distinct = db.session.execute(text(
            "SELECT count(*), min(seq), max(seq), count(DISTINCT seq) FROM log_entries WHERE incident_id = :i"
        ), {"i": incident_id}).one()
        head = db.session.execute(text("SELECT log_count FROM incidents WHERE id = :i"), {"i": incident_id}).scalar_one()
        db.session.rollback()
    if (count, low, high, distinct, head) != (expected, 1, expected, expected, expected):
        problems.append(f"in the database: {count} rows, seq {low}…{high}, {distinct} distinct, "
                        f"log_count {head}; expected {expected} gap-free")
    return [f"incident {incident_id}: {p}" for p in problems]


def measure_appends(server_side: LockTiming, clients: list[Client], scenario: str, targets: list[int],
                    total: int) -> dict:
    """One round of ``total`` appends (see append_round) with the server side's timings."""
    server_side.reset()
    round_ = append_round(clients, targets, total)
    round_.update(
        scenario=scenario,
        incidents=len(set(targets)),
        writers=len(clients),
        wsgi_ms=list(server_side.wsgi_ms),
        db_ms=list(server_side.db_ms),
        statements=list(server_side.statements),
        lock_wait_ms=list(server_side.lock_wait_ms),
        lock_held_ms=list(server_side.lock_held_ms),
        lock_count=list(server_side.lock_count),
    )
    return round_


def combine(rounds: list[dict]) -> dict:
    """The rounds of one scenario as one measurement: appends over the summed wall time."""
    first = rounds[0]
    wall = sum(r["wall_s"] for r in rounds)
    accepted = sum(r["accepted"] for r in rounds)
    merged = {key: [v for r in rounds for v in r[key]]
              for key in ("latencies", "wsgi_ms", "db_ms", "statements", "lock_wait_ms", "lock_held_ms", "lock_count",
                        "failures")}
    seqs: dict[int, list[int]] = {}
    for r in rounds:
        for incident_id, values in r["seqs"].items():
            seqs.setdefault(incident_id, []).extend(values)
    held = merged["lock_held_ms"]
    return {
        "scenario": first["scenario"], "incidents": first["incidents"], "writers": first["writers"],
        "rounds": len(rounds), "wall_s": wall, "accepted": accepted,
        "per_s": accepted / wall if wall else float("nan"),
        "round_per_s": [r["accepted"] / r["wall_s"] for r in rounds if r["wall_s"]],
        "latency": summary(merged["latencies"]),
        "server": summary(merged["wsgi_ms"]),
        "db": summary(merged["db_ms"]),
        "statements": statistics.median(merged["statements"]) if merged["statements"] else 0,
        "locks": statistics.fmean(merged["lock_count"]) if merged["lock_count"] else 0,
        "lock_wait": summary(merged["lock_wait_ms"]),
        "lock_held": summary(held),
        "lock_held_mean": statistics.fmean(held) if held else float("nan"),
        "failures": merged["failures"],
        "seqs": seqs,
        "chain": [],
    }


def profile_appends(server_side: LockTiming, client: Client, incident_id: int) -> str:
    """cProfile of the serving thread over PROFILE_APPENDS appends from one writer (one
    connection, so one serving thread at a time: cProfile is per thread)."""
    server_side.profile = cProfile.Profile()
    try:
        for n in range(PROFILE_APPENDS):
            client.request("POST", f"/api/v1/incidents/{incident_id}/log", {"text": entry_text(99, n)})
    finally:
        profile, server_side.profile = server_side.profile, None
    return format_profile(profile, f"per append: divide by {PROFILE_APPENDS}")


def format_profile(profile: cProfile.Profile, note: str) -> str:
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    stats.strip_dirs().sort_stats("cumulative").print_stats(35)
    out.write(f"({note})\n")
    stats.sort_stats("tottime").print_stats(20)
    return out.getvalue()


# Verification of a long chain ---------------------------------------------------------------


def build_chain(app, incident_id: int, entries: int) -> tuple[float, int]:
    """Grow the incident's log to ``entries`` entries with append_entry, BUILD_BATCH per
    transaction (the incident locked once per batch); (seconds, entries appended)."""
    from sqlalchemy import text

    from incident.audit import set_actor
    from incident.extensions import db
    from incident.operations.incidents import append_entry, lock_incident

    with app.app_context():
        set_actor(None, "bench-builder")
        started = time.perf_counter()
        incident = lock_incident(incident_id)
        todo = entries - incident.log_count
        done = 0
        while done < todo:
            for _ in range(min(BUILD_BATCH, todo - done)):
                append_entry(incident, USER_KINDS[done % len(USER_KINDS)], entry_text(done % 8, done), locked=True)
                done += 1
            db.session.commit()
            if done < todo:
                incident = lock_incident(incident_id)
        elapsed = time.perf_counter() - started
        if db.engine.dialect.name == "postgresql":
            # A settled table, as autovacuum would leave it (not timed): fresh statistics and the
            # visibility map set, instead of autovacuum waking up in the middle of the timing.
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM (ANALYZE) log_entries"))
    return elapsed, max(todo, 0)


def time_verify(app, incident_id: int, profile: bool) -> dict:
    """verify_log() VERIFY_RUNS times, each in a fresh app context (a fresh session), plus where
    the time goes: loading the rows as ORM objects, fetching them by bare SQL, hashing."""
    from sqlalchemy import text

    from incident.extensions import db
    from incident.models import Incident
    from incident.operations.incidents import entry_hash, log_query, verify_log

    runs, answers = [], []
    for _ in range(VERIFY_RUNS):
        with app.app_context():
            incident = db.session.get(Incident, incident_id)
            started = time.perf_counter()
            verification = verify_log(incident)
            runs.append(time.perf_counter() - started)
            answers.append(verification)
            db.session.rollback()
    parts = {}
    with app.app_context():
        started = time.perf_counter()
        loaded = db.session.execute(log_query(incident_id)).scalars().all()
        parts["orm_load_s"] = time.perf_counter() - started
        started = time.perf_counter()
        for entry in loaded:
            entry_hash(entry.prev_hash, entry)
        parts["hash_s"] = time.perf_counter() - started
        del loaded
        db.session.rollback()
        db.session.expunge_all()
        started = time.perf_counter()
        rows = db.session.execute(text(
            "SELECT id, incident_id, seq, at, author_id, author, kind, text, corrects, prev_hash, hash"
            " FROM log_entries WHERE incident_id = :i ORDER BY seq"
        ), {"i": incident_id}).all()
        parts["sql_fetch_s"] = time.perf_counter() - started
        parts["rows"] = len(rows)
        del rows
        db.session.rollback()
    profiled = None
    if profile:
        with app.app_context():
            incident = db.session.get(Incident, incident_id)
            prof = cProfile.Profile()
            prof.enable()
            verify_log(incident)
            prof.disable()
            db.session.rollback()
        profiled = format_profile(prof, "one verify_log() run")
    return {"runs": runs, "answers": answers, "parts": parts, "profile": profiled}


def verify_through_api(port: int, token: str, incident_id: int, other_incident: int) -> dict:
    """GET …/log/verify once (timed), and meanwhile one append to ``other_incident``: does a
    long verification hold up writers elsewhere?"""
    reader = Client(port, token, timeout=VERIFY_TIMEOUT_S)
    writer = Client(port, token, timeout=VERIFY_TIMEOUT_S)
    out: dict = {}

    def read():
        started = time.perf_counter()
        try:
            out["status"], out["body"] = verify_api(reader, incident_id)
        except Exception as exc:  # noqa: BLE001
            out["status"], out["body"] = None, f"{type(exc).__name__}: {exc}".encode()
        out["verify_s"] = time.perf_counter() - started
        out["verify_done"] = time.perf_counter()

    try:
        thread = threading.Thread(target=read, name="bench-verify")
        thread.start()
        time.sleep(0.25)  # the verification is under way
        started = time.perf_counter()
        try:
            status, body = writer.request("POST", f"/api/v1/incidents/{other_incident}/log",
                                          {"text": "Beírás a hosszú ellenőrzés közben."})
        except Exception as exc:  # noqa: BLE001
            status, body = None, f"{type(exc).__name__}: {exc}".encode()
        ended = time.perf_counter()
        thread.join()
        out["side_append"] = {
            "status": status, "body": body[:200], "ms": (ended - started) * 1000,
            # when the verification ended, counted from when the append was sent
            "verify_left_ms": (out["verify_done"] - started) * 1000 if "verify_done" in out else float("nan"),
        }
    finally:
        reader.close()
        writer.close()
    return out


# One backend --------------------------------------------------------------------------------


def run_backend(backend: str, args, workdir: Path) -> dict:
    from incident.extensions import db

    result = {"backend": backend, "errors": 0, "problems": [], "load": [os.getloadavg()[0]]}
    url, drop = create_database(backend, workdir, args.pg_url)
    app = server = None
    clients: list[Client] = []
    try:
        app = build_app(url)
        with app.app_context():
            result["version"] = app.config.get("RIADO_DATABASE_VERSION", "")
            server_side = LockTiming(app, db.engine)
        token = make_token(app)
        server, _thread = serve(server_side)
        port = server.server_port
        clients = [Client(port, token) for _ in range(args.writers)]

        admin = clients[0]
        warm = create_incident(admin, "Bemelegítés")
        single = create_incident(admin, "Árvíz, Duna-part (egy napló, sok író)")
        separate = [create_incident(admin, f"Árvíz, {i + 1}. szakasz") for i in range(args.writers)]
        long_chain = create_incident(admin, f"Árvíz, hosszú napló ({args.entries:,} bejegyzés)")

        # Warm-up: every connection, serving thread and pooled database connection in use once.
        print(f"  warm-up: {args.writers * WARM_UP_PER_WRITER} appends", flush=True)
        warm_up = append_round(clients, [warm["id"]] * args.writers, args.writers * WARM_UP_PER_WRITER)
        result["problems"] += warm_up["failures"]
        result["problems"] += chain_problems(app, admin, warm["id"], 1, warm_up["seqs"][warm["id"]])

        # Without concurrency, for reference: one writer, one incident.
        baseline_incident = create_incident(admin, "Árvíz, egy író")
        print(f"  {args.appends // args.writers:,} appends, 1 writer", flush=True)
        baseline = combine([measure_appends(server_side, clients[:1], "1 writer, 1 incident",
                                            [baseline_incident["id"]], args.appends // args.writers)])
        # The two scenarios in alternating rounds (A B B A …), so that drift hits both alike.
        scenarios = {
            "one": ("one incident", [single["id"]] * args.writers),
            "many": (f"{args.writers} incidents", [i["id"] for i in separate]),
        }
        rounds: dict[str, list[dict]] = {"one": [], "many": []}
        per_round = [args.appends // args.rounds + (1 if r < args.appends % args.rounds else 0) for r in range(args.rounds)]
        for r, count in enumerate(per_round):
            for key in (("one", "many") if r % 2 == 0 else ("many", "one")):
                label, targets = scenarios[key]
                print(f"  round {r + 1}/{args.rounds}: {count:,} appends, {args.writers} writers, {label}", flush=True)
                rounds[key].append(measure_appends(server_side, clients, label, targets, count))
        one, many = combine(rounds["one"]), combine(rounds["many"])
        result["appends"] = [one, many]
        result["baseline"] = baseline
        for scenario in (baseline, one, many):
            for incident_id, seqs in scenario["seqs"].items():
                scenario["chain"] += chain_problems(app, admin, incident_id, 1, seqs)
            result["problems"] += scenario["failures"] + scenario["chain"]

        if args.profile:
            result["append_profile"] = profile_appends(server_side, admin, warm["id"])

        print(f"  building a chain of {args.entries:,} entries", flush=True)
        result["build_s"], result["built"] = build_chain(app, long_chain["id"], args.entries)
        print(f"  verifying it: {VERIFY_RUNS} × verify_log(), then once through the API", flush=True)
        direct = time_verify(app, long_chain["id"], args.profile)
        result["verify"] = direct
        for answer in direct["answers"]:
            if not answer.ok or answer.entries != args.entries:
                result["problems"].append(f"verify_log() of the long chain: {answer}, expected ok with {args.entries} entries")
        for client in clients:  # idle keep-alive connections are not needed any more
            client.close()
        clients = []
        server_side.reset()
        api = verify_through_api(port, token, long_chain["id"], warm["id"])
        api["server_s"] = max(server_side.wsgi_ms) / 1000 if server_side.wsgi_ms else float("nan")  # the longest: the verification
        result["verify_api"] = api
        result["load"].append(os.getloadavg()[0])
        if api["side_append"]["status"] != 201:
            result["problems"].append(f"an append during the verification: HTTP {api['side_append']['status']}: "
                                      f"{api['side_append']['body']!r}")
        if api["status"] != 200 or api["body"] != {"ok": True, "entries": args.entries, "first_bad_seq": None}:
            result["problems"].append(f"GET …/log/verify of the long chain: HTTP {api['status']}: {api['body']!r:.200}")
        result["errors"] = len(result["problems"])
    finally:
        for client in clients:
            client.close()
        if server is not None:
            server.shutdown()
            server.server_close()
        if app is not None:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
        drop()
    return result


# Report -------------------------------------------------------------------------------------


def report(result: dict, args) -> None:
    backend = result["backend"]
    print(f"\n== {BACKEND_TITLES[backend]} ({result.get('version', '')}) ==")
    load = " → ".join(f"{v:.2f}" for v in result["load"])
    print(f"machine       {os.cpu_count()} CPUs, 1-minute load average {load} (start → end): other work on the "
          "machine shows in every figure")
    print(f"appends       through POST /api/v1/incidents/<id>/log, each writer on its own keep-alive connection, "
          f"after {args.writers * WARM_UP_PER_WRITER} warm-up appends; {args.writers}-writer scenarios in "
          f"{args.rounds} alternating round(s)")
    head = (f"{'':24}{'appends':>8}{'wall s':>8}{'per s':>8}{'p50 ms':>8}{'p95 ms':>8}{'server':>8}{'in SQL':>8}"
            f"{'SQL/req':>8}{'locks':>6}{'lock wait':>10}{'p95':>7}{'lock held':>10}{'p95':>7}")
    print(head)
    for s in (result["baseline"], *result["appends"]):
        print(f"{s['scenario']:24}{s['accepted']:8,}{s['wall_s']:8.2f}{s['per_s']:8.1f}{s['latency'][0]:8.2f}"
              f"{s['latency'][1]:8.2f}{s['server'][0]:8.2f}{s['db'][0]:8.2f}{s['statements']:8.0f}{s['locks']:6.1f}"
              f"{s['lock_wait'][0]:10.2f}{s['lock_wait'][1]:7.1f}{s['lock_held'][0]:10.2f}{s['lock_held'][1]:7.1f}")
    lock = "the incident's row lock (SELECT … FOR UPDATE)" if backend == "postgis" else "the database's write lock (BEGIN IMMEDIATE)"
    print(f"  (ms, medians unless p95; server: the WSGI app; in SQL: of which in cursor.execute; lock: {lock}: "
          "times taken per request, and the time waited for it and held until COMMIT/ROLLBACK, summed per request)")
    one, many = result["appends"]
    result["ratio"] = many["per_s"] / one["per_s"] if one["per_s"] else float("nan")
    if args.rounds > 1:
        for s in (one, many):
            print(f"  {s['scenario']}: per round {', '.join(f'{v:.1f}' for v in s['round_per_s'])} appends/s")
    print(f"{many['scenario']} / one incident: {result['ratio']:.2f}× the appends per second "
          "(what waiting for one incident's lock costs)")
    print(f"  one incident: the lock is held {one['lock_held_mean']:.1f} ms per append on average, a ceiling of "
          f"{1000 / one['lock_held_mean']:.0f} appends/s for one incident at this hold time"
          + ("; on SQLite the same write lock serialises every incident" if backend == "sqlite" else ""))
    base = result["baseline"]
    print(f"  one writer alone: {base['per_s']:.1f} appends/s; {args.writers} writers on {args.writers} incidents "
          f"reach {many['per_s'] / base['per_s']:.2f}× that (server and clients share one Python process and its GIL)")
    chains = sum(len(s["chain"]) for s in (base, one, many))
    print(f"chains        {'all verify' if not chains else f'{chains} PROBLEMS'}: ok, entries = appends + 1, "
          "seq gap-free in the answers and in the database")
    if backend == "sqlite" and one["per_s"] < SQLITE_APPENDS_FLOOR:
        print(f"  !! below {SQLITE_APPENDS_FLOOR} appends/s on SQLite")

    built, build_s = result["built"], result["build_s"]
    print(f"long chain    {built:,} entries appended with append_entry() in {build_s:.2f} s "
          f"({built / build_s if build_s else float('nan'):,.0f} entries/s, commit every {BUILD_BATCH:,})"
          + (", then VACUUM (ANALYZE) log_entries" if backend == "postgis" else ""))
    verify = result["verify"]
    med = statistics.median(verify["runs"])
    result["verify_s"], result["verify_per_s"] = med, args.entries / med if med else float("nan")
    runs = ", ".join(f"{r:.2f}" for r in verify["runs"])
    print(f"verify_log()  {args.entries:,} entries: median {med:.2f} s of {VERIFY_RUNS} ({runs}) → "
          f"{result['verify_per_s']:,.0f} entries/s")
    parts = verify["parts"]
    print(f"  where the time goes (once each): ORM load of the entries {parts['orm_load_s']:.2f} s, "
          f"hashing them {parts['hash_s']:.2f} s; bare SQL fetch of the same rows {parts['sql_fetch_s']:.2f} s")
    api = result["verify_api"]
    result["verify_api_s"] = api["verify_s"]
    print(f"API verify    GET …/log/verify: {api['verify_s']:.2f} s (server side {api['server_s']:.2f} s), "
          f"HTTP {api['status']}, {api['body'] if api['status'] == 200 else ''}")
    side = api["side_append"]
    if side["verify_left_ms"] <= 0:
        print(f"  an append to another incident, sent 0.25 s in: the verification had ended already "
              f"(HTTP {side['status']} after {side['ms']:.0f} ms)")
    else:
        print(f"  an append to another incident, sent 0.25 s in: HTTP {side['status']} after {side['ms']:.0f} ms; "
              f"the verification ended {side['verify_left_ms']:.0f} ms after it was sent"
              + (" (held up by it)" if side["ms"] >= side["verify_left_ms"] else " (not held up)"))
    if side["status"] != 201:
        print(f"  !! {side['body']!r}")
    if med > VERIFY_GOAL_S:
        print(f"  !! verifying {args.entries:,} entries takes more than {VERIFY_GOAL_S:g} s (see --profile)")
    if result["problems"]:
        print(f"FUNCTIONAL ERRORS: {len(result['problems'])}")
        for line in result["problems"][:20]:
            print("  " + line)
    if "append_profile" in result:
        print(f"\n-- cProfile of the serving thread, {PROFILE_APPENDS} appends from one writer --")
        print(result["append_profile"])
    if verify["profile"]:
        print(f"\n-- cProfile of one verify_log() of {args.entries:,} entries --")
        print(verify["profile"])


def table(results: list[dict], args) -> None:
    print("\n== Summary ==")
    w = args.writers
    head = (f"{'backend':9}{'1 inc/s':>9}{f'{w} inc/s':>9}{'ratio':>7}{'p50 ms':>8}{'p95 ms':>8}"
            f"{'build/s':>9}{'verify s':>10}{'API s':>8}{'verified/s':>12}  ok")
    print(head)
    print("-" * len(head))
    for r in results:
        if "verify_s" not in r:
            print(f"{r['backend']:9}  failed: {r.get('failure', 'see above')}")
            continue
        one, many = r["appends"]
        build = r["built"] / r["build_s"] if r["build_s"] else float("nan")
        print(f"{r['backend']:9}{one['per_s']:9.1f}{many['per_s']:9.1f}{r['ratio']:6.2f}×{one['latency'][0]:8.1f}"
              f"{one['latency'][1]:8.1f}{build:9,.0f}{r['verify_s']:10.2f}{r['verify_api_s']:8.2f}"
              f"{r['verify_per_s']:12,.0f}  {'yes' if not r['errors'] else 'NO'}")
    print(f"(appends/s with {w} writers on one incident and on {w} incidents, ratio = {w} inc / 1 inc; p50/p95: "
          f"latency of an append on one incident; verify: {args.entries:,} entries, verify_log() median and "
          "once through the API)")


def summarise(results: list[dict], args) -> None:
    """The figures for bench/all.py's table (with RIADO_BENCH_SUMMARY set, see bench/_summary.py)."""
    from bench._summary import failed, record

    w = args.writers
    for r in results:
        if "verify_s" not in r:
            failed("log", r["backend"], r.get("failure", "see above"))
            continue
        one, many = r["appends"]
        floor = (f"≥ {SQLITE_APPENDS_FLOOR}/s", one["per_s"] >= SQLITE_APPENDS_FLOOR) if r["backend"] == "sqlite" else (None, None)
        record("log", r["backend"], "appends/s, 1 writer", r["baseline"]["per_s"], "/s")
        record("log", r["backend"], f"appends/s, {w} writers, 1 incident", one["per_s"], "/s", *floor)
        record("log", r["backend"], f"appends/s, {w} writers, {w} incidents", many["per_s"], "/s")
        record("log", r["backend"], f"{w} incidents ÷ 1 incident", r["ratio"], "×")
        record("log", r["backend"], "append p50, 1 incident", one["latency"][0], "ms")
        record("log", r["backend"], "append p95, 1 incident", one["latency"][1], "ms")
        record("log", r["backend"], f"verify_log() {args.entries:,} entries", r["verify_s"], "s",
               f"≤ {VERIFY_GOAL_S:g} s", r["verify_s"] <= VERIFY_GOAL_S)
        record("log", r["backend"], "verify through the API", r["verify_api_s"], "s")
        record("log", r["backend"], "checks", "ok" if not r["errors"] else f"{r['errors']} problems", "")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgis", "both"), default="both")
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--appends", type=int, default=2000, help="appends in all, per scenario")
    parser.add_argument("--rounds", type=int, default=2,
                        help="the two scenarios alternate over this many rounds (A B B A …)")
    parser.add_argument("--entries", type=int, default=100_000, help="length of the chain to verify")
    parser.add_argument("--pg-url", default=os.environ.get("TEST_PG_URL", DEFAULT_PG_URL),
                        help="an administrative PostgreSQL URL; the bench creates and drops its own database")
    parser.add_argument("--profile", action="store_true",
                        help=f"cProfile {PROFILE_APPENDS} appends (serving thread) and one verify_log()")
    args = parser.parse_args(argv)
    if args.writers < 1 or args.rounds < 1 or args.appends < args.writers * args.rounds or args.entries < 2:
        parser.error("--writers and --rounds must be at least 1, --appends at least --writers × --rounds, "
                     "--entries at least 2")

    workdir = Path(tempfile.mkdtemp(prefix="riado-bench-"))
    # The app reads its settings at create_app: a private instance folder (secret key, queue
    # file), no Redis, no embedded worker.
    os.environ["RIADO_INSTANCE_PATH"] = str(workdir / "instance")
    for key in ("REDIS_URL", "SECRET_KEY", "RIADO_EMBEDDED_WORKER"):
        os.environ.pop(key, None)

    backends = ("sqlite", "postgis") if args.backend == "both" else (args.backend,)
    results = []
    try:
        for backend in backends:
            print(f"\n… {BACKEND_TITLES[backend]}: a fresh database", flush=True)
            try:
                result = run_backend(backend, args, workdir)
            except Exception as exc:  # noqa: BLE001 (report it, then measure the other backend)
                traceback.print_exc()
                results.append({"backend": backend, "errors": 1, "failure": " ".join(str(exc).split())[:120]})
                continue
            report(result, args)
            results.append(result)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    table(results, args)
    summarise(results, args)
    return 1 if any(r["errors"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
