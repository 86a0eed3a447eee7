"""Set up prometheus_client's multiprocess mode before anything imports it (see metrics.py)."""

from __future__ import annotations

import os
from pathlib import Path

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare_multiprocess(instance_path: Path) -> None:
    """Before prometheus_client is imported (``riado`` does this first): share the counters of
    every process of this host through files in ``instance/metrics`` (unless
    PROMETHEUS_MULTIPROC_DIR is set already). The files of processes that have ended are kept:
    their counts are part of the totals, which must never drop while the service runs (a worker
    restarting would look like a burst to rate()). Empty the folder only when no riado process
    runs (the deployment guide puts it on /run, which a reboot empties)."""
    folder = Path(os.environ.get(MULTIPROCESS_ENV) or instance_path / "metrics")
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError:
        return  # no metrics shared between processes; each answers for itself
    os.environ[MULTIPROCESS_ENV] = str(folder)
