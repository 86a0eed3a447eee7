"""`riado backup PATH` makes a consistent snapshot that restores to the same data."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from incident.database import configure_engine, engine_options

RIADO = str(Path(sys.executable).with_name("riado"))


def _count(url, table):
    engine = create_engine(url, **engine_options(url))
    configure_engine(engine)
    try:
        with engine.connect() as conn:
            return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
    finally:
        engine.dispose()


def test_backup_and_restore(client, api, backend, new_database, tmp_path, database_url):
    headers, _ = api("officer")
    point = {"type": "Point", "coordinates": [19.05, 47.5]}
    incident = client.post("/api/v1/incidents", json={"title": "Mentés", "kind": "other", "severity": "minor",
                                                      "location": point}, headers=headers).get_json()
    client.post(f"/api/v1/incidents/{incident['id']}/log", json={"text": "Bejegyzés a mentés előtt"}, headers=headers)
    target = tmp_path / "riado-backup.dump"
    result = subprocess.run([RIADO, "backup", str(target)], env=dict(os.environ), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert target.stat().st_size > 0 and not (tmp_path / "riado-backup.dump.partial").exists()
    # Restore into a fresh database, as the README says, and find the same record there.
    if backend == "sqlite":
        restored = f"sqlite:///{target}"
    else:
        restored = new_database("restore")
        u = make_url(restored)
        done = subprocess.run(["pg_restore", "--no-owner", f"--host={u.host}", f"--port={u.port}",
                               f"--username={u.username}", f"--dbname={u.database}", str(target)],
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    assert _count(restored, "log_entries") == 2
    assert _count(restored, "incidents") == 1
    verify = subprocess.run(
        [sys.executable, "-c", "from incident import create_app; from incident.operations.incidents import verify_log;"
         "from incident.extensions import db; from incident.models import Incident;"
         "app = create_app();\nwith app.app_context(): print(verify_log(db.session.get(Incident, %d)).ok)" % incident["id"]],
        env={**os.environ, "DATABASE_URL": restored}, capture_output=True, text=True, timeout=120)
    assert verify.stdout.strip() == "True", verify.stderr


def test_the_backup_is_readable_by_its_owner_only(database_url, tmp_path):
    target = tmp_path / "private" / "riado-backup.dump"
    old_umask = os.umask(0o022)  # as a shell usually has it
    try:
        result = subprocess.run([RIADO, "backup", str(target)], env=dict(os.environ), capture_output=True, text=True,
                                timeout=120)
    finally:
        os.umask(old_umask)
    assert result.returncode == 0, result.stderr
    assert {p.name: p.stat().st_mode & 0o777 for p in target.parent.iterdir()} == {"riado-backup.dump": 0o600}
