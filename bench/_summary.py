"""Machine-readable figures of the benchmarks, for bench/all.py's table.

With ``RIADO_BENCH_SUMMARY=<path>`` in the environment each benchmark appends one JSON line per
figure to that file::

    {"bench": "spatial", "backend": "sqlite", "figure": "API median", "value": 5.98, "unit": "ms",
     "goal": "≤ 15 ms", "met": true}

``goal`` and ``met`` only when the figure has a goal. Without the variable nothing is written.
(A leading underscore: a helper, not a benchmark that bench/all.py would run.)
"""

from __future__ import annotations

import json
import math
import os

ENV = "RIADO_BENCH_SUMMARY"


def record(bench: str, backend: str, figure: str, value, unit: str = "", goal: str | None = None,
           met: bool | None = None) -> None:
    """Append one figure to the summary file, if there is one (NaN and infinities as null)."""
    path = os.environ.get(ENV)
    if not path:
        return
    if isinstance(value, float) and not math.isfinite(value):
        value = None
    line = {"bench": bench, "backend": backend, "figure": figure, "value": value, "unit": unit}
    if goal is not None:
        line["goal"] = goal
        line["met"] = met
    # One write per line with O_APPEND: lines from several processes never interleave.
    with open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps(line, ensure_ascii=False) + "\n")


def failed(bench: str, backend: str, reason: str) -> None:
    """A backend whose run failed: a line that the table shows as failed."""
    record(bench, backend, "failed", reason[:200], "")
