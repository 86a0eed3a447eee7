"""An alert on two channels at once, SMS and e-mail, through the real queue, worker, Twilio gateway
and SMTP mailer (issue 15): messages per second on each channel beside a bare loop of the same
client (the twilio SDK; Riadó's SMTP mailer over smtplib) with as many threads.

    .venv/bin/python bench/channels.py [--backend sqlite|postgis|both] [--recipients N]
                                       [--concurrency N] [--latency-ms MS] [--pg-url URL] [--quick]

For each backend: a fresh database with one alert group of ``--recipients`` contacts (10,000 by
default), each with a mobile number and an e-mail address of its own; ``riado serve`` + one
``riado worker`` (the SQLite queue) with ``RIADO_SMS_CONCURRENCY`` = ``--concurrency`` (4), the fake
Twilio of tests/fake_twilio.py (answering each message after ``--latency-ms``, no status
callbacks) and a real SMTP server (aiosmtpd, tests/smtp_server.py) on 127.0.0.1. One ``POST
/api/v1/alerts`` with ``channels: ["sms", "email"]``; then the alert is polled until every
delivery is sent. The drains share the concurrency between the channels, as in production.

Printed per channel: messages per second (from the first to the last message at the server),
the bare loop's (the same client alone with ``--concurrency`` threads, to its own fresh server),
and the ratio. Every recipient must get exactly one SMS and one e-mail; the exit status is 1
only when something is wrong, never for timing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))  # runnable as a plain script from any folder
sys.path.insert(1, str(REPO_ROOT / "tests"))  # the fake Twilio and SMTP servers

from bench._processes import RIADO, Process, free_port, riado_env, wait_http, wait_log  # noqa: E402
from bench._summary import failed, record  # noqa: E402
from bench.broadcast import (  # noqa: E402
    BODY,
    PREFIXES,
    SENDER,
    phone,
    rounded,
    run_bare,
    steady_rate,
)
from bench.log import Client  # noqa: E402
from bench.spatial import (  # noqa: E402
    BACKEND_TITLES,
    DEFAULT_PG_URL,
    build_app,
    create_database,
    make_token,
)

MAIL_FROM = "riado@bench.example"
QUICK = {"recipients": 500}


def email(i: int) -> str:
    return f"lako{i:05d}@bench.example"


def smtp_server():
    from smtp_server import RecordingHandler, SmtpServer

    server = SmtpServer(RecordingHandler(), "127.0.0.1", free_port())
    server.start()
    return server


def prepare(backend: str, args, workdir: Path) -> dict:
    """A fresh database, a token, and a group of contacts with a phone and an address each."""
    from incident.audit import set_actor
    from incident.extensions import db
    from incident.operations.contacts import create_contact, create_group

    url, drop = create_database(backend, workdir, args.pg_url)
    folder = workdir / backend
    folder.mkdir()
    os.environ["RIADO_INSTANCE_PATH"] = str(folder / "instance")
    try:
        app = build_app(url)
        token = make_token(app)
        with app.app_context():
            set_actor(None, "bench")
            group = create_group({"name": "Lakosság (két csatorna)"})
            db.session.flush()
            for i in range(args.recipients):
                create_contact({"name": f"Lakó {i + 1:05d}", "phone": phone(i), "email": email(i), "groups": [group.id]})
                if i % 1000 == 999:
                    db.session.flush()
            db.session.commit()
            group_id = group.id
            db.session.remove()
            db.engine.dispose()
    except BaseException:
        drop()
        raise
    return {"url": url, "drop": drop, "folder": folder, "token": token, "group_id": group_id}


def run_bare_email(concurrency: int, addresses: list[str]) -> dict:
    """Riadó's SMTP mailer alone: ``concurrency`` threads sending one e-mail to each address."""
    from alerts.mail import SmtpMailer
    from incident.config import parse_smtp_url

    server = smtp_server()
    result = {"problems": []}
    try:
        mailer = SmtpMailer(parse_smtp_url(server.url), sender=MAIL_FROM)
        pending = iter(addresses)
        lock = threading.Lock()
        errors = []

        def send():
            while True:
                with lock:
                    address = next(pending, None)
                if address is None:
                    return
                try:
                    mailer.send(address, "Árvízvédelmi készültség", BODY, f"<p>{BODY}</p>")
                except Exception as exc:  # noqa: BLE001 - counted as a problem
                    errors.append(repr(exc))

        threads = [threading.Thread(target=send) for _ in range(concurrency)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        mailer.close()
        result["rate"], _first, _last = steady_rate(server.messages)
        if errors or len(server.messages) != len(addresses):
            result["problems"].append(f"bare SMTP loop: {len(server.messages)} e-mails for {len(addresses)}, "
                                      f"{len(errors)} errors: {errors[:3]}")
    finally:
        server.stop()
    return result


def run_case(ready: dict, args, case: Path) -> dict:
    from fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio

    n = args.recipients
    result = {"problems": []}
    case.mkdir()
    processes: list[Process] = []
    fake = FakeTwilio().start()
    fake.latency = args.latency_ms / 1000
    smtp = smtp_server()
    client = None
    try:
        port = free_port()
        env = riado_env(ready["url"], case / "instance", TWILIO_ACCOUNT_SID=ACCOUNT_SID, TWILIO_AUTH_TOKEN=AUTH_TOKEN,
                        TWILIO_FROM=SENDER, TWILIO_API_URL=fake.url, PUBLIC_URL=f"http://127.0.0.1:{port}",
                        RIADO_SMS_CONCURRENCY=str(args.concurrency), SMTP_URL=smtp.url, MAIL_FROM=MAIL_FROM)
        web = Process("riado serve", [RIADO, "serve", "--host", "127.0.0.1", "--port", str(port)], env,
                      case / "riado-serve.log")
        worker = Process("riado worker", [RIADO, "worker"], env, case / "riado-worker.log")
        processes += [web, worker]
        wait_http(port, "/healthz", web)
        wait_log(worker, "Huey consumer started")
        client = Client(port, ready["token"], timeout=600)
        started = time.perf_counter()
        status, body = client.request("POST", "/api/v1/alerts", {
            "body": BODY, "groups": [ready["group_id"]], "drill": True, "channels": ["sms", "email"],
            "subject": "Árvízvédelmi készültség"})
        if status != 202:
            raise RuntimeError(f"POST /api/v1/alerts: HTTP {status}: {body[:300]!r}")
        alert_path = f"/api/v1/alerts/{json.loads(body)['id']}"
        deadline = started + max(120.0, n / 5)
        counts = {}
        while time.perf_counter() < deadline:
            status, body = client.request("GET", alert_path)
            counts = json.loads(body)["counts_by_channel"]
            if all(counts[c]["sent"] + counts[c]["delivered"] >= n for c in ("sms", "email")):
                break
            if any(counts[c]["failed"] for c in ("sms", "email")):
                break
            time.sleep(0.2)
        else:
            result["problems"].append(f"not all sent within {deadline - started:.0f} s: {counts}")
        result["wall_s"] = time.perf_counter() - started
        time.sleep(1.0)  # anything sent twice late?
        result["sms_rate"], _, _ = steady_rate(list(fake.messages))
        result["email_rate"], _, _ = steady_rate(smtp.messages)
        by_phone = fake.count_by_phone()
        by_address: dict[str, int] = {}
        for message in smtp.messages:
            for address in message.rcpt_tos:
                by_address[address] = by_address.get(address, 0) + 1
        phones = {phone(i) for i in range(n)}
        addresses = {email(i) for i in range(n)}
        if set(by_phone) != phones or any(k != 1 for k in by_phone.values()):
            result["problems"].append(f"SMS: {len(by_phone)} phones reached of {n}, "
                                      f"{sum(k - 1 for k in by_phone.values())} extra")
        if set(by_address) != addresses or any(k != 1 for k in by_address.values()):
            result["problems"].append(f"e-mail: {len(by_address)} addresses reached of {n}, "
                                      f"{sum(k - 1 for k in by_address.values())} extra")
        result["counts"] = counts
    finally:
        if client is not None:
            client.close()
        for process in processes:
            process.stop()
        for process in processes:
            result["problems"] += process.problems()
        fake.stop()
        smtp.stop()
    return result


def run_backend(backend: str, args, workdir: Path) -> dict:
    ready = prepare(backend, args, workdir)
    try:
        print(f"  {args.recipients:,} contacts, each with a phone and an e-mail address; RIADO_SMS_CONCURRENCY="
              f"{args.concurrency}; 1-minute load average {os.getloadavg()[0]:.2f}", flush=True)

        class Latency:  # run_bare's arguments
            latency_ms = args.latency_ms

        bare_sms = run_bare(args.concurrency, [phone(i) for i in range(args.recipients)], Latency)
        bare_email = run_bare_email(args.concurrency, [email(i) for i in range(args.recipients)])
        result = run_case(ready, args, ready["folder"] / "sms-email")
        result["bare_sms"], result["bare_email"] = bare_sms["rate"], bare_email["rate"]
        result["problems"] += bare_sms["problems"] + bare_email["problems"]
    finally:
        ready["drop"]()
    return result


def report(backend: str, result: dict) -> None:
    print(f"\n== {BACKEND_TITLES[backend]}: an alert on SMS and e-mail ==")
    print(f"{'channel':10}{'msg/s':>10}{'bare loop':>12}{'÷ bare':>9}")
    for channel, name in (("sms", "SMS"), ("email", "e-mail")):
        rate, bare = result[f"{channel}_rate"], result[f"bare_{channel}"]
        ratio = rate / bare if bare else float("nan")
        print(f"{name:10}{rounded(rate):>10}{rounded(bare):>12}{rounded(ratio, 2):>8}×")
        record("channels", backend, f"{name} msg/s (both channels at once)", rate, "/s")
        record("channels", backend, f"{name} ÷ bare loop", ratio, "×")
    print(f"(all sent in {result['wall_s']:.1f} s; the drains share the concurrency between the channels, so each "
          f"channel's ratio is against a bare loop that has all the threads to itself)")
    for problem in result["problems"]:
        print("PROBLEM " + problem)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgis", "both"), default="both")
    parser.add_argument("--recipients", type=int, help="contacts in the group (default 10,000)")
    parser.add_argument("--concurrency", type=int, default=4, help="RIADO_SMS_CONCURRENCY and the bare loops' threads")
    parser.add_argument("--latency-ms", type=float, default=50.0, help="the fake Twilio's answer time (default 50)")
    parser.add_argument("--pg-url", default=os.environ.get("TEST_PG_URL", DEFAULT_PG_URL))
    parser.add_argument("--quick", action="store_true", help=f"{QUICK['recipients']:,} recipients")
    args = parser.parse_args(argv)
    if args.recipients is None:
        args.recipients = QUICK["recipients"] if args.quick else 10_000
    if not 2 <= args.recipients <= len(PREFIXES) * 10_000 or args.concurrency < 1:
        parser.error(f"--recipients must be 2…{len(PREFIXES) * 10_000:,}; --concurrency at least 1")
    workdir = Path(tempfile.mkdtemp(prefix="riado-bench-channels-"))
    for key in ("REDIS_URL", "SECRET_KEY", "RIADO_EMBEDDED_WORKER", "SMTP_URL", "MAIL_FROM"):
        os.environ.pop(key, None)
    problems = False
    try:
        for backend in (("sqlite", "postgis") if args.backend == "both" else (args.backend,)):
            print(f"\n… {BACKEND_TITLES[backend]}: a fresh database, {args.recipients:,} contacts", flush=True)
            try:
                result = run_backend(backend, args, workdir)
            except Exception as exc:  # noqa: BLE001 (report it, then measure the other backend)
                traceback.print_exc()
                failed("channels", backend, " ".join(str(exc).split())[:120])
                problems = True
                continue
            report(backend, result)
            problems = problems or bool(result["problems"])
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
