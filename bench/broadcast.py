"""A broadcast through the real queue, consumers and Twilio gateway, in both ways Riadó runs, at
two concurrencies, beside a bare twilio-SDK loop with as many threads against the same fake Twilio
(each message answered after 50 ms): messages per second and their ratio to the bare loop.

    .venv/bin/python bench/broadcast.py [--backend sqlite|postgis|both] [--recipients N]
                                        [--concurrency N[,N…]] [--modes run,serve]
                                        [--latency-ms MS] [--no-callbacks]
                                        [--pg-url URL] [--quick]
    .venv/bin/python bench/broadcast.py --mixed [bench/channels.py's options]

For each backend: a fresh database (as bench/spatial.py makes them), migrated, with an officer,
a bearer token and one alert group of ``--recipients`` contacts (made with the app's own
``create_contact``, each with a mobile number of its own in the fictional +36 xx 555 xxxx block).
Then, for each concurrency (``RIADO_SMS_CONCURRENCY``, 4 and 32 by default):

- **bare**: the twilio SDK alone, as many threads as the concurrency, each sending the next
  number's message until none is left (one ``Client``, the connection pool Riadó's gateway gives
  it): what the provider's answer time allows on this machine;
- **run**: ``riado run`` as a new user starts it (``make run``): the development server with the
  queue consumer embedded in it, the SQLite queue;
- **serve**: Riadó as deployed: ``riado serve`` (gunicorn, its default workers and threads, no
  embedded consumer), which takes the alert and the status callbacks, and one ``riado worker``
  (its default threads) on the SQLite queue;

each against a fresh fake Twilio of tests/fake_twilio.py in this process on 127.0.0.1 (HTTP/1.1
keep-alive, TCP_NODELAY, a listen backlog of 1,024, a thread per connection, so that the fake is not
what is measured), which accepts every message after ``--latency-ms``, records it, and (unless
``--no-callbacks``) reports it ``delivered`` to its status callback 50 ms later, signed as Twilio
signs. Riadó gets one ``POST /api/v1/alerts`` to the group; then ``GET /api/v1/alerts/<id>`` every
0.1 s until every delivery is ``delivered`` (``sent`` without callbacks).

Messages per second are counted the same way for all three: recipients over the time from the
first to the last message arriving at the fake. Printed beside them: Riadó's rate from the POST
to all sent, the ratio to the bare loop (goal, issue 12: ≥ 0.8× at 4 and at 32 in both modes), the
202's time, the processes' peak memory and CPU time. Everything is counted: every recipient must
have got exactly one message at the fake, every attempt must have been accepted, every status
callback answered 200, the alert's counts must agree, and the processes' logs must show no error.
Timing never fails the run: the exit status is 1 only if something is wrong.

``--mixed``: the mixed-channel case instead (issue 15): one alert on SMS and e-mail to 10,000
contacts, each channel's throughput beside a bare loop of its own client at the same concurrency
(bench/channels.py, which takes the rest of the options).
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
MODES = {"run": "riado run (embedded consumer)", "serve": "riado serve + riado worker"}
GOAL = 0.8  # of the bare loop's messages per second


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


def prepare(backend: str, args, workdir: Path) -> dict:
    """A fresh database with the group; returns what the cases need (and ``drop``)."""
    from incident.extensions import db

    url, drop = create_database(backend, workdir, args.pg_url)
    folder = workdir / backend
    folder.mkdir()
    os.environ["RIADO_INSTANCE_PATH"] = str(folder / "instance")  # read by build_app's create_app
    try:
        app = build_app(url)
        with app.app_context():
            version = app.config.get("RIADO_DATABASE_VERSION", "")
        token = make_token(app)
        group_id, phones, contacts_s = make_recipients(app, args.recipients)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    except BaseException:
        drop()
        raise
    return {"url": url, "drop": drop, "folder": folder, "version": version, "token": token, "group_id": group_id,
            "phones": phones, "contacts_s": contacts_s}


def steady_rate(messages) -> tuple[float, float | None, float | None]:
    """(messages per second from the first to the last at the fake, first, last arrival time)."""
    if len(messages) < 2:
        return float("nan"), None, None
    ats = sorted(m.at for m in messages)
    return (len(ats) - 1) / (ats[-1] - ats[0]) if ats[-1] > ats[0] else float("nan"), ats[0], ats[-1]


def run_bare(concurrency: int, phones: list[str], args) -> dict:
    """The twilio SDK alone: ``concurrency`` threads sending one message to each of ``phones``."""
    import threading

    from fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio
    from twilio.rest import Client as TwilioClient

    from alerts.gateways import _RedirectingHttpClient

    fake = FakeTwilio().start()
    fake.latency = args.latency_ms / 1000
    result = {"mode": "bare", "concurrency": concurrency, "problems": [], "load": [os.getloadavg()[0]]}
    try:
        client = TwilioClient(ACCOUNT_SID, AUTH_TOKEN, http_client=_RedirectingHttpClient(fake.url, concurrency, 15))
        numbers = iter(phones)
        lock = threading.Lock()
        errors = []

        def send():
            while True:
                with lock:
                    number = next(numbers, None)
                if number is None:
                    return
                try:
                    client.messages.create(to=number, from_=SENDER, body=BODY, validity_period=900)
                except Exception as exc:  # noqa: BLE001 - counted as a problem
                    errors.append(repr(exc))

        threads = [threading.Thread(target=send) for _ in range(concurrency)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        result["wall_s"] = time.perf_counter() - started
        result["rate"], _first, _last = steady_rate(fake.messages)
        result["peak_in_flight"] = fake.peak_in_flight
        if errors or len(fake.messages) != len(phones):
            result["problems"].append(f"bare loop: {len(fake.messages)} messages for {len(phones)}, "
                                      f"{len(errors)} errors: {errors[:3]}")
    finally:
        fake.stop()
    result["load"].append(os.getloadavg()[0])
    return result


def run_case(mode: str, concurrency: int, ready: dict, args, case: Path) -> dict:
    """One broadcast under ``mode`` (run, serve) with ``RIADO_SMS_CONCURRENCY=concurrency``."""
    from fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio

    n = args.recipients
    phones = ready["phones"]
    result = {"mode": mode, "concurrency": concurrency, "problems": [], "recipients": n,
              "load": [os.getloadavg()[0]]}
    case.mkdir()
    processes: list[Process] = []
    client = fake = None
    try:
        fake = FakeTwilio(auto_deliver=args.callbacks).start()
        fake.latency = args.latency_ms / 1000
        port = free_port()
        env = riado_env(ready["url"], case / "instance", TWILIO_ACCOUNT_SID=ACCOUNT_SID, TWILIO_AUTH_TOKEN=AUTH_TOKEN,
                        TWILIO_FROM=SENDER, TWILIO_API_URL=fake.url, PUBLIC_URL=f"http://127.0.0.1:{port}",
                        RIADO_SMS_CONCURRENCY=str(concurrency))
        senders = []
        if mode == "run":
            web = Process("riado run", [RIADO, "run", "--host", "127.0.0.1", "--port", str(port)],
                          dict(env, RIADO_EMBEDDED_WORKER="1"), case / "riado-run.log")
            processes.append(web)
        else:
            web = Process("riado serve", [RIADO, "serve", "--host", "127.0.0.1", "--port", str(port)], env,
                          case / "riado-serve.log")
            worker = Process("riado worker", [RIADO, "worker"], env, case / "riado-worker.log")
            processes += [web, worker]
            senders.append(worker)
        wait_http(port, "/healthz", web)
        for worker in senders:
            wait_log(worker, "Huey consumer started")

        client = Client(port, ready["token"], timeout=600)
        cpu_before = {p.name: p.cpu_seconds() for p in processes}
        self_before = time.process_time()
        t0 = time.time()
        started = time.perf_counter()
        status, body = client.request("POST", "/api/v1/alerts", {"body": BODY, "groups": [ready["group_id"]],
                                                                 "drill": True})
        result["post_s"] = time.perf_counter() - started
        if status != 202:
            raise RuntimeError(f"POST /api/v1/alerts: HTTP {status}: {body[:300]!r}")
        accepted = json.loads(body)
        if accepted["recipients"] != n:
            result["problems"].append(f"the alert has {accepted['recipients']} recipients, expected {n}")
        alert_path = f"/api/v1/alerts/{accepted['id']}"
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

        marks: dict[str, float] = {}
        counts: dict = {}
        final_status = "delivered" if args.callbacks else "sent"
        deadline = time.perf_counter() + max(120.0, n / 10)
        while time.perf_counter() < deadline:
            status, body = get(alert_path)
            now = time.perf_counter() - started
            if status != 200:
                result["problems"].append(f"GET {alert_path}: HTTP {status}: {body[:200]!r}")
                break
            alert = json.loads(body)
            counts = alert["counts"]
            marks.setdefault("body", alert["body"])
            if counts["sent"] + counts["delivered"] >= n:
                marks.setdefault("all_sent", now)
            if counts[final_status] >= n and alert["status"] == "done":
                marks.setdefault("all_final", now)
                break
            if (counts["failed"] or counts["undelivered"]) and counts["queued"] + counts["sending"] == 0:
                break
            time.sleep(POLL_S)
        else:
            result["problems"].append(f"not finished within {deadline - started:.0f} s: {counts}")
        result["marks"] = marks
        result["cpu"] = {p.name: p.cpu_seconds() - cpu_before[p.name] for p in processes}
        result["cpu"]["this process (fake Twilio, polling)"] = time.process_time() - self_before
        result["cpu_wall"] = time.perf_counter() - started
        result["peak_mb"] = {p.name: p.peak_rss_mb() for p in processes}
        time.sleep(SETTLE_S)

        # Everything counted, at the fake and in the database.
        messages = list(fake.messages)
        result["fake_messages"] = len(messages)
        result["rate"], first, last = steady_rate(messages)
        result["first_s"] = first - t0 if first else None
        result["last_s"] = last - t0 if last else None
        result["e2e_rate"] = rate(n, marks.get("all_sent"))
        result["peak_in_flight"] = fake.peak_in_flight
        by_phone = fake.count_by_phone()
        missing = [p for p in phones if p not in by_phone]
        twice = {p: k for p, k in by_phone.items() if k > 1}
        strangers = [p for p in by_phone if p not in set(phones)]
        result["duplicates"] = sum(k - 1 for k in twice.values())
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
        if args.callbacks and (any(s != 200 for s in callbacks) or len(callbacks) != len(messages)):
            result["problems"].append(f"status callbacks: {len(callbacks)} for {len(messages)} messages, "
                                      f"{sum(s != 200 for s in callbacks)} not answered 200")
        status, body = get(alert_path)
        final = json.loads(body)["counts"] if status == 200 else {}
        result["counts"] = final
        if final.get(final_status) != n or final.get("failed") or final.get("undelivered"):
            result["problems"].append(f"the alert's counts at the end: {final}")
        for worker in senders:
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
    return result


# Report ---------------------------------------------------------------------------------------


def rate(n: int, seconds: float | None) -> float:
    return n / seconds if seconds else float("nan")


def rounded(value: float | None, digits: int = 0) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:,.{digits}f}"


def load_text(result: dict) -> str:
    return " → ".join(f"{v:.2f}" for v in result["load"])


def report_case(result: dict, bare: dict | None) -> None:
    name = MODES[result["mode"]]
    marks = result.get("marks", {})
    ratio = result["rate"] / bare["rate"] if bare and bare.get("rate") else float("nan")
    result["ratio"] = ratio
    print(f"  {name}, RIADO_SMS_CONCURRENCY={result['concurrency']}: {rounded(result['rate'])} messages/s "
          f"(first → last message at the fake), {rounded(ratio, 2)}× the bare loop; "
          f"{rounded(result['e2e_rate'])} messages/s from the POST to all sent")
    print(f"    202 after {result['post_s'] * 1000:,.0f} ms; first message {rounded(result.get('first_s'), 2)} s, "
          f"all sent {rounded(marks.get('all_sent'), 2)} s, all final {rounded(marks.get('all_final'), 2)} s; "
          f"at most {result.get('peak_in_flight')} messages in flight at the fake; load {load_text(result)}")
    if result.get("cpu"):
        cpu = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in result["cpu"].items())
        print(f"    CPU time during the {result['cpu_wall']:.1f} s: {cpu}")
    if result.get("peak_mb"):
        peaks = ", ".join(f"{name} {one:,.0f} MB" + (f" (group {total:,.0f} MB)" if total > one else "")
                          for name, (one, total) in result["peak_mb"].items())
        result["peak_one"] = max(one for one, _total in result["peak_mb"].values())
        print(f"    peak memory {peaks}")
    if result.get("poll_retries"):
        print(f"    polling: {result['poll_retries']} GETs sent again after the server closed a kept-alive connection")
    print(f"    counted {result.get('fake_messages', 0):,} messages at the fake for {result['recipients']:,} recipients "
          f"({result.get('duplicates', 0)} extra), {result.get('attempts', 0):,} attempts, "
          f"{result.get('callbacks', 0):,} status callbacks; the alert's counts {result.get('counts')}")
    if result["problems"]:
        print(f"    PROBLEMS ({len(result['problems'])}):")
        for line in result["problems"][:20]:
            print("      " + line)


def summarise(backend: str, results: list[dict]) -> None:
    for r in results:
        if r["mode"] == "bare":
            record("broadcast", backend, f"bare SDK loop, {r['concurrency']} threads: msg/s", r.get("rate"), "msg/s")
            continue
        label = f"{r['mode']}, concurrency {r['concurrency']}"
        if "rate" not in r:
            record("broadcast", backend, f"{label}: checks", "failed", "")
            continue
        ratio = r.get("ratio", float("nan"))
        record("broadcast", backend, f"{label}: msg/s", r["rate"], "msg/s")
        record("broadcast", backend, f"{label}: ÷ bare", ratio, "×", f"≥ {GOAL}×",
               ratio >= GOAL if ratio == ratio else None)
        record("broadcast", backend, f"{label}: POST → 202", r["post_s"], "s", "≤ 1 s", r["post_s"] <= 1.0)
        peak = r.get("peak_one", float("nan"))
        record("broadcast", backend, f"{label}: peak memory", peak, "MB", "< 300 MB",
               peak < 300 if peak == peak else None)
        record("broadcast", backend, f"{label}: checks", "ok" if not r["problems"] else f"{len(r['problems'])} problems",
               "")


def table(backend: str, results: list[dict]) -> None:
    print(f"\n== Summary: {BACKEND_TITLES[backend]} ==")
    head = f"{'mode':32}{'in flight':>10}{'msg/s':>8}{'bare':>8}{'÷ bare':>8}{'POST→sent':>11}{'peak':>6}{'extra':>7}  ok"
    print(head)
    print("-" * len(head))
    bare = {r["concurrency"]: r for r in results if r["mode"] == "bare"}
    for r in results:
        if r["mode"] == "bare":
            continue
        b = bare.get(r["concurrency"], {})
        if "rate" not in r:
            print(f"{MODES[r['mode']]:32}{r['concurrency']:>10}  failed: {r.get('failure', 'see above')}")
            continue
        print(f"{MODES[r['mode']]:32}{r['concurrency']:>10}{rounded(r['rate']):>8}{rounded(b.get('rate')):>8}"
              f"{rounded(r.get('ratio'), 2) + '×':>8}{rounded(r['e2e_rate']):>11}{r.get('peak_in_flight', 0):>6}"
              f"{r.get('duplicates', 0):>7}  {'yes' if not r['problems'] else 'NO'}")
    print(f"(msg/s: recipients over the time from the first to the last message at the fake; bare: the twilio SDK "
          f"alone with as many threads; goal ≥ {GOAL}× the bare loop; POST→sent: recipients over the time from the "
          f"POST to all sent; peak: the most messages the fake held at once)")


def run_backend(backend: str, args, workdir: Path) -> list[dict]:
    ready = prepare(backend, args, workdir)
    results = []
    try:
        print(f"  {args.recipients:,} contacts in one group ({ready['contacts_s']:.1f} s with create_contact); "
              f"{os.cpu_count()} CPUs, 1-minute load average {os.getloadavg()[0]:.2f}", flush=True)
        for concurrency in args.concurrency:
            bare = run_bare(concurrency, ready["phones"], args)
            results.append(bare)
            print(f"\n  bare twilio SDK loop, {concurrency} threads: {rounded(bare['rate'])} messages/s "
                  f"(limit {concurrency} ÷ {args.latency_ms:g} ms = {concurrency / (args.latency_ms / 1000):,.0f}/s), "
                  f"at most {bare['peak_in_flight']} in flight; load {load_text(bare)}", flush=True)
            for problem in bare["problems"]:
                print("    PROBLEM " + problem)
            for mode in args.modes:
                case = ready["folder"] / f"{mode}-{concurrency}"
                try:
                    result = run_case(mode, concurrency, ready, args, case)
                except Exception as exc:  # noqa: BLE001 (report it, then measure the next case)
                    traceback.print_exc()
                    reason = " ".join(str(exc).split())[:120]
                    result = {"mode": mode, "concurrency": concurrency, "problems": [reason], "failure": reason}
                    results.append(result)
                    continue
                report_case(result, bare)
                results.append(result)
                sys.stdout.flush()
    finally:
        ready["drop"]()
    return results


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if "--mixed" in argv:
        import channels  # bench/channels.py, beside this file

        return channels.main([arg for arg in argv if arg != "--mixed"])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mixed", action="store_true",
                        help="the mixed-channel case (SMS + e-mail, bench/channels.py) instead")
    parser.add_argument("--backend", choices=("sqlite", "postgis", "both"), default="both")
    parser.add_argument("--recipients", type=int, help="contacts in the group (default 3,000)")
    parser.add_argument("--concurrency", default="4,32", help="values of RIADO_SMS_CONCURRENCY (default 4,32)")
    parser.add_argument("--modes", default="run,serve",
                        help="run (riado run, the embedded consumer), serve (riado serve + riado worker)")
    parser.add_argument("--no-callbacks", dest="callbacks", action="store_false",
                        help="the fake sends no status callbacks (the alert ends 'sent')")
    parser.add_argument("--latency-ms", type=float, default=50.0,
                        help="how long the fake Twilio takes to answer each message (default 50)")
    parser.add_argument("--pg-url", default=os.environ.get("TEST_PG_URL", DEFAULT_PG_URL),
                        help="an administrative PostgreSQL URL; the bench creates and drops its own database")
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK['recipients']:,} recipients (unless --recipients is given)")
    args = parser.parse_args(argv)
    if args.recipients is None:
        args.recipients = QUICK["recipients"] if args.quick else 3_000
    try:
        args.concurrency = [int(v) for v in args.concurrency.split(",") if v.strip()]
    except ValueError:
        parser.error("--concurrency: whole numbers separated by commas, such as 4,32")
    args.modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if not 2 <= args.recipients <= len(PREFIXES) * 10_000 or not args.concurrency or min(args.concurrency) < 1 \
            or args.latency_ms < 0 or not args.modes or set(args.modes) - set(MODES):
        parser.error(f"--recipients must be 2…{len(PREFIXES) * 10_000:,}; --concurrency at least 1; "
                     f"--modes among {', '.join(MODES)}")

    workdir = Path(tempfile.mkdtemp(prefix="riado-bench-broadcast-"))
    for key in ("REDIS_URL", "SECRET_KEY", "RIADO_EMBEDDED_WORKER"):
        os.environ.pop(key, None)
    backends = ("sqlite", "postgis") if args.backend == "both" else (args.backend,)
    every: dict[str, list[dict]] = {}
    problems = False
    try:
        for backend in backends:
            print(f"\n… {BACKEND_TITLES[backend]}: a fresh database, {args.recipients:,} contacts, then each case",
                  flush=True)
            try:
                results = run_backend(backend, args, workdir)
            except Exception as exc:  # noqa: BLE001 (report it, then measure the other backend)
                traceback.print_exc()
                reason = " ".join(str(exc).split())[:120]
                failed("broadcast", backend, reason)
                problems = True
                continue
            summarise(backend, results)
            every[backend] = results
            problems = problems or any(r["problems"] for r in results)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    for backend, results in every.items():
        table(backend, results)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
