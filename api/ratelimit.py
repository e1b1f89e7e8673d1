"""Rate limits (DESIGN.md §6): two sliding-window counters per identity, in one round trip.

Every request counts against one identity: the client of a valid access token (a signed-in
subject's own identity for the first-party portal and command line), or else the client's
address (`X-Forwarded-For` believed only from the configured trusted proxies). So an invalid or
revoked token, a 401, never spends the quota of the client it names. Each identity has two
policies, a long one per minute and a burst one per second, from its client kind's tier or the
operator's override (`xinyong clients set-limit`).

The counting is `limits`' sliding-window counter (constant memory per identity). In Redis both
policies are checked and counted by one script, in one round trip, which also answers the
counters' state for the fields; Flask-Limiter, which this replaced, hit each policy in turn and
read each window again for the fields (four round trips), skipped requests that matched no
route, and let a refusal by one policy spend the other's quota. If Redis stops answering, the
counters live in each process's memory meanwhile (`limits`' MemoryStorage: looser, never off),
and go back to Redis by itself when it answers again. Every limited response carries the IETF
`RateLimit-Policy` and `RateLimit` fields; a 429 is a problem document with `Retry-After`.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast

import redis
from authlib.integrations.flask_oauth2.requests import FlaskJsonRequest
from authlib.oauth2 import OAuth2Error
from flask import Flask, Response, current_app, g, request
from limits.storage import MemoryStorage
from redis.exceptions import NoScriptError

from api import cache
from api.cache import ScriptCall, deployment_namespace, public_cache

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


def _unlimited() -> bool:
    return request.path.startswith(UNLIMITED_PATHS) or request.method == "OPTIONS"


@dataclass
class Settings:
    """What the limiter reads from the app's configuration."""

    tiers: dict[str, tuple[int, int]]
    trusted: list[Network]


def init_app(app: Flask) -> None:
    """Configure the limiter for the app: storage, tiers, trusted proxies, fields, 429s."""
    app.extensions["xinyong_ratelimit"] = Settings(
        tiers=tiers_from(app.config),
        trusted=parse_trusted_proxies(app.config.get("TRUSTED_PROXIES")),
    )
    app.extensions["xinyong_limiter"] = RateLimiter(
        app.config.get("REDIS_URL"), prefix=f"xy:{deployment_namespace(app)}/rl"
    )
    if app.config.get("RATE_LIMITS_ENABLED", True):
        app.before_request(_check)
        app.after_request(_rate_limit_headers)


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
    # A request is let through while the weighted count is below the amount.
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
class Window:
    """One policy of an identity: its limit, window (seconds) and counter key."""

    amount: int
    seconds: int
    key: str


@dataclass(frozen=True)
class Verdict:
    """Whether a request may pass, and each policy's counter just after the decision."""

    allowed: bool
    windows: tuple[Window, ...]
    states: tuple[WindowState, ...]


# Both policies of an identity, checked and counted in one round trip (issue 6). The counting is
# `limits`' sliding-window counter (limits/resources/redis/lua_scripts/acquire_sliding_window.lua)
# over several windows at once: a request is counted by every policy or by none, so a refusal by
# one policy spends nothing of the other's quota. KEYS: (previous, current) per policy; ARGV:
# (limit, window in seconds) per policy. Answers 1 or 0, then per policy its previous count and
# time to live (ms), current count and time to live (ms), after the decision.
_ACQUIRE = """
local n = #ARGV / 2
local state = {}
local allowed = 1
for i = 1, n do
  local limit = tonumber(ARGV[2 * i - 1])
  local expiry = tonumber(ARGV[2 * i]) * 1000
  local previous_key, current_key = KEYS[2 * i - 1], KEYS[2 * i]
  local current_ttl = tonumber(redis.call('pttl', current_key))
  if current_ttl > 0 and current_ttl < expiry then
    -- The current window has ended: it becomes the previous one.
    redis.call('rename', current_key, previous_key)
    redis.call('set', current_key, 0, 'PX', current_ttl + expiry)
  end
  local previous_count = tonumber(redis.call('get', previous_key)) or 0
  local previous_ttl = math.max(tonumber(redis.call('pttl', previous_key)), 0)
  local current_count = tonumber(redis.call('get', current_key)) or 0
  current_ttl = math.max(tonumber(redis.call('pttl', current_key)), 0)
  if math.floor(previous_count * previous_ttl / expiry) + current_count + 1 > limit then
    allowed = 0
  end
  state[i] = {previous_count, previous_ttl, current_count, current_ttl}
end
if allowed == 1 then
  for i = 1, n do
    local expiry = tonumber(ARGV[2 * i]) * 1000
    if state[i][4] > 0 then
      state[i][3] = redis.call('incr', KEYS[2 * i])
    else
      redis.call('set', KEYS[2 * i], 1, 'PX', expiry * 2)
      state[i][3], state[i][4] = 1, expiry * 2
    end
  end
end
local answer = {allowed}
for i = 1, n do
  for j = 1, 4 do answer[#answer + 1] = state[i][j] end
end
return answer
"""


class RateLimiter:
    """The counters of every identity: in Redis when it is configured and answering, else in
    this process's memory (`limits`' MemoryStorage, with the same sliding-window counter).

    After a Redis failure the counting stays in memory for `retry_seconds`, so that a Redis
    that hangs costs one request a timeout now and then rather than every request, and goes
    back to Redis by itself when it answers again.
    """

    def __init__(self, redis_url: str | None, *, prefix: str, retry_seconds: float = 2.0) -> None:
        self.prefix = prefix
        self._redis = (
            # Short timeouts: a Redis that hangs must not hang requests (issue 6).
            redis.Redis.from_url(redis_url, socket_timeout=0.2, socket_connect_timeout=0.2)
            if redis_url
            else None
        )
        self._script: Any = None
        self._memory = MemoryStorage()
        self._memory_lock = threading.Lock()
        self._retry_seconds = retry_seconds
        self._redis_down_until = 0.0
        self.redis_failing = False

    def windows(self, identity: str, policy: Policy) -> tuple[Window, Window]:
        """The per-minute and burst windows of `identity` under `policy`."""
        # The identity is the keys' hash tag: on a Redis Cluster, the four keys of one script
        # live in one slot, as a multi-key script requires.
        tagged = f"{self.prefix}/{{{identity}}}"
        return (
            Window(policy.per_minute, 60, f"{tagged}/{policy.per_minute}/60"),
            Window(policy.burst, 1, f"{tagged}/{policy.burst}/1"),
        )

    def acquire(
        self, identity: str, policy: Policy, *, also: ScriptCall | None = None
    ) -> tuple[Verdict, Any]:
        """Count one request of `identity` if every policy allows it; with `also`, run that
        script in the same round trip and answer what it returned too (None if Redis failed)."""
        windows = self.windows(identity, policy)
        if self._redis is not None and time.monotonic() >= self._redis_down_until:
            try:
                verdict, extra = self._acquire_in_redis(self._redis, windows, also)
            except redis.RedisError as error:
                self._redis_down_until = time.monotonic() + self._retry_seconds
                if not self.redis_failing:
                    log.warning("rate limits counted in process: Redis failed: %s", error)
                self.redis_failing = True
            else:
                if self.redis_failing:
                    log.warning("rate limits counted in Redis again")
                self.redis_failing = False
                return verdict, extra
        return self._acquire_in_memory(windows), None

    def _acquire_in_redis(
        self, client: redis.Redis, windows: tuple[Window, ...], also: ScriptCall | None
    ) -> tuple[Verdict, Any]:
        if self._script is None:
            self._script = client.register_script(_ACQUIRE)
        keys = [name for w in windows for name in (f"{w.key}/previous", f"{w.key}/current")]
        limits = [v for w in windows for v in (w.amount, w.seconds)]
        calls = [ScriptCall(self._script, keys, limits)]
        if also is not None:
            calls.append(also)
        try:
            answers = _run(client, calls)
        except NoScriptError:  # a Redis restarted (or flushed) since: load them, once
            for call in calls:
                client.script_load(call.script.script)
            answers = _run(client, calls)
        answer = answers[0]
        states = tuple(
            window_state(w.amount, w.seconds, int(answer[1 + 4 * i]), answer[2 + 4 * i] / 1000,
                         int(answer[3 + 4 * i]), answer[4 + 4 * i] / 1000)
            for i, w in enumerate(windows)
        )  # fmt: skip
        return Verdict(bool(answer[0]), windows, states), (answers[1] if also else None)

    def _acquire_in_memory(self, windows: tuple[Window, ...]) -> Verdict:
        with self._memory_lock:
            allowed = all(self._memory_state(w).remaining > 0 for w in windows)
            if allowed:
                for w in windows:
                    self._memory.acquire_sliding_window_entry(w.key, w.amount, w.seconds)
            return Verdict(allowed, windows, tuple(self._memory_state(w) for w in windows))

    def _memory_state(self, window: Window) -> WindowState:
        counts = self._memory.get_sliding_window(window.key, window.seconds)
        return window_state(window.amount, window.seconds, *counts)

    def counted(self, window: Window) -> int:
        """The requests a window holds now, the previous and current counters together."""
        if self._redis is not None and not self.redis_failing:
            previous, current = self._redis.mget(
                [f"{window.key}/previous", f"{window.key}/current"]
            )
            return int(previous or 0) + int(current or 0)
        previous_count, _, current_count, _ = self._memory.get_sliding_window(
            window.key, window.seconds
        )
        return int(previous_count) + int(current_count)


def _run(client: redis.Redis, calls: list[ScriptCall]) -> list[Any]:
    """Run the scripts by their digests in one round trip (a pipeline, not a transaction)."""
    pipe = client.pipeline(transaction=False)
    for call in calls:
        pipe.evalsha(call.script.sha, len(call.keys), *call.keys, *call.args)
    return pipe.execute()


def _limiter() -> RateLimiter:
    return cast(RateLimiter, current_app.extensions["xinyong_limiter"])


def _check() -> Response | None:
    """Count the request against its identity's policies; a 429 when one of them is spent."""
    if _unlimited():
        return None
    identity, policy = _identity()
    # A cached public read is looked up in the same round trip, and answered from here.
    lookup = cache.request_lookup()
    verdict, found = _limiter().acquire(identity, policy, also=lookup)
    g.rate_verdict = verdict
    if lookup is not None:
        public_cache().found(found)
    if not verdict.allowed:
        return _too_many_requests(identity, policy, verdict)
    return cache.cached_answer() if lookup is not None else None


def _fields(policy: Policy, verdict: Verdict) -> dict[str, str]:
    """`RateLimit-Policy` and `RateLimit` (draft-ietf-httpapi-ratelimit-headers, structured
    field lists): one item per policy, the long one first."""
    long_name, burst_name = _names(policy)
    policies, states = [], []
    for name, window, state in zip((long_name, burst_name), verdict.windows, verdict.states,
                                   strict=True):  # fmt: skip
        policies.append(f'"{name}";q={window.amount};w={window.seconds}')
        states.append(f'"{name}";r={state.remaining};t={math.ceil(state.reset_in)}')
    return {"RateLimit-Policy": ", ".join(policies), "RateLimit": ", ".join(states)}


def _rate_limit_headers(response: Response) -> Response:
    verdict = g.get("rate_verdict")
    if verdict is not None and "RateLimit" not in response.headers:
        response.headers.update(_fields(g.rate_policy, verdict))
    return response


def _too_many_requests(identity: str, policy: Policy, verdict: Verdict) -> Response:
    from api.errors import problem

    # The retry comes when every policy allows a request, so that it is not refused again.
    retry_after = max([1, *(math.ceil(state.allowed_in) for state in verdict.states)])
    who = "this client" if identity.startswith(("client:", "subject:")) else "this address"
    long_name, burst_name = _names(policy)
    detail = (
        f"Too many requests from {who}: the limits are {policy.per_minute} a minute "
        f'("{long_name}") and {policy.burst} a second ("{burst_name}"). Retry after '
        f"{retry_after} s."
    )
    headers = {"Retry-After": str(retry_after), **_fields(policy, verdict)}
    return problem(429, detail, slug="rate-limited", headers=headers)


def storage_state() -> str:
    """Where the counters are kept now: `redis`, `in_process` (Redis failed), or `memory`."""
    if not current_app.config.get("REDIS_URL"):
        return "memory"
    return "in_process" if _limiter().redis_failing else "redis"
