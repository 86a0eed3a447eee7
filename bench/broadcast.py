"""A broadcast to 10,000 recipients through the real queue, workers and Twilio gateway, on both
backends, the fake Twilio answering each message in 50 ms: time from ``POST /api/v1/alerts`` to
its 202 and until every message is sent and delivered, messages per second against the limit
(concurrency ÷ latency), and the processes' peak memory.

    .venv/bin/python bench/broadcast.py [--backend sqlite|postgis|both] [--recipients N]
                                        [--worker-processes N] [--worker-threads N] [--concurrency N]
                                        [--latency-ms MS]
                                        [--pg-url URL] [--quick]

For each backend: a fresh database (as bench/spatial.py makes them), migrated, with an officer,
a bearer token and one alert group of ``--recipients`` contacts (made with the app's own
``create_contact``, each with a mobile number of its own in the fictional +36 xx 555 xxxx block).
Then Riadó as deployed, each a process of its own:

- ``riado serve`` (gunicorn, riado serve's default workers and threads, no embedded consumer),
  which takes the alert and Twilio's status callbacks;
- ``--worker-processes`` × ``riado worker --workers N`` on the queue (Huey with its SQLite file
  under the instance folder: the default), sending through the real Twilio gateway (the twilio
  SDK) with ``RIADO_SMS_CONCURRENCY`` drains;
- the fake Twilio REST API of tests/fake_twilio.py in this process on 127.0.0.1, which accepts
  every message after ``--latency-ms`` (as Twilio's API takes its time), records it, and reports it ``delivered`` to its status callback 50 ms later,
  signed as Twilio signs.

One ``POST /api/v1/alerts`` to the group; then ``GET /api/v1/alerts/<id>`` every 0.1 s until every
delivery is ``delivered`` and the alert is ``done``. Printed: how long the POST took (it writes
the alert and one delivery per recipient in one transaction), when the first and the last message
reached the fake, when all were ``sent`` and all ``delivered`` in the database, and the messages
per second. Everything is counted: every recipient must have got exactly one message at the fake,
every attempt must have been accepted, every status callback answered 200, the alert's counts
must say ``delivered`` for all and nothing failed, and the processes' logs must show no error.
Goals (issue 5): the 202 within 1 s, at least 80 % of the limit (``RIADO_SMS_CONCURRENCY``
messages in flight, each taking the latency: 4 ÷ 50 ms = 80 messages/s), every process under
300 MB at its peak (VmHWM). Timing never fails the run: the exit status is 1 only if something
is wrong.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))  # runnable as a plain script from any folder
sys.path.insert(1, str(REPO_ROOT / "tests"))  # the fake Twilio server

from bench._processes import RIADO, Process, free_port, riado_env, wait_http, wait_log  # noqa: E402
from bench._summary import failed, record  # noqa: E402
from bench.log import Client  # noqa: E402
from bench.spatial import BACKEND_TITLES, DEFAULT_PG_URL, build_app, create_database, make_token  # noqa: E402

# Mobile prefixes (Yettel, Telekom, Telekom, Vodafone/One, Vodafone/One) × 555 xxxx: 50,000 numbers.
PREFIXES = ("30", "20", "70", "31", "50")
SENDER = "+36205559999"
BODY = ("Árvízvédelmi készültség III. fok: a Duna a Vigadó térnél 812 cm. A rakpartokat lezártuk, "
        "kérjük, kövesse a hivatal utasításait.")
POLL_S = 0.1
SETTLE_S = 1.0  # after the last delivery: is anything sent twice late?
QUICK = {"recipients": 300}


def phone(i: int) -> str:
    return f"+36{PREFIXES[i // 10_000]}555{i % 10_000:04d}"


def make_recipients(app, count: int) -> tuple[int, list[str], float]:
    """One alert group of ``count`` contacts with phones of their own; (group id, phones, seconds)."""
    from incident.audit import set_actor
    from incident.extensions import db
    from incident.operations.contacts import create_contact, create_group

    phones = [phone(i) for i in range(count)]
    with app.app_context():
        set_actor(None, "bench")
        started = time.perf_counter()
        group = create_group({"name": "Lakosság (terhelési próba)"})
        db.session.flush()
        for i, number in enumerate(phones):
            create_contact({"name": f"Lakó {i + 1:05d}", "phone": number, "groups": [group.id]})
            if i % 1000 == 999:
                db.session.flush()
        db.session.commit()
        return group.id, phones, time.perf_counter() - started


def run_backend(backend: str, args, workdir: Path) -> dict:
    from fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio

    from incident.extensions import db

    result = {"backend": backend, "problems": [], "recipients": args.recipients, "load": [os.getloadavg()[0]]}
    url, drop = create_database(backend, workdir, args.pg_url)
    folder = workdir / backend
    folder.mkdir()
    instance = folder / "instance"
    os.environ["RIADO_INSTANCE_PATH"] = str(instance)  # read by build_app's create_app
    processes: list[Process] = []
    app = client = fake = None
    try:
        app = build_app(url)
        with app.app_context():
            result["version"] = app.config.get("RIADO_DATABASE_VERSION", "")
        token = make_token(app)
        group_id, phones, result["contacts_s"] = make_recipients(app, args.recipients)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()

        fake = FakeTwilio(auto_deliver=True).start()
        fake.latency = args.latency_ms / 1000
        port = free_port()
        env = riado_env(url, instance, TWILIO_ACCOUNT_SID=ACCOUNT_SID, TWILIO_AUTH_TOKEN=AUTH_TOKEN,
                        TWILIO_FROM=SENDER, TWILIO_API_URL=fake.url, PUBLIC_URL=f"http://127.0.0.1:{port}",
                        RIADO_SMS_CONCURRENCY=str(args.concurrency))
        web = Process("riado serve", [RIADO, "serve", "--host", "127.0.0.1", "--port", str(port)], env,
                      folder / "riado-serve.log")
        processes.append(web)
        workers = []
        for n in range(args.worker_processes):
            worker = Process(f"riado worker {n + 1}", [RIADO, "worker", "--workers", str(args.worker_threads)], env,
                             folder / f"riado-worker-{n + 1}.log")
            processes.append(worker)
            workers.append(worker)
        wait_http(port, "/healthz", web)
        for worker in workers:
            wait_log(worker, "Huey consumer started")

        client = Client(port, token, timeout=600)
        cpu_before = {p.name: p.cpu_seconds() for p in processes}
        self_before = time.process_time()
        print(f"  POST /api/v1/alerts to {args.recipients:,} recipients", flush=True)
        t0 = time.time()
        started = time.perf_counter()
        status, body = client.request("POST", "/api/v1/alerts", {"body": BODY, "groups": [group_id], "drill": True})
        result["post_s"] = time.perf_counter() - started
        if status != 202:
            raise RuntimeError(f"POST /api/v1/alerts: HTTP {status}: {body[:300]!r}")
        accepted = json.loads(body)
        if accepted["recipients"] != args.recipients:
            result["problems"].append(f"the alert has {accepted['recipients']} recipients, expected {args.recipients}")
        alert_path = f"/api/v1/alerts/{accepted['id']}"

        marks: dict[str, float] = {}
        counts: dict = {}
        deadline = time.perf_counter() + max(120.0, args.recipients / 10)
        last_progress = ""
        result["poll_retries"] = 0

        def get(path: str) -> tuple[int, bytes]:
            """A GET, sent again on a fresh connection if the server dropped the kept-alive one
            (gunicorn's gthread worker closes idle connections on its own clock, and a busy
            machine can let that race a request in flight): what any HTTP client does for an
            idempotent request."""
            for attempt in range(3):
                try:
                    return client.request("GET", path)
                except (OSError, http.client.HTTPException):
                    if attempt == 2:
                        raise
                    result["poll_retries"] += 1
            raise AssertionError("unreachable")

        while time.perf_counter() < deadline:
            status, body = get(alert_path)
            now = time.perf_counter() - started
            if status != 200:
                result["problems"].append(f"GET {alert_path}: HTTP {status}: {body[:200]!r}")
                break
            alert = json.loads(body)
            counts = alert["counts"]
            marks.setdefault("body", alert["body"])
            if counts["sent"] + counts["delivered"] >= args.recipients:
                marks.setdefault("all_sent", now)
            if counts["delivered"] >= args.recipients:
                marks.setdefault("all_delivered", now)
            if alert["status"] == "done":
                marks.setdefault("done", now)
            progress = f"{counts['sent'] + counts['delivered']:,} sent, {counts['delivered']:,} delivered"
            if progress != last_progress and int(now) != int(marks.get("printed", -1)):
                print(f"    {now:6.1f} s: {progress}", flush=True)
                marks["printed"] = now
                last_progress = progress
            if "all_delivered" in marks and "done" in marks:
                break
            if counts["failed"] or counts["undelivered"]:
                if counts["queued"] + counts["sending"] == 0:
                    break
            time.sleep(POLL_S)
        else:
            result["problems"].append(f"not finished within {deadline - started:.0f} s: {counts}")
        result["marks"] = marks
        result["counts"] = counts
        # Where the CPU went during the broadcast (this process: the fake Twilio and the polling).
        result["cpu"] = {p.name: p.cpu_seconds() - cpu_before[p.name] for p in processes}
        result["cpu"]["this process (fake Twilio, polling)"] = time.process_time() - self_before
        result["cpu_wall"] = time.perf_counter() - started
        result["peak_mb"] = {p.name: p.peak_rss_mb() for p in processes}
        time.sleep(SETTLE_S)

        # Everything counted, at the fake and in the database.
        messages = list(fake.messages)
        result["fake_messages"] = len(messages)
        if messages:
            ats = sorted(m.at for m in messages)
            result["first_s"], result["last_s"] = ats[0] - t0, ats[-1] - t0
        by_phone = fake.count_by_phone()
        missing = [p for p in phones if p not in by_phone]
        twice = {p: n for p, n in by_phone.items() if n > 1}
        strangers = [p for p in by_phone if p not in set(phones)]
        result["duplicates"] = sum(n - 1 for n in twice.values())
        if missing or twice or strangers:
            result["problems"].append(f"at the fake: {len(missing)} recipients got nothing, {len(twice)} got more than "
                                      f"one message ({result['duplicates']} extra), {len(strangers)} unknown numbers")
        refused = [(to, s) for to, s in fake.attempts if s != 201]
        result["attempts"] = len(fake.attempts)
        if refused:
            result["problems"].append(f"the fake refused {len(refused)} attempts (it was told to accept all)")
        sent_body = marks.get("body")
        if not sent_body or not sent_body.endswith(BODY) or any(m.body != sent_body for m in messages):
            result["problems"].append("a message's text is not the alert's (the drill prefix, then the text written)")
        callbacks = list(fake.callback_results)
        result["callbacks"] = len(callbacks)
        bad_callbacks = [s for s in callbacks if s != 200]
        if bad_callbacks or len(callbacks) != len(messages):
            result["problems"].append(f"status callbacks: {len(callbacks)} for {len(messages)} messages, "
                                      f"{len(bad_callbacks)} not answered 200")
        status, body = get(alert_path)
        final = json.loads(body)["counts"] if status == 200 else {}
        result["counts"] = final
        if final.get("delivered") != args.recipients or final.get("failed") or final.get("undelivered"):
            result["problems"].append(f"the alert's counts at the end: {final}")
        status, body = get(f"{alert_path}/deliveries?limit=1")
        total = json.loads(body).get("total") if status == 200 else None
        if total != args.recipients:
            result["problems"].append(f"GET …/deliveries: total {total}, expected {args.recipients}")
        for worker in workers:
            if "messages attempted" not in worker.text():
                result["problems"].append(f"{worker.name} sent nothing")
        result["load"].append(os.getloadavg()[0])
    finally:
        if client is not None:
            client.close()
        for process in processes:
            process.stop()
        for process in processes:
            result["problems"] += process.problems()
        if fake is not None:
            fake.stop()
        if app is not None:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
        drop()
    return result


# Report ---------------------------------------------------------------------------------------


def rate(n: int, seconds: float | None) -> float:
    return n / seconds if seconds else float("nan")


def report(result: dict, args) -> None:
    print(f"\n== {BACKEND_TITLES[result['backend']]} ({result.get('version', '')}) ==")
    load = " → ".join(f"{v:.2f}" for v in result["load"])
    n = result["recipients"]
    print(f"machine       {os.cpu_count()} CPUs, 1-minute load average {load} (start → end)")
    print(f"set-up        {n:,} contacts in one group ({result['contacts_s']:.1f} s with create_contact); riado serve, "
          f"{args.worker_processes} × riado worker --workers {args.worker_threads}, RIADO_SMS_CONCURRENCY="
          f"{args.concurrency}, the SQLite queue; the fake Twilio in this process")
    marks = result.get("marks", {})
    first, last = result.get("first_s"), result.get("last_s")
    result["e2e_rate"] = rate(n, marks.get("all_sent"))
    result["steady_rate"] = rate(result.get("fake_messages", 0) - 1, (last - first) if first is not None else None)
    rows = [
        ("POST /api/v1/alerts answered (202)", result["post_s"], ""),
        ("first message at the fake Twilio", first, ""),
        ("last message at the fake Twilio", last, f"{rate(n, last):,.0f} messages/s since the POST"),
        ("all 'sent' in the database", marks.get("all_sent"), f"{rounded(result['e2e_rate'])} messages/s"),
        ("all 'delivered' (status callbacks)", marks.get("all_delivered"), ""),
        ("the alert 'done'", marks.get("done"), ""),
    ]
    print(f"{'seconds since the POST was sent':40}")
    for label, value, note in rows:
        shown = "–" if value is None else f"{value:8.2f}"
        print(f"  {label:38}{shown:>8}   {note}")
    print(f"  (polled every {POLL_S:g} s; between the first and the last message at the fake: "
          f"{result['steady_rate']:,.0f} messages/s)")
    limit = args.concurrency / (args.latency_ms / 1000) if args.latency_ms else float("nan")
    result["limit"] = limit
    result["of_limit"] = result["steady_rate"] / limit if limit == limit else float("nan")
    print(f"limit         {args.concurrency} in flight ÷ {args.latency_ms:g} ms = {limit:,.0f} messages/s; "
          f"reached {result['of_limit']:.0%} between the first and the last message (goal ≥ 80 %), "
          f"{rate(n, marks.get('all_sent')) / limit:.0%} from the POST to all sent")
    post_ok = result["post_s"] <= 1.0
    print(f"202           after {result['post_s'] * 1000:,.0f} ms (goal ≤ 1 s: {'met' if post_ok else 'NOT met'})")
    if result.get("peak_mb"):
        peaks = ", ".join(f"{name} {one:,.0f} MB" + (f" (group {total:,.0f} MB)" if total > one else "")
                          for name, (one, total) in result["peak_mb"].items())
        result["peak_one"] = max(one for one, _total in result["peak_mb"].values())
        print(f"peak memory   {peaks}; largest process {result['peak_one']:,.0f} MB (goal < 300 MB: "
              f"{'met' if result['peak_one'] < 300 else 'NOT met'})")
    if "cpu" in result:
        cpu = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in result["cpu"].items())
        print(f"CPU time      during the {result['cpu_wall']:.1f} s of the broadcast: {cpu} "
              f"(of {os.cpu_count() * result['cpu_wall']:.0f} CPU-seconds on the machine)")
    if result.get("poll_retries"):
        print(f"polling       {result['poll_retries']} GETs sent again after the server closed a kept-alive connection")
    print(f"counted       {result.get('fake_messages', 0):,} messages at the fake for {n:,} recipients "
          f"({result.get('duplicates', 0)} extra), {result.get('attempts', 0):,} attempts, "
          f"{result.get('callbacks', 0):,} status callbacks; the alert's counts {result.get('counts')}")
    if result["problems"]:
        print(f"PROBLEMS ({len(result['problems'])}):")
        for line in result["problems"][:20]:
            print("  " + line)
    else:
        print("checks        every recipient exactly one message, every attempt accepted, every callback 200, "
              "all delivered, no error in the logs")


def summarise(result: dict) -> None:
    backend, marks = result["backend"], result.get("marks", {})
    record("broadcast", backend, "recipients", result["recipients"], "")
    record("broadcast", backend, "POST /alerts → 202", result["post_s"], "s", "≤ 1 s", result["post_s"] <= 1.0)
    record("broadcast", backend, "all sent", marks.get("all_sent"), "s")
    record("broadcast", backend, "all delivered", marks.get("all_delivered"), "s")
    record("broadcast", backend, "messages/s (POST → all sent)", result["e2e_rate"], "msg/s")
    record("broadcast", backend, "messages/s (first → last)", result["steady_rate"], "msg/s")
    of_limit = result.get("of_limit", float("nan"))
    record("broadcast", backend, "of the limit (concurrency ÷ latency)", of_limit * 100, "%", "≥ 80 %",
           of_limit >= 0.8 if of_limit == of_limit else None)
    peak = result.get("peak_one", float("nan"))
    record("broadcast", backend, "peak memory, largest process", peak, "MB", "< 300 MB",
           peak < 300 if peak == peak else None)
    record("broadcast", backend, "extra messages", result.get("duplicates"), "")
    record("broadcast", backend, "checks", "ok" if not result["problems"] else f"{len(result['problems'])} problems", "")


def rounded(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:.0f}"


def table(results: list[dict]) -> None:
    print("\n== Summary ==")
    head = (f"{'backend':9}{'recipients':>11}{'POST s':>8}{'first s':>9}{'all sent s':>12}{'delivered s':>13}"
            f"{'msg/s':>8}{'steady':>8}{'extra':>7}  ok")
    print(head)
    print("-" * len(head))
    for r in results:
        if "e2e_rate" not in r:
            print(f"{r['backend']:9}  failed: {r.get('failure', 'see above')}")
            continue
        marks = r.get("marks", {})

        def s(v):
            return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.2f}"

        print(f"{r['backend']:9}{r['recipients']:>11,}{s(r['post_s']):>8}{s(r.get('first_s')):>9}"
              f"{s(marks.get('all_sent')):>12}{s(marks.get('all_delivered')):>13}{rounded(r['e2e_rate']):>8}"
              f"{rounded(r['steady_rate']):>8}{r.get('duplicates', 0):>7}  {'yes' if not r['problems'] else 'NO'}")
    print("(seconds since the POST was sent; msg/s: recipients / time until all sent; steady: between the first and "
          "the last message at the fake)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgis", "both"), default="both")
    parser.add_argument("--recipients", type=int, help="contacts in the group (default 10,000)")
    parser.add_argument("--worker-processes", type=int, default=1, help="riado worker processes")
    parser.add_argument("--worker-threads", type=int, default=4, help="threads per riado worker (its default)")
    parser.add_argument("--concurrency", type=int, default=4, help="RIADO_SMS_CONCURRENCY (its default)")
    parser.add_argument("--latency-ms", type=float, default=50.0,
                        help="how long the fake Twilio takes to answer each message (default 50)")
    parser.add_argument("--pg-url", default=os.environ.get("TEST_PG_URL", DEFAULT_PG_URL),
                        help="an administrative PostgreSQL URL; the bench creates and drops its own database")
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK['recipients']:,} recipients (unless --recipients is given)")
    args = parser.parse_args(argv)
    if args.recipients is None:
        args.recipients = QUICK["recipients"] if args.quick else 10_000
    if not 1 <= args.recipients <= len(PREFIXES) * 10_000 or args.worker_processes < 1 or args.worker_threads < 1 \
            or args.concurrency < 1 or args.latency_ms < 0:
        parser.error(f"--recipients must be 1…{len(PREFIXES) * 10_000:,}; the worker options and --concurrency at least 1")

    workdir = Path(tempfile.mkdtemp(prefix="riado-bench-broadcast-"))
    for key in ("REDIS_URL", "SECRET_KEY", "RIADO_EMBEDDED_WORKER"):
        os.environ.pop(key, None)
    backends = ("sqlite", "postgis") if args.backend == "both" else (args.backend,)
    results = []
    try:
        for backend in backends:
            print(f"\n… {BACKEND_TITLES[backend]}: a fresh database, {args.recipients:,} contacts, then the processes",
                  flush=True)
            try:
                result = run_backend(backend, args, workdir)
            except Exception as exc:  # noqa: BLE001 (report it, then measure the other backend)
                traceback.print_exc()
                reason = " ".join(str(exc).split())[:120]
                results.append({"backend": backend, "problems": [reason], "failure": reason})
                failed("broadcast", backend, reason)
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
