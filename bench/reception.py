"""The reception register at the size of a large evacuation: 5,000 evacuees across 20 shelters,
on both backends.

    .venv/bin/python bench/reception.py [--backend sqlite|postgis|both] [--evacuees N] [--shelters N]
                                        [--queries N] [--pg-url URL] [--quick]

For each backend: a fresh database (as bench/spatial.py makes them), migrated, with ``--shelters``
shelters and one incident; ``--evacuees`` people checked in through the application's own
operation (``check_in_household``: households of one to six, each its own transaction with its
log entry and audit rows, as the desk writes them), names drawn from Hungarian surnames and given
names with their accents. Then, through the API as an officer would call it (Flask's test client,
bearer token, so the routing, the role check, the schema and the audit row are all in):

- search by name: ``GET /api/v1/evacuees?q=<a name typed without accents, in lower case>&limit=20``
  (``--queries`` different names; each writes its audit row);
- the reception summary: ``GET /api/v1/incidents/<id>/reception`` (headcounts per shelter).

Printed per backend: the medians and p95 against the goal of ≤ 50 ms each. Every search must
answer 200 with only people whose name holds the words searched, and the summary must count
every evacuee; the exit status is 1 only if something is wrong, never because of a timing.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import traceback
import unicodedata
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))  # runnable as a plain script from any folder

from bench._summary import failed, record  # noqa: E402
from bench.spatial import BACKEND_TITLES, DEFAULT_PG_URL, build_app, create_database, make_token  # noqa: E402

GOAL_MS = 50.0
SEED = 17
SURNAMES = ("Nagy", "Kovács", "Tóth", "Szabó", "Horváth", "Varga", "Kiss", "Molnár", "Németh", "Farkas", "Balogh",
            "Papp", "Takács", "Juhász", "Lakatos", "Mészáros", "Oláh", "Simon", "Rácz", "Fekete", "Szilágyi",
            "Török", "Fehér", "Balázs", "Gál", "Kis", "Szűcs", "Kocsis", "Orsós", "Pintér", "Fodor", "Szalai",
            "Sipos", "Magyar", "Lukács", "Gulyás", "Bíró", "Király", "Katona", "László", "Jakab", "Bogdán",
            "Balog", "Sándor", "Boros", "Fazekas", "Kelemen", "Antal", "Orosz", "Somogyi", "Őri", "Ürmössy")
GIVEN = ("Anna", "Ödön", "Éva", "Zoltán", "Erzsébet", "László", "Katalin", "István", "Ilona", "József", "Mária",
         "János", "Zsófia", "Bence", "Réka", "Péter", "Júlia", "Gábor", "Noémi", "Ákos", "Enikő", "Dávid",
         "Lőrinc", "Gyöngyi", "Ágnes", "Imre", "Tünde", "Bálint", "Orsolya", "Csaba")
NEEDS = ("wheelchair", "medication", "oxygen", "dialysis", "infant", "pet", "other")
DEFAULTS = {"evacuees": 5000, "shelters": 20, "queries": 200}
QUICK = {"evacuees": 300, "shelters": 5, "queries": 30}


def plain(text: str) -> str:
    """How a relative's name is typed on a phone call: lower case, no accents."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).lower()


def load(app, shelters: int, evacuees: int) -> tuple[int, list[int], float]:
    """The shelters, one incident and the evacuees (through the operations): (incident id,
    shelter ids, seconds the check-ins took)."""
    from incident.audit import set_actor
    from incident.extensions import db
    from incident.operations import evacuees as evacuee_ops
    from incident.operations import incidents as incident_ops
    from incident.operations import resources as resource_ops

    rng = random.Random(SEED)
    capacity = 2 * evacuees // shelters + 10  # households fill the shelters unevenly
    with app.test_request_context():
        set_actor(None, "bench")
        ids = []
        for i in range(shelters):
            shelter = resource_ops.create_resource({
                "name": f"Befogadóhely {i + 1:02d}", "kind": "shelter", "quantity": 1, "capacity": capacity,
                "location": {"type": "Point", "coordinates": [19.04 + i * 0.001, 47.49 + i * 0.001]}})
            db.session.flush()
            ids.append(shelter.id)
        incident = incident_ops.create_incident({"title": "Dunai árvíz – kitelepítés", "kind": "flood",
                                                 "severity": "severe",
                                                 "location": {"type": "Point", "coordinates": [19.0493, 47.4957]}})
        db.session.commit()
        incident_id = incident.id
        started = time.perf_counter()
        made = households = 0
        while made < evacuees:
            size = min(rng.randint(1, 6), evacuees - made)
            surname = rng.choice(SURNAMES)
            members = []
            for _ in range(size):
                members.append({"name": f"{surname} {rng.choice(GIVEN)}", "birth_year": rng.randint(1925, 2025),
                                "needs": [n for n in NEEDS if rng.random() < 0.04]})
            evacuee_ops.check_in_household({"incident_id": incident_id, "shelter_id": ids[households % shelters]},
                                           members,
                                           f"{surname} család {made}")
            db.session.commit()
            made += size
            households += 1
        return incident_id, ids, time.perf_counter() - started


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def run_backend(backend: str, args, workdir: Path) -> dict:
    """Set up one backend, measure, and return the figures."""
    result = {"backend": backend, "errors": []}
    url, drop = create_database(backend, workdir, args.pg_url)
    try:
        app = build_app(url)
        incident_id, _shelters, load_s = load(app, args.shelters, args.evacuees)
        result["load_s"] = load_s
        token = make_token(app)
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        rng = random.Random(SEED + 1)
        names = [f"{rng.choice(SURNAMES)} {rng.choice(GIVEN)}" for _ in range(args.queries)]
        searches = []
        for name in names:
            typed = plain(name)
            started = time.perf_counter()
            response = client.get("/api/v1/evacuees", query_string={"q": typed, "limit": 20}, headers=headers)
            searches.append((time.perf_counter() - started) * 1000)
            body = response.get_json()
            if response.status_code != 200:
                result["errors"].append(f"search {typed!r}: {response.status_code}")
                continue
            words = typed.split()
            if any(not all(w in plain(item["name"]) for w in words) for item in body["items"]):
                result["errors"].append(f"search {typed!r}: a person whose name does not match")
        summaries = []
        for _ in range(max(20, args.queries // 4)):
            started = time.perf_counter()
            response = client.get(f"/api/v1/incidents/{incident_id}/reception", headers=headers)
            summaries.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200 or response.get_json()["totals"]["present"] != args.evacuees:
                result["errors"].append(f"summary: {response.status_code}, {response.get_json().get('totals')}")
                break
        result.update(search_med=statistics.median(searches), search_p95=percentile(searches, 0.95),
                      summary_med=statistics.median(summaries), summary_p95=percentile(summaries, 0.95))
        with app.app_context():
            from incident.extensions import db

            result["version"] = db.engine.dialect.name
            db.engine.dispose()
    except Exception as exc:  # a failed backend is reported, the other still runs
        traceback.print_exc()
        result["failure"] = f"{type(exc).__name__}: {exc}"
    finally:
        drop()
    return result


def report(results: list[dict], args) -> None:
    print(f"\nReception: {args.evacuees:,} evacuees in {args.shelters} shelters, {args.queries} name searches "
          f"(goal ≤ {GOAL_MS:g} ms each)")
    print(f"{'backend':10}{'load s':>9}{'search med':>12}{'p95':>8}{'summary med':>13}{'p95':>8}  goal")
    for r in results:
        backend = r["backend"]
        if "failure" in r:
            print(f"{backend:10}  failed: {r['failure']}")
            failed("reception", backend, r["failure"])
            continue
        met = r["search_med"] <= GOAL_MS and r["summary_med"] <= GOAL_MS
        print(f"{backend:10}{r['load_s']:9.1f}{r['search_med']:10.1f}ms{r['search_p95']:6.1f}ms"
              f"{r['summary_med']:11.1f}ms{r['summary_p95']:6.1f}ms  {'met' if met else 'not met'}")
        for error in r["errors"][:10]:
            print(f"  wrong: {error}")
        record("reception", backend, "evacuees", args.evacuees, "")
        record("reception", backend, "search by name median", r["search_med"], "ms", f"≤ {GOAL_MS:g} ms",
               r["search_med"] <= GOAL_MS)
        record("reception", backend, "search by name p95", r["search_p95"], "ms")
        record("reception", backend, "reception summary median", r["summary_med"], "ms", f"≤ {GOAL_MS:g} ms",
               r["summary_med"] <= GOAL_MS)
        record("reception", backend, "check-ins (households), seconds", r["load_s"], "s")
        record("reception", backend, "checks", "ok" if not r["errors"] else f"{len(r['errors'])} wrong", "")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgis", "both"), default="both")
    parser.add_argument("--evacuees", type=int)
    parser.add_argument("--shelters", type=int)
    parser.add_argument("--queries", type=int)
    parser.add_argument("--pg-url", default=os.environ.get("TEST_PG_URL", DEFAULT_PG_URL),
                        help="an administrative PostgreSQL URL; the bench creates and drops its own database")
    parser.add_argument("--quick", action="store_true", help="small sizes: checks that it works")
    args = parser.parse_args(argv)
    for key, value in (QUICK if args.quick else DEFAULTS).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    backends = ("sqlite", "postgis") if args.backend == "both" else (args.backend,)
    results = []
    with tempfile.TemporaryDirectory(prefix="riado-bench-reception-") as tmp:
        # The app reads its settings at create_app: a private instance folder, no Redis, no worker.
        os.environ["RIADO_INSTANCE_PATH"] = str(Path(tmp) / "instance")
        for key in ("REDIS_URL", "SECRET_KEY", "RIADO_EMBEDDED_WORKER"):
            os.environ.pop(key, None)
        for backend in backends:
            print(f"== {BACKEND_TITLES[backend]} ==", flush=True)
            results.append(run_backend(backend, args, Path(tmp)))
    report(results, args)
    return 1 if any("failure" in r or r["errors"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
