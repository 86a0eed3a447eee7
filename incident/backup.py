"""``riado backup PATH``: a consistent snapshot of the database.

SQLite: the online backup API copies a consistent image while the service keeps running (WAL
readers and writers are not stopped). PostgreSQL: ``pg_dump --format=custom`` (one consistent
snapshot); restore with ``pg_restore --clean --if-exists --no-owner -d DATABASE PATH``."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

from .config import ConfigurationError
from .database import sqlite_dbapi


def backup(database_url: str, target: Path) -> Path:
    """Write the snapshot to ``target`` (a file); return it."""
    url = make_url(database_url)
    target = Path(target).resolve()
    if target.exists() and target.is_dir():
        raise ConfigurationError(f"{target} is a folder; give the backup file's name.")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    # The backup holds everybody's personal data: readable by this account only, from the start.
    partial.unlink(missing_ok=True)
    os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        if url.get_backend_name() == "sqlite":
            _sqlite(url.database, partial)
        else:
            _postgres(url, partial)
        os.chmod(partial, 0o600)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, target)  # a reader never sees half a backup
    return target


def _sqlite(source: str, partial: Path) -> None:
    dbapi = sqlite_dbapi()
    src = dbapi.connect(f"file:{source}?mode=ro", uri=True)
    dst = dbapi.connect(str(partial))
    try:
        src.backup(dst, pages=1024)
    finally:
        dst.close()
        src.close()


def _postgres(url, partial: Path) -> None:
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise ConfigurationError("pg_dump is not installed (Debian package postgresql-client).")
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = url.password
    command = [pg_dump, "--format=custom", "--no-owner", f"--file={partial}",
               f"--host={url.host or '127.0.0.1'}", f"--port={url.port or 5432}", f"--dbname={url.database}"]
    if url.username:
        command.append(f"--username={url.username}")
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        partial.unlink(missing_ok=True)
        raise ConfigurationError(f"pg_dump failed: {' '.join(result.stderr.split())[:300]}")
