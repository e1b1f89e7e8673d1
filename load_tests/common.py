"""What the benchmarks share: loopback-only HTTP connections, a concurrent driver, percentiles.

Benchmarks talk to the server over HTTP only and never leave this machine.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import math
import statistics
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


def is_loopback(base_url: str) -> bool:
    """Whether the URL names this machine: localhost or a loopback address, nothing else."""
    parts = urllib.parse.urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    if parts.hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        return False


@dataclass
class Samples:
    """Latencies (ms) and failures of one operation."""

    latencies: list[float] = field(default_factory=list)
    failures: int = 0
    statuses: dict[int, int] = field(default_factory=dict)


class Connection:
    """One HTTP connection, reopened when the server closes it."""

    def __init__(self, base_url: str) -> None:
        parts = urllib.parse.urlsplit(base_url)
        self.https = parts.scheme == "https"
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (443 if self.https else 80)
        self.conn = self._open()

    def _open(self) -> http.client.HTTPConnection:
        kind = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
        return kind(self.host, self.port, timeout=10)

    def request(
        self, method: str, path: str, body: str | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=body, headers=headers or {})
                response = self.conn.getresponse()
                return response.status, response.read()
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = self._open()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def get_json(self, path: str) -> Any:
        status, body = self.request("GET", path, headers={"Accept": "application/json"})
        if status != 200:
            raise SystemExit(f"GET {path}: {status} {body[:200]!r}")
        return json.loads(body)


def drive(
    base_url: str,
    count: int | None,
    concurrency: int,
    call: Callable[[Connection, int], tuple[int, bool]],
    *,
    seconds: float | None = None,
) -> tuple[Samples, float]:
    """Make `count` calls, or calls for `seconds`, from `concurrency` threads, each on its own
    connection.

    `call(connection, i)` performs the i-th request and answers (status, ok); only ok requests
    count towards the latencies. Returns the samples and the wall time.
    """
    if (count is None) == (seconds is None):
        raise ValueError("give either a count of calls or a duration")
    samples = Samples()
    lock = threading.Lock()
    issued = iter(range(count if count is not None else 10**12))
    deadline = time.perf_counter() + seconds if seconds is not None else None

    def next_call() -> int | None:
        if deadline is not None and time.perf_counter() >= deadline:
            return None
        with lock:
            return next(issued, None)

    def worker() -> None:
        connection = Connection(base_url)
        while (i := next_call()) is not None:
            started = time.perf_counter()
            try:
                status, ok = call(connection, i)
            except (http.client.HTTPException, OSError):
                status, ok = 0, False
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                samples.statuses[status] = samples.statuses.get(status, 0) + 1
                if ok:
                    samples.latencies.append(elapsed)
                else:
                    samples.failures += 1

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return samples, time.perf_counter() - started


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile by the nearest-rank method: the smallest value with at least p % of
    the values at or below it (ceil, not round: round() takes halves to even)."""
    ordered = sorted(values)
    rank = math.ceil(p / 100 * len(ordered))
    return ordered[max(0, min(len(ordered) - 1, rank - 1))]


def report(name: str, samples: Samples, wall: float, out: Callable[[str], None]) -> None:
    """One line per operation."""
    lat = samples.latencies
    if not lat:
        out(f"{name:<28} no successful requests; statuses {samples.statuses}")
        return
    out(
        f"{name:<28} n={len(lat):>5}  rps={len(lat) / wall:>7.1f}  "
        f"p50={percentile(lat, 50):6.2f} ms  p95={percentile(lat, 95):6.2f} ms  "
        f"p99={percentile(lat, 99):6.2f} ms  max={max(lat):7.2f} ms  "
        f"mean={statistics.fmean(lat):6.2f} ms  failures={samples.failures}"
    )
