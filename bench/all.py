"""Every benchmark under bench/, one after the other, then one table of their figures.

    .venv/bin/python bench/all.py [--quick] [--backend sqlite|postgis|both] [--only NAME,…]
                                  [--pg-url URL] [--summary PATH]

Runs spatial, log, broadcast, channels, map, api and reception (then any other ``bench/*.py`` that
is not a helper, that is whose name does not start with ``_``), each as a process of its own with its output as it
comes, and with ``RIADO_BENCH_SUMMARY`` pointing at a JSON-lines file that each appends its
figures to (see bench/_summary.py). At the end: one table, a row per figure and a column per
backend, with the goals where there are any, and how long each benchmark took.

``--quick`` runs every benchmark with small sizes (a few minutes in all), to check that they
work rather than to measure. The exit status is 1 if a benchmark failed or found something
wrong (a wrong answer, a lost or duplicated message); never because of a timing.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ORDER = ("spatial", "log", "broadcast", "channels", "map", "api", "reception")
# Small sizes for --quick: enough to exercise every path, not to measure.
QUICK_ARGS = {
    "spatial": ["--rows", "20000", "--queries", "100"],
    "log": ["--appends", "400", "--entries", "20000"],
    "broadcast": ["--quick"],
    "map": ["--resources", "2000", "--incidents", "100", "--runs", "2"],
    "api": ["--quick"],
    "channels": ["--quick"],
    "reception": ["--quick"],
}
BACKENDS = ("sqlite", "postgis")


def benchmarks() -> list[str]:
    """The benchmarks in ORDER, then any others under bench/ (helpers start with ``_``)."""
    found = {p.stem for p in BENCH.glob("*.py") if not p.stem.startswith("_") and p.stem != "all"}
    return [name for name in ORDER if name in found] + sorted(found - set(ORDER))


def read_summary(path: Path) -> list[dict]:
    lines = []
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                lines.append(json.loads(line))
            except ValueError:
                pass  # a line cut short by a crash
    return lines


def shown(value, unit: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, str):
        return value
    suffix = unit if unit in ("×", "") or unit.startswith("/") else f" {unit}"
    if isinstance(value, int):
        return f"{value:,}{suffix}"
    if unit == "×" and abs(value) < 0.1:
        text = f"{value:.3f}"
    elif abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    return text + suffix


def table(lines: list[dict], runs: list[dict]) -> None:
    """One row per (bench, figure), one column per backend, in the order the figures came."""
    rows: dict[tuple[str, str], dict] = {}
    for line in lines:
        key = (line["bench"], line["figure"])
        row = rows.setdefault(key, {"unit": line.get("unit", ""), "goal": None, "values": {}, "met": {}})
        row["values"][line["backend"]] = line["value"]
        if line.get("goal") is not None:
            row["goal"] = line["goal"]
            row["met"][line["backend"]] = line.get("met")
    order = {name: i for i, name in enumerate([r["name"] for r in runs])}
    keys = sorted(rows, key=lambda k: order.get(k[0], len(order)))  # stable: figures keep their order
    backends = [b for b in BACKENDS if any(b in rows[k]["values"] for k in keys)] or list(BACKENDS)
    width = max([len(figure) for _bench, figure in keys] + [20]) + 2
    head = f"{'bench':11}{'figure':{width}}" + "".join(f"{b:>16}" for b in backends) + "  goal"
    print("\n" + "=" * len(head))
    print("Riadó benchmarks: summary")
    print("=" * len(head))
    print(head)
    previous = None
    for bench, figure in keys:
        row = rows[(bench, figure)]
        if bench != previous:
            print("-" * len(head))
            previous = bench
        cells = "".join(f"{shown(row['values'].get(b), row['unit']):>16}" for b in backends)
        goal = ""
        if row["goal"]:
            verdicts = ", ".join(f"{b} {'met' if row['met'].get(b) else 'NOT met'}" for b in backends
                                 if b in row["met"])
            goal = f"  {row['goal']} ({verdicts})"
        print(f"{bench:11}{figure:{width}}{cells}{goal}")
    print("-" * len(head))
    for run in runs:
        verdict = "ok" if run["status"] == 0 else f"exit status {run['status']}: see its output above"
        print(f"{run['name']:11}{run['seconds'] / 60:5.1f} min  {verdict}")
    total = sum(r["seconds"] for r in runs)
    print(f"{'all':11}{total / 60:5.1f} min  on {os.cpu_count()} CPUs, 1-minute load average now "
          f"{os.getloadavg()[0]:.2f} (other work on the machine shows in every figure)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: checks that every benchmark works")
    parser.add_argument("--backend", choices=("sqlite", "postgis", "both"), default="both")
    parser.add_argument("--only", default="", help="comma-separated benchmark names (default: all)")
    parser.add_argument("--pg-url", default=None, help="passed on to each benchmark")
    parser.add_argument("--summary", type=Path, default=None,
                        help="keep the JSON-lines figures in this file (default: a temporary file)")
    args = parser.parse_args(argv)

    names = benchmarks()
    if args.only:
        wanted = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = sorted(set(wanted) - set(names))
        if unknown:
            parser.error(f"no such benchmark: {', '.join(unknown)} (there are {', '.join(names)})")
        names = [n for n in names if n in wanted]

    summary = args.summary
    temporary = summary is None
    if temporary:
        handle, name = tempfile.mkstemp(prefix="riado-bench-", suffix=".jsonl")
        os.close(handle)
        summary = Path(name)
    summary.write_text("", encoding="utf-8")
    env = dict(os.environ, RIADO_BENCH_SUMMARY=str(summary), PYTHONUNBUFFERED="1")
    runs = []
    try:
        for name in names:
            command = [sys.executable, str(BENCH / f"{name}.py"), "--backend", args.backend]
            if args.pg_url:
                command += ["--pg-url", args.pg_url]
            if args.quick:
                command += QUICK_ARGS.get(name, [])
            print(f"\n{'#' * 100}\n# bench/{name}.py {' '.join(command[2:])}\n{'#' * 100}", flush=True)
            started = time.perf_counter()
            status = subprocess.call(command, env=env, cwd=BENCH.parent)
            runs.append({"name": name, "status": status, "seconds": time.perf_counter() - started})
        table(read_summary(summary), runs)
        if not temporary:
            print(f"(the figures as JSON lines: {summary})")
    finally:
        if temporary:
            summary.unlink(missing_ok=True)
    return 1 if any(r["status"] for r in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
