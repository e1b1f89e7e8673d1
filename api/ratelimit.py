"""Rate limits (DESIGN.md §6) on Flask-Limiter and `limits`, with a sliding-window counter.

Every request counts against one identity: the client of a valid access token (a signed-in
subject's own identity for the first-party portal and command line), or else the client's
address (`X-Forwarded-For` believed only from the configured trusted proxies). So an invalid or
revoked token, a 401, never spends the quota of the client it names. Each identity has two
policies, a long one per minute and a burst one per second, from its client kind's tier or the
operator's override (`xinyong clients set-limit`).

The counters live in Redis when it is configured; if Redis stops answering, Flask-Limiter
counts in process memory meanwhile (each worker on its own: looser, never off) and goes back to
Redis by itself when it answers again. Every limited response carries the IETF
`RateLimit-Policy` and `RateLimit` fields; a 429 is a problem document with `Retry-After`.
"""

from __future__ import annotations

import ipaddress
import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from authlib.integrations.flask_oauth2.requests import FlaskJsonRequest
from authlib.oauth2 import OAuth2Error
from flask import Flask, Response, current_app, g, request
from flask_limiter import Limiter, RequestLimit
from flask_limiter.errors import RateLimitExceeded
from limits import RateLimitItem, parse
from limits.storage.base import SlidingWindowCounterSupport

from api.cache import deployment_namespace

log = logging.getLogger(__name__)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# Requests per minute and per second of each tier (DESIGN.md §1: banks query in bursts; the
# public searches; departments send batches of up to 1,000 records a call).
DEFAULT_TIERS: dict[str, tuple[int, int]] = {
    "anonymous": (300, 20),
    "partner": (1200, 50),
    "agency": (600, 30),
    "government": (600, 30),
    "department": (300, 10),
    "subject": (120, 10),
    "operator": (600, 30),
}
TIER_OF_KIND = {
    "bank": "partner",
    "microcredit": "partner",
    "guarantee": "partner",
    "rating_agency": "agency",
    "credit_service_agency": "agency",
    "government": "government",
    "judicial": "government",
    "department": "department",
    "first_party": "subject",
    "admin": "operator",
}
# Operations and pages that are not limited: probes, metrics and the documentation.
UNLIMITED_PATHS = ("/healthz", "/readyz", "/metrics", "/docs", "/openapi.json", "/static/")


@dataclass(frozen=True)
class Policy:
    """The two limits of one identity; `name` is the tier (or `client` for an override)."""

    name: str
    per_minute: int
    burst: int


def client_address(
    remote_addr: str | None, forwarded_for: str | None, trusted: Iterable[Network]
) -> str:
    """The address a request came from: the peer, or when the peer is a trusted proxy, the
    right-most address of `X-Forwarded-For` that is not a trusted proxy (RFC 7239 §7.4)."""
    networks = tuple(trusted)
    peer = remote_addr or "unknown"
    if not networks or not forwarded_for or not _within(peer, networks):
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    nearest = peer
    for hop in reversed(hops):
        try:
            address = ipaddress.ip_address(hop)
        except ValueError:
            return nearest  # a forged or garbled entry: stop at the last hop we can believe
        if not any(address in network for network in networks):
            return address.compressed
        nearest = address.compressed
    return nearest


def _within(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(parsed in network for network in networks)


def parse_trusted_proxies(value: str | Iterable[str] | None) -> list[Network]:
    """`XINYONG_TRUSTED_PROXIES`: comma-separated addresses or networks (ValueError if bad)."""
    if not value:
        return []
    items = value.split(",") if isinstance(value, str) else list(value)
    return [ipaddress.ip_network(item.strip(), strict=False) for item in items if item.strip()]


def tiers_from(config: Mapping[str, Any]) -> dict[str, tuple[int, int]]:
    """The tiers, with the configuration's overrides (`RATE_LIMITS`: tier -> [minute, burst])."""
    tiers = dict(DEFAULT_TIERS)
    for name, value in (config.get("RATE_LIMITS") or {}).items():
        per_minute, burst = (int(v) for v in value)
        if name not in tiers or per_minute < 1 or burst < 1:
            raise ValueError(f"RATE_LIMITS: {name!r} must be a tier with two positive numbers")
        tiers[name] = (per_minute, burst)
    return tiers


def policy_for(kind: str | None, client: Any, tiers: Mapping[str, tuple[int, int]]) -> Policy:
    """The policy of a client (or of an anonymous caller when `kind` is None)."""
    tier = TIER_OF_KIND.get(kind or "", "anonymous") if kind else "anonymous"
    per_minute, burst = tiers[tier]
    override = getattr(client, "rate_limit_per_minute", None)
    if override:
        burst_override = getattr(client, "rate_limit_burst", None)
        # Without a burst of its own, the override keeps the tier's proportion.
        burst = burst_override or max(1, math.ceil(override * burst / per_minute))
        return Policy("client", override, burst)
    return Policy(tier, per_minute, burst)


def _identity() -> tuple[str, Policy]:
    """The request's rate-limit identity and policy, worked out once per request."""
    if "rate_identity" not in g:
        settings = current_app.extensions["xinyong_ratelimit"]
        token = _valid_bearer_token()
        if token is not None:
            client = token.client
            if client.kind == "first_party":
                # The portal and the command line act for many subjects: each has its own quota.
                g.rate_identity = f"subject:{token['sub']}"
            else:
                g.rate_identity = f"client:{client.client_id}"
            g.rate_policy = policy_for(client.kind, client, settings.tiers)
        else:
            address = client_address(
                request.remote_addr, request.headers.get("X-Forwarded-For"), settings.trusted
            )
            g.rate_identity = f"addr:{address}"
            g.rate_policy = policy_for(None, None, settings.tiers)
    return g.rate_identity, g.rate_policy


def _valid_bearer_token() -> Any:
    """The request's access token if it is valid (kept for `Blueprint.requires`), else None."""
    header = request.headers.get("Authorization", "")
    if not header[:7].lower() == "bearer ":
        return None
    protector = current_app.extensions["xinyong"].oauth.protector
    try:
        token = protector.validate_request(scopes=[], request=FlaskJsonRequest(request))
    except OAuth2Error:
        return None
    g.authenticated_token = token
    return token


def _key() -> str:
    return _identity()[0]


def _long_limit() -> str:
    return f"{_identity()[1].per_minute}/minute"


def _burst_limit() -> str:
    return f"{_identity()[1].burst}/second"


def _unlimited() -> bool:
    return request.path.startswith(UNLIMITED_PATHS) or request.method == "OPTIONS"


@dataclass
class Settings:
    """What the limiter reads from the app's configuration."""

    tiers: dict[str, tuple[int, int]]
    trusted: list[Network]


def _limiter() -> Limiter:
    return current_app.extensions["xinyong_limiter"]


def init_app(app: Flask) -> None:
    """Configure the limiter for the app: storage, tiers, trusted proxies, headers, 429s."""
    redis_url = app.config.get("REDIS_URL")
    app.config.setdefault("RATELIMIT_STORAGE_URI", redis_url or "memory://")
    if redis_url:
        # Short timeouts: a Redis that hangs must not hang requests (issue 6).
        app.config.setdefault(
            "RATELIMIT_STORAGE_OPTIONS", {"socket_timeout": 0.2, "socket_connect_timeout": 0.2}
        )
    app.config.setdefault("RATELIMIT_ENABLED", app.config.get("RATE_LIMITS_ENABLED", True))
    app.extensions["xinyong_ratelimit"] = Settings(
        tiers=tiers_from(app.config),
        trusted=parse_trusted_proxies(app.config.get("TRUSTED_PROXIES")),
    )
    # One limiter per app: Flask-Limiter keeps its storage, and whether it failed, on itself.
    limiter = Limiter(
        key_func=_key,
        application_limits=[_long_limit, _burst_limit],
        strategy="sliding-window-counter",
        headers_enabled=False,
        in_memory_fallback_enabled=True,
        key_prefix=f"xy:{deployment_namespace(app)}",
    )
    limiter.request_filter(_unlimited)
    limiter.init_app(app)
    app.extensions["xinyong_limiter"] = limiter
    app.after_request(_rate_limit_headers)
    app.register_error_handler(RateLimitExceeded, _too_many_requests)


def _names(policy: Policy) -> tuple[str, str]:
    return policy.name, f"{policy.name}-burst"


@dataclass(frozen=True)
class WindowState:
    """One policy's sliding-window counter as it stands."""

    remaining: int
    # Seconds until the current window ends, and until one more request would be allowed.
    reset_in: float
    allowed_in: float


def window_state(
    amount: int, window: int, previous: int, previous_ttl: float, current: int, current_ttl: float
) -> WindowState:
    """The state of a sliding-window counter as `limits` keeps it: a counter per fixed window,
    each kept for two windows; the previous window's count weighs in proportion to what is left
    of the current window (its time to live), the current one's in full."""
    ends_in = max(0.0, current_ttl - window) if current else max(0.0, previous_ttl)
    weighted = previous * previous_ttl / window + current
    remaining = max(0, amount - math.floor(weighted))
    # `limits` lets a request through while the weighted count is below the amount.
    if weighted < amount:
        allowed_in = 0.0
    elif current < amount:
        # The previous window's weight has to fall below what the current one leaves.
        allowed_in = max(0.0, previous_ttl - window * (amount - current) / previous)
    else:
        # Nothing before the current window ends; then its count weighs as the previous one's.
        allowed_in = ends_in + window * (1 - amount / current)
    return WindowState(remaining, ends_in if current or previous else 0.0, allowed_in)


@dataclass(frozen=True)
class _Counter:
    """A policy's limit and its key in the counters' store."""

    item: RateLimitItem
    key: str


def _counters(limits: list[RequestLimit], *, every_policy: bool = False) -> list[_Counter]:
    """The counters of the limits evaluated, and with `every_policy` also of a policy that
    Flask-Limiter did not reach because an earlier one was breached."""
    counters = [_Counter(limit.limit, limit.key) for limit in limits]
    if every_policy and limits:
        seen = {counter.item.get_expiry() for counter in counters}
        for text in (_long_limit(), _burst_limit()):
            item = parse(text)
            if item.get_expiry() not in seen:
                counters.append(_Counter(item, item.key_for(*limits[0].request_args)))
    return counters


def _state(counter: _Counter) -> WindowState:
    window = counter.item.get_expiry()
    storage = cast(SlidingWindowCounterSupport, _limiter().limiter.storage)
    return window_state(
        counter.item.amount, window, *storage.get_sliding_window(counter.key, window)
    )


def _fields(counters: list[_Counter]) -> dict[str, str]:
    """`RateLimit-Policy` and `RateLimit` (draft-ietf-httpapi-ratelimit-headers, structured
    field lists): one item per policy, the long one first."""
    policy = g.get("rate_policy")
    if policy is None or not counters:
        return {}
    long_name, burst_name = _names(policy)
    policies, states = [], []
    for counter in sorted(counters, key=lambda c: c.item.get_expiry(), reverse=True):
        window = counter.item.get_expiry()
        name = burst_name if window < 60 else long_name
        state = _state(counter)
        policies.append(f'"{name}";q={counter.item.amount};w={window}')
        states.append(f'"{name}";r={state.remaining};t={math.ceil(state.reset_in)}')
    return {"RateLimit-Policy": ", ".join(policies), "RateLimit": ", ".join(states)}


def _rate_limit_headers(response: Response) -> Response:
    if "RateLimit" in response.headers:
        return response
    try:
        response.headers.update(_fields(_counters(_limiter().current_limits)))
    except Exception:  # the counters' store failed between the check and now: no fields
        log.warning("rate-limit fields left out: the counters could not be read", exc_info=True)
    return response


def _too_many_requests(error: RateLimitExceeded) -> Response:
    from api.errors import problem

    # Every policy, also one Flask-Limiter did not reach after the first breach: the retry
    # comes when all of them allow a request, so that it is not refused again.
    counters = _counters(_limiter().current_limits, every_policy=True)
    retry_after = max([1, *(math.ceil(_state(counter).allowed_in) for counter in counters)])
    identity, policy = _identity()
    who = "this client" if identity.startswith(("client:", "subject:")) else "this address"
    long_name, burst_name = _names(policy)
    detail = (
        f"Too many requests from {who}: the limits are {policy.per_minute} a minute "
        f'("{long_name}") and {policy.burst} a second ("{burst_name}"). Retry after '
        f"{retry_after} s."
    )
    headers = {"Retry-After": str(retry_after)}
    try:
        headers.update(_fields(counters))
    except Exception:
        log.warning("rate-limit fields left out of a 429", exc_info=True)
    return problem(429, detail, slug="rate-limited", headers=headers)


def storage_state() -> str:
    """Where the counters are kept now: `redis`, `in_process` (Redis failed), or `memory`."""
    if not current_app.config.get("REDIS_URL"):
        return "memory"
    return "in_process" if _limiter()._storage_dead else "redis"  # noqa: SLF001 - no public flag
