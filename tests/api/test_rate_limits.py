"""Rate limits (DESIGN.md §6, api/ratelimit.py): the IETF fields, 429s, identities, tiers, the
operator's override and the trusted-proxy rule.

Every test that counts runs twice: on the in-process counters (no Redis, the embedded default) and
on the real Redis of `XINYONG_TEST_REDIS_URL` (flushed before each test; skipped when unset). Each
test makes apps of its own with small limits on the test database, bound to the test's
transaction like the session app; the `xinyong clients set-limit` tests run the real command
against a database of their own.

Nothing here measures speed. One test waits out its `Retry-After` (a second or two), since that
is the promise under test; and as the in-process counters' windows are the clock's minutes, an
app for them is not made in the last seconds of a minute (see `early_in_a_minute`).
"""

from __future__ import annotations

import ipaddress
import json
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st
from joserfc import jwt
from joserfc.jwk import ECKey
from redis.crc import key_slot
from sqlalchemy import Connection
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from api.app import create_app
from api.context import Platform
from api.ratelimit import (
    DEFAULT_TIERS,
    Policy,
    RateLimiter,
    client_address,
    parse_trusted_proxies,
    policy_for,
    tiers_from,
)
from tests.api.consents.conftest import Party, World
from tests.auth.conftest import b64url, basic, bearer, jwt_parts, unique_address
from tests.conftest import TEST_SECRETS, flushed_redis
from tests.factories import make_entity
from tests.live import command_environment

PROBLEM = "application/problem+json"
RATE_LIMITED = "urn:xinyong:problem:rate-limited"
XINYONG = str(Path(sys.executable).parent / "xinyong")
PUBLIC = "/v1/public/entities?page_size=1"
# Roomy limits for the tiers a test does not look at (its own setup requests must not trip them).
ROOMY = [10_000, 1_000]

AppFactory = Callable[..., Flask]


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def storage(request: pytest.FixtureRequest, redis_url: str | None) -> str | None:
    """Where the counters live: None (in process) or the test Redis, flushed."""
    if request.param == "memory":
        return None
    return flushed_redis(redis_url)


@pytest.fixture
def redis_storage(storage: str | None) -> str:
    """The test Redis, for tests about what the counters do in it (skipped in process)."""
    if storage is None:
        pytest.skip("about the counters in Redis")
    return storage


@pytest.fixture
def make_app(
    database_url: str,
    connection: Connection,
    db_session: Session,
    storage: str | None,
    tmp_path: Path,
    restore_logging: None,
) -> Iterator[AppFactory]:
    """Builds apps on the test database, inside the test's transaction, with `storage`.

    `make_app(RATE_LIMITS={...}, TRUSTED_PROXIES=...)`: any other setting too.
    """
    apps: list[Flask] = []

    def build(**config: Any) -> Flask:
        early_in_a_minute(storage)
        settings: dict[str, Any] = {
            "DATABASE_URL": database_url,
            "LOG_JSON": False,
            "LOG_LEVEL": "WARNING",
            "REDIS_URL": storage,
            **TEST_SECRETS,
            **config,
        }
        app = create_app(settings, instance_path=tmp_path / f"instance{len(apps)}")
        db = _platform(app).db
        db.session.remove()
        db.session_factory.configure(bind=connection, join_transaction_mode="create_savepoint")
        apps.append(app)
        return app

    yield build
    for app in apps:
        db = _platform(app).db
        db.session.remove()
        assert db.engine is not None
        db.engine.dispose()


def _platform(app: Flask) -> Platform:
    services: Platform = app.extensions["xinyong"]
    return services


def early_in_a_minute(storage: str | None, margin: float = 6) -> None:
    """The in-process counters' windows are the clock's minutes (Redis's start at a key's first
    hit): a test that counts exactly must not run across the turn of a minute, when the
    sliding window starts forgetting. Waits `margin` seconds at most, and seldom."""
    if storage is None and (left := 60 - time.time() % 60) < margin:
        time.sleep(left + 0.05)


def from_address(app: Flask, address: str | None = None) -> FlaskClient:
    """A test client of `app` whose requests come from `address` (a new one by default)."""
    http = app.test_client()
    http.environ_base["REMOTE_ADDR"] = address or unique_address()
    return http


def world_of(app: Flask, db_session: Session) -> World:
    """The consent tests' builder, bound to `app`; its own requests come from an address of
    their own, so that they spend no quota the test looks at."""
    return World(app, db_session, from_address(app))


# --- reading the fields -----------------------------------------------------------------------

ITEM = re.compile(r'"(?P<name>[a-z]+(?:-burst)?)"(?P<params>(?:;[a-z]=[0-9]+)+)')


def structured(value: str, keys: set[str]) -> dict[str, dict[str, int]]:
    """A structured field list of `"name";k=v;...` items (RFC 8941 §3.1), by name, in order,
    each item with exactly the parameters `keys` (integers)."""
    items: dict[str, dict[str, int]] = {}
    for raw in value.split(","):
        match = ITEM.fullmatch(raw.strip(" "))
        assert match is not None, f"not a structured field list item: {raw!r} in {value!r}"
        params = dict(p.split("=") for p in match["params"].lstrip(";").split(";"))
        assert set(params) == keys, value
        items[match["name"]] = {k: int(v) for k, v in params.items()}
    return items


def policies(response: TestResponse) -> dict[str, dict[str, int]]:
    """The response's `RateLimit-Policy` items, by name."""
    assert "RateLimit-Policy" in response.headers, f"no RateLimit-Policy: {response.status}"
    return structured(response.headers["RateLimit-Policy"], {"q", "w"})


def states(response: TestResponse) -> dict[str, dict[str, int]]:
    """The response's `RateLimit` items, by name."""
    assert "RateLimit" in response.headers, f"no RateLimit: {response.status}"
    return structured(response.headers["RateLimit"], {"r", "t"})


def remaining(response: TestResponse, name: str) -> int:
    """`r` of the policy `name` in the response's `RateLimit` field."""
    return states(response)[name]["r"]


def policy_field(tier: str, per_minute: int, burst: int) -> str:
    return f'"{tier}";q={per_minute};w=60, "{tier}-burst";q={burst};w=1'


def assert_rate_limited(response: TestResponse) -> int:
    """A 429 problem document with its `Retry-After`: the seconds it says."""
    assert response.status_code == 429, response.get_data(as_text=True)
    assert response.content_type == PROBLEM
    body = response.json
    assert body is not None
    assert body["type"] == RATE_LIMITED
    assert body["status"] == 429
    assert body["title"] == "Too Many Requests"
    assert body["request_id"] == response.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9]+", response.headers["Retry-After"]), response.headers
    retry_after = int(response.headers["Retry-After"])
    assert retry_after >= 1
    return retry_after


def until_limited(send: Callable[[], TestResponse], attempts: int = 10) -> tuple[int, TestResponse]:
    """Send until a 429 comes (a window may turn between two requests): how many were served
    before it, and the 429."""
    for served in range(attempts):
        response = send()
        if response.status_code == 429:
            return served, response
        assert response.status_code == 200, response.get_data(as_text=True)
    pytest.fail(f"no 429 in {attempts} requests")


def counted_this_minute(app: Flask, identity: str, per_minute: int) -> int:
    """Requests the per-minute policy has counted for `identity` in its current and previous
    windows, read from the limiter's storage (Redis or the process's memory)."""
    limiter = app.extensions["xinyong_limiter"]
    assert limiter.prefix.startswith("xy"), limiter.prefix
    minute, _ = limiter.windows(identity, Policy("any", per_minute, 1))
    return int(limiter.counted(minute))


# --- the fields -------------------------------------------------------------------------------


class TestFields:
    def test_anonymous_fields_have_the_exact_shape_and_count_down(
        self, make_app: AppFactory
    ) -> None:
        http = from_address(make_app())
        per_minute, burst = DEFAULT_TIERS["anonymous"]

        answers = [http.get(PUBLIC) for _ in range(3)]

        for n, response in enumerate(answers, start=1):
            assert response.status_code == 200
            assert response.headers["RateLimit-Policy"] == policy_field(
                "anonymous", per_minute, burst
            )
            value = response.headers["RateLimit"]
            match = re.fullmatch(
                r'"anonymous";r=(\d+);t=(\d+), "anonymous-burst";r=(\d+);t=(\d+)', value
            )
            assert match is not None, value
            minute_r, minute_t, burst_r, burst_t = (int(g) for g in match.groups())
            assert minute_r == per_minute - n
            assert 0 <= minute_t <= 60
            # The burst window is a second: it may turn between the count and the field.
            assert 0 <= burst_r <= burst
            assert 0 <= burst_t <= 1
        # The header names exactly as the draft spells them, once each.
        assert answers[0].headers.getlist("RateLimit-Policy") == [
            policy_field("anonymous", per_minute, burst)
        ]
        assert len(answers[0].headers.getlist("RateLimit")) == 1

    def test_a_bank_sees_its_tier(self, make_app: AppFactory, db_session: Session) -> None:
        app = make_app()
        bank = world_of(app, db_session).party("bank")
        http = from_address(app)
        per_minute, burst = DEFAULT_TIERS["partner"]

        answers = [http.get(PUBLIC, headers=bank.headers()) for _ in range(3)]

        for n, response in enumerate(answers, start=1):
            assert response.status_code == 200
            assert response.headers["RateLimit-Policy"] == policy_field(
                "partner", per_minute, burst
            )
            assert list(states(response)) == ["partner", "partner-burst"]
            assert remaining(response, "partner") == per_minute - n
            assert 0 <= remaining(response, "partner-burst") <= burst

    def test_configured_tiers_are_announced_and_counted(
        self, make_app: AppFactory, db_session: Session
    ) -> None:
        app = make_app(RATE_LIMITS={"partner": [7, 3], "anonymous": [11, 5]})
        bank = world_of(app, db_session).party("bank")
        http = from_address(app)

        as_bank = http.get(PUBLIC, headers=bank.headers())
        anonymous = http.get(PUBLIC)

        assert as_bank.headers["RateLimit-Policy"] == policy_field("partner", 7, 3)
        assert remaining(as_bank, "partner") == 6
        assert anonymous.headers["RateLimit-Policy"] == policy_field("anonymous", 11, 5)
        assert remaining(anonymous, "anonymous") == 10

    def test_errors_are_limited_responses_too(self, make_app: AppFactory) -> None:
        http = from_address(make_app(RATE_LIMITS={"anonymous": [50, 50]}))

        answers = [
            http.get("/v1/public/entities/123"),  # 400
            http.get("/v1/public/entities?page_size=0"),  # 400
            http.get("/v1/public/entities/91110000600037341L"),  # 404: no such legal person
            http.get("/v1/me"),  # 401
            http.post("/v1/ingest/records", json={"records": []}),  # 401
        ]

        assert [r.status_code for r in answers] == [400, 400, 404, 401, 401]
        for n, response in enumerate(answers, start=1):
            assert response.headers["RateLimit-Policy"] == policy_field("anonymous", 50, 50)
            assert remaining(response, "anonymous") == 50 - n

    def test_unrouted_requests_are_limited_too(self, make_app: AppFactory) -> None:
        http = from_address(make_app(RATE_LIMITS={"anonymous": [2, 100]}))

        answers = [
            http.get("/no/such/path"),  # 404
            http.post("/v1/public/entities"),  # 405
            http.get("/v1/no-such-resource"),  # 404
        ]

        assert [r.status_code for r in answers[:2]] == [404, 405]
        assert [remaining(r, "anonymous") for r in answers[:2]] == [1, 0]
        assert_rate_limited(answers[2])

    @pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics", "/openapi.json", "/docs/"])
    def test_operations_and_docs_are_not_limited(self, make_app: AppFactory, path: str) -> None:
        http = from_address(make_app(RATE_LIMITS={"anonymous": [2, 1]}))

        answers = [http.get(path) for _ in range(5)]

        for response in answers:
            assert response.status_code == 200, response.get_data(as_text=True)
            assert "RateLimit" not in response.headers
            assert "RateLimit-Policy" not in response.headers
            assert "Retry-After" not in response.headers
        # They spent nothing of the address's quota.
        assert remaining(http.get(PUBLIC), "anonymous") == 1


# --- cached public reads and the counters' store ----------------------------------------------


class TestCachedReads:
    """A public answer kept in the cache is looked up in the limiter's round trip and served
    before the view runs: it is limited, counted and fielded like any other answer."""

    def test_a_cached_answer_is_counted_and_refused_like_any_other(
        self, make_app: AppFactory, db_session: Session
    ) -> None:
        entity = make_entity(db_session)
        app = make_app(RATE_LIMITS={"anonymous": [3, 100]})
        http = from_address(app)
        path = f"/v1/public/entities/{entity.uscc}"

        served = [http.get(path) for _ in range(3)]
        limited = http.get(path)

        assert [r.status_code for r in served] == [200, 200, 200]
        assert [remaining(r, "anonymous") for r in served] == [2, 1, 0]
        assert len({r.headers["ETag"] for r in served}) == 1
        assert served[2].json == served[0].json
        assert_rate_limited(limited)
        assert "name" not in (limited.json or {})

    def test_a_revalidation_of_a_cached_answer_is_counted(
        self, make_app: AppFactory, db_session: Session
    ) -> None:
        entity = make_entity(db_session)
        http = from_address(make_app(RATE_LIMITS={"anonymous": [10, 100]}))
        path = f"/v1/public/entities/{entity.uscc}"
        etag = http.get(path).headers["ETag"]

        answers = [http.get(path, headers={"If-None-Match": etag}) for _ in range(2)]

        assert [r.status_code for r in answers] == [304, 304]
        assert [remaining(r, "anonymous") for r in answers] == [8, 7]
        assert all(r.headers["ETag"] == etag for r in answers)

    def test_two_scripts_and_nothing_else_for_a_cached_read(
        self, make_app: AppFactory, db_session: Session, redis_storage: str
    ) -> None:
        entity = make_entity(db_session)
        http = from_address(make_app())
        path = f"/v1/public/entities/{entity.uscc}"
        assert http.get(path).status_code == 200  # kept in the cache now
        monitor = redis.Redis.from_url(redis_storage)
        try:
            monitor.config_resetstat()
            answers = [http.get(path) for _ in range(5)]
            stats = monitor.info("commandstats")
        finally:
            monitor.close()

        assert [r.status_code for r in answers] == [200] * 5
        # Two scripts a read, the limits' and the cache's lookup, sent in one pipeline; no
        # window read for the fields, no script loading, no store. (Redis counts the commands
        # the scripts run as well: those are the only others.)
        assert stats["cmdstat_evalsha"]["calls"] == 10, stats
        in_scripts = {"get", "mget", "pttl", "incr", "set", "rename", "hmget"}
        others = {name.removeprefix("cmdstat_") for name in stats} - in_scripts
        assert others <= {"evalsha", "config|resetstat", "info"}, stats

    def test_scripts_flushed_from_redis_are_loaded_again(
        self, make_app: AppFactory, db_session: Session, redis_storage: str
    ) -> None:
        entity = make_entity(db_session)
        app = make_app(RATE_LIMITS={"anonymous": [50, 50]})
        http = from_address(app, "192.0.2.77")
        path = f"/v1/public/entities/{entity.uscc}"
        assert remaining(http.get(path), "anonymous") == 49
        admin = redis.Redis.from_url(redis_storage)
        try:
            admin.script_flush()  # as after a restart of Redis
        finally:
            admin.close()

        answers = [http.get(path) for _ in range(2)]

        assert [r.status_code for r in answers] == [200, 200]
        assert [remaining(r, "anonymous") for r in answers] == [48, 47]
        # Still counted in Redis, not in the process.
        assert counted_this_minute(app, "addr:192.0.2.77", 50) == 3
        assert app.extensions["xinyong_limiter"].redis_failing is False


# --- 429s -------------------------------------------------------------------------------------


class TestBreaches:
    def test_a_burst_429_says_when_to_retry_and_a_retry_then_succeeds(
        self, make_app: AppFactory
    ) -> None:
        http = from_address(make_app(RATE_LIMITS={"anonymous": [100, 1]}))

        served, limited = until_limited(lambda: http.get(PUBLIC))
        retry_after = assert_rate_limited(limited)
        assert "1 a second" in limited.json["detail"]  # type: ignore[index]
        assert "this address" in limited.json["detail"]  # type: ignore[index]
        assert retry_after <= 2
        assert policies(limited)["anonymous-burst"] == {"q": 1, "w": 1}
        # Retrying at once is refused again: none of these may count either.
        for _ in range(5):
            assert_rate_limited(http.get(PUBLIC))

        time.sleep(retry_after)
        retried = http.get(PUBLIC)

        assert retried.status_code == 200, retried.get_data(as_text=True)
        # The per-minute policy counted the requests that were served, and not one 429.
        assert remaining(retried, "anonymous") == 100 - (served + 1)

    def test_a_per_minute_429_is_a_problem_and_is_not_counted(self, make_app: AppFactory) -> None:
        app = make_app(RATE_LIMITS={"anonymous": [3, 100]})
        http = from_address(app, "192.0.2.31")

        served = [http.get(PUBLIC) for _ in range(3)]
        limited = http.get(PUBLIC)
        again = [http.get(PUBLIC) for _ in range(5)]

        assert [r.status_code for r in served] == [200, 200, 200]
        assert [remaining(r, "anonymous") for r in served] == [2, 1, 0]
        retry_after = assert_rate_limited(limited)
        assert "3 a minute" in limited.json["detail"]  # type: ignore[index]
        assert retry_after <= 60
        assert policies(limited)["anonymous"] == {"q": 3, "w": 60}
        spent = states(limited)["anonymous"]
        assert spent["r"] == 0
        # Not before the end of the window that was exceeded.
        assert retry_after >= spent["t"] >= 1
        for response in again:
            assert_rate_limited(response)
        assert counted_this_minute(app, "addr:192.0.2.31", 3) == 3

    def test_a_429_never_says_retry_before_every_spent_policy_allows_it(
        self, make_app: AppFactory
    ) -> None:
        # (make_app starts early in a minute: it is not about to end anyway.)
        http = from_address(make_app(RATE_LIMITS={"anonymous": [2, 2]}))

        served = [http.get(PUBLIC) for _ in range(2)]
        assert [r.status_code for r in served] == [200, 200]
        minute = states(served[-1])["anonymous"]
        assert minute["r"] == 0  # the minute's quota is spent: nothing before `t` can succeed
        answers = [http.get(PUBLIC) for _ in range(4)]

        for response in answers:
            retry_after = assert_rate_limited(response)
            assert retry_after >= minute["t"] - 1, (retry_after, minute)

    def test_a_per_minute_429_spends_no_burst_quota(self, make_app: AppFactory) -> None:
        http = from_address(make_app(RATE_LIMITS={"anonymous": [1, 5]}))

        served = http.get(PUBLIC)
        assert remaining(served, "anonymous-burst") >= 4
        answers = [http.get(PUBLIC) for _ in range(3)]

        for response in answers:
            assert_rate_limited(response)
            assert states(response)["anonymous"]["r"] == 0
            # Only the one request that was served is in the burst window.
            assert remaining(response, "anonymous-burst") >= 4


# --- whose quota ------------------------------------------------------------------------------


def _claims_of(token: str) -> dict[str, Any]:
    return jwt_parts(token)[1]


def _forged(token: str) -> str:
    """The token's header and claims, signed by a key the platform never made."""
    header, claims = jwt_parts(token)
    return jwt.encode(header, claims, ECKey.generate_key("P-256"))


def _unsigned(token: str) -> str:
    """The token's claims with `alg: none` and no signature."""
    header, claims = jwt_parts(token)
    head = {**header, "alg": "none"}
    return (
        ".".join(
            b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (head, claims)
        )
        + "."
    )


def _tampered(token: str) -> str:
    """The token with its claims changed (a wider scope) and its signature kept."""
    head, _payload, signature = token.split(".")
    claims = {**_claims_of(token), "scope": "admin"}
    body = b64url(json.dumps(claims, separators=(",", ":")).encode())
    return f"{head}.{body}.{signature}"


def _expired(app: Flask, token: str) -> str:
    """The token's claims, expired, signed with the platform's own current key."""
    header, claims = jwt_parts(token)
    now = int(time.time())
    keyset = _platform(app).oauth.keys.signing_keyset()
    return jwt.encode(header, {**claims, "iat": now - 700, "exp": now - 100}, keyset)


class TestIdentities:
    def test_a_bank_at_its_limit_does_not_stop_another_bank_or_the_public(
        self, make_app: AppFactory, db_session: Session
    ) -> None:
        app = make_app(RATE_LIMITS={"partner": [3, 100], "anonymous": ROOMY})
        world = world_of(app, db_session)
        a = world.party("bank", name="甲银行")
        b = world.party("bank", name="乙银行")
        http = from_address(app)  # every request of this test from one address

        served = [http.get(PUBLIC, headers=a.headers()) for _ in range(3)]
        limited = http.get(PUBLIC, headers=a.headers())
        other_bank = http.get(PUBLIC, headers=b.headers())
        anonymous = http.get(PUBLIC)

        assert [r.status_code for r in served] == [200, 200, 200]
        assert_rate_limited(limited)
        assert "this client" in limited.json["detail"]  # type: ignore[index]
        assert other_bank.status_code == 200
        assert remaining(other_bank, "partner") == 2
        assert anonymous.status_code == 200
        assert remaining(anonymous, "anonymous") == ROOMY[0] - 1
        # A restricted endpoint is refused to A as well, and still served to B.
        assert_rate_limited(http.get("/v1/me/consents", headers=a.headers()))
        assert http.get("/v1/consents/con_nonexistent", headers=b.headers()).status_code == 404

    def test_invalid_tokens_naming_a_bank_spend_the_address_quota_not_the_bank(
        self, make_app: AppFactory, db_session: Session
    ) -> None:
        app = make_app(RATE_LIMITS={"partner": [50, 50], "anonymous": [50, 50]})
        world = world_of(app, db_session)
        a = world.party("bank", name="甲银行")
        revoked = _second_token(world, a)
        answer = world.http.post(
            "/oauth/revoke",
            data={"token": revoked, "token_type_hint": "access_token"},
            headers=basic(a.client_id, a.secret),
        )
        assert answer.status_code == 200
        bank_http = from_address(app)
        attacker = from_address(app, "198.51.100.66")

        first = bank_http.get(PUBLIC, headers=a.headers())
        assert remaining(first, "partner") == 49
        bad_tokens = [
            "garbage",
            _forged(a.token),
            _unsigned(a.token),
            _tampered(a.token),
            _expired(app, a.token),
            revoked,
        ]
        refused = [attacker.get("/v1/me/consents", headers=bearer(t)) for t in bad_tokens]
        after = bank_http.get(PUBLIC, headers=a.headers())
        anonymous = attacker.get(PUBLIC)

        for n, response in enumerate(refused, start=1):
            assert response.status_code == 401, response.get_data(as_text=True)
            assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
            # Counted against the address that sent it.
            assert list(policies(response)) == ["anonymous", "anonymous-burst"]
            assert remaining(response, "anonymous") == 50 - n
        assert remaining(after, "partner") == 48  # only the bank's own two requests
        assert remaining(anonymous, "anonymous") == 50 - len(bad_tokens) - 1

    def test_403s_spend_only_the_quota_of_the_client_that_sent_them(
        self, make_app: AppFactory, db_session: Session
    ) -> None:
        app = make_app(RATE_LIMITS={"partner": [50, 50], "department": [50, 50]})
        world = world_of(app, db_session)
        a = world.party("bank", name="甲银行")
        narrow = world.party("bank", name="乙银行", scopes=("credit.basic",))
        department = world.party("department", name="淄博市周村区市场监督管理局")
        http = from_address(app)
        body = {
            "subject": {"uscc": "91110000600037341L"},
            "categories": ["basic"],
            "purpose": "loan_application",
        }

        first = http.get(PUBLIC, headers=a.headers())
        short = [
            http.post("/v1/consents", json=body, headers=narrow.headers()),
            http.post("/v1/consents", json=body, headers=department.headers()),
            http.get("/v1/me/consents", headers=department.headers()),
        ]
        after = http.get(PUBLIC, headers=a.headers())

        assert remaining(first, "partner") == 49
        for response in short:
            assert response.status_code == 403, response.get_data(as_text=True)
            assert response.content_type == PROBLEM
        assert remaining(after, "partner") == 48
        # Each 403 counted against the valid token's own client.
        assert remaining(short[0], "partner") == 49
        assert remaining(short[2], "department") == 48

    def test_signed_in_subjects_have_a_quota_each(
        self, make_app: AppFactory, db_session: Session
    ) -> None:
        app = make_app(RATE_LIMITS={"subject": [3, 100], "anonymous": ROOMY})
        world = world_of(app, db_session)
        first = world.subject(with_records=False)
        second = world.subject(with_records=False)
        http = from_address(app)  # both from the same address, through `xinyong-cli`

        served = [http.get("/v1/me", headers=first.headers()) for _ in range(3)]
        limited = http.get("/v1/me", headers=first.headers())
        other = http.get("/v1/me", headers=second.headers())
        anonymous = http.get(PUBLIC)

        assert [r.status_code for r in served] == [200, 200, 200]
        assert policies(served[0]) == {
            "subject": {"q": 3, "w": 60},
            "subject-burst": {"q": 100, "w": 1},
        }
        assert_rate_limited(limited)
        assert other.status_code == 200
        assert other.json["subject_id"] == second.subject.subject_id  # type: ignore[index]
        assert remaining(other, "subject") == 2
        assert remaining(anonymous, "anonymous") == ROOMY[0] - 1


def _second_token(world: World, party: Party) -> str:
    response = world.http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers=basic(party.client_id, party.secret),
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return str(response.json["access_token"])  # type: ignore[index]


# --- tiers ------------------------------------------------------------------------------------

KIND_TIERS = {
    "bank": "partner",
    "microcredit": "partner",
    "guarantee": "partner",
    "rating_agency": "agency",
    "credit_service_agency": "agency",
    "government": "government",
    "judicial": "government",
    "department": "department",
    "admin": "operator",
}


def test_policies_follow_the_client_kind(make_app: AppFactory, db_session: Session) -> None:
    app = make_app()
    world = world_of(app, db_session)
    http = from_address(app)
    seen: dict[str, str] = {}

    for kind, tier in KIND_TIERS.items():
        categories = ("basic",) if kind in ("government", "judicial") else ()
        party = world.party(kind, categories=categories, name=f"{kind} 测试")
        response = http.get(PUBLIC, headers=party.headers())
        assert response.status_code == 200
        seen[kind] = response.headers["RateLimit-Policy"]
        assert seen[kind] == policy_field(tier, *DEFAULT_TIERS[tier]), kind
    subject = world.subject(with_records=False)
    as_subject = http.get("/v1/me", headers=subject.headers())
    anonymous = http.get(PUBLIC)

    assert as_subject.headers["RateLimit-Policy"] == policy_field(
        "subject", *DEFAULT_TIERS["subject"]
    )
    assert anonymous.headers["RateLimit-Policy"] == policy_field(
        "anonymous", *DEFAULT_TIERS["anonymous"]
    )
    # Banks, departments and the public are held to different limits.
    assert len({seen["bank"], seen["department"], anonymous.headers["RateLimit-Policy"]}) == 3
    assert DEFAULT_TIERS["partner"][0] > DEFAULT_TIERS["anonymous"][0]


# --- the operator's override: `xinyong clients set-limit` -------------------------------------


def xinyong(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([XINYONG, *args], env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def command_database(
    tmp_path_factory: pytest.TempPathFactory, database_url: str, is_postgres: bool
) -> Iterator[tuple[dict[str, str], Path]]:
    """A database of its own for the commands, migrated: (their environment, instance folder)."""
    instance = tmp_path_factory.mktemp("ratelimit-commands") / "instance"
    with command_environment(
        instance, database_url, is_postgres=is_postgres, suffix="ratelimit"
    ) as env:
        upgraded = xinyong(env, "db", "upgrade")
        assert upgraded.returncode == 0, upgraded.stderr
        yield env, instance


@pytest.fixture
def registered_bank(
    command_database: tuple[dict[str, str], Path],
) -> tuple[dict[str, str], Path, dict[str, str]]:
    """A bank registered by the command line: (environment of the commands, instance folder,
    the bank's `client_id` and `client_secret`)."""
    env, instance = command_database
    created = xinyong(
        env, "clients", "create", "--name", "限额测试银行", "--kind", "bank",
        "--scopes", "consents.request credit.basic", "--json",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    return env, instance, json.loads(created.stdout)


def _app_of(env: dict[str, str], instance: Path, storage: str | None, **config: Any) -> Flask:
    """An app on the commands' database and secrets (what `xinyong serve` would run)."""
    url = env.get("XINYONG_DATABASE_URL") or f"sqlite:///{instance / 'xinyong.sqlite3'}"
    settings = {
        "DATABASE_URL": url,
        "REDIS_URL": storage,
        "LOG_JSON": False,
        "LOG_LEVEL": "WARNING",
    }
    app = create_app({**settings, **config}, instance_path=instance)
    # As `xinyong serve` does before its workers start: the first signing key.
    _platform(app).oauth.keys.signing_keyset()
    return app


@pytest.fixture
def command_app(
    registered_bank: tuple[dict[str, str], Path, dict[str, str]],
    storage: str | None,
    restore_logging: None,
) -> Iterator[Flask]:
    env, instance, _bank = registered_bank
    app = _app_of(env, instance, storage, RATE_LIMITS={"anonymous": ROOMY})
    yield app
    db = _platform(app).db
    db.session.remove()
    assert db.engine is not None
    db.engine.dispose()


def _bank_token(http: FlaskClient, bank: dict[str, str]) -> str:
    response = http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers=basic(bank["client_id"], bank["client_secret"]),
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return str(response.json["access_token"])  # type: ignore[index]


def test_set_limit_applies_on_the_next_request_and_reset_restores_the_tier(
    registered_bank: tuple[dict[str, str], Path, dict[str, str]],
    command_app: Flask,
    storage: str | None,
) -> None:
    env, _instance, bank = registered_bank
    client_id = bank["client_id"]
    http = from_address(command_app)
    token = _bank_token(http, bank)

    def read() -> TestResponse:
        return http.get(PUBLIC, headers=bearer(token))

    partner = policy_field("partner", *DEFAULT_TIERS["partner"])
    assert read().headers["RateLimit-Policy"] == partner

    done = xinyong(env, "clients", "set-limit", client_id, "--per-minute", "7", "--burst", "3")
    assert done.returncode == 0, done.stderr
    assert client_id in done.stdout
    # The same token, the very next request: the override.
    overridden = read()
    assert overridden.headers["RateLimit-Policy"] == policy_field("client", 7, 3)
    assert remaining(overridden, "client") == 6

    done = xinyong(env, "clients", "set-limit", client_id, "--per-minute", "2", "--burst", "2")
    assert done.returncode == 0, done.stderr
    early_in_a_minute(storage)
    assert [read().status_code for _ in range(2)] == [200, 200]
    limited = read()
    assert_rate_limited(limited)
    assert "2 a minute" in limited.json["detail"]  # type: ignore[index]

    # Without --burst, the burst keeps the tier's proportion (at least one a second).
    done = xinyong(env, "clients", "set-limit", client_id, "--per-minute", "2400")
    assert done.returncode == 0, done.stderr
    per_minute, burst = DEFAULT_TIERS["partner"]
    assert read().headers["RateLimit-Policy"] == policy_field(
        "client", 2400, 2400 * burst // per_minute
    )

    done = xinyong(env, "clients", "set-limit", client_id, "--reset")
    assert done.returncode == 0, done.stderr
    restored = read()
    assert restored.status_code == 200
    assert restored.headers["RateLimit-Policy"] == partner


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ((), "--per-minute"),
        (("--per-minute", "0"), "--per-minute"),
        (("--per-minute", "-5"), "--per-minute"),
        (("--per-minute", "many"), "--per-minute"),
        (("--per-minute", "10", "--burst", "0"), "--burst"),
        (("--burst", "5"), "--per-minute"),
        (("--reset", "--per-minute", "5"), "--reset"),
        (("--reset", "--burst", "5"), "--reset"),
    ],
)
def test_set_limit_refuses_bad_arguments_cleanly(
    registered_bank: tuple[dict[str, str], Path, dict[str, str]],
    restore_logging: None,
    arguments: tuple[str, ...],
    message: str,
) -> None:
    env, instance, bank = registered_bank

    done = xinyong(env, "clients", "set-limit", bank["client_id"], *arguments)

    assert done.returncode != 0
    assert message in done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    # Nothing changed: the bank keeps its tier.
    app = _app_of(env, instance, None)
    try:
        http = from_address(app)
        response = http.get(PUBLIC, headers=bearer(_bank_token(http, bank)))
        assert response.headers["RateLimit-Policy"] == policy_field(
            "partner", *DEFAULT_TIERS["partner"]
        )
    finally:
        db = _platform(app).db
        db.session.remove()
        assert db.engine is not None
        db.engine.dispose()


def test_set_limit_of_an_unknown_client_fails_cleanly(
    registered_bank: tuple[dict[str, str], Path, dict[str, str]],
) -> None:
    env, _instance, _bank = registered_bank

    done = xinyong(env, "clients", "set-limit", "cli_no_such_client", "--per-minute", "5")

    assert done.returncode == 1
    assert "cli_no_such_client" in done.stderr
    assert "Traceback" not in done.stdout + done.stderr


# --- the trusted-proxy rule -------------------------------------------------------------------


class TestForwardedFor:
    LIMITS = {"anonymous": [50, 50]}

    def test_without_trusted_proxies_forwarded_for_is_ignored(self, make_app: AppFactory) -> None:
        http = from_address(make_app(RATE_LIMITS=self.LIMITS), "127.0.0.1")

        first = http.get(PUBLIC, headers={"X-Forwarded-For": "203.0.113.5"})
        second = http.get(PUBLIC, headers={"X-Forwarded-For": "203.0.113.6"})
        third = http.get(PUBLIC)

        assert [remaining(r, "anonymous") for r in (first, second, third)] == [49, 48, 47]

    def test_behind_a_trusted_proxy_each_client_address_has_its_quota(
        self, make_app: AppFactory
    ) -> None:
        app = make_app(RATE_LIMITS=self.LIMITS, TRUSTED_PROXIES="127.0.0.1")
        proxy = from_address(app, "127.0.0.1")

        a1 = proxy.get(PUBLIC, headers={"X-Forwarded-For": "203.0.113.5"})
        b1 = proxy.get(PUBLIC, headers={"X-Forwarded-For": "203.0.113.6"})
        a2 = proxy.get(PUBLIC, headers={"X-Forwarded-For": "203.0.113.5"})
        own = proxy.get(PUBLIC)  # the proxy's own request: its own address

        assert [remaining(r, "anonymous") for r in (a1, b1, a2, own)] == [49, 49, 48, 49]

    def test_a_client_at_its_limit_behind_the_proxy_does_not_stop_the_others(
        self, make_app: AppFactory
    ) -> None:
        app = make_app(RATE_LIMITS={"anonymous": [2, 100]}, TRUSTED_PROXIES="10.0.0.0/8")
        proxy = from_address(app, "10.0.0.2")
        noisy = {"X-Forwarded-For": "203.0.113.5"}

        assert [proxy.get(PUBLIC, headers=noisy).status_code for _ in range(2)] == [200, 200]
        assert_rate_limited(proxy.get(PUBLIC, headers=noisy))
        assert proxy.get(PUBLIC, headers={"X-Forwarded-For": "203.0.113.6"}).status_code == 200

    def test_the_right_most_untrusted_hop_is_the_client(self, make_app: AppFactory) -> None:
        app = make_app(RATE_LIMITS=self.LIMITS, TRUSTED_PROXIES="127.0.0.1, 10.0.0.0/8")
        proxy = from_address(app, "127.0.0.1")

        # The client wrote the first entry itself; our proxies appended the rest.
        chained = proxy.get(
            PUBLIC, headers={"X-Forwarded-For": "198.51.100.7, 203.0.113.9, 10.1.2.3"}
        )
        forged_more = proxy.get(
            PUBLIC, headers={"X-Forwarded-For": "1.1.1.1, 8.8.8.8, 203.0.113.9, 10.9.9.9"}
        )
        direct = proxy.get(PUBLIC, headers={"X-Forwarded-For": "203.0.113.9"})
        forged_one = proxy.get(PUBLIC, headers={"X-Forwarded-For": "198.51.100.7"})

        assert [remaining(r, "anonymous") for r in (chained, forged_more, direct)] == [
            49, 48, 47
        ]  # fmt: skip
        assert remaining(forged_one, "anonymous") == 49

    def test_a_garbled_hop_stops_the_walk(self, make_app: AppFactory) -> None:
        app = make_app(RATE_LIMITS=self.LIMITS, TRUSTED_PROXIES="127.0.0.1, 10.0.0.0/8")
        proxy = from_address(app, "127.0.0.1")

        garbled = proxy.get(
            PUBLIC, headers={"X-Forwarded-For": "203.0.113.9, not-an-address, 10.1.2.3"}
        )
        nearest = proxy.get(PUBLIC, headers={"X-Forwarded-For": "10.1.2.3"})
        behind_it = proxy.get(PUBLIC, headers={"X-Forwarded-For": "203.0.113.9"})

        # The walk stopped at the last hop it could believe: 10.1.2.3, not the one behind.
        assert [remaining(r, "anonymous") for r in (garbled, nearest)] == [49, 48]
        assert remaining(behind_it, "anonymous") == 49

    def test_from_an_untrusted_peer_forwarded_for_is_ignored(self, make_app: AppFactory) -> None:
        app = make_app(RATE_LIMITS=self.LIMITS, TRUSTED_PROXIES="10.0.0.0/8")
        stranger = from_address(app, "192.0.2.10")

        first = stranger.get(PUBLIC, headers={"X-Forwarded-For": "203.0.113.5"})
        second = stranger.get(PUBLIC, headers={"X-Forwarded-For": "203.0.113.6"})
        as_proxy = from_address(app, "10.0.0.2").get(
            PUBLIC, headers={"X-Forwarded-For": "192.0.2.10"}
        )

        assert [remaining(r, "anonymous") for r in (first, second, as_proxy)] == [49, 48, 47]

    def test_ipv6_proxies_and_clients(self, make_app: AppFactory) -> None:
        app = make_app(RATE_LIMITS=self.LIMITS, TRUSTED_PROXIES="::1, fd00::/8")
        proxy = from_address(app, "::1")

        a1 = proxy.get(PUBLIC, headers={"X-Forwarded-For": "2001:db8::7, fd00::1"})
        b1 = proxy.get(PUBLIC, headers={"X-Forwarded-For": "2001:db8::8"})
        a2 = proxy.get(PUBLIC, headers={"X-Forwarded-For": "2001:0db8:0000::0007"})

        assert [remaining(r, "anonymous") for r in (a1, b1, a2)] == [49, 49, 48]


# --- units ------------------------------------------------------------------------------------

TRUSTED = parse_trusted_proxies("127.0.0.1, 10.0.0.0/8, ::1, fd00::/8")


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("127.0.0.1", None, "127.0.0.1"),
        ("127.0.0.1", "", "127.0.0.1"),
        ("127.0.0.1", "203.0.113.5", "203.0.113.5"),
        ("127.0.0.1", " 203.0.113.5 ", "203.0.113.5"),
        ("127.0.0.1", "198.51.100.1, 203.0.113.5", "203.0.113.5"),
        ("127.0.0.1", "198.51.100.1, 203.0.113.5, 10.0.0.7, 10.0.0.8", "203.0.113.5"),
        # Only trusted hops: the farthest of them is the client.
        ("127.0.0.1", "10.0.0.9, 10.0.0.8", "10.0.0.9"),
        # A garbled hop: the walk stops at the last believable one.
        ("127.0.0.1", "203.0.113.5, unknown", "127.0.0.1"),
        ("127.0.0.1", "203.0.113.5, bogus, 10.0.0.8", "10.0.0.8"),
        ("127.0.0.1", "203.0.113.5, 10.0.0.8:4711", "127.0.0.1"),
        ("127.0.0.1", "203.0.113.5,,, ", "203.0.113.5"),
        # An untrusted peer: its X-Forwarded-For means nothing.
        ("192.0.2.1", "203.0.113.5", "192.0.2.1"),
        ("10.0.0.1", "203.0.113.5", "203.0.113.5"),
        # IPv6, compressed to one spelling.
        ("::1", "2001:db8::5", "2001:db8::5"),
        ("::1", "2001:0DB8:0000:0000:0000:0000:0000:0005", "2001:db8::5"),
        ("::1", "2001:db8::5, fd00::3", "2001:db8::5"),
        ("::1", "[2001:db8::5]", "::1"),
        ("2001:db8::1", "203.0.113.5", "2001:db8::1"),
        (None, "203.0.113.5", "unknown"),
        ("not-an-ip", "203.0.113.5", "not-an-ip"),
    ],
)
def test_client_address(peer: str | None, forwarded: str | None, expected: str) -> None:
    assert client_address(peer, forwarded, TRUSTED) == expected


def test_client_address_without_trusted_proxies_is_the_peer() -> None:
    assert client_address("127.0.0.1", "203.0.113.5", []) == "127.0.0.1"
    assert client_address("127.0.0.1", "203.0.113.5", parse_trusted_proxies("")) == "127.0.0.1"


def test_parse_trusted_proxies() -> None:
    assert parse_trusted_proxies(None) == []
    assert parse_trusted_proxies("") == []
    assert parse_trusted_proxies(" , ") == []
    assert parse_trusted_proxies("127.0.0.1, 10.0.0.0/8 ,::1,fd00::/8") == [
        ipaddress.ip_network("127.0.0.1/32"),
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("::1/128"),
        ipaddress.ip_network("fd00::/8"),
    ]
    # Host bits are tolerated (10.1.2.3/8 means 10.0.0.0/8); lists work as well as strings.
    assert parse_trusted_proxies(["10.1.2.3/8", "2001:db8::1/32"]) == [
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("2001:db8::/32"),
    ]


@pytest.mark.parametrize(
    "value", ["localhost", "10.0.0.0/33", "300.1.1.1", "fd00::/129", "10.0.0.1;10.0.0.2"]
)
def test_parse_trusted_proxies_refuses_what_is_no_address(value: str) -> None:
    with pytest.raises(ValueError, match=r"\S"):
        parse_trusted_proxies(value)


def test_tiers_from_configuration() -> None:
    assert tiers_from({}) == DEFAULT_TIERS
    assert tiers_from({"RATE_LIMITS": {"partner": ["7", 3]}})["partner"] == (7, 3)
    for bad in ({"nobody": [1, 1]}, {"partner": [0, 1]}, {"partner": [5, 0]}):
        with pytest.raises(ValueError, match="RATE_LIMITS"):
            tiers_from({"RATE_LIMITS": bad})


def test_policy_of_an_override() -> None:
    class Client:
        rate_limit_per_minute = 600
        rate_limit_burst = None

    per_minute, burst = DEFAULT_TIERS["partner"]
    assert policy_for("bank", None, DEFAULT_TIERS) == Policy("partner", per_minute, burst)
    assert policy_for(None, None, DEFAULT_TIERS) == Policy("anonymous", *DEFAULT_TIERS["anonymous"])
    assert policy_for("bank", Client(), DEFAULT_TIERS) == Policy(
        "client", 600, 600 * burst // per_minute
    )
    Client.rate_limit_burst = 7  # type: ignore[assignment]
    assert policy_for("bank", Client(), DEFAULT_TIERS) == Policy("client", 600, 7)


def _addresses(networks: list[str], outside: bool) -> st.SearchStrategy[str]:
    """IPv4 and IPv6 addresses inside (or outside) the trusted networks."""
    nets = [ipaddress.ip_network(n) for n in networks]
    if not outside:
        return st.sampled_from(nets).flatmap(
            lambda net: st.integers(0, net.num_addresses - 1).map(lambda i: str(net[i]))
        )
    return (
        st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6))
        .filter(lambda a: not any(a in net for net in nets))
        .map(str)
    )


PROXIES = ["10.0.0.0/8", "fd00::/8", "127.0.0.1"]


@given(
    forged=st.lists(
        st.one_of(
            st.text(
                st.characters(exclude_characters=","),
                max_size=20,
            ),
            _addresses(PROXIES, outside=True),
            _addresses(PROXIES, outside=False),
        ),
        max_size=5,
    ),
    client=_addresses(PROXIES, outside=True),
    proxies=st.lists(_addresses(PROXIES, outside=False), max_size=4),
    peer=_addresses(PROXIES, outside=False),
)
def test_nothing_a_client_writes_changes_whose_quota_it_spends(
    forged: list[str], client: str, proxies: list[str], peer: str
) -> None:
    """Whatever a client puts in X-Forwarded-For, behind our proxies it is counted as the
    address our nearest untrusted hop saw: its own."""
    networks = parse_trusted_proxies(PROXIES)
    header = ", ".join([*forged, client, *proxies])

    assert client_address(peer, header, networks) == ipaddress.ip_address(client).compressed
    # From a peer that is not a proxy, the header is never believed.
    stranger = str(ipaddress.ip_address("192.0.2.7"))
    assert client_address(stranger, header, networks) == stranger


def test_the_keys_of_one_identity_share_a_cluster_slot() -> None:
    """One script reads and writes both policies' counters: on a Redis Cluster its keys must
    hash to one slot (the identity is their hash tag), whatever the limits are."""
    limiter = RateLimiter(None, prefix="xy:0123456789/rl")
    for identity in ("addr:192.0.2.1", "addr:2001:db8::1", "client:cli_0f3a", "subject:sub_1"):
        minute, burst = limiter.windows(identity, Policy("partner", 1200, 50))
        keys = [f"{w.key}/{which}" for w in (minute, burst) for which in ("previous", "current")]
        assert len({key_slot(key.encode()) for key in keys}) == 1, keys
        assert all(f"{{{identity}}}" in key for key in keys)
