"""Record ingestion against a running server: 1,000-record batches, fresh and re-sent.

Setup, over HTTP and the `xinyong` command line only: a department client with `records.write`
(`xinyong clients create`, in this environment: it must name the server's database) and N legal
persons registered with `PUT /v1/ingest/entities/{uscc}` under codes made here (GB 32100-2015).

Run: R batches of fresh penalties (`POST /v1/ingest/records`, document numbers unique to the run
and the round), one after the other, then the same R batches again, which must come back all
duplicates with the same record ids. Each kind gets p50 and max wall time per batch and rows/s.
A small untimed batch first warms the workers up.

    export XINYONG_DATABASE_URL=... XINYONG_INSTANCE_PATH=...   # the server's, for the command
    python -m load_tests.ingest_bench --base-url http://127.0.0.1:8741 --entities 50 --rounds 5

Only loopback addresses are accepted: benchmarks never leave the machine.
"""

from __future__ import annotations

import argparse
import json
import random
import secrets
import statistics
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from load_tests.common import is_loopback
from load_tests.report_bench import call_json, client_token, exchange, xinyong

# GB 32100-2015 §4: the code's alphabet (no I, O, Z, S, V) and the weights 3^i mod 31.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
DIVISION = "370306"  # Zhoucun district, Zibo
DEPARTMENT = "淄博市周村区市场监督管理局（入库基准）"


def uscc_check_char(first17: str) -> str:
    """The check character of a unified social credit code (GB 32100-2015 §4.5)."""
    if len(first17) != len(USCC_WEIGHTS):
        raise ValueError(f"the check character is computed from 17 characters, not {first17!r}")
    try:
        total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    except ValueError:
        raise ValueError(f"{first17!r} has a character a code never contains") from None
    return USCC_ALPHABET[(31 - total % 31) % 31]


def new_uscc(rng: random.Random) -> str:
    """A valid code of an enterprise (authority 9, type 1) registered in Zhoucun."""
    body = "".join(rng.choice(USCC_ALPHABET) for _ in range(9))
    first17 = "91" + DIVISION + body
    return first17 + uscc_check_char(first17)


def penalty(uscc: str, document_no: str, n: int, decided_on: str) -> dict[str, Any]:
    """A general or serious administrative penalty, as a department submits it."""
    fine = 500 * (1 + n % 40)
    return {
        "kind": "penalty",
        "document_no": document_no,
        "title": "经营超过保质期的食品案",
        "decided_on": decided_on,
        "uscc": uscc,
        "details": {
            "basis": "《中华人民共和国食品安全法》第一百二十四条",
            "violation": "经营超过保质期的食品",
            "result": f"罚款人民币{fine}元",
            "fine_amount": f"{fine}.00",
            "severity": "serious" if n % 10 == 0 else "general",
            "domain": "food_safety",
        },
    }


def batch(codes: Sequence[str], tag: str, round_no: int, size: int) -> list[dict[str, Any]]:
    """`size` fresh penalties of the run `tag`, spread over the registered legal persons."""
    decided_on = (datetime.now(UTC) - timedelta(days=30)).date().isoformat()
    return [
        penalty(
            codes[n % len(codes)], f"周市监罚〔基准{tag}〕{round_no:03d}-{n:04d}号", n, decided_on
        )
        for n in range(size)
    ]


def push(base_url: str, token: str, rows: list[dict[str, Any]]) -> tuple[float, dict[str, Any]]:
    """POST one batch: its wall time in seconds and the answer (which must be a 200)."""
    started = time.perf_counter()
    answer = call_json(base_url, "POST", "/v1/ingest/records", 200, {"records": rows}, token)
    return time.perf_counter() - started, answer


def outcome_ids(answer: dict[str, Any], size: int, outcome: str) -> list[str]:
    """The record ids of a batch answered all `outcome`, in row order (SystemExit otherwise)."""
    rows = answer["records"]
    if answer["rejected"] or len(rows) != size or any(r["outcome"] != outcome for r in rows):
        counts = {k: answer[k] for k in ("accepted", "duplicates")}
        raise SystemExit(
            f"expected {size} {outcome} rows, got {counts} and {answer['rejected'][:3]}"
        )
    return [str(r["record_id"]) for r in sorted(rows, key=lambda r: r["index"])]


def register_entities(base_url: str, token: str, count: int, rng: random.Random) -> list[str]:
    """`count` legal persons registered under new codes."""
    codes: list[str] = []
    while len(codes) < count:
        uscc = new_uscc(rng)
        body = {"name": f"淄博市周村区基准测试{len(codes) + 1}号丝绸有限公司", "kind": "enterprise"}
        headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        status, _, raw = exchange(
            base_url, "PUT", f"/v1/ingest/entities/{uscc}", json.dumps(body), headers
        )
        if status not in (200, 201):
            raise SystemExit(f"PUT /v1/ingest/entities/{uscc}: {status} {raw[:300]!r}")
        codes.append(uscc)
    return codes


def summary(name: str, seconds: list[float], size: int) -> str:
    """One line: batches, p50 and max wall time, rows/s at the p50 and over all batches."""
    # The median itself: with a handful of batches a nearest-rank p50 would be off by one.
    p50 = statistics.median(seconds)
    return (
        f"{name:<22} n={len(seconds)}  p50={p50:.3f} s  max={max(seconds):.3f} s  "
        f"mean={statistics.fmean(seconds):.3f} s  rows/s={size / p50:.0f} at p50, "
        f"{size * len(seconds) / sum(seconds):.0f} overall"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8741")
    parser.add_argument("--entities", type=int, default=50, help="legal persons to register")
    parser.add_argument("--rounds", type=int, default=5, help="fresh batches (and re-sends)")
    parser.add_argument("--batch-size", type=int, default=1000, help="records per batch")
    parser.add_argument("--warmup", type=int, default=100, help="records of the untimed batch")
    parser.add_argument(
        "--xinyong",
        default=str(Path(sys.executable).parent / "xinyong"),
        help="the xinyong command (default: next to this Python)",
    )
    args = parser.parse_args(argv)
    if not is_loopback(args.base_url):
        parser.error("only loopback servers may be benchmarked here")
    if min(args.entities, args.rounds) <= 0 or not 0 < args.batch_size <= 1000:
        parser.error("--entities and --rounds must be positive, --batch-size 1 to 1000")
    if args.warmup < 0 or args.warmup > 1000:
        parser.error("--warmup: 0 to 1000 records")
    base_url = args.base_url.rstrip("/")
    rng = random.Random()
    tag = secrets.token_hex(3).upper()

    status, output = xinyong(
        args.xinyong, "clients", "create", "--name", DEPARTMENT, "--kind", "department",
        "--scopes", "records.write", "--json",
    )  # fmt: skip
    if status != 0:
        raise SystemExit(f"xinyong clients create failed: {output[:500]}")
    department = json.loads(output.strip().splitlines()[-1])
    # A client the server does not know means the command used another database.
    token = client_token(base_url, department["client_id"], department["client_secret"])
    started = time.perf_counter()
    codes = register_entities(base_url, token, args.entities, rng)
    print(
        f"setup: department {department['client_id']}, {len(codes)} legal persons registered "
        f"in {time.perf_counter() - started:.1f} s; run {tag}",
        file=sys.stderr,
    )
    if args.warmup:
        outcome_ids(
            push(base_url, token, batch(codes, tag, 999, args.warmup))[1], args.warmup, "created"
        )

    batches = [batch(codes, tag, r, args.batch_size) for r in range(args.rounds)]
    fresh: list[float] = []
    created: list[list[str]] = []
    for rows in batches:
        seconds, answer = push(base_url, token, rows)
        fresh.append(seconds)
        created.append(outcome_ids(answer, args.batch_size, "created"))
    resent: list[float] = []
    for rows, ids in zip(batches, created, strict=True):
        seconds, answer = push(base_url, token, rows)
        resent.append(seconds)
        if outcome_ids(answer, args.batch_size, "duplicate") != ids:
            raise SystemExit("a re-sent batch named other records than the first answer")

    print(
        f"{base_url}: {args.rounds} batches of {args.batch_size} penalties over "
        f"{len(codes)} legal persons, one at a time, then the same batches again"
    )
    print(summary("fresh (all created)", fresh, args.batch_size))
    print(summary("re-sent (duplicates)", resent, args.batch_size))
    return 0


if __name__ == "__main__":
    sys.exit(main())
