"""Reads and writes through the production server under concurrent load, beside a bare Flask
endpoint served the same way, on both backends.

    .venv/bin/python bench/api.py [--backend sqlite|postgis|both] [--connections N] [--duration S]
                                  [--warmup S] [--resources N] [--incidents N] [--workers N]
                                  [--threads N] [--pg-url URL] [--quick]

For each backend: a fresh database (as bench/spatial.py makes them), migrated, with
``--resources`` resources over greater Budapest (bench/spatial.py's rows), an officer and a
bearer token. Then two servers, each a process of its own started as deployed:

- Riadó: ``riado serve --workers N --threads N`` (gunicorn, gthread workers, its access log on,
  no embedded queue consumer), on that database;
- bare: ``bench/_bare.py``, a Flask app whose one endpoint answers a small JSON document,
  served by incident/server.py's own ``serve()`` with the same options (only the application
  differs).

Load comes from a third process (bench/_loadgen.py): ``--connections`` threads, each on its own
keep-alive connection (TCP_NODELAY), requests back to back for ``--warmup`` + ``--duration``
seconds per case:

- bare: ``GET /bare`` (measured first and last; the ratios use the mean of the two);
- read, list: ``GET /api/v1/resources?limit=20&offset=…`` (the first 50 pages);
- read, nearest: ``GET /api/v1/resources?lat=…&lon=…&limit=5`` (nearest first, random points);
- write, log: ``POST /api/v1/incidents/<id>/log`` spread over ``--incidents`` incidents (the
  appends to one incident queue for its row lock; on SQLite every write queues for the
  database's write lock).

Printed per backend: requests/s, p50 and p99 latency, the ratio to the bare endpoint, the
server's CPU time per answer (which the machine's load changes far less than requests/s) and
the ratio to BEFORE (the figures before issue 12), with whether the reads meet issue 12's goals
(≥ 0.25× bare, ≥ 3× before).
Everything is counted: every answer must be 200 (201 for appends); the servers' access logs
must hold one line per answer; after the writes every incident's chain must verify with exactly
as many entries as appends were answered 201 (plus the system's first entry); the servers'
logs must show no error. Timing never fails the run: the exit status is 1 only if something is
wrong.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))  # runnable as a plain script from any folder

from bench._processes import RIADO, Process, free_port, riado_env, wait_http  # noqa: E402
from bench._summary import failed, record  # noqa: E402
from bench.log import Client, create_incident, entry_text, verify_api  # noqa: E402
from bench.spatial import (  # noqa: E402
    BACKEND_TITLES,
    DEFAULT_PG_URL,
    build_app,
    create_database,
    load_resources,
    make_token,
    query_points,
    resource_rows,
)

LOADGEN = REPO_ROOT / "bench" / "_loadgen.py"
BARE = REPO_ROOT / "bench" / "_bare.py"
ACCESS_LINE = re.compile(r'"(GET|POST|PUT|PATCH|DELETE) ([^ ?"]+)\S* HTTP/1\.[01]" (\d{3}) ')
LOG_PATH = re.compile(r"^/api/v1/incidents/\d+/log$")
PAGES = 50
POINTS = 2000
DEFAULTS = {"duration": 10.0, "warmup": 2.0, "resources": 10_000}
# Issue 12's goals for the reads (list, nearest): requests/s at least GOAL_BARE × the bare
# endpoint's, and GOAL_BEFORE × BEFORE, the requests/s that bench/README.md recorded on this
# machine before the issue's changes (same options; the load they were measured under is there).
GOAL_BARE = 0.25
GOAL_BEFORE = 3.0
BEFORE = {"sqlite": {"list": 95.0, "nearest": 108.0, "write": 118.0},
          "postgis": {"list": 89.0, "nearest": 82.0, "write": 103.0}}
QUICK = {"duration": 3.0, "warmup": 1.0, "resources": 2_000}


# Cases ---------------------------------------------------------------------------------------


def cases(incident_ids: list[int]) -> list[dict]:
    """The measured cases, in the order they run (bare first and last)."""
    points = query_points(POINTS)
    bare = {"key": "bare", "label": "bare Flask: GET /bare", "server": "bare", "expect": "200",
            "access": ("GET", "/bare"), "requests": [["GET", "/bare", None]]}
    listing = {"key": "list", "label": "read: GET /resources?limit=20", "server": "riado", "expect": "200",
               "access": ("GET", "/api/v1/resources"),
               "requests": [["GET", f"/api/v1/resources?limit=20&offset={20 * p}", None] for p in range(PAGES)]}
    nearest = {"key": "nearest", "label": "read: nearest-5 (lat, lon)", "server": "riado", "expect": "200",
               "access": ("GET", "/api/v1/resources"),
               "requests": [["GET", "/api/v1/resources?" + urlencode({"lat": f"{lat:.6f}", "lon": f"{lon:.6f}", "limit": 5}),
                             None] for lon, lat in points]}
    write = {"key": "write", "label": f"write: POST /incidents/<id>/log ({len(incident_ids)} inc.)", "server": "riado",
             "expect": "201", "access": ("POST", LOG_PATH),
             "requests": [["POST", f"/api/v1/incidents/{incident_ids[n % len(incident_ids)]}/log",
                           {"text": entry_text(n % len(incident_ids), n), "kind": "note"}] for n in range(POINTS)]}
    return [bare, listing, nearest, write, dict(bare, key="bare2")]


def run_load(port: int, token: str | None, case: dict, args) -> dict:
    """One case through the load generator (a process of its own)."""
    spec = {"host": "127.0.0.1", "port": port, "connections": args.connections, "duration": args.duration,
            "warmup": args.warmup, "headers": {"Authorization": f"Bearer {token}"} if token else {},
            "requests": case["requests"]}
    child = subprocess.run([sys.executable, str(LOADGEN)], input=json.dumps(spec), capture_output=True, text=True,
                           timeout=args.warmup + args.duration + 300, cwd=REPO_ROOT)
    if child.returncode:
        raise RuntimeError(f"the load generator failed ({child.returncode}): {child.stderr.strip()[-800:]}")
    return json.loads(child.stdout)


def access_counts(process: Process) -> Counter:
    """(method, path, status) → lines in the server's access log."""
    counts: Counter = Counter()
    for match in ACCESS_LINE.finditer(process.text()):
        counts[(match.group(1), match.group(2), match.group(3))] += 1
    return counts


def logged(counts: Counter, access: tuple) -> dict[str, int]:
    """Statuses of the access-log lines of one case's requests."""
    method, path = access
    out: dict[str, int] = {}
    for (m, p, status), n in counts.items():
        if m == method and (path.match(p) if hasattr(path, "match") else p == path):
            out[status] = out.get(status, 0) + n
    return out


def diff(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)}


# One backend ----------------------------------------------------------------------------------


def probe(client: Client, result: dict) -> None:
    """One answer of each read checked by content before the load (the load checks statuses)."""
    status, body = client.request("GET", "/api/v1/resources?limit=20")
    data = json.loads(body) if status == 200 else {}
    if status != 200 or len(data.get("items", [])) != 20 or data.get("total") != result["resources"]:
        result["problems"].append(f"GET /resources?limit=20: HTTP {status}, {len(data.get('items', []))} items, "
                                  f"total {data.get('total')} (expected 20 of {result['resources']})")
    lon, lat = query_points(1)[0]
    status, body = client.request("GET", "/api/v1/resources?" + urlencode({"lat": lat, "lon": lon, "limit": 5}))
    items = json.loads(body).get("items", []) if status == 200 else []
    distances = [item.get("distance_m") for item in items]
    if status != 200 or len(items) != 5 or None in distances or distances != sorted(distances):
        result["problems"].append(f"nearest-5: HTTP {status}, distances {distances}")


def run_backend(backend: str, args, workdir: Path) -> dict:
    from incident.extensions import db

    result = {"backend": backend, "problems": [], "resources": args.resources, "cases": {},
              "load": [os.getloadavg()[0]]}
    url, drop = create_database(backend, workdir, args.pg_url)
    folder = workdir / backend
    folder.mkdir()
    instance = folder / "instance"
    os.environ["RIADO_INSTANCE_PATH"] = str(instance)  # read by build_app's create_app
    processes: list[Process] = []
    app = client = None
    try:
        app = build_app(url)
        with app.app_context():
            result["version"] = app.config.get("RIADO_DATABASE_VERSION", "")
        load_resources(app, resource_rows(args.resources))
        token = make_token(app)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()  # the servers have the database to themselves

        env = riado_env(url, instance)
        riado_port, bare_port = free_port(), free_port()
        sizing = ["--workers", str(args.workers), "--threads", str(args.threads)]
        riado = Process("riado serve", [RIADO, "serve", "--host", "127.0.0.1", "--port", str(riado_port), *sizing],
                        env, folder / "riado-serve.log")
        processes.append(riado)
        bare = Process("bare server", [sys.executable, str(BARE), "--host", "127.0.0.1", "--port", str(bare_port),
                                       *sizing], env, folder / "bare-serve.log")
        processes.append(bare)
        result["start_s"] = wait_http(riado_port, "/healthz", riado)
        wait_http(bare_port, "/bare", bare)
        for process in (riado, bare):  # the same server, the same settings
            text = process.text()
            booted = text.count("Booting worker with pid")
            if "Using worker: gthread" not in text or booted != args.workers:
                result["problems"].append(f"{process.name}: {booted} gthread workers booted, expected {args.workers}")

        client = Client(riado_port, token)
        probe(client, result)
        incident_ids = [create_incident(client, f"Terhelési próba, {i + 1}. eset")["id"] for i in range(args.incidents)]
        client.close()
        client = None

        for case in cases(incident_ids):
            server = riado if case["server"] == "riado" else bare
            port = riado_port if server is riado else bare_port
            print(f"  {case['label']}: {args.connections} connections, {args.warmup:g} s warm-up + "
                  f"{args.duration:g} s", flush=True)
            before = logged(access_counts(server), case["access"])
            cpu_before = server.cpu_seconds()
            run = run_load(port, token if server is riado else None, case, args)
            time.sleep(0.5)  # the access log line is written after the answer is sent
            run["logged"] = diff(logged(access_counts(server), case["access"]), before)
            # The server's CPU time per answer (warm-up included): what a request costs, which
            # the machine's load changes far less than requests/s.
            answers = sum(run["statuses_all"].values())
            run["cpu_ms"] = (server.cpu_seconds() - cpu_before) * 1000 / answers if answers else None
            run["label"] = case["label"]
            result["cases"][case["key"]] = run
            answered = run["statuses_all"]
            unexpected = {s: n for s, n in answered.items() if s != case["expect"]}
            if unexpected or run["errors"]:
                result["problems"].append(f"{case['label']}: answers {answered}, {run['errors']} connection errors "
                                          f"{run['error_samples'][:3]}")
            if not run["requests"]:
                result["problems"].append(f"{case['label']}: no request completed in the measured window")
            if run["logged"] != answered:
                result["problems"].append(f"{case['label']}: the load generator got {answered}, "
                                          f"the access log has {run['logged']}")

        # The writes, reconciled: every 201 is an entry, and every chain holds.
        client = Client(riado_port, token)
        appended = result["cases"]["write"]["statuses_all"].get("201", 0)
        stored = 0
        for incident_id in incident_ids:
            status, body = verify_api(client, incident_id)
            if status != 200 or not body["ok"]:
                result["problems"].append(f"incident {incident_id}: verify answered HTTP {status} {body!r:.200}")
                continue
            stored += body["entries"] - 1  # the system's first entry ("incident reported")
        result["appended"], result["stored"] = appended, stored
        if stored != appended:
            result["problems"].append(f"{appended} appends answered 201, {stored} entries in the chains")
        client.close()
        client = None
        result["load"].append(os.getloadavg()[0])
    finally:
        if client is not None:
            client.close()
        for process in processes:
            process.stop()
        for process in processes:
            result["problems"] += process.problems()
        if app is not None:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
        drop()
    return result


# Report ---------------------------------------------------------------------------------------


def fmt(value, spec: str) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, spec)


def bare_figures(result: dict) -> dict:
    """The bare endpoint's figures: the mean of its first and last run."""
    runs = [result["cases"][k] for k in ("bare", "bare2") if k in result["cases"]]
    mean = {}
    for key in ("rps", "p50_ms", "p99_ms"):
        values = [r[key] for r in runs if r[key] is not None]
        mean[key] = sum(values) / len(values) if values else None
    return mean


def report(result: dict, args) -> None:
    backend = result["backend"]
    print(f"\n== {BACKEND_TITLES[backend]} ({result.get('version', '')}) ==")
    load = " → ".join(f"{v:.2f}" for v in result["load"])
    print(f"machine       {os.cpu_count()} CPUs, 1-minute load average {load} (start → end); the servers and the load "
          "generator share them")
    print(f"servers       riado serve and the bare app: gunicorn gthread, {args.workers} workers × {args.threads} threads, "
          f"access log on; Riadó up in {result['start_s']:.1f} s")
    print(f"load          {args.connections} keep-alive connections from a separate process, closed loop, "
          f"{args.warmup:g} s warm-up + {args.duration:g} s per case; {result['resources']:,} resources")
    bare = bare_figures(result)
    result["bare"] = bare
    head = (f"{'case':44}{'answers':>9}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'req/s ÷ bare':>14}{'p50 × bare':>12}"
            f"{'CPU ms/req':>12}{'req/s ÷ before':>16}")
    print(head)
    for key in ("bare", "list", "nearest", "write", "bare2"):
        run = result["cases"].get(key)
        if run is None:
            continue
        label = run["label"] + (" (again)" if key == "bare2" else "")
        rps_ratio = run["rps"] / bare["rps"] if bare["rps"] and run["rps"] is not None else None
        p50_ratio = run["p50_ms"] / bare["p50_ms"] if bare["p50_ms"] and run["p50_ms"] is not None else None
        run["rps_ratio"], run["p50_ratio"] = rps_ratio, p50_ratio
        before = BEFORE.get(backend, {}).get(key)
        run["before_ratio"] = run["rps"] / before if before and run["rps"] is not None else None
        print(f"{label:44}{run['requests']:9,}{fmt(run['rps'], '9.1f')}{fmt(run['p50_ms'], '9.2f')}"
              f"{fmt(run['p99_ms'], '9.2f')}{fmt(rps_ratio, '13.3f')}×{fmt(p50_ratio, '11.1f')}×"
              f"{fmt(run.get('cpu_ms'), '12.2f')}" + (f"{fmt(run['before_ratio'], '15.2f')}×" if before else ""))
    print("  (answers: completed in the measured window; ratios against the mean of the two bare runs; CPU: the "
          "server's, per answer; ÷ before: against BEFORE, the figures before issue 12)")
    for key in ("list", "nearest"):
        run = result["cases"].get(key)
        if run and run.get("rps_ratio") is not None:
            print(f"goal          {run['label']}: {run['rps_ratio']:.3f}× bare (goal ≥ {GOAL_BARE:g}×, "
                  f"{'met' if run['rps_ratio'] >= GOAL_BARE else 'not met'})"
                  + (f", {run['before_ratio']:.2f}× before (goal ≥ {GOAL_BEFORE:g}×, "
                     f"{'met' if run['before_ratio'] >= GOAL_BEFORE else 'not met'})" if run.get("before_ratio") else ""))
    if "appended" in result:
        print(f"writes        {result['appended']:,} appends answered 201 (warm-up included), {result['stored']:,} "
              f"entries in the {args.incidents} chains, every chain verifies"
              if not result["problems"] else
              f"writes        {result['appended']:,} appends answered 201, {result['stored']:,} entries in the chains")
    if result["problems"]:
        print(f"PROBLEMS ({len(result['problems'])}):")
        for line in result["problems"][:20]:
            print("  " + line)
    else:
        print("checks        every answer 200/201, one access-log line per answer, no error in the servers' logs")


def summarise(result: dict) -> None:
    backend = result["backend"]
    bare = result["bare"]
    record("api", backend, "bare req/s", bare["rps"], "req/s")
    record("api", backend, "bare p50", bare["p50_ms"], "ms")
    for key, name in (("list", "list"), ("nearest", "nearest-5"), ("write", "log append")):
        run = result["cases"].get(key)
        if run is None:
            continue
        record("api", backend, f"{name} req/s", run["rps"], "req/s")
        record("api", backend, f"{name} p50", run["p50_ms"], "ms")
        record("api", backend, f"{name} p99", run["p99_ms"], "ms")
        goal = key in ("list", "nearest")
        ratio = run.get("rps_ratio")
        record("api", backend, f"{name} req/s ÷ bare", ratio, "×", f"≥ {GOAL_BARE:g}×" if goal else None,
               ratio is not None and ratio >= GOAL_BARE if goal else None)
        record("api", backend, f"{name} CPU per request", run.get("cpu_ms"), "ms")
        if run.get("before_ratio") is not None:
            record("api", backend, f"{name} req/s ÷ before", run["before_ratio"], "×", f"≥ {GOAL_BEFORE:g}×" if goal else None,
                   run["before_ratio"] >= GOAL_BEFORE if goal else None)
    record("api", backend, "checks", "ok" if not result["problems"] else f"{len(result['problems'])} problems", "")


def table(results: list[dict]) -> None:
    print("\n== Summary ==")
    head = (f"{'backend':9}{'bare/s':>8}{'list/s':>8}{'p50':>7}{'p99':>7}{'near/s':>8}{'p50':>7}{'p99':>7}"
            f"{'write/s':>9}{'p50':>7}{'p99':>7}{'list÷bare':>11}{'near÷bare':>11}{'write÷bare':>11}"
            f"{'list÷before':>13}{'near÷before':>13}{'CPU ms list/near':>18}  ok")
    print(head)
    print("-" * len(head))
    for r in results:
        if "bare" not in r:
            print(f"{r['backend']:9}  failed: {r.get('failure', 'see above')}")
            continue
        c = r["cases"]
        print(f"{r['backend']:9}{fmt(r['bare']['rps'], '8.0f')}"
              + "".join(f"{fmt(c[k]['rps'], '8.0f') if k != 'write' else fmt(c[k]['rps'], '9.0f')}"
                        f"{fmt(c[k]['p50_ms'], '7.1f')}{fmt(c[k]['p99_ms'], '7.1f')}" for k in ("list", "nearest", "write"))
              + "".join(f"{fmt(c[k].get('rps_ratio'), '10.3f')}×" for k in ("list", "nearest", "write"))
              + "".join(f"{fmt(c[k].get('before_ratio'), '12.2f')}×" for k in ("list", "nearest"))
              + f"{fmt(c['list'].get('cpu_ms'), '11.2f')} / {fmt(c['nearest'].get('cpu_ms'), '.2f')}"
              + f"  {'yes' if not r['problems'] else 'NO'}")
    print("(requests per second and latency in ms under the same concurrent load; ÷ bare: Riadó's requests/s over the "
          f"bare Flask endpoint's on the same server settings, goal ≥ {GOAL_BARE:g}×; ÷ before: over the figures before "
          f"issue 12 (BEFORE), goal ≥ {GOAL_BEFORE:g}×; CPU: the server's per answer)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgis", "both"), default="both")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--duration", type=float, help=f"measured seconds per case (default {DEFAULTS['duration']:g})")
    parser.add_argument("--warmup", type=float,
                        help=f"seconds of load before each measurement (default {DEFAULTS['warmup']:g})")
    parser.add_argument("--resources", type=int, help=f"resources in the database (default {DEFAULTS['resources']:,})")
    parser.add_argument("--incidents", type=int, default=8, help="incidents the appends are spread over")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (riado serve's default)")
    parser.add_argument("--threads", type=int, default=8, help="threads per worker (riado serve's default)")
    parser.add_argument("--pg-url", default=os.environ.get("TEST_PG_URL", DEFAULT_PG_URL),
                        help="an administrative PostgreSQL URL; the bench creates and drops its own database")
    parser.add_argument("--quick", action="store_true",
                        help=f"a short run: {QUICK['warmup']:g} s + {QUICK['duration']:g} s per case, "
                             f"{QUICK['resources']:,} resources (explicit options win)")
    args = parser.parse_args(argv)
    for key, value in (QUICK if args.quick else DEFAULTS).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.connections < 1 or args.duration <= 0 or args.warmup < 0 or args.resources < 20 or args.incidents < 1:
        parser.error("--connections and --incidents must be at least 1, --duration positive, --resources at least 20")

    workdir = Path(tempfile.mkdtemp(prefix="riado-bench-api-"))
    for key in ("REDIS_URL", "SECRET_KEY", "RIADO_EMBEDDED_WORKER"):
        os.environ.pop(key, None)
    backends = ("sqlite", "postgis") if args.backend == "both" else (args.backend,)
    results = []
    try:
        for backend in backends:
            print(f"\n… {BACKEND_TITLES[backend]}: a fresh database, {args.resources:,} resources, then the servers",
                  flush=True)
            try:
                result = run_backend(backend, args, workdir)
            except Exception as exc:  # noqa: BLE001 (report it, then measure the other backend)
                traceback.print_exc()
                reason = " ".join(str(exc).split())[:120]
                results.append({"backend": backend, "problems": [reason], "failure": reason})
                failed("api", backend, reason)
                continue
            report(result, args)
            summarise(result)
            results.append(result)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    table(results)
    return 1 if any(r["problems"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
