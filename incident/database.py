"""One code path over two backends: SQLite + SpatiaLite (embedded) and PostgreSQL + PostGIS."""

from __future__ import annotations

import datetime as dt
import logging
import os
import sqlite3
import stat
from contextlib import contextmanager
from contextvars import ContextVar

# Shapely must load its bundled GEOS before SQLite loads SpatiaLite: SQLite dlopens extensions
# with RTLD_GLOBAL, so the system's older libgeos_c would otherwise take over shapely's calls
# ("WKB output dimension must be 2 or 3").
import shapely  # noqa: F401  (import order matters, see above)
from sqlalchemy import event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.types import DateTime, TypeDecorator

from .config import ConfigurationError

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 15_000
# Set for the duration of a read-only request (GET, HEAD): its SQLite transactions begin
# DEFERRED, so that reading (a long log verification, a map poll) never holds the write lock.
read_only: ContextVar[bool] = ContextVar("riado_read_only", default=False)


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC timestamp on both backends (SQLite keeps no offset by itself)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; give a timezone")
        value = value.astimezone(dt.timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)


# The time ``utcnow`` gives within ``clock_at`` (None: the real time).
_clock: ContextVar[dt.datetime | None] = ContextVar("riado_clock", default=None)


def utcnow() -> dt.datetime:
    """The current time, aware, in UTC (within ``clock_at``, the time it set)."""
    return _clock.get() or dt.datetime.now(dt.timezone.utc)


def wall_clock() -> dt.datetime:
    """The real current time, also within ``clock_at``: when a row was really written (the audit
    trail)."""
    return dt.datetime.now(dt.timezone.utc)


@contextmanager
def clock_at(moment: dt.datetime):
    """Run operations that take no time of their own as if at ``moment``: for loading a past
    record through them (the demo's alert, its deliveries and replies). Only this context sees
    it (a ContextVar): no other request, thread or worker."""
    token = _clock.set(moment.astimezone(dt.timezone.utc))
    try:
        yield
    finally:
        _clock.reset(token)


def _stdlib_sqlite_loads_extensions() -> bool:
    return hasattr(sqlite3.Connection, "enable_load_extension")


def sqlite_dbapi():
    """The DB-API module to use for SQLite: the stdlib one if it can load extensions."""
    if _stdlib_sqlite_loads_extensions():
        return sqlite3
    try:
        from pysqlite3 import dbapi2  # type: ignore[import-not-found]
    except ImportError:
        raise ConfigurationError(
            "This Python's sqlite3 module cannot load extensions and pysqlite3-binary is not "
            "installed, so SpatiaLite cannot be used: run make setup or use Debian's python3."
        ) from None
    return dbapi2


def spatialite_library() -> str:
    """The SpatiaLite module to load (``SPATIALITE_LIBRARY_PATH``, default ``mod_spatialite``)."""
    return os.environ.get("SPATIALITE_LIBRARY_PATH") or "mod_spatialite"


def engine_options(url: str) -> dict:
    """SQLAlchemy engine options for the configured backend."""
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        return {
            "module": sqlite_dbapi(),
            "connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
        }
    return {
        "pool_pre_ping": True,
        "pool_size": 10,
        "max_overflow": 20,
        "pool_timeout": 10,
        "connect_args": {"connect_timeout": 5, "application_name": "riado"},
    }


def make_private(*paths) -> None:
    """Take the group's and others' permissions off these files, where they exist: a database or
    queue made before Riadó set its umask, or by a process started some other way. SQLite gives
    the -wal and -shm files it creates the database file's own mode."""
    for path in paths:
        mode = None
        try:
            mode = stat.S_IMODE(os.stat(path).st_mode)
            if mode & 0o077:
                os.chmod(path, mode & 0o700)
        except FileNotFoundError:
            continue
        except OSError as exc:  # not ours to change: say so, and go on serving
            log.warning("could not make %s private (mode %s): %s", path, oct(mode) if mode else "?", exc)


def sqlite_files(database: str | None) -> list[str]:
    """The SQLite database file and the journal files beside it (none for an in-memory one)."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return []
    return [database + suffix for suffix in ("", "-wal", "-shm", "-journal")]


class SpatiaLiteMissing(ConfigurationError):
    """SpatiaLite could not be loaded into an SQLite connection."""


def _on_sqlite_connect(dbapi_conn, _record):
    library = spatialite_library()
    try:
        dbapi_conn.enable_load_extension(True)
        dbapi_conn.load_extension(library)
        dbapi_conn.enable_load_extension(False)
    except Exception as exc:
        raise SpatiaLiteMissing(
            f"SpatiaLite could not be loaded ({library}: {exc}); install the Debian package "
            "libsqlite3-mod-spatialite (make setup does) or set SPATIALITE_LIBRARY_PATH."
        ) from None
    # Autocommit at the driver level: SQLAlchemy's "begin" event below emits
    # BEGIN IMMEDIATE itself (the documented pysqlite recipe), so that a
    # read-then-write transaction cannot be overtaken by another writer.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA foreign_keys = ON")
    # Deleted and overwritten content is zeroed, not left in free pages (the evacuees' purge
    # must leave no readable copy of a name in the file).
    cur.execute("PRAGMA secure_delete = ON")
    cur.execute("PRAGMA journal_mode = WAL")
    cur.execute("PRAGMA synchronous = NORMAL")
    if cur.execute("SELECT CheckSpatialMetaData()").fetchone()[0] < 1:
        # WGS84 only: a few hundred rows instead of every EPSG code (0.3 s, not 10 s).
        cur.execute("SELECT InitSpatialMetaData(1, 'WGS84')")
    cur.close()


def write_during_read(session) -> None:
    """A read that must write (an audited look at personal data, in a GET): end the read-only
    transaction begun so far and begin the next one as a writer's (on SQLite BEGIN IMMEDIATE, so
    that the audit row cannot lose to another writer midway). For the rest of this request."""
    read_only.set(False)
    session.commit()


def _on_sqlite_begin(conn):
    conn.exec_driver_sql("BEGIN" if read_only.get() else "BEGIN IMMEDIATE")


def configure_engine(engine: Engine) -> None:
    """Attach the per-backend connection set-up to a new engine."""
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _on_sqlite_connect)
        event.listen(engine, "begin", _on_sqlite_begin)
        files = sqlite_files(engine.url.database)
        # Each new connection (a pool holds few) checks that the files are still the account's own.
        event.listen(engine, "connect", lambda _conn, _record: make_private(*files))


def describe_url(url: str) -> str:
    """The database URL without its password, for messages and logs."""
    return make_url(url).render_as_string(hide_password=True)


def check_connection(engine: Engine) -> str:
    """Connect once and return the spatial extension's version; raise ConfigurationError otherwise."""
    where = describe_url(str(engine.url.render_as_string(hide_password=False)))
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                return "SpatiaLite " + conn.execute(text("SELECT spatialite_version()")).scalar_one()
            conn.execute(text("SELECT 1"))
            return "PostgreSQL " + str(conn.execute(text("SHOW server_version")).scalar_one())
    except ConfigurationError:
        raise
    except Exception as exc:
        orig = getattr(exc, "orig", None) or exc
        if isinstance(orig, SpatiaLiteMissing):
            raise ConfigurationError(str(orig)) from None
        reason = " ".join(str(orig).split()) or type(orig).__name__
        if len(reason) > 200:
            reason = reason[:200] + "…"
        raise ConfigurationError(f"Cannot connect to the database at {where}: {reason}.") from None
