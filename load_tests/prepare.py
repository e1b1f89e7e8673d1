"""Prepare a running server for the locust scenarios, over HTTP and the `xinyong` command only.

1. Count the legal persons by walking the public search pages (sampling names and codes on the
   way); with fewer than `--entities`, seed the demo district (`xinyong seed --demo`) and count
   again.
2. Register the load test's clients (`xinyong clients create --json`): a bank with
   `consents.request` and every `credit.*` scope, a rating agency, a department with
   `records.write` (and legal persons of its own to file penalties against), and a noisy bank.
   Give the first three generous per-client limits and the noisy bank a low one
   (`xinyong clients set-limit`), or warn and go on if this server has no such command yet.
3. Make sign-in accounts for `--subjects` sampled legal persons (`xinyong accounts create`), sign
   each in through the PKCE flow of `xinyong-cli`, grant consents from its dashboard (the bank:
   every category; the rating agency: its categories; the noisy bank: `basic`, for a few), and
   have each partner take its consent tokens.
4. Write all of it to `--state` (it holds client secrets, a password and consent tokens: 0600).

    export XINYONG_DATABASE_URL=... XINYONG_REDIS_URL=... XINYONG_INSTANCE_PATH=...  # the server's
    python -m load_tests.prepare --base-url http://127.0.0.1:8751 --entities 100000 \
        --subjects 100 --state /tmp/xinyong_load.json

The commands must see the server's database: run this with the server's XINYONG_* variables (a
client the server does not know, or an account of another subject, stops it with that reason).
Only loopback addresses are accepted: load tests never leave the machine.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import secrets
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from load_tests.common import is_loopback
from load_tests.ingest_bench import register_entities
from load_tests.open_data_latency import two_char_terms
from load_tests.report_bench import (
    call_json,
    client_token,
    exchange,
    make_account,
    save_state,
    sign_in,
    xinyong,
)
from load_tests.traffic import CATEGORIES, visitor_addresses

AGENCY_CATEGORIES = ("basic", "administrative", "lists", "tax")
NOISY_SUBJECTS = 20
# Per-client limits: the partners of the load test must never be limited, the noisy bank soon.
GENEROUS = (100_000, 5_000)
LOW = (60, 5)
CONSENT_DAYS = 30
SEED_VISIBLE_WITHIN = 90  # seconds
TOKEN_REUSE_SECONDS = 300  # half the server's default access-token lifetime


@dataclass
class Census:
    """Legal persons counted on the search pages, and a uniform sample of them."""

    count: int = 0
    sample: list[dict[str, str]] = field(default_factory=list)


def census(
    fetch: Callable[[str], Any], at_least: int, sample_size: int, rng: random.Random
) -> Census:
    """Walk the search pages (100 a page) until `at_least` legal persons are seen or the pages
    end, keeping a reservoir sample (Algorithm R) of `sample_size` of them.

    `fetch(path)` answers a page's JSON; counting stops early so that a register far larger
    than asked is not walked to its end.
    """
    seen = Census()
    cursor = None
    while seen.count < at_least:
        query = {"page_size": "100", **({"cursor": cursor} if cursor else {})}
        page = fetch("/v1/public/entities?" + urllib.parse.urlencode(query))
        for item in page["items"]:
            entry = {k: str(item[k]) for k in ("uscc", "subject_id", "name", "kind")}
            seen.count += 1
            if len(seen.sample) < sample_size:
                seen.sample.append(entry)
            else:
                slot = rng.randrange(seen.count)
                if slot < sample_size:
                    seen.sample[slot] = entry
        cursor = page["next_cursor"]
        if not cursor:
            break
    return seen


def count_and_sample(base_url: str, at_least: int, sample_size: int, rng: random.Random) -> Census:
    """`census` over HTTP, as public visitors: each page from another address of their pool
    (believed by a server that trusts this machine as a proxy; otherwise 429s are waited out)."""
    addresses = itertools.cycle(visitor_addresses())

    def fetch(path: str) -> Any:
        headers = {"Accept": "application/json", "X-Forwarded-For": next(addresses)}
        status, _, raw = exchange(base_url, "GET", path, None, headers)
        if status != 200:
            raise SystemExit(f"GET {path}: {status} {raw[:300]!r}")
        return json.loads(raw)

    started = time.perf_counter()
    found = census(fetch, at_least, sample_size, rng)
    print(
        f"prepare: {found.count:,}{'+' if found.count >= at_least else ''} legal persons "
        f"counted in {time.perf_counter() - started:.0f} s",
        file=sys.stderr,
    )
    return found


def seed(command: str, entities: int) -> None:
    """`xinyong seed --demo --entities N`, its output shown as it goes."""
    print(f"prepare: xinyong seed --demo --entities {entities}", file=sys.stderr)
    done = subprocess.run(
        [command, "seed", "--demo", "--entities", str(entities)],
        capture_output=True,
        text=True,
        check=False,
    )
    print(done.stdout + done.stderr, file=sys.stderr, end="")
    if done.returncode != 0:
        raise SystemExit(f"xinyong seed failed with exit status {done.returncode}")
    if "already loaded" in done.stdout:
        raise SystemExit(
            "the demo district is already loaded with fewer legal persons than asked: "
            "prepare a fresh database, or ask for as many --entities as it has"
        )


def create_client(command: str, name: str, kind: str, scopes: str) -> dict[str, str]:
    """Register a client; its `client_id` and `client_secret`."""
    status, output = xinyong(
        command, "clients", "create", "--name", name, "--kind", kind, "--scopes", scopes, "--json"
    )
    if status != 0:
        raise SystemExit(f"xinyong clients create failed: {output[:500]}")
    made = json.loads(output.strip().splitlines()[-1])
    return {"client_id": str(made["client_id"]), "client_secret": str(made["client_secret"])}


def missing_command(status: int, output: str) -> bool:
    """Whether click refused the command as unknown (exit status 2, "No such command")."""
    return status == 2 and "No such command" in output


def set_limits(command: str, limits: dict[str, tuple[int, int]]) -> bool:
    """`xinyong clients set-limit` for each client; False (with a warning) when this server has
    no such command yet. Any other failure stops the preparation."""
    for client_id, (per_minute, burst) in limits.items():
        status, output = xinyong(
            command, "clients", "set-limit", client_id,
            "--per-minute", str(per_minute), "--burst", str(burst),
        )  # fmt: skip
        if missing_command(status, output):
            print(
                "prepare: WARNING: this xinyong has no `clients set-limit` command: the "
                "load-test clients keep the default per-client limits, and the noisy bank may "
                "provoke no 429 at all",
                file=sys.stderr,
            )
            return False
        if status != 0:
            raise SystemExit(f"xinyong clients set-limit {client_id} failed: {output[:500]}")
    return True


class PartnerTokens:
    """Client-credentials tokens of the load test's clients, taken again well before they
    expire (a large preparation outlasts a token)."""

    def __init__(self, base_url: str, clients: dict[str, dict[str, str]]) -> None:
        self.base_url = base_url
        self.clients = clients
        self.lock = threading.Lock()
        self.held: dict[str, tuple[float, str]] = {}

    def get(self, role: str) -> str:
        with self.lock:
            # Not `(0.0, "")` as the default: time.monotonic() counts from the machine's boot,
            # and on a machine up for less than TOKEN_REUSE_SECONDS an empty token was "fresh".
            taken_at, token = self.held.get(role, (float("-inf"), ""))
            if time.monotonic() - taken_at > TOKEN_REUSE_SECONDS:
                client = self.clients[role]
                token = client_token(self.base_url, client["client_id"], client["client_secret"])
                self.held[role] = (time.monotonic(), token)
            return token


def grant(
    base_url: str, subject_token: str, partner: dict[str, str], categories: list[str], purpose: str
) -> str:
    """A consent granted from the subject's dashboard; its consent id."""
    consent = call_json(
        base_url,
        "POST",
        "/v1/me/consents",
        201,
        body={
            "client_id": partner["client_id"],
            "categories": categories,
            "purpose": purpose,
            "expires_at": (datetime.now(UTC) + timedelta(days=CONSENT_DAYS)).isoformat(),
        },
        token=subject_token,
    )
    return str(consent["consent_id"])


def take_consent_token(base_url: str, partner_token: str, consent_id: str) -> str:
    taken = call_json(
        base_url, "POST", f"/v1/consents/{consent_id}/token", 200, token=partner_token
    )
    return str(taken["consent_token"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--entities", type=int, default=100_000, help="legal persons at least")
    parser.add_argument("--subjects", type=int, default=100, help="subjects with consents")
    parser.add_argument("--state", type=Path, required=True, help="where to write the state")
    parser.add_argument("--sample", type=int, default=5000, help="entities for the visitors")
    parser.add_argument("--terms", type=int, default=1000, help="search terms for the visitors")
    parser.add_argument("--department-entities", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=4, help="parallel setup commands")
    parser.add_argument(
        "--xinyong",
        default=str(Path(sys.executable).parent / "xinyong"),
        help="the xinyong command (default: next to this Python)",
    )
    args = parser.parse_args(argv)
    if not is_loopback(args.base_url):
        parser.error("only loopback servers may be load-tested here")
    numbers = (args.entities, args.subjects, args.sample, args.terms, args.department_entities)
    if min(numbers) <= 0 or args.jobs <= 0:
        parser.error("--entities, --subjects, --sample, --terms, --jobs: positive")
    base_url = args.base_url.rstrip("/")
    rng = random.Random()
    started = time.perf_counter()
    tag = secrets.token_hex(3).upper()

    found = count_and_sample(base_url, args.entities, args.sample, rng)
    if found.count < args.entities:
        seed(args.xinyong, args.entities)
        # The seed writes past the API: a server may answer from a cached search for a while.
        deadline = time.monotonic() + SEED_VISIBLE_WITHIN
        while True:
            found = count_and_sample(base_url, args.entities, args.sample, rng)
            if found.count >= args.entities:
                break
            if time.monotonic() > deadline:
                raise SystemExit(
                    f"{SEED_VISIBLE_WITHIN} s after seeding, the server shows only "
                    f"{found.count:,} legal persons"
                )
            print("prepare: the search does not show the seeded data yet", file=sys.stderr)
            time.sleep(5)
    if len(found.sample) < args.subjects:
        raise SystemExit(f"only {len(found.sample)} legal persons sampled for the subjects")

    scopes = {
        "bank": ("bank", " ".join(["consents.request", *(f"credit.{c}" for c in CATEGORIES)])),
        "rating_agency": (
            "rating_agency",
            " ".join(["consents.request", *(f"credit.{c}" for c in AGENCY_CATEGORIES)]),
        ),
        "department": ("department", "records.write"),
        "noisy_bank": ("bank", "consents.request credit.basic"),
    }
    names = {
        "bank": "负载测试银行",
        "rating_agency": "负载测试信用评级公司",
        "department": "淄博市周村区市场监督管理局（负载测试）",
        "noisy_bank": "负载测试限流银行",
    }
    with ThreadPoolExecutor(args.jobs) as pool:
        registered = pool.map(
            lambda item: create_client(args.xinyong, f"{names[item[0]]} {tag}", *item[1]),
            scopes.items(),
        )
        clients = dict(zip(scopes, registered, strict=True))
    limits_set = set_limits(
        args.xinyong,
        {
            clients["bank"]["client_id"]: GENEROUS,
            clients["rating_agency"]["client_id"]: GENEROUS,
            clients["department"]["client_id"]: GENEROUS,
            clients["noisy_bank"]["client_id"]: LOW,
        },
    )
    tokens = PartnerTokens(base_url, clients)
    department_codes = register_entities(
        base_url, tokens.get("department"), args.department_entities, rng
    )
    print(
        f"prepare: clients {', '.join(c['client_id'] for c in clients.values())}; "
        f"{len(department_codes)} legal persons registered by the department",
        file=sys.stderr,
    )

    password = secrets.token_urlsafe(18)
    candidates = list(found.sample)
    rng.shuffle(candidates)
    accounts: list[tuple[dict[str, str], str]] = []
    with ThreadPoolExecutor(args.jobs) as pool:
        while len(accounts) < args.subjects and candidates:
            wave = [
                candidates.pop() for _ in range(min(args.subjects - len(accounts), len(candidates)))
            ]
            made = pool.map(lambda e: (e, make_account(args.xinyong, e, password)), wave)
            accounts += [(e, u) for e, u in made if u is not None]
    if len(accounts) < args.subjects:
        raise SystemExit(f"only {len(accounts)} new accounts could be made")
    print(f"prepare: {len(accounts)} subject accounts", file=sys.stderr)

    def consent_all(index: int, entity: dict[str, str], username: str) -> dict[str, Any]:
        subject_token = sign_in(base_url, username, password)
        out: dict[str, Any] = {"username": username, "subject_id": entity["subject_id"]}
        wanted = [
            ("bank", list(CATEGORIES), "loan_application"),
            ("rating_agency", list(AGENCY_CATEGORIES), "credit_rating"),
        ]
        if index < NOISY_SUBJECTS:
            wanted.append(("noisy_bank", ["basic"], "loan_monitoring"))
        for role, categories, purpose in wanted:
            consent_id = grant(base_url, subject_token, clients[role], categories, purpose)
            out[role] = take_consent_token(base_url, tokens.get(role), consent_id)
        return out

    with ThreadPoolExecutor(args.jobs * 2) as pool:
        granted = list(pool.map(lambda a: consent_all(a[0], *a[1]), enumerate(accounts)))

    def consents_of(role: str) -> list[dict[str, str]]:
        return [
            {"subject_id": g["subject_id"], "consent_token": g[role]} for g in granted if role in g
        ]

    state: dict[str, Any] = {
        "base_url": base_url,
        "prepared_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "entities": found.count,
        "limits_set": limits_set,
        "public": {
            "entities": [{k: e[k] for k in ("uscc", "name", "kind")} for e in found.sample],
            "terms": two_char_terms([e["name"] for e in found.sample], args.terms, rng),
        },
        "clients": {
            "bank": {
                **clients["bank"],
                "categories": list(CATEGORIES),
                "consents": consents_of("bank"),
            },
            "rating_agency": {
                **clients["rating_agency"],
                "categories": list(AGENCY_CATEGORIES),
                "consents": consents_of("rating_agency"),
            },
            "department": {**clients["department"], "codes": department_codes},
            "noisy_bank": {
                **clients["noisy_bank"],
                "categories": ["basic"],
                "consents": consents_of("noisy_bank"),
            },
        },
        "subjects": [{"username": g["username"], "subject_id": g["subject_id"]} for g in granted],
        "password": password,
    }
    save_state(args.state, state)
    print(
        f"prepare: {len(granted)} subjects under consent; state in {args.state} "
        f"({time.perf_counter() - started:.0f} s)",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
