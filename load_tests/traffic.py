"""What the locust scenarios decide without locust: routes, visitors' addresses, verdicts, shares.

Kept apart from `locustfile.py` because importing locust monkey-patches the standard library
(gevent): the unit tests and `prepare.py` import this module and never locust.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import json
import math
import random
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The routes the scenarios call, as API.md names them; requests are named by these templates
# so that locust's statistics group per endpoint, not per entity or subject.
HEALTH = "/healthz"
TOKEN = "/oauth/token"  # noqa: S105  (a route, not a secret)
SEARCH = "/v1/public/entities"
ENTITY = "/v1/public/entities/{uscc}"
RECORDS = "/v1/public/entities/{uscc}/records"
REPORT = "/v1/subjects/{subject_id}/report"
BATCH = "/v1/subjects/reports:batch"
MY_CONSENTS = "/v1/me/consents"
REVOKE = "/v1/me/consents/{consent_id}/revoke"
ACCESS_LOG = "/v1/me/access-log"
INGEST = "/v1/ingest/records"
ROUTES = (
    HEALTH, TOKEN, SEARCH, ENTITY, RECORDS, REPORT, BATCH, MY_CONSENTS, REVOKE, ACCESS_LOG, INGEST,
)  # fmt: skip

LIMITED = "429 (expected)"
KINDS = (
    "enterprise",
    "public_institution",
    "social_organization",
    "government_agency",
    "individual_business",
)
CATEGORIES = ("basic", "administrative", "lists", "tax", "judicial", "social_insurance")
# Seconds before a token's `exp` at which a user takes a new one.
TOKEN_MARGIN = 60.0


# --- routes -----------------------------------------------------------------------------------


def fill(template: str, **values: str) -> str:
    """A route template with its placeholders filled in, each value percent-encoded."""
    return template.format(**{k: urllib.parse.quote(v, safe="") for k, v in values.items()})


def route_of(path: str) -> str:
    """The route template a concrete path belongs to (query string ignored); ValueError if none.

    A literal segment wins over a placeholder, so `reports:batch` is never read as a subject id.
    """
    segments = urllib.parse.urlsplit(path).path.rstrip("/").split("/")
    best: tuple[int, str] | None = None
    for template in ROUTES:
        parts = template.split("/")
        if len(parts) != len(segments):
            continue
        literal = 0
        for part, segment in zip(parts, segments, strict=True):
            if part.startswith("{") and part.endswith("}"):
                if not segment:
                    break
            elif part == segment:
                literal += 1
            else:
                break
        else:
            if best is None or literal > best[0]:
                best = (literal, template)
    if best is None:
        raise ValueError(f"no route of the load tests matches {path!r}")
    return best[1]


def limited_name(route: str) -> str:
    """The statistics name of a route's provoked 429s, kept apart from its served requests."""
    return f"{route} {LIMITED}"


# --- public visitors --------------------------------------------------------------------------


def visitor_addresses(count: int = 4096, seed: int = 370306) -> list[str]:
    """`count` distinct addresses in 10.0.0.0/8 (no .0 or .255 hosts), the same for a seed.

    Public visitors send one of them in `X-Forwarded-For`: behind a trusted proxy each looks
    like a visitor of its own to the per-address limits.
    """
    if not 0 < count <= 2**24 // 2:
        raise ValueError("between 1 and 8,388,608 addresses")
    rng = random.Random(seed)
    seen: dict[int, None] = {}  # insertion-ordered: the same list for the same seed
    while len(seen) < count:
        n = rng.randrange(2**24)
        if 0 < n & 0xFF < 255:
            seen[n] = None
    return [f"10.{n >> 16}.{(n >> 8) & 0xFF}.{n & 0xFF}" for n in seen]


# --- answers ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """How a response counts: served (2xx/304), a provoked 429, or a failure with a reason."""

    ok: bool
    limited: bool = False
    reason: str = ""


def retry_after_valid(value: str | None) -> bool:
    """Whether `Retry-After` is a delay in seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if value is None or not value.strip():
        return False
    value = value.strip()
    if value.isascii() and value.isdigit():
        return True
    try:
        email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return False
    return True


def judge(status: int, retry_after: str | None, *, limit_expected: bool) -> Verdict:
    """Served, a provoked 429 (only for a user that provokes them, and with `Retry-After`), or a
    failure: every other status, an unexpected 429 included."""
    if 200 <= status < 300 or status == 304:
        return Verdict(ok=True)
    if status == 429:
        if not limit_expected:
            return Verdict(ok=False, reason="429 for a user under its limit")
        if not retry_after_valid(retry_after):
            return Verdict(ok=False, reason=f"429 without a valid Retry-After ({retry_after!r})")
        return Verdict(ok=True, limited=True)
    if status == 0:
        return Verdict(ok=False, reason="no answer (connection error or timeout)")
    return Verdict(ok=False, reason=f"HTTP {status}")


def batch_failures(body: Any, expected: int) -> str:
    """Why a batch answer is not `expected` reports all answered 200 ('' when it is)."""
    results = body.get("results") if isinstance(body, dict) else None
    if not isinstance(results, list):
        return "no results in the batch answer"
    if len(results) != expected:
        return f"{len(results)} results for {expected} items"
    statuses = sorted({r.get("status") for r in results if r.get("status") != 200}, key=str)
    return f"batch items answered {statuses}" if statuses else ""


# --- tokens -----------------------------------------------------------------------------------


def token_expiry(token: str) -> float | None:
    """The `exp` of a JWT, read without verifying it (the server verifies; this only schedules
    the next token); None when the token is not a JWT with a numeric `exp`."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (binascii.Error, ValueError):
        return None
    exp = claims.get("exp") if isinstance(claims, dict) else None
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        return None
    return float(exp)


def token_due(expires_at: float | None, now: float, margin: float = TOKEN_MARGIN) -> bool:
    """Whether a user should take a new token: none yet, or within `margin` s of its expiry."""
    return expires_at is None or now >= expires_at - margin


# --- the mix ----------------------------------------------------------------------------------


def mixed_counts(users: int, weights: Mapping[str, int]) -> dict[str, int]:
    """How many users of each class: shares of `users` by weight (largest remainder; ties to
    the heavier class, then by name), then at least one of each when there are enough users,
    each taken from the class with the most."""
    if users < 0 or not weights or any(w <= 0 for w in weights.values()):
        raise ValueError("a non-negative number of users and positive weights")
    order = sorted(weights, key=lambda name: (-weights[name], name))
    total = sum(weights.values())
    shares = {name: users * weights[name] / total for name in order}
    counts = {name: math.floor(shares[name]) for name in order}
    by_remainder = sorted(order, key=lambda n: -(shares[n] - counts[n]))  # stable: keeps `order`
    for name in by_remainder[: users - sum(counts.values())]:
        counts[name] += 1
    if users >= len(order):
        for name in order:
            if counts[name] == 0:
                richest = max(order, key=lambda n: counts[n])
                counts[richest] -= 1
                counts[name] = 1
    return counts


# --- the state prepare.py writes ----------------------------------------------------------------

STATE_KEYS = ("base_url", "entities", "public", "clients", "subjects", "password")
CLIENT_ROLES = ("bank", "rating_agency", "department", "noisy_bank")


def check_state(state: Any) -> dict[str, Any]:
    """The state of a prepared run, or SystemExit naming what is missing."""
    if not isinstance(state, dict):
        raise SystemExit("the state file does not hold a JSON object: rerun load_tests.prepare")
    missing = [key for key in STATE_KEYS if key not in state]
    missing += [f"clients.{r}" for r in CLIENT_ROLES if r not in state.get("clients", {})]
    if missing:
        raise SystemExit(f"the state file lacks {', '.join(missing)}: rerun load_tests.prepare")
    if not state["public"].get("entities") or not state["public"].get("terms"):
        raise SystemExit("the state file has no sampled entities or search terms")
    return state


def read_state(path: Path) -> dict[str, Any]:
    """Read and check a state file."""
    try:
        return check_state(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise SystemExit(f"no state file at {path}: run python -m load_tests.prepare") from None
