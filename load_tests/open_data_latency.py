"""Latency of the open data reads against a running server: entity by USCC and name search.

Samples real codes and names from the server's own search pages, then times, over HTTP with
keep-alive, reads of random entities and searches for random two-character substrings of real
names, and prints p50/p95/p99 per operation.

    python -m load_tests.open_data_latency --base-url http://127.0.0.1:8000 --requests 2000

Only loopback addresses are accepted: benchmarks never leave the machine.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import urllib.parse

from load_tests.common import Connection, Samples, drive, is_loopback, report


def sample_entities(client: Connection, pages: int, rng: random.Random) -> list[dict[str, str]]:
    """Codes and names from the search pages, starting at several places of the register."""
    found: list[dict[str, str]] = []
    cursor = None
    for _ in range(pages):
        query = {"page_size": "100"}
        if cursor:
            query["cursor"] = cursor
        status, body = client.request("GET", "/v1/public/entities?" + urllib.parse.urlencode(query))
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
    """GET every path with `concurrency` connections; the samples and the wall time."""

    def get(connection: Connection, i: int) -> tuple[int, bool]:
        status, _ = connection.request("GET", paths[i], headers={"Accept": "application/json"})
        return status, status == 200

    return drive(base_url, len(paths), concurrency, get)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--requests", type=int, default=2000, help="per operation")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--sample-pages", type=int, default=50)
    parser.add_argument("--seed", type=int, default=370306)
    args = parser.parse_args(argv)
    if not is_loopback(args.base_url):
        parser.error("only loopback servers may be benchmarked here")

    rng = random.Random(args.seed)
    client = Connection(args.base_url)
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
