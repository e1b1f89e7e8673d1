"""The Python SDK's per-call overhead over raw httpx (issue 7).

1. Against a running server: N sequential `client.public.entity(uscc)` calls through the SDK and
   the same requests with a raw `httpx.Client`, both on ONE httpx.Client (the same connection
   pool and keep-alive connection; the SDK is given it as `http_client`), interleaved in rounds so
   that the server's drift touches both alike. The raw call also checks the status and parses
   the JSON, as any caller would.
2. In process: the same pair against a transport that answers at once with the same body (no
   network, no server): what the SDK itself adds per call.

Prints mean and p50 per call and the difference in µs.

    python -m load_tests.sdk_overhead --base-url http://127.0.0.1:8000 [--uscc CODE] \
        [--calls 2000] [--rounds 10]

Only loopback addresses are accepted: benchmarks never leave the machine. Talks to the server
over HTTP only.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from load_tests.common import is_loopback, percentile

if importlib.util.find_spec("xinyong_sdk") is None:  # not installed: use the source folder
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sdk"))

from xinyong_sdk import Client  # noqa: E402 - after the fallback above


def timed(call: Callable[[], Any], count: int, into: list[float]) -> None:
    """Run `call` `count` times, appending each duration in µs."""
    for _ in range(count):
        start = time.perf_counter_ns()
        call()
        into.append((time.perf_counter_ns() - start) / 1000)


def compare(
    raw: Callable[[], Any], sdk: Callable[[], Any], calls: int, rounds: int
) -> tuple[list[float], list[float]]:
    """Interleaved rounds of raw and SDK calls (alternating which goes first)."""
    raw_us: list[float] = []
    sdk_us: list[float] = []
    per_round = max(1, calls // rounds)
    for n in range(rounds):
        pair = [(raw, raw_us), (sdk, sdk_us)]
        for call, into in pair if n % 2 == 0 else reversed(pair):
            timed(call, per_round, into)
    return raw_us, sdk_us


def summary(
    title: str, raw_us: list[float], sdk_us: list[float], out: Callable[[str], None]
) -> None:
    raw_mean, sdk_mean = statistics.fmean(raw_us), statistics.fmean(sdk_us)
    raw_p50, sdk_p50 = percentile(raw_us, 50), percentile(sdk_us, 50)
    out(f"{title}  ({len(raw_us)} calls each)")
    out(f"  raw httpx   mean {raw_mean:8.1f} µs   p50 {raw_p50:8.1f} µs")
    out(f"  SDK         mean {sdk_mean:8.1f} µs   p50 {sdk_p50:8.1f} µs")
    out(
        f"  difference  mean {sdk_mean - raw_mean:+8.1f} µs   p50 {sdk_p50 - raw_p50:+8.1f} µs"
        f"   ({(sdk_p50 - raw_p50) / raw_p50 * 100:+.1f} % at p50)"
    )


def run(
    base_url: str, uscc: str | None, calls: int, rounds: int, out: Callable[[str], None]
) -> None:
    headers = {"Accept": "application/json, application/problem+json"}
    with httpx.Client(timeout=httpx.Timeout(10.0, connect=2.0)) as http:
        if uscc is None:
            found = http.get(f"{base_url}/v1/public/entities", params={"page_size": 1})
            found.raise_for_status()
            uscc = found.json()["items"][0]["uscc"]
        url = f"{base_url}/v1/public/entities/{uscc}"

        def raw() -> Any:
            response = http.get(url, headers=headers)
            response.raise_for_status()
            return json.loads(response.content)

        body = raw()
        with Client(base_url, http_client=http, max_retries=0) as client:

            def sdk() -> Any:
                return client.public.entity(uscc)

            assert sdk() == body
            compare(raw, sdk, max(rounds, calls // 10), rounds)  # warm up both paths
            summary(f"GET /v1/public/entities/{uscc} against {base_url}",
                    *compare(raw, sdk, calls, rounds), out)  # fmt: skip

    content = json.dumps(body, ensure_ascii=False).encode()

    def instant(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=content, headers={"Content-Type": "application/json"})

    with httpx.Client(transport=httpx.MockTransport(instant)) as http:
        url = f"http://127.0.0.1:9/v1/public/entities/{uscc}"

        def raw_local() -> Any:
            response = http.get(url, headers=headers)
            response.raise_for_status()
            return json.loads(response.content)

        with Client("http://127.0.0.1:9", http_client=http, max_retries=0) as client:

            def sdk_local() -> Any:
                return client.public.entity(uscc)

            compare(raw_local, sdk_local, calls, rounds)
            summary("The same, in process (a transport that answers at once)",
                    *compare(raw_local, sdk_local, calls, rounds), out)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--uscc", help="the legal person to read (default: the first found)")
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args(argv)
    if not is_loopback(args.base_url):
        parser.error("benchmarks only run against this machine (a loopback address)")
    run(args.base_url.rstrip("/"), args.uscc, args.calls, args.rounds, print)
    return 0


if __name__ == "__main__":
    sys.exit(main())
