"""CPU time per unit of work, in one process: what a broadcast message, a status callback and an
API read cost Riadó itself, a figure that the machine's load changes far less than a rate.

    .venv/bin/python bench/cpu.py [--backend sqlite|postgis|both] [--messages N] [--requests N]
                                  [--pg-url URL] [--quick]

For each backend: a fresh database (as bench/spatial.py makes them), migrated, with an officer
and a bearer token, ``--messages`` contacts in one alert group and 10,000 resources. Then, each
measured as the CPU time of the thread that does the work (``time.thread_time``):

- **drain**: an SMS alert to the group, sent by ``alerts.tasks.drain`` (the queue consumer's
  loop: claim, the twilio SDK's request, record) to the fake Twilio of tests/fake_twilio.py in
  this process (answering at once); per message;
- **callback**: each message's signed ``delivered`` status callback through the app
  (``POST /webhooks/twilio/status``, Flask's test client); per callback;
- **API**: ``GET /api/v1/resources?limit=20``, nearest-5 by ``lat``/``lon``, and a route that
  does nothing but answer (the app's own per-request work: sign-in by token, the security
  headers, the access log), each ``--requests`` times after a warm-up; per request.

The fake's threads and the test client's own work are not in the drain's figure; the test client
is in the others (it costs less than a real server's HTTP parsing). Everything is counted: every
recipient must get exactly one message at the fake, every callback and read must be answered
200, and the alert must end with every delivery delivered; the exit status is 1 only then.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))  # runnable as a plain script from any folder
sys.path.insert(0, str(REPO_ROOT / "tests"))  # the fake Twilio

from bench._summary import failed, record  # noqa: E402
from bench.spatial import (  # noqa: E402
    BACKEND_TITLES,
    DEFAULT_PG_URL,
    build_app,
    create_database,
    load_resources,
    make_token,
    resource_rows,
)

DEFAULTS = {"messages": 2000, "requests": 1000}
QUICK = {"messages": 200, "requests": 100}
SENDER = "+3612345678"
PUBLIC_URL = "http://riado.invalid"


def per_unit_ms(fn, n: int) -> float:
    """Milliseconds of this thread's CPU per call of ``fn`` (``n`` calls)."""
    started = time.thread_time()
    for _ in range(n):
        fn()
    return (time.thread_time() - started) / n * 1000


def run_backend(backend: str, args, workdir: Path) -> dict:
    from fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio
    from twilio.request_validator import RequestValidator

    from bench.broadcast import make_recipients

    result = {"backend": backend, "problems": []}
    fake = FakeTwilio().start()
    os.environ.update(TWILIO_ACCOUNT_SID=ACCOUNT_SID, TWILIO_AUTH_TOKEN=AUTH_TOKEN, TWILIO_FROM=SENDER,
                      TWILIO_API_URL=fake.url, PUBLIC_URL=PUBLIC_URL,
                      RIADO_INSTANCE_PATH=str(workdir / backend / "instance"))
    url, drop = create_database(backend, workdir, args.pg_url)
    try:
        app = build_app(url)
        token = make_token(app)
        group_id, phones, _ = make_recipients(app, args.messages)
        load_resources(app, resource_rows(10_000))

        from flask import jsonify

        from alerts.channels import Gateways
        from alerts.models import Delivery
        from alerts.tasks import drain
        from incident.extensions import db

        client = app.test_client()
        auth = {"Authorization": f"Bearer {token}"}
        answer = client.post("/api/v1/alerts", json={"body": "Próba: terhelési mérés", "groups": [group_id],
                                                     "drill": True}, headers=auth)
        if answer.status_code != 202:
            raise RuntimeError(f"POST /api/v1/alerts: HTTP {answer.status_code}: {answer.data[:300]!r}")
        alert_id = answer.get_json()["id"]

        with app.app_context():
            gateways = Gateways(app.config)
            started = time.thread_time()
            sent = drain(app, alert_id, gateways)
            result["drain_ms"] = (time.thread_time() - started) / max(sent, 1) * 1000
            rows = db.session.execute(
                db.select(Delivery.id, Delivery.provider_sid).where(Delivery.alert_id == alert_id)
            ).all()
            db.session.rollback()
        got = sorted(m.to for m in fake.messages)
        if got != sorted(phones):
            result["problems"].append(f"the fake got {len(got)} messages for {len(phones)} recipients "
                                      f"({len(set(got))} numbers)")

        validator = RequestValidator(AUTH_TOKEN)
        callbacks = []
        for delivery_id, sid in rows:
            path = f"/webhooks/twilio/status?d={delivery_id}"
            form = {"MessageSid": sid, "MessageStatus": "delivered", "AccountSid": ACCOUNT_SID}
            callbacks.append((path, form, validator.compute_signature(PUBLIC_URL + path, form)))
        statuses = []
        started = time.thread_time()
        for path, form, signature in callbacks:
            statuses.append(client.post(path, data=form, headers={"X-Twilio-Signature": signature}).status_code)
        result["callback_ms"] = (time.thread_time() - started) / max(len(callbacks), 1) * 1000
        if set(statuses) != {200}:
            result["problems"].append(f"callbacks answered {sorted(set(statuses))}, not all 200")
        counts = client.get(f"/api/v1/alerts/{alert_id}", headers=auth).get_json()["counts"]
        if counts.get("delivered") != args.messages:
            result["problems"].append(f"the alert counts {counts.get('delivered')} delivered of {args.messages}")

        # A route that only answers: the app's own work for every request (added to this
        # process's app alone; nothing else of the app has it).
        app.view_functions["bench_answer"] = lambda: jsonify(ok=True)
        app.url_map.add(app.url_rule_class("/api/v1/bench-answer", endpoint="bench_answer", methods=["GET"]))
        reads = {
            "answer_ms": "/api/v1/bench-answer",
            "list_ms": "/api/v1/resources?limit=20&offset=40",
            "nearest_ms": "/api/v1/resources?lat=47.4979&lon=19.0402&limit=5",
        }
        for key, path in reads.items():
            codes = set()

            def get(path=path, codes=codes):
                codes.add(client.get(path, headers=auth).status_code)

            per_unit_ms(get, max(args.requests // 10, 10))  # warm-up: caches, the pool
            result[key] = per_unit_ms(get, args.requests)
            if codes != {200}:
                result["problems"].append(f"{path} answered {sorted(codes)}")
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    except Exception:  # noqa: BLE001 - a benchmark reports what went wrong and goes on
        result["failure"] = traceback.format_exc(limit=3)
    finally:
        fake.stop()
        drop()
    return result


FIGURES = (
    ("drain_ms", "drain, per message"),
    ("callback_ms", "status callback"),
    ("answer_ms", "API: a route that only answers"),
    ("list_ms", "API: GET /resources?limit=20"),
    ("nearest_ms", "API: nearest-5"),
)


def report(results: list[dict]) -> None:
    print(f"\n{'CPU ms per unit of work':36s}" + "".join(f"{BACKEND_TITLES[r['backend']]:>24s}" for r in results))
    for key, title in FIGURES:
        cells = "".join(f"{r[key]:24.2f}" if key in r else f"{'—':>24s}" for r in results)
        print(f"{title:36s}{cells}")
    print(f"(load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs: CPU time grows a little with the "
          f"load, far less than a rate)")
    for r in results:
        for key, title in FIGURES:
            if key in r:
                record("cpu", r["backend"], title, round(r[key], 3), "ms")
        if "failure" in r:
            failed("cpu", r["backend"], r["failure"].strip().splitlines()[-1])
            print(f"{r['backend']}: FAILED\n{r['failure']}")
        for problem in r["problems"]:
            print(f"{r['backend']}: PROBLEM: {problem}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgis", "both"), default="both")
    parser.add_argument("--messages", type=int)
    parser.add_argument("--requests", type=int)
    parser.add_argument("--pg-url", default=os.environ.get("TEST_PG_URL", DEFAULT_PG_URL),
                        help="an administrative PostgreSQL URL; the bench creates and drops its own database")
    parser.add_argument("--quick", action="store_true", help="small sizes: checks that it works")
    args = parser.parse_args(argv)
    for key, value in (QUICK if args.quick else DEFAULTS).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    for key in ("REDIS_URL", "SECRET_KEY", "RIADO_EMBEDDED_WORKER"):
        os.environ.pop(key, None)
    backends = ("sqlite", "postgis") if args.backend == "both" else (args.backend,)
    results = []
    with tempfile.TemporaryDirectory(prefix="riado-bench-cpu-") as tmp:
        for backend in backends:
            print(f"== {BACKEND_TITLES[backend]} ==", flush=True)
            results.append(run_backend(backend, args, Path(tmp)))
    report(results)
    return 1 if any("failure" in r or r["problems"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
