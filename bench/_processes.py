"""Processes of the benchmarks that run Riadó as deployed (bench/api.py, bench/broadcast.py):
``riado serve``, ``riado worker`` and the bare server, each in a session of its own with its
output in a log file, stopped by their own process-group id."""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
RIADO = str(Path(sys.executable).with_name("riado"))
# Settings a benchmark must not inherit from the shell that runs it.
CLEARED = ("REDIS_URL", "SECRET_KEY", "RIADO_EMBEDDED_WORKER", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN",
           "TWILIO_FROM", "TWILIO_MESSAGING_SERVICE_SID", "TWILIO_API_URL", "PUBLIC_URL", "RIADO_DRILL_TEST_GROUP",
           "RIADO_BENCH_SUMMARY")
# What a healthy log never says.
# (gunicorn's "Worker (pid:…) was sent SIGTERM!" at a graceful stop is healthy; SIGKILL or a code is not.)
LOG_PROBLEMS = re.compile(r"Traceback|WORKER TIMEOUT|was sent SIGKILL|was sent code|database is locked|"
                          r"\bERROR\b|\bCRITICAL\b|Exception in worker")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def riado_env(database_url: str, instance: Path, **settings: str) -> dict:
    """The environment of a Riadó process: this one's, without inherited Riadó settings, plus
    ``settings``."""
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    env.update(DATABASE_URL=database_url, RIADO_INSTANCE_PATH=str(instance), RIADO_EMBEDDED_WORKER="0")
    env.update(settings)
    return env


class Process:
    """A child process in its own session (so that its own children go with it), its stdout and
    stderr in ``log``."""

    def __init__(self, name: str, command: list[str], env: dict, log: Path):
        self.name, self.command, self.log = name, command, log
        with open(log, "wb") as out:
            self.popen = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=REPO_ROOT,
                                          start_new_session=True)

    def alive(self) -> bool:
        return self.popen.poll() is None

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM to the process group (gunicorn and Huey shut down gracefully), SIGKILL if it
        does not end within ``timeout``."""
        if self.popen.poll() is not None:
            return
        try:
            os.killpg(self.popen.pid, signal.SIGTERM)
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(10)
        except ProcessLookupError:
            pass

    def _group(self):
        """(/proc/PID directory, the fields of its stat after "pid (comm)") of each live process
        of its group (gunicorn's master and workers, say)."""
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue  # ended meanwhile
            # state ppid pgrp session … utime (12th) stime (13th)
            if int(fields[2]) == self.popen.pid:
                yield stat.parent, fields

    def cpu_seconds(self) -> float:
        """CPU time (user + system) used so far by the live processes of its group, from /proc;
        NaN where there is no /proc."""
        ticks = [int(fields[11]) + int(fields[12]) for _proc, fields in self._group()]
        return sum(ticks) / os.sysconf("SC_CLK_TCK") if ticks else float("nan")

    def peak_rss_mb(self) -> tuple[float, float]:
        """(the largest peak resident memory of one live process of its group, the sum of their
        peaks) in MB, from /proc's VmHWM; NaN where there is no /proc."""
        peaks = []
        for proc, _fields in self._group():
            try:
                status = (proc / "status").read_text()
            except OSError:
                continue
            peaks += [int(line.split()[1]) / 1024 for line in status.splitlines() if line.startswith("VmHWM:")]
        return (max(peaks), sum(peaks)) if peaks else (float("nan"), float("nan"))

    def problems(self) -> list[str]:
        """Lines of the log that a healthy run does not write."""
        return [f"{self.name}: {line.strip()[:200]}" for line in self.text().splitlines() if LOG_PROBLEMS.search(line)]


def wait_http(port: int, path: str, process: Process, timeout: float = 90) -> float:
    """Wait until ``GET path`` answers 200; seconds waited. Raises if the process ends first."""
    started = time.monotonic()
    while True:
        if not process.alive():
            tail = "\n".join(process.text().splitlines()[-15:])
            raise RuntimeError(f"{process.name} ended with status {process.popen.returncode}:\n{tail}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            conn.close()
            if response.status == 200:
                return time.monotonic() - started
        except OSError:
            pass
        if time.monotonic() - started > timeout:
            raise RuntimeError(f"{process.name} did not answer GET {path} within {timeout:g} s")
        time.sleep(0.2)


def wait_log(process: Process, needle: str, timeout: float = 90) -> float:
    """Wait until ``needle`` appears in the process's log; seconds waited."""
    started = time.monotonic()
    while needle not in process.text():
        if not process.alive():
            tail = "\n".join(process.text().splitlines()[-15:])
            raise RuntimeError(f"{process.name} ended with status {process.popen.returncode}:\n{tail}")
        if time.monotonic() - started > timeout:
            raise RuntimeError(f"{process.name} did not log {needle!r} within {timeout:g} s")
        time.sleep(0.2)
    return time.monotonic() - started
