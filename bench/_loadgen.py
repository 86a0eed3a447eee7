"""A load generator, run by bench/api.py as a process of its own (so that it does not share a
GIL with what it measures): ``connections`` threads, each on its own HTTP/1.1 keep-alive
connection with TCP_NODELAY, send requests back to back (closed loop) for ``warmup`` +
``duration`` seconds.

    .venv/bin/python bench/_loadgen.py < spec.json > result.json

The spec (JSON on stdin)::

    {"host": "127.0.0.1", "port": 8000, "connections": 16, "duration": 10, "warmup": 2,
     "headers": {"Authorization": "Bearer …"},
     "requests": [["GET", "/api/v1/resources?limit=20", null], ["POST", "/…/log", {"text": "…"}], …]}

Connection i starts at request ``i × len(requests) / connections`` and cycles through the list.
Requests that complete inside the measured window (after the warm-up) give the figures: requests
per second, latency percentiles, statuses. ``statuses_all`` counts every answer, warm-up and
the requests still in flight at the end included, so that writes can be reconciled with what
the server stored. A connection that breaks is counted as an error and opened again.
"""

from __future__ import annotations

import http.client
import json
import math
import socket
import sys
import threading
import time


def percentile(sorted_ms: list[float], p: float) -> float | None:
    """The p-th percentile (nearest rank) of sorted samples."""
    if not sorted_ms:
        return None
    rank = max(1, min(len(sorted_ms), math.ceil(p / 100 * len(sorted_ms))))
    return sorted_ms[rank - 1]


def run(spec: dict) -> dict:
    host, port = spec.get("host", "127.0.0.1"), int(spec["port"])
    connections, duration, warmup = int(spec["connections"]), float(spec["duration"]), float(spec.get("warmup", 0))
    base_headers = {"Accept": "application/json", **spec.get("headers", {})}
    requests = []
    for method, path, body in spec["requests"]:
        payload = None if body is None else json.dumps(body, ensure_ascii=False).encode()
        headers = dict(base_headers, **({"Content-Type": "application/json"} if payload is not None else {}))
        requests.append((method, path, payload, headers))

    lock = threading.Lock()
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    statuses_all: dict[str, int] = {}
    errors: list[str] = []
    error_count = [0]
    marks: dict[str, float] = {}
    barrier = threading.Barrier(connections, action=lambda: marks.setdefault("start", time.perf_counter()))

    def connect() -> http.client.HTTPConnection:
        conn = http.client.HTTPConnection(host, port, timeout=120)
        conn.connect()
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn

    def worker(i: int) -> None:
        mine_ms: list[float] = []
        mine: dict[str, int] = {}
        mine_all: dict[str, int] = {}
        conn = connect()
        n = i * len(requests) // connections
        barrier.wait()
        start = marks["start"]
        measure_from, stop_at = start + warmup, start + warmup + duration
        try:
            while True:
                sent = time.perf_counter()
                if sent >= stop_at:
                    break
                method, path, payload, headers = requests[n % len(requests)]
                n += 1
                try:
                    conn.request(method, path, body=payload, headers=headers)
                    response = conn.getresponse()
                    response.read()
                    status = str(response.status)
                except (OSError, http.client.HTTPException) as exc:
                    with lock:
                        error_count[0] += 1
                        if len(errors) < 10:
                            errors.append(f"{method} {path}: {type(exc).__name__}: {exc}")
                    conn.close()
                    conn = connect()
                    continue
                done = time.perf_counter()
                mine_all[status] = mine_all.get(status, 0) + 1
                if sent >= measure_from and done <= stop_at:
                    mine_ms.append((done - sent) * 1000)
                    mine[status] = mine.get(status, 0) + 1
        finally:
            conn.close()
            with lock:
                latencies.extend(mine_ms)
                for target, source in ((statuses, mine), (statuses_all, mine_all)):
                    for key, value in source.items():
                        target[key] = target.get(key, 0) + value

    threads = [threading.Thread(target=worker, args=(i,), name=f"load-{i}") for i in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies.sort()
    count = len(latencies)
    return {
        "connections": connections, "duration_s": duration, "warmup_s": warmup,
        "requests": count, "rps": count / duration if duration else None,
        "p50_ms": percentile(latencies, 50), "p90_ms": percentile(latencies, 90),
        "p99_ms": percentile(latencies, 99), "max_ms": latencies[-1] if latencies else None,
        "statuses": statuses, "statuses_all": statuses_all, "errors": error_count[0], "error_samples": errors,
    }


if __name__ == "__main__":
    json.dump(run(json.load(sys.stdin)), sys.stdout)
    sys.stdout.write("\n")
