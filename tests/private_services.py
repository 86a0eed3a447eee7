"""Private PostgreSQL and Redis servers for fault tests: the tests stop, kill and restart them, so
they never touch the machine's own servers (other people's tests run against those).

``PrivatePostgres``: a throw-away PostgreSQL cluster (initdb; Debian's PostgreSQL 15 with PostGIS)
in a temporary directory on a free port, run as the ``postgres`` user when the tests run as root
(PostgreSQL refuses to run as root).
``PrivateRedis``: a ``redis-server`` on a free port, without persistence unless asked for."""

from __future__ import annotations

import os
import signal
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from conftest import free_port


def _pg_bin() -> Path:
    """The server binaries: RIADO_TEST_PG_BIN, else the newest Debian PostgreSQL that has PostGIS
    (/usr/lib/postgresql/15/bin on Debian 12)."""
    if os.environ.get("RIADO_TEST_PG_BIN"):
        return Path(os.environ["RIADO_TEST_PG_BIN"])
    versions = sorted((p for p in Path("/usr/lib/postgresql").glob("*/bin") if p.parent.name.isdigit()),
                      key=lambda p: int(p.parent.name), reverse=True)
    for bin_dir in versions:
        if Path(f"/usr/share/postgresql/{bin_dir.parent.name}/extension/postgis.control").exists():
            return bin_dir
    return Path("/usr/lib/postgresql/15/bin")


PG_BIN = _pg_bin()
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"  # Debian's


def postgres_missing() -> str | None:
    """Why a private cluster cannot be started here (None if it can)."""
    for tool in ("initdb", "pg_ctl", "postgres"):
        if not (PG_BIN / tool).exists():
            return f"{PG_BIN / tool} is not installed"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no postgres user to run PostgreSQL as"
    return None


def redis_missing() -> str | None:
    return None if Path(REDIS_SERVER).exists() else f"{REDIS_SERVER} is not installed"


class PrivatePostgres:
    """``start()``, ``stop(mode)``, ``start()`` again…, ``destroy()``; ``url(dbname)`` for SQLAlchemy."""

    def __init__(self):
        self.port = free_port()
        # Not under pytest's tmp_path: its parents are private to root, and the server runs as postgres.
        self.dir = Path(tempfile.mkdtemp(prefix="riado-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "server.log"
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.dir, user.pw_uid, user.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")

    def _run(self, tool: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        result = subprocess.run([*self.as_user, str(PG_BIN / tool), *args], capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError(f"{tool} failed ({result.returncode}): {result.stderr or result.stdout}\n{self.server_log()[-3000:]}")
        return result

    def server_log(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def start(self) -> float:
        """Start the cluster and wait until it accepts connections; return how long it took."""
        began = time.monotonic()
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start")
        return time.monotonic() - began

    def stop(self, mode: str = "fast") -> None:
        """``fast``: sessions are ended and the server shuts down cleanly; ``immediate``: the server
        quits at once, as a crash would (recovery from the WAL at the next start)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{dbname}"

    def admin(self, dbname: str = "postgres"):
        import psycopg

        return psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname=dbname, autocommit=True)

    def destroy(self) -> None:
        if self.running():
            try:
                self.stop("immediate")
            except Exception:
                pass
        shutil.rmtree(self.dir, ignore_errors=True)


class PrivateRedis:
    """A redis-server on a free port. ``appendonly=False`` (the default) keeps nothing on disk:
    a kill and restart gives an empty Redis, the hard case for the queue."""

    def __init__(self, appendonly: bool = False):
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="riado-redis-"))
        self.appendonly = appendonly
        self.proc: subprocess.Popen | None = None
        self.log = self.dir / "redis.log"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        args = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir),
                "--save", "", "--appendonly", "yes" if self.appendonly else "no", "--daemonize", "no",
                "--logfile", str(self.log)]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.ping():
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start: {self.log.read_text(errors='replace')[-2000:] if self.log.exists() else ''}")

    def ping(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_timeout=1, socket_connect_timeout=1).ping())
        except redis.RedisError:
            return False

    def client(self):
        import redis

        return redis.Redis(port=self.port, socket_timeout=5)

    def kill(self) -> None:
        """SIGKILL: whatever was in memory and not persisted is gone."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def destroy(self) -> None:
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def stop_process(proc) -> None:
    """Stop a process started in a session of its own (``start_new_session=True``) with all its
    children: SIGTERM, and SIGKILL if it is not gone in 30 s."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
