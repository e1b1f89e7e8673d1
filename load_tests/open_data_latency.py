"""Latency of the open data reads against a running server: entity by USCC and name search.

Samples real codes and names from the server's own search pages, then times, over HTTP with
keep-alive, reads of random entities and searches for random two-character substrings of real
names, and prints p50/p95/p99 per operation.

    python -m load_tests.open_data_latency --base-url http://127.0.0.1:8000 --requests 2000

Only loopback addresses are accepted: benchmarks never leave the machine.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import statistics
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field

LOOPBACK = ("127.", "localhost", "[::1]", "::1")


@dataclass
class Samples:
    """Latencies (ms) and failures of one operation."""

    latencies: list[float] = field(default_factory=list)
    failures: int = 0
    statuses: dict[int, int] = field(default_factory=dict)


class Client:
    """One keep-alive HTTP connection."""

    def __init__(self, base_url: str) -> None:
        parsed = urllib.parse.urlsplit(base_url)
        self.host, self.port = parsed.hostname or "127.0.0.1", parsed.port or 80
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=10)

    def get(self, path: str) -> tuple[int, bytes]:
        for attempt in (1, 2):
            try:
                self.conn.request("GET", path, headers={"Accept": "application/json"})
                response = self.conn.getresponse()
                return response.status, response.read()
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


def sample_entities(client: Client, pages: int, rng: random.Random) -> list[dict[str, str]]:
    """Codes and names from the search pages, starting at several places of the register."""
    found: list[dict[str, str]] = []
    cursor = None
    for _ in range(pages):
        query = {"page_size": "100"}
        if cursor:
            query["cursor"] = cursor
        status, body = client.get("/v1/public/entities?" + urllib.parse.urlencode(query))
        if status != 200:
            raise SystemExit(f"sampling failed: {status} {body[:200]!r}")
        page = json.loads(body)
        found += [{"uscc": i["uscc"], "name": i["name"]} for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    rng.shuffle(found)
    return found


def two_char_terms(names: list[str], count: int, rng: random.Random) -> list[str]:
    """Random two-character substrings of real names, skipping the region prefix 淄博/周村区."""
    terms = []
    while len(terms) < count:
        name = rng.choice(names)
        for prefix in ("淄博市周村区", "山东", "淄博", "周村区"):
            if name.startswith(prefix) and len(name) > len(prefix) + 2:
                name = name[len(prefix) :]
                break
        start = rng.randrange(0, len(name) - 1)
        terms.append(name[start : start + 2])
    return terms


def run(base_url: str, paths: list[str], concurrency: int) -> tuple[Samples, float]:
    """GET every path with `concurrency` threads; the samples and the wall time."""
    samples = Samples()
    lock = threading.Lock()
    queue = list(reversed(paths))

    def worker() -> None:
        client = Client(base_url)
        while True:
            with lock:
                if not queue:
                    return
                path = queue.pop()
            started = time.perf_counter()
            try:
                status, _ = client.get(path)
            except (http.client.HTTPException, OSError):
                status = 0
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                samples.statuses[status] = samples.statuses.get(status, 0) + 1
                if status == 200:
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
    """The p-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(p / 100 * len(ordered)) - 1))]


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--requests", type=int, default=2000, help="per operation")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--sample-pages", type=int, default=50)
    parser.add_argument("--seed", type=int, default=370306)
    args = parser.parse_args(argv)
    host = urllib.parse.urlsplit(args.base_url).hostname or ""
    if not host.startswith(LOOPBACK):
        parser.error("only loopback servers may be benchmarked here")

    rng = random.Random(args.seed)
    client = Client(args.base_url)
    entities = sample_entities(client, args.sample_pages, rng)
    if not entities:
        parser.error("the server has no entities; seed it first (xinyong seed --demo)")
    codes = [rng.choice(entities)["uscc"] for _ in range(args.requests)]
    terms = two_char_terms([e["name"] for e in entities], args.requests, rng)
    operations = {
        "entity by USCC": [f"/v1/public/entities/{code}" for code in codes],
        "search, 2-char substring": [
            "/v1/public/entities?" + urllib.parse.urlencode({"q": term}) for term in terms
        ],
    }
    print(
        f"{args.base_url}: {len(entities)} sampled entities, {args.requests} requests per "
        f"operation, {args.concurrency} concurrent connections"
    )
    for name, paths in operations.items():
        run(args.base_url, paths[: min(50, len(paths))], args.concurrency)  # warm-up
        samples, wall = run(args.base_url, paths, args.concurrency)
        report(name, samples, wall, print)
    return 0


if __name__ == "__main__":
    sys.exit(main())
