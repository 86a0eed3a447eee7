"""Set up prometheus_client's multiprocess mode before anything imports it (see metrics.py)."""

from __future__ import annotations

import os
from pathlib import Path

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare_multiprocess(instance_path: Path) -> None:
    """Before prometheus_client is imported (``riado`` does this first): share the counters of
    every process of this host through files in ``instance/metrics`` (unless
    PROMETHEUS_MULTIPROC_DIR is set already), leaving out the files of processes that are gone
    (a counter that drops is a reset, which Prometheus's rate() takes in its stride)."""
    folder = Path(os.environ.get(MULTIPROCESS_ENV) or instance_path / "metrics")
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError:
        return  # no metrics shared between processes; each answers for itself
    for path in folder.glob("*.db"):
        pid = path.stem.rsplit("_", 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            path.unlink(missing_ok=True)
    os.environ[MULTIPROCESS_ENV] = str(folder)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
