"""Credit reports under consent against a running server: single reads and batches of ten.

Setup, over HTTP and the `xinyong` command line only: one bank client with the six category
scopes, N legal persons sampled from the server's own search pages, a sign-in account for each
(`xinyong accounts create`), each subject signed in through the PKCE flow of `xinyong-cli` and
granting the bank a consent (all six categories, `loan_application`, 30 days) from its own
dashboard, and the bank taking every consent token. The result is kept in a state file (it holds
the client secret and the consent tokens: mode 0600) so that the run can be repeated.

Run: C threads, each on its own connection, read random subjects' reports
(`GET /v1/subjects/{subject_id}/report` with `Consent-Token`) for a fixed time after a warm-up,
then post batches (`POST /v1/subjects/reports:batch`, ten random items per call) the same way;
p50/p95/p99 and requests/s for each.

    export XINYONG_DATABASE_URL=... XINYONG_INSTANCE_PATH=...   # the server's, for the commands
    python -m load_tests.report_bench --base-url http://127.0.0.1:8731 --subjects 200 --setup-only
    python -m load_tests.report_bench --base-url http://127.0.0.1:8731 --skip-setup \
        --duration 30 --concurrency 8

Without either flag it sets up, then runs; `--operations single` or `batch` times one of the two.
Only loopback addresses are accepted: benchmarks never
leave the machine. Talks to the server over HTTP only; the setup commands read the same XINYONG_*
environment as the server, and the setup checks that both name the same database.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import http.client
import json
import os
import random
import re
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from email.message import Message
from pathlib import Path
from typing import Any

from load_tests.common import Connection, drive, is_loopback, report

CATEGORIES = ("basic", "administrative", "lists", "tax", "judicial", "social_insurance")
BANK_SCOPES = " ".join(["consents.request", *(f"credit.{c}" for c in CATEGORIES)])
CLI_CLIENT = "xinyong-cli"
SESSION_COOKIE = "xinyong_session"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
DEFAULT_STATE = Path(tempfile.gettempdir()) / "xinyong_report_bench.json"
TIMEOUT = 30
RATE_LIMIT_ATTEMPTS = 10


# --- pure helpers -----------------------------------------------------------------------------


def pkce_challenge(verifier: str) -> str:
    """The S256 code challenge of a PKCE code verifier (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def csrf_from(html: str) -> str | None:
    """The CSRF token of a sign-in page."""
    match = CSRF.search(html)
    return match.group(1) if match else None


def cookie_pair(set_cookies: Sequence[str], name: str) -> str | None:
    """`name=value` of the cookie `name` among `Set-Cookie` header values."""
    for header in set_cookies:
        pair = header.split(";", 1)[0].strip()
        if pair.partition("=")[0] == name:
            return pair
    return None


def code_from_redirect(location: str, redirect_uri: str, state: str) -> str:
    """The authorization code of the redirect back to `redirect_uri` (ValueError otherwise)."""
    parts = urllib.parse.urlsplit(location)
    params = dict(urllib.parse.parse_qsl(parts.query))
    if f"{parts.scheme}://{parts.netloc}{parts.path}" != redirect_uri:
        raise ValueError(f"redirected elsewhere: {location}")
    if params.get("state") != state:
        raise ValueError(f"the state came back changed: {location}")
    if "code" not in params:
        raise ValueError(f"no code: {params.get('error')} {params.get('error_description')}")
    return params["code"]


def batch_body(items: Sequence[dict[str, str]]) -> str:
    """The body of one batch call: one read per (subject_id, consent_token)."""
    reads = [{"subject_id": i["subject_id"], "consent_token": i["consent_token"]} for i in items]
    return json.dumps({"items": reads})


def draw(count: int, population: int, size: int, rng: random.Random) -> list[list[int]]:
    """`count` groups of `size` distinct indexes below `population` (size 1: single reads)."""
    return [rng.sample(range(population), size) for _ in range(count)]


# --- HTTP -------------------------------------------------------------------------------------


def exchange(
    base_url: str,
    method: str,
    path: str,
    body: str | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Message, bytes]:
    """One request on a connection of its own: status, headers and body (errors included).

    A 429 is waited out as its `Retry-After` says and the request sent again, a few times: the
    setup is a well-behaved client of a rate-limited server (a 429 is refused before any work).
    """
    parts = urllib.parse.urlsplit(base_url)
    for attempt in range(1, RATE_LIMIT_ATTEMPTS + 1):
        conn = http.client.HTTPConnection(
            parts.hostname or "127.0.0.1", parts.port, timeout=TIMEOUT
        )
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            status, answer, raw = response.status, response.headers, response.read()
        finally:
            conn.close()
        wait = answer.get("Retry-After", "")
        if status != 429 or attempt == RATE_LIMIT_ATTEMPTS or not wait.isdigit():
            break
        time.sleep(min(int(wait), 60) + random.random())
    return status, answer, raw


def call_json(
    base_url: str, method: str, path: str, expect: int, body: Any = None, token: str = ""
) -> Any:
    """A JSON request that must answer `expect`; its JSON body."""
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None
    if body is not None:
        headers["Content-Type"] = "application/json"
        data = json.dumps(body)
    status, _, raw = exchange(base_url, method, path, data, headers)
    if status != expect:
        raise SystemExit(f"{method} {path}: {status} {raw[:300]!r}")
    return json.loads(raw)


def client_token(base_url: str, client_id: str, client_secret: str) -> str:
    """A client-credentials access token (client_secret_basic)."""
    pair = f"{urllib.parse.quote(client_id, safe='')}:{urllib.parse.quote(client_secret, safe='')}"
    headers = {
        "Authorization": "Basic " + base64.b64encode(pair.encode()).decode(),
        "Content-Type": "application/x-www-form-urlencoded",
        "Accept": "application/json",
    }
    status, _, raw = exchange(
        base_url, "POST", "/oauth/token", "grant_type=client_credentials", headers
    )
    if status != 200:
        raise SystemExit(f"the token request of {client_id} failed: {status} {raw[:300]!r}")
    return str(json.loads(raw)["access_token"])


def sign_in(base_url: str, username: str, password: str) -> str:
    """A subject's access token: the authorization-code flow with PKCE of `xinyong-cli`.

    GET the sign-in page (it sets the session cookie and carries the CSRF token), POST the form
    back with the cookie, take the code from the 302 to the loopback redirect URI, exchange it.
    """
    verifier = secrets.token_urlsafe(48)
    state = secrets.token_urlsafe(8)
    redirect_uri = "http://127.0.0.1:53682/callback"  # nobody listens: the code is in the 302
    query = urllib.parse.urlencode(
        {
            "response_type": "code",
            "client_id": CLI_CLIENT,
            "redirect_uri": redirect_uri,
            "scope": "subject",
            "state": state,
            "code_challenge": pkce_challenge(verifier),
            "code_challenge_method": "S256",
        }
    )
    path = f"/oauth/authorize?{query}"
    status, headers, page = exchange(base_url, "GET", path)
    csrf = csrf_from(page.decode("utf-8", "replace"))
    cookie = cookie_pair(headers.get_all("Set-Cookie") or [], SESSION_COOKIE)
    if status != 200 or csrf is None or cookie is None:
        raise SystemExit(f"the sign-in page failed: {status} {page[:300]!r}")
    form = urllib.parse.urlencode({"username": username, "password": password, "csrf_token": csrf})
    form_headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie}
    status, headers, page = exchange(base_url, "POST", path, form, form_headers)
    if status != 302:
        raise SystemExit(f"signing in {username} failed: {status} {page[:300]!r}")
    code = code_from_redirect(headers["Location"], redirect_uri, state)
    exchange_form = urllib.parse.urlencode(
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
            "client_id": CLI_CLIENT,
        }
    )
    status, _, raw = exchange(
        base_url,
        "POST",
        "/oauth/token",
        exchange_form,
        {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
    )
    if status != 200:
        raise SystemExit(f"the code exchange for {username} failed: {status} {raw[:300]!r}")
    return str(json.loads(raw)["access_token"])


# --- setup ------------------------------------------------------------------------------------


def xinyong(command: str, *args: str) -> tuple[int, str]:
    """Run a `xinyong` command in this environment: exit status and output."""
    done = subprocess.run(
        [command, *args], capture_output=True, text=True, timeout=300, check=False
    )
    return done.returncode, done.stdout + done.stderr


def sample_entities(base_url: str, pages: int) -> list[dict[str, str]]:
    """Codes and subject ids of legal persons from the first `pages` search pages."""
    found: list[dict[str, str]] = []
    cursor = None
    for _ in range(pages):
        query = {"page_size": "100", **({"cursor": cursor} if cursor else {})}
        page = call_json(
            base_url, "GET", "/v1/public/entities?" + urllib.parse.urlencode(query), 200
        )
        found += [{"uscc": i["uscc"], "subject_id": i["subject_id"]} for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    return found


def make_account(command: str, entity: dict[str, str], password: str) -> str | None:
    """The username of a new account of `entity`; None if it has one already."""
    status, output = xinyong(
        command, "accounts", "create", "--uscc", entity["uscc"], "--password", password, "--json"
    )
    if status != 0:
        if "already has an account" in output:
            return None
        raise SystemExit(f"xinyong accounts create failed: {output[:500]}")
    made = json.loads(output.strip().splitlines()[-1])
    if made["subject_id"] != entity["subject_id"]:
        raise SystemExit(
            "xinyong and the server use different databases: set the server's XINYONG_* "
            "variables for this command"
        )
    return str(made["username"])


def grant_consent(
    base_url: str, bank_id: str, bank_token: str, username: str, password: str
) -> dict[str, str]:
    """Sign the subject in, grant the bank a consent to every category, take its token."""
    subject_token = sign_in(base_url, username, password)
    me = call_json(base_url, "GET", "/v1/me", 200, token=subject_token)
    consent = call_json(
        base_url,
        "POST",
        "/v1/me/consents",
        201,
        body={
            "client_id": bank_id,
            "categories": list(CATEGORIES),
            "purpose": "loan_application",
            "expires_at": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
        },
        token=subject_token,
    )
    taken = call_json(
        base_url, "POST", f"/v1/consents/{consent['consent_id']}/token", 200, token=bank_token
    )
    return {
        "subject_id": str(me["subject_id"]),
        "consent_id": str(consent["consent_id"]),
        "consent_token": str(taken["consent_token"]),
    }


def setup(
    base_url: str, command: str, subjects: int, jobs: int, rng: random.Random
) -> dict[str, Any]:
    """A bank, `subjects` signed-in subjects and their consents: the state of the run."""
    started = time.perf_counter()
    candidates = sample_entities(base_url, max(20, subjects // 50))
    rng.shuffle(candidates)
    if len(candidates) < subjects:
        raise SystemExit(f"the server has only {len(candidates)} legal persons sampled")
    status, output = xinyong(
        command, "clients", "create", "--name", "报告基准测试银行", "--kind", "bank",
        "--scopes", BANK_SCOPES, "--json",
    )  # fmt: skip
    if status != 0:
        raise SystemExit(f"xinyong clients create failed: {output[:500]}")
    bank = json.loads(output.strip().splitlines()[-1])
    password = secrets.token_urlsafe(18)

    accounts: list[str] = []
    with ThreadPoolExecutor(jobs) as pool:
        while len(accounts) < subjects and candidates:
            wave = [candidates.pop() for _ in range(min(subjects - len(accounts), len(candidates)))]
            made = pool.map(lambda e: make_account(command, e, password), wave)
            accounts += [u for u in made if u is not None]
    if len(accounts) < subjects:
        raise SystemExit(f"only {len(accounts)} new accounts could be made")
    print(f"setup: bank {bank['client_id']}, {len(accounts)} accounts", file=sys.stderr)

    bank_token = client_token(base_url, bank["client_id"], bank["client_secret"])
    with ThreadPoolExecutor(max(1, jobs * 2)) as pool:
        consents = list(
            pool.map(
                lambda u: grant_consent(base_url, bank["client_id"], bank_token, u, password),
                accounts,
            )
        )
    print(
        f"setup: {len(consents)} consents in {time.perf_counter() - started:.0f} s", file=sys.stderr
    )
    return {
        "base_url": base_url,
        "client_id": bank["client_id"],
        "client_secret": bank["client_secret"],
        "subjects": consents,
    }


def save_state(path: Path, state: dict[str, Any]) -> None:
    """Write the state readable by its owner only (it holds secrets), making its folder."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # the mode of os.open applies only to a file it creates
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(state, handle, ensure_ascii=False)


# --- the run ----------------------------------------------------------------------------------


def single_reads(
    subjects: list[dict[str, str]], token: str, picks: list[list[int]]
) -> Callable[[Connection, int], tuple[int, bool]]:
    def read(connection: Connection, i: int) -> tuple[int, bool]:
        item = subjects[picks[i % len(picks)][0]]
        headers = {
            "Authorization": f"Bearer {token}",
            "Consent-Token": item["consent_token"],
            "Accept": "application/json",
        }
        status, body = connection.request(
            "GET", f"/v1/subjects/{item['subject_id']}/report", headers=headers
        )
        return status, status == 200 and b'"report_no"' in body

    return read


def batch_reads(
    subjects: list[dict[str, str]], token: str, picks: list[list[int]]
) -> Callable[[Connection, int], tuple[int, bool]]:
    bodies = [batch_body([subjects[j] for j in group]) for group in picks]
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "Accept": "application/json",
    }

    def read(connection: Connection, i: int) -> tuple[int, bool]:
        body = bodies[i % len(bodies)]
        status, raw = connection.request("POST", "/v1/subjects/reports:batch", body, headers)
        if status != 200:
            return status, False
        results = json.loads(raw)["results"]
        return status, all(r["status"] == 200 for r in results)

    return read


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8731")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per operation")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds before each")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--subjects", type=int, default=200, help="subjects with a consent")
    parser.add_argument("--batch-size", type=int, default=10, help="reads per batch call")
    parser.add_argument("--jobs", type=int, default=2, help="parallel setup commands")
    parser.add_argument(
        "--state", type=Path, default=DEFAULT_STATE, help=f"default: {DEFAULT_STATE}"
    )
    parser.add_argument(
        "--xinyong",
        default=str(Path(sys.executable).parent / "xinyong"),
        help="the xinyong command (default: next to this Python)",
    )
    parser.add_argument(
        "--operations",
        choices=("both", "single", "batch"),
        default="both",
        help="which reads to time (default: both)",
    )
    parser.add_argument("--seed", type=int, default=370306)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--setup-only", action="store_true", help="set up, save the state, stop")
    mode.add_argument("--skip-setup", action="store_true", help="reuse the saved state")
    args = parser.parse_args(argv)
    if not is_loopback(args.base_url):
        parser.error("only loopback servers may be benchmarked here")
    if min(args.duration, args.concurrency, args.subjects, args.batch_size, args.jobs) <= 0:
        parser.error("--duration, --concurrency, --subjects, --batch-size, --jobs: positive")
    if args.batch_size > min(100, args.subjects):
        parser.error("--batch-size must be at most 100 and at most --subjects")
    base_url = args.base_url.rstrip("/")
    rng = random.Random(args.seed)

    if args.skip_setup:
        state = json.loads(args.state.read_text(encoding="utf-8"))
        if state["base_url"] != base_url:
            print(f"note: the state was made at {state['base_url']}", file=sys.stderr)
    else:
        state = setup(base_url, args.xinyong, args.subjects, args.jobs, rng)
        save_state(args.state, state)
        print(f"setup: state saved in {args.state}", file=sys.stderr)
        if args.setup_only:
            return 0

    subjects: list[dict[str, str]] = state["subjects"]
    token = client_token(base_url, state["client_id"], state["client_secret"])
    print(
        f"{base_url}: {len(subjects)} subjects under consent (all six categories), "
        f"{args.concurrency} concurrent connections, {args.duration:g} s per operation after "
        f"{args.warmup:g} s of warm-up; batches of {args.batch_size}"
    )
    singles = single_reads(subjects, token, draw(100_000, len(subjects), 1, rng))
    batches = batch_reads(subjects, token, draw(10_000, len(subjects), args.batch_size, rng))
    operations = [("report, single read", singles), ("reports:batch, per call", batches)]
    if args.operations != "both":
        operations = operations[:1] if args.operations == "single" else operations[1:]
    for name, call in operations:
        if args.warmup > 0:
            drive(base_url, None, args.concurrency, call, seconds=args.warmup)
        samples, wall = drive(base_url, None, args.concurrency, call, seconds=args.duration)
        report(name, samples, wall, print)
        if samples.failures:
            print(f"{'':<28} statuses {dict(sorted(samples.statuses.items()))}")
        if call is batches and samples.latencies:
            per_second = len(samples.latencies) * args.batch_size / wall
            print(f"{'':<28} {per_second:.1f} reports/s in batches of {args.batch_size}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
