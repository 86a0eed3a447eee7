"""The `riado` command as an operator uses it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import PASSWORD

RIADO = str(Path(sys.executable).with_name("riado"))


def riado(*args, input=None, env_extra=None):
    env = dict(os.environ, **(env_extra or {}))
    return subprocess.run([RIADO, *args], env=env, capture_output=True, text=True, input=input, timeout=120)


def test_user_create_then_token_create_gives_a_working_token(client):
    made = riado("user", "create", "Referens@Riado-Test.example", "--role", "officer", "--password-stdin",
                 input=PASSWORD + "\n")
    assert made.returncode == 0, made.stderr
    token = riado("token", "create", "referens@riado-test.example")
    assert token.returncode == 0, token.stderr
    lines = token.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("riado_")  # the token and nothing else on stdout
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {lines[0]}"})
    assert me.status_code == 200 and me.get_json()["role"] == "officer"


def test_user_create_refuses_bad_input_naming_it(client):
    bad_role = riado("user", "create", "a@riado-test.example", "--role", "chief", "--password-stdin", input=PASSWORD)
    assert bad_role.returncode != 0 and "role" in bad_role.stderr
    bad_email = riado("user", "create", "not-an-email", "--role", "viewer", "--password-stdin", input=PASSWORD)
    assert bad_email.returncode != 0 and "email" in bad_email.stderr and "Traceback" not in bad_email.stderr
    short = riado("user", "create", "b@riado-test.example", "--role", "viewer", "--password-stdin", input="short")
    assert short.returncode != 0 and "password" in short.stderr


def test_token_create_for_an_unknown_user_fails_cleanly():
    result = riado("token", "create", "nobody@riado-test.example")
    assert result.returncode != 0
    assert result.stdout == ""
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_demo_load_is_idempotent_and_its_login_works(app, client, login):
    first = riado("demo", "load", env_extra={"RIADO_DEMO_PASSWORD": "demo-password-123"})
    assert first.returncode == 0, first.stderr
    second = riado("demo", "load", env_extra={"RIADO_DEMO_PASSWORD": "demo-password-123"})
    assert second.returncode == 0, second.stderr
    assert "Demo login: referens@belvaros-lipotvaros.example / demo-password-123" in second.stdout
    assert "contacts" in first.stderr and "alerts 1" in first.stderr
    assert "nothing added" in second.stderr
    from sqlalchemy import func, select

    from incident.extensions import db
    from incident.models import Municipality, User

    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(User)).scalar_one() == 8
        town = db.session.execute(select(Municipality)).scalar_one()
        assert town.office_phone == "+36 1 872 7211"
        assert "Belváros-Lipótváros" in town.name
        positions = set(db.session.execute(select(User.position)).scalars())
    assert {"Polgármester", "Alpolgármester", "Aljegyző", "Közbiztonsági referens", "Sajtóreferens",
            "Titkársági asszisztens"} <= positions
    response = login({"email": "referens@belvaros-lipotvaros.example", "password": "demo-password-123"}, follow=True)
    assert response.status_code == 200
    assert "Belváros-Lipótváros" in response.get_data(as_text=True)


@pytest.mark.slow
def test_demo_password_is_generated_once_per_instance(tmp_path, new_database):
    env = {"RIADO_INSTANCE_PATH": str(tmp_path), "DATABASE_URL": new_database("demo")}
    os.environ.pop("RIADO_DEMO_PASSWORD", None)
    assert riado("db", "upgrade", env_extra=env).returncode == 0
    first = riado("demo", "load", env_extra=env)
    second = riado("demo", "load", env_extra=env)
    assert first.returncode == 0, first.stderr
    password = first.stdout.strip().rsplit(" / ", 1)[1]
    assert len(password) >= 10
    assert second.stdout == first.stdout
    assert (tmp_path / "demo_password").read_text().strip() == password


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(url: str, proc, seconds: float = 60) -> int:
    import time
    import urllib.request

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"exited with {proc.returncode}: {proc.stdout.read()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.status
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"{url} never answered")


def _stop(proc) -> str:
    import signal

    proc.send_signal(signal.SIGTERM)
    try:
        out, _ = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return out


@pytest.mark.slow
def test_serve_runs_the_production_server(client):
    port = _free_port()
    proc = subprocess.Popen([RIADO, "serve", "--port", str(port), "--workers", "2"], env=dict(os.environ),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert _wait_for(f"http://127.0.0.1:{port}/healthz", proc) == 200
    finally:
        out = _stop(proc)
    assert "gunicorn" in out.lower() and proc.returncode == 0


def test_worker_consumes_the_queue_until_stopped():
    import selectors
    import time

    proc = subprocess.Popen([RIADO, "worker", "--workers", "2"], env=dict(os.environ),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen = []
    try:
        selector = selectors.DefaultSelector()
        selector.register(proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any("Riadó worker:" in line for line in seen):
            if selector.select(timeout=1):
                line = proc.stdout.readline()
                if not line:
                    break
                seen.append(line)
        time.sleep(1)
        assert proc.poll() is None, "".join(seen)
    finally:
        out = _stop(proc)
    output = "".join(seen) + out
    assert "Riadó worker: 2 threads on the SQLite queue" in output
    assert "Traceback" not in output


# Files Riadó creates are its own: no other account on the machine reads the database


def _modes(folder) -> dict[str, int]:
    return {p.name: p.stat().st_mode & 0o777 for p in folder.rglob("*") if p.is_file()}


@pytest.mark.slow
def test_the_database_queue_and_backup_files_are_created_private(tmp_path):
    import sqlite3

    instance = tmp_path / "instance"
    env = {"RIADO_INSTANCE_PATH": str(instance), "DATABASE_URL": ""}  # the default: SQLite in the instance folder
    old_umask = os.umask(0o022)  # as a shell usually has it
    try:
        up = riado("db", "upgrade", env_extra=env)
        assert up.returncode == 0, up.stderr
        made = _modes(instance)
        assert {"riado.db", "queue.db", "secret_key"} <= set(made)
        assert made == dict.fromkeys(made, 0o600), {k: oct(v) for k, v in made.items()}
        # While the service runs, SQLite's -wal and -shm files beside the database take its mode.
        conn = sqlite3.connect(instance / "riado.db")
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("CREATE TABLE probe (x)")
            running = _modes(instance)
            assert {"riado.db-wal", "riado.db-shm"} <= set(running)
            assert running == dict.fromkeys(running, 0o600), {k: oct(v) for k, v in running.items()}
        finally:
            conn.close()
        backup = riado("backup", str(tmp_path / "backups" / "riado.db"), env_extra=env)
        assert backup.returncode == 0, backup.stderr
        assert _modes(tmp_path / "backups") == {"riado.db": 0o600}
        # Files an older Riadó left readable by others are made private when it next starts.
        for name in ("riado.db", "queue.db"):
            (instance / name).chmod(0o644)
        (instance / "riado.db-wal").touch(0o644)
        again = riado("db", "upgrade", env_extra=env)
        assert again.returncode == 0, again.stderr
        fixed = _modes(instance)
        assert fixed == dict.fromkeys(fixed, 0o600), {k: oct(v) for k, v in fixed.items()}
    finally:
        os.umask(old_umask)
