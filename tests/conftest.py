"""Test fixtures: one suite, run on SQLite + SpatiaLite (``--db=sqlite``) and on
PostgreSQL + PostGIS (``--db=postgis``); each test starts from empty tables.

The suite runs in parallel with pytest-xdist (``-n 2``): each worker process has its own
database, instance folder (the SQLite queue file) and Redis (``redis_url``), so the workers
share nothing but the machine."""

from __future__ import annotations

import contextlib
import os
import re
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from factories import PASSWORD

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
# Fixtures of the test helpers, for every test: a real SMTP server (smtp_server, make_smtp_server),
# a feed server for the hazard watch (feeds).
pytest_plugins = ["smtp_server", "feed_server"]


def pytest_addoption(parser):
    parser.addoption(
        "--db",
        choices=("sqlite", "postgis"),
        default=os.environ.get("RIADO_TEST_DB", "sqlite"),
        help="database backend for the whole run",
    )
    parser.addoption(
        "--pg-url",
        default=os.environ.get("TEST_PG_URL", DEFAULT_PG_URL),
        help="an administrative PostgreSQL URL; the tests create and drop their own database",
    )


def worker_id() -> str:
    """``gw0``, ``gw1``… under pytest-xdist, ``main`` without it."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def pytest_report_header(config):
    backend = config.getoption("--db")
    return "Riadó database backend: " + ("SQLite + SpatiaLite" if backend == "sqlite" else "PostgreSQL + PostGIS")


@pytest.fixture(scope="session")
def backend(request) -> str:
    return request.config.getoption("--db")


def _pg_admin(url: str):
    import psycopg

    u = make_url(url)
    return psycopg.connect(
        host=u.host or "127.0.0.1", port=u.port or 5432, user=u.username or "postgres",
        password=u.password, dbname=u.database or "postgres", autocommit=True,
    )


@pytest.fixture(scope="session")
def new_database(request, tmp_path_factory):
    """A factory of empty databases of the selected backend (dropped at the end)."""
    backend = request.config.getoption("--db")
    admin_url = request.config.getoption("--pg-url")
    created = []

    def make(label: str = "main") -> str:
        name = f"riado_test_{label}_{worker_id()}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        if backend == "sqlite":
            return f"sqlite:///{tmp_path_factory.mktemp('db') / (name + '.db')}"
        with _pg_admin(admin_url) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        created.append(name)
        return make_url(admin_url).set(database=name).render_as_string(hide_password=False)

    yield make
    if created:
        with _pg_admin(admin_url) as conn:
            for name in created:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def instance_dir(tmp_path_factory):
    """This process's instance folder (tmp_path_factory is per xdist worker)."""
    return tmp_path_factory.mktemp("instance")


@pytest.fixture(scope="session")
def private_redis():
    """A redis-server of this test process's own (one per xdist worker), so that no other
    process's test, nor another run on the machine, shares its keys."""
    from private_services import PrivateRedis, redis_missing

    if redis_missing():
        pytest.fail(redis_missing())
    server = PrivateRedis()
    server.start()
    yield server
    server.destroy()


@pytest.fixture
def redis_url(private_redis) -> str:
    """The URL of this process's own Redis, emptied for the test."""
    private_redis.client().flushall()
    return private_redis.url


@pytest.fixture(scope="session")
def database_url(new_database, instance_dir):  # noqa: C901
    """The suite's database, migrated to head once."""
    url = new_database("main")
    saved = {k: os.environ.get(k) for k in ("RIADO_INSTANCE_PATH", "DATABASE_URL", "REDIS_URL", "SECRET_KEY")}
    os.environ["RIADO_INSTANCE_PATH"] = str(instance_dir)
    os.environ["DATABASE_URL"] = url
    os.environ.pop("REDIS_URL", None)
    os.environ.pop("SECRET_KEY", None)
    from flask_migrate import upgrade

    from incident import create_app

    app = create_app()
    with app.app_context():
        upgrade()
        from incident.extensions import db

        db.engine.dispose()
    yield url
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def cleanup_engine(database_url):
    from sqlalchemy import create_engine

    from incident.database import configure_engine, engine_options

    engine = create_engine(database_url, **engine_options(database_url))
    configure_engine(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session", autouse=True)
def no_phone_number_in_any_log_line(tmp_path_factory):
    """Every log record of the whole run (every test of this process, whichever logger wrote it)
    goes through the masking a deployed Riadó puts on its handlers (incident/logs.py) into one
    file; at the end, no phone number of the kind the tests use is left in it. (The processes the
    tests start have their own logs: tests/alerts/test_scale_out.py reads those.)"""
    import logging
    import re

    from incident.logs import Redact

    path = tmp_path_factory.mktemp("logs") / "run.log"
    handler = logging.FileHandler(path, encoding="utf-8", delay=False)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(Redact())
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    level = root.level
    root.setLevel(min(level, logging.INFO))  # the delivery attempts' lines are INFO
    root.addHandler(handler)
    yield
    root.removeHandler(handler)
    root.setLevel(level)
    handler.close()
    text = path.read_text(encoding="utf-8")
    leaked = sorted(set(re.findall(r"(?:\+36|\b06)[ -/]?\d{1,2}[ -/]?\d{3}[ -]?\d{3,4}", text)))
    assert not leaked, f"phone numbers in the run's log ({path}): {leaked[:10]}"


@pytest.fixture(autouse=True)
def empty_tables(request, cleanup_engine):
    """After each test, every Riadó table is emptied (tests may commit from threads and processes)."""
    yield
    from incident.extensions import db
    from incident.models import SEEDED_KINDS

    # Reference data seeded by the migrations stays; what a test added goes.
    reference = {"resource_kinds"}
    tables = [t.name for t in reversed(db.metadata.sorted_tables) if t.name not in reference]
    seeded = ", ".join(f"'{code}'" for code, _hu, _en in SEEDED_KINDS)
    with cleanup_engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # The append-only log's triggers would refuse; replica mode skips triggers for this
            # transaction only (a superuser's right, which the test database has). DELETE, not
            # TRUNCATE: a test leaves a few rows, and TRUNCATE's new files cost far more (0.7 s a
            # test against a few ms); the sequences start again at 1, as after TRUNCATE … RESTART IDENTITY.
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            for table in tables:
                conn.execute(text(f'DELETE FROM "{table}"'))
            conn.execute(text(
                "SELECT setval(s.oid::regclass, 1, false) FROM pg_class s JOIN pg_depend d ON d.objid = s.oid "
                "JOIN pg_class t ON t.oid = d.refobjid WHERE s.relkind = 'S' AND d.deptype IN ('a', 'i') "
                "AND t.relname = ANY(:tables)"), {"tables": tables})
        else:
            triggers = conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'log_entries'")).all()
            for name, _sql in triggers:
                conn.execute(text(f'DROP TRIGGER "{name}"'))
            for table in tables:
                conn.execute(text(f'DELETE FROM "{table}"'))
            for _name, sql in triggers:
                conn.execute(text(sql))
        conn.execute(text(f"DELETE FROM resource_kinds WHERE code NOT IN ({seeded})"))


# A feed URL nobody serves (the discard port: refused at once). The `riado` processes the tests
# start (workers, `make run`) have it too.
NO_FEED = "http://127.0.0.1:9/meteoalarm"
os.environ.setdefault("RIADO_METEOALARM_URL", NO_FEED)

@pytest.fixture
def app_factory(database_url):
    """Build apps on the suite's database (``app_factory(RIADO_LOGIN_RATE_LIMIT=...)``)."""
    from incident import create_app
    from incident.extensions import db

    apps = []

    def make(**overrides):
        # No test reads MeteoAlarm's real feed (the queue's periodic poll would): the feed is one
        # nobody serves (refused at once); a test that wants a feed serves one on 127.0.0.1
        # (feed_server) and names it.
        config = {"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "RIADO_METEOALARM_URL": NO_FEED}
        config.update(overrides)
        app = create_app(config)
        apps.append(app)
        return app

    yield make
    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app(app_factory):
    return app_factory()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make_user(app):
    """Create a committed user: ``make_user("officer")`` (``factories.create_user`` on ``app``)."""
    from factories import create_user

    def make(role="officer", email=None, password=PASSWORD, name="", position=""):
        user = create_user(app, role, email, password, name, position)
        return {"id": user["id"], "email": user["email"], "password": password, "role": role}

    return make


@pytest.fixture
def token_for(app):
    """An API token for a user dict from ``make_user``."""
    from incident.extensions import db
    from incident.models import User
    from incident.operations.sessions import issue_token

    def make(user) -> str:
        with app.app_context():
            token = issue_token(db.session.get(User, user["id"]), "test")
            db.session.commit()
            return token

    return make


@pytest.fixture
def api(client, make_user, token_for):
    """``api("viewer")`` → (headers, user): bearer headers of a fresh user of that role."""

    def make(role="officer"):
        user = make_user(role)
        return {"Authorization": f"Bearer {token_for(user)}"}, user

    return make


@pytest.fixture
def officer(api):
    """Bearer headers of a fresh officer: ``client.get(url, headers=officer)``."""
    return api("officer")[0]


@pytest.fixture
def viewer(api):
    """Bearer headers of a fresh viewer."""
    return api("viewer")[0]


CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "page has no CSRF token"
    return match.group(1)


@pytest.fixture
def login(client):
    """Sign a test client in through the real login form (with its CSRF token)."""

    def do(user, follow=False):
        page = client.get("/login")
        token = csrf_from(page.get_data(as_text=True))
        return client.post(
            "/login",
            data={"email": user["email"], "password": user["password"], "csrf_token": token},
            follow_redirects=follow,
        )

    return do


@pytest.fixture
def as_officer(client, make_user, login):
    """The test client, signed in as a fresh officer through the login form."""
    login(make_user("officer"))
    return client


@pytest.fixture
def as_viewer(client, make_user, login):
    """The test client, signed in as a fresh viewer through the login form."""
    login(make_user("viewer"))
    return client


@pytest.fixture
def live_server(app):
    """The test app served over HTTP on 127.0.0.1 (threads), for browsers and concurrent clients."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)
    server.server_close()


def http_json(method: str, url: str, body=None, headers=None) -> tuple[int, dict]:
    """One HTTP request with a JSON body, on its own connection (for concurrent tests)."""
    import json
    import urllib.error
    import urllib.request

    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.loads(exc.read() or b"null")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def fake_twilio():
    """A fake Twilio REST API on 127.0.0.1, driven by the real twilio SDK."""
    from fake_twilio import FakeTwilio

    fake = FakeTwilio().start()
    yield fake
    fake.stop()


WEBHOOK_TOKEN = "twilio-auth-token-of-the-test"
WEBHOOK_PUBLIC_URL = "https://riado.varos.example"


@pytest.fixture
def twilio_app(app_factory):
    """An app that checks Twilio's signatures with WEBHOOK_TOKEN for WEBHOOK_PUBLIC_URL; no worker
    runs, so the tasks its alerts queue are dropped at the end."""
    app = app_factory(TWILIO_ACCOUNT_SID="AC" + "0" * 32, TWILIO_AUTH_TOKEN=WEBHOOK_TOKEN, TWILIO_FROM="+36205550000",
                      PUBLIC_URL=WEBHOOK_PUBLIC_URL)
    yield app
    app.extensions["huey"].flush()


@pytest.fixture
def sms_app(app_factory, fake_twilio):
    """An app whose SMS go to the fake Twilio; PUBLIC_URL is where ``sms_server`` serves it."""
    from fake_twilio import ACCOUNT_SID, AUTH_TOKEN

    port = free_port()
    app = app_factory(
        TWILIO_ACCOUNT_SID=ACCOUNT_SID, TWILIO_AUTH_TOKEN=AUTH_TOKEN, TWILIO_FROM="+36205550000",
        TWILIO_API_URL=fake_twilio.url, PUBLIC_URL=f"http://127.0.0.1:{port}", RIADO_SMS_CONCURRENCY=4,
    )
    app.config["TEST_PORT"] = port
    app.extensions["huey"].flush()  # nothing left over from another test
    return app


@pytest.fixture
def sms_server(sms_app):
    """``sms_app`` served on its PUBLIC_URL (for Twilio's callbacks and concurrent clients)."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", sms_app.config["TEST_PORT"], sms_app, threaded=True)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield sms_app.config["PUBLIC_URL"]
    server.shutdown()
    thread.join(5)
    server.server_close()


@contextlib.contextmanager
def running_consumer(huey, workers: int = 4):
    """The real Huey consumer for ``huey`` in this process (threads), stopped and the queue
    emptied at the end."""
    from incident.queue import create_consumer

    worker = create_consumer(huey, workers=workers)
    worker._set_signal_handlers = lambda: None  # the test runner owns the signals
    worker.start()
    try:
        yield worker
    finally:
        worker.stop(graceful=False)
        for _, thread in worker.worker_threads:
            thread.join(5)
        worker.scheduler.join(5)
        huey.flush()


@pytest.fixture
def consumer(sms_app):
    """The real Huey consumer for ``sms_app``'s queue, in this process (threads)."""
    with running_consumer(sms_app.extensions["huey"]) as worker:
        yield worker


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.1):
    """Poll until ``predicate()`` is truthy; return its value or fail."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {getattr(predicate, '__name__', predicate)}")


def wait_until_idle(app, timeout: float = 30.0) -> None:
    """Wait until ``app``'s queue is idle: nothing queued (in the queue or a lane), no task being
    taken or run by a consumer of this process, and no delivery left queued or sending. Then a
    test can assert that nothing more was sent (a late duplicate would have been sent by now)."""
    from sqlalchemy import func, select

    from alerts.models import PENDING_STATUSES, Delivery
    from incident.extensions import db
    from incident.queue import idle

    huey = app.extensions["huey"]

    def nothing_left() -> bool:
        with app.app_context():
            pending = db.session.execute(
                select(func.count()).select_from(Delivery).where(Delivery.status.in_(PENDING_STATUSES))
            ).scalar_one()
            db.session.rollback()
        return pending == 0

    def quiet() -> bool:
        return idle(huey) and nothing_left() and idle(huey)

    wait_for(quiet, timeout)


@pytest.fixture
def doomed_database(backend, new_database, tmp_path):
    """A database of the test's own (``.url``), which ``.lose(app)`` takes away under the running
    app, as a lost disk or server would: SQLite's folder deleted, PostgreSQL's database dropped."""
    import types

    if backend == "sqlite":
        folder = tmp_path / "gone"
        folder.mkdir()
        url = f"sqlite:///{folder / 'riado.db'}"
    else:
        url = new_database("doomed")

    def lose(app):
        from incident.extensions import db

        with app.app_context():
            db.engine.dispose()
        if backend == "sqlite":
            for path in folder.iterdir():
                path.unlink()
            folder.rmdir()
        else:
            import psycopg
            from sqlalchemy.engine import make_url

            u = make_url(url)
            with psycopg.connect(host=u.host, port=u.port, user=u.username, dbname="postgres", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE "{u.database}" WITH (FORCE)')

    return types.SimpleNamespace(url=url, lose=lose)

