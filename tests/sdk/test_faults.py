"""Retries, backoff, Retry-After and token renewal under injected faults.

An httpx.MockTransport in front of the live server injects what networks and proxies do:
connection failures before anything is sent, resets after the server has answered, 503
storms, 429s with Retry-After. Every success is the live server's own answer. The SDK's waits
are recorded instead of slept.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from xinyong_sdk import (
    APIConnectionError,
    APITimeoutError,
    AsyncClient,
    AuthenticationError,
    Client,
    ConflictError,
    NotFoundError,
    RateLimitError,
    ServerError,
    ValidationError,
)
from xinyong_sdk.errors import parse_retry_after
from xinyong_sdk.types import RecordInput, TokenResponse

from tests.sdk.conftest import LivePlatform, sign_in
from tests.sdk.transports import Faults, answer, raise_

INVALID_TOKEN = {"WWW-Authenticate": 'Bearer realm="xinyong", error="invalid_token"'}


@pytest.fixture
def naps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The SDK's waits between attempts, recorded rather than slept."""
    slept: list[float] = []

    async def asleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr("xinyong_sdk._client._sleep", slept.append)
    monkeypatch.setattr("xinyong_sdk._async_client._sleep", asleep)
    return slept


@pytest.fixture(scope="module")
def consent(live: LivePlatform) -> dict[str, Any]:
    """An authorised consent of the demo subject to the bank, its token, and a subject session."""
    tokens = sign_in(live.base_url, live.subject)
    with (
        Client(live.base_url, live.bank.client_id, live.bank.client_secret) as bank,
        Client(live.base_url, access_token=tokens["access_token"]) as me,
    ):
        asked = bank.consents.request(
            subject={"uscc": live.subject_uscc},
            categories=["basic"],
            purpose="loan_monitoring",
            expires_at=datetime.now(UTC) + timedelta(days=20),
        )
        me.me.consents.approve(asked["consent_id"])
        token = bank.consents.token(asked["consent_id"])["consent_token"]
    return {"consent_id": asked["consent_id"], "consent_token": token, "subject": tokens}


@pytest.fixture
def faults() -> Iterator[Callable[[str, str], Faults]]:
    """Fault scripts for requests matching a method and a path prefix, closed at the end."""
    made: list[Faults] = []

    def make(method: str, path: str) -> Faults:
        f = Faults(method, path)
        made.append(f)
        return f

    yield make
    for f in made:
        f.close()


def bank_through(live: LivePlatform, f: Faults, **options: Any) -> Client:
    bank = live.bank
    return Client(
        live.base_url, bank.client_id, bank.client_secret, http_client=f.client(), **options
    )


def public_through(live: LivePlatform, f: Faults, **options: Any) -> Client:
    return Client(live.base_url, http_client=f.client(), **options)


def ask(bank: Client, live: LivePlatform, marker: str) -> Any:
    return bank.consents.request(
        subject={"uscc": live.subject_uscc},
        categories=["tax"],
        purpose="other",
        purpose_note=marker,
        expires_at=datetime.now(UTC) + timedelta(days=5),
    )


def consents_noted(live: LivePlatform, subject: dict[str, Any], marker: str) -> int:
    with Client(live.base_url, access_token=subject["access_token"]) as me:
        return sum(1 for c in me.me.consents.list(page_size=100) if c.get("purpose_note") == marker)


# --- nothing sent: retried for every method ----------------------------------------------------


def test_connect_failures_are_retried_with_jittered_backoff(
    live: LivePlatform, faults: Any, naps: list[float], consent: dict[str, Any]
) -> None:
    f = faults("GET", "/v1/public/entities/")
    f.before = {1: raise_(httpx.ConnectError), 2: raise_(httpx.ConnectTimeout)}
    with public_through(live, f) as client:
        assert client.public.entity(live.subject_uscc)["uscc"] == live.subject_uscc
    assert (len(f.seen), f.forwarded) == (3, 1)
    assert len(naps) == 2
    assert 0 <= naps[0] <= 0.5
    assert 0 <= naps[1] <= 1.0
    # Three attempts, three request ids: one per attempt, so each is unique in the server's logs.
    assert len({r.headers["X-Request-ID"] for r in f.seen}) == 3

    # A POST that creates something is retried too when nothing was sent.
    g = faults("POST", "/v1/consents")
    g.before = {1: raise_(httpx.ConnectError)}
    marker = f"connect-{secrets.token_hex(4)}"
    with bank_through(live, g) as bank:
        assert ask(bank, live, marker)["status"] == "awaiting_authorisation"
    assert (len(g.seen), g.forwarded) == (2, 1)
    assert consents_noted(live, consent["subject"], marker) == 1


def test_giving_up_names_the_last_request_id(
    live: LivePlatform, faults: Any, naps: list[float]
) -> None:
    f = faults("GET", "/v1/public/entities")
    f.before = {n: raise_(httpx.ConnectError) for n in range(1, 13)}
    with public_through(live, f) as client:
        with pytest.raises(APIConnectionError) as failed:
            client.public.search().first_page()
        assert not isinstance(failed.value, APITimeoutError)
        assert failed.value.request_id == f.seen[-1].headers["X-Request-ID"]
        assert isinstance(failed.value.__cause__, httpx.ConnectError)
        assert len(f.seen) == 3  # the default: 2 retries
        with pytest.raises(APIConnectionError):
            client.public.search().first_page()  # max_retries per call
        assert len(f.seen) == 6
        with pytest.raises(APIConnectionError):
            client.public.search(max_retries=0).first_page()
        assert len(f.seen) == 7
        patient = client.with_options(max_retries=4)
        with pytest.raises(APIConnectionError):
            patient.public.search().first_page()
        assert len(f.seen) == 12
        assert client.public.search().first_page().items  # the 13th is forwarded
    assert len(naps) == 2 + 2 + 0 + 4


# --- answers lost after sending: retried only when repeating is harmless ------------------------


def test_lost_answers_are_retried_only_for_idempotent_calls(
    live: LivePlatform, faults: Any, naps: list[float], consent: dict[str, Any]
) -> None:
    f = faults("GET", "/v1/public/entities/")
    f.after = {1: httpx.ReadError}
    with public_through(live, f) as client:
        client.public.entity(live.subject_uscc)
    assert (len(f.seen), f.forwarded) == (2, 2)

    # A department batch is idempotent: the repeat finds the rows the lost answer stored.
    g = faults("POST", "/v1/ingest/records")
    g.after = {1: httpx.ReadTimeout}
    row: RecordInput = {
        "kind": "penalty",
        "document_no": f"周市监罚〔2026〕{secrets.token_hex(4)}号",
        "title": "重试测试",
        "decided_on": "2026-01-05",
        "uscc": live.subject_uscc,
        "details": {"basis": "b", "violation": "v", "result": "r", "severity": "general"},
    }
    dept = Client(
        live.base_url,
        live.department.client_id,
        live.department.client_secret,
        http_client=g.client(),
    )
    with dept:
        outcome = dept.ingest.records([row])
    assert (len(g.seen), g.forwarded) == (2, 2)
    assert (outcome["accepted"], outcome["duplicates"]) == (0, 1)

    # A consent request is not: the platform made it, the answer was lost; no second one.
    h = faults("POST", "/v1/consents")
    h.after = {1: httpx.RemoteProtocolError}
    marker = f"reset-{secrets.token_hex(4)}"
    with bank_through(live, h) as bank, pytest.raises(APIConnectionError) as lost:
        ask(bank, live, marker)
    assert (len(h.seen), h.forwarded) == (1, 1)
    assert lost.value.request_id == h.seen[0].headers["X-Request-ID"]
    assert consents_noted(live, consent["subject"], marker) == 1


def test_a_report_read_is_not_repeated_after_a_timeout(
    live: LivePlatform, faults: Any, naps: list[float], consent: dict[str, Any]
) -> None:
    f = faults("GET", "/v1/subjects/")
    f.after = {1: httpx.ReadTimeout}
    f.before = {2: answer(503, {"Retry-After": "1"})}
    with bank_through(live, f) as bank:
        with pytest.raises(APITimeoutError) as timed_out:
            bank.reports.get(live.subject.subject_id, consent_token=consent["consent_token"])
        assert len(f.seen) == 1  # served and logged once; a retry would log it twice
        # The request id of the lost answer is in the subject's access log: the read happened.
        with Client(live.base_url, access_token=consent["subject"]["access_token"]) as me:
            log = {e["request_id"]: e for e in me.me.access_log(page_size=100)}
        assert log[timed_out.value.request_id]["consent_id"] == consent["consent_id"]

        # A 503 says nothing was served: that is retried, after Retry-After.
        report = bank.reports.get(live.subject.subject_id, consent_token=consent["consent_token"])
        assert report["consent_id"] == consent["consent_id"]
        assert len(f.seen) == 3
        assert naps == [1.0]


def test_a_consent_token_lost_on_the_way_is_not_asked_for_twice(
    live: LivePlatform, faults: Any, consent: dict[str, Any]
) -> None:
    with Client(live.base_url, access_token=consent["subject"]["access_token"]) as me:
        granted = me.me.consents.grant(
            client_id=live.bank.client_id,
            categories="basic",
            purpose="lease",
            expires_at=datetime.now(UTC) + timedelta(days=3),
        )
    f = faults("POST", "/v1/consents/")
    f.after = {1: httpx.ReadError}
    with bank_through(live, f) as bank:
        with pytest.raises(APIConnectionError):
            bank.consents.token(granted["consent_id"])
        assert len(f.seen) == 1
        with pytest.raises(ConflictError):  # the token was issued once, as the contract says
            bank.consents.token(granted["consent_id"])


# --- 503 and 429 ---------------------------------------------------------------------------------


def test_503_storms_back_off_then_give_up(
    live: LivePlatform, faults: Any, naps: list[float]
) -> None:
    f = faults("GET", "/v1/public/changes")
    f.before = {n: answer(503) for n in range(1, 4)} | {5: answer(503, {"Retry-After": "3"})}
    with public_through(live, f) as client:
        with pytest.raises(ServerError) as storm:
            client.public.changes(page_size=1).first_page()
        assert storm.value.status == 503
        assert len(f.seen) == 3
        assert storm.value.request_id == f.seen[-1].headers["X-Request-ID"]
        assert len(naps) == 2
        assert naps[0] <= 0.5
        assert naps[1] <= 1.0
        assert client.public.changes(page_size=1).first_page().items  # 4th: forwarded
        assert client.public.changes(page_size=1).first_page().items  # 5th: 503, 6th: ok
    assert naps[2:] == [3.0]


def test_503_is_not_retried_for_a_call_that_may_have_run(
    live: LivePlatform, faults: Any, naps: list[float]
) -> None:
    f = faults("POST", "/v1/consents")
    f.before = {1: answer(503, {"Retry-After": "1"})}
    with bank_through(live, f) as bank, pytest.raises(ServerError):
        ask(bank, live, "503")
    assert len(f.seen) == 1
    assert naps == []


def test_429_waits_for_retry_after_within_the_bound(
    live: LivePlatform, faults: Any, naps: list[float], consent: dict[str, Any]
) -> None:
    f = faults("GET", "/v1/public/entities")
    f.before = {1: answer(429, {"Retry-After": "2"}), 3: answer(429, {"Retry-After": "120"})}
    with public_through(live, f) as client:
        assert client.public.search(page_size=2).first_page().items
        assert naps == [2.0]
        assert len(f.seen) == 2
        with pytest.raises(RateLimitError) as limited:  # beyond max_retry_after: give up at once
            client.public.search(page_size=2).first_page()
        assert limited.value.retry_after == 120.0
        assert naps == [2.0]
        assert len(f.seen) == 3
        assert limited.value.request_id == f.seen[-1].headers["X-Request-ID"]
        f.before[4] = answer(429, {"Retry-After": "120"})
        patient = client.with_options(max_retry_after=300)
        assert patient.public.search(page_size=2).first_page().items
        assert naps == [2.0, 120.0]

    # The limiter refuses before the operation runs: a 429 is retried even for a POST.
    g = faults("POST", "/v1/consents")
    g.before = {1: answer(429, {"Retry-After": "1"})}
    marker = f"limited-{secrets.token_hex(4)}"
    with bank_through(live, g) as bank:
        ask(bank, live, marker)
    assert len(g.seen) == 2
    assert consents_noted(live, consent["subject"], marker) == 1


def test_retry_after_forms() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    future = parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0)
    assert future == 10.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


# --- timeouts -----------------------------------------------------------------------------------


def test_timeouts_by_client_by_call_and_for_batches(live: LivePlatform) -> None:
    seen: list[tuple[str, dict[str, float | None]]] = []
    real = httpx.HTTPTransport()

    def watch(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.path, dict(request.extensions["timeout"])))
        return real.handle_request(request)

    http = httpx.Client(transport=httpx.MockTransport(watch))
    dept_id, dept_secret = live.department.client_id, live.department.client_secret
    with Client(live.base_url, dept_id, dept_secret, http_client=http) as dept:
        dept.public.search(page_size=1).first_page()
        dept.public.search(page_size=1, timeout=3.5).first_page()
        with pytest.raises(ValidationError):
            dept.ingest.records([])  # refused, but sent with the batch timeout
    default = {"connect": 2.0, "read": 10.0, "write": 10.0, "pool": 10.0}
    assert seen == [
        ("/oauth/token", default),
        ("/v1/public/entities", default),
        ("/v1/public/entities", dict.fromkeys(default, 3.5)),
        ("/v1/ingest/records", {"connect": 2.0, "read": 60.0, "write": 60.0, "pool": 60.0}),
    ]
    seen.clear()
    with Client(live.base_url, http_client=http, timeout=5.0) as quick:
        quick.public.search(page_size=1).first_page()
        quick.public.search(page_size=1, timeout=None).first_page()
        quick.with_options(timeout=httpx.Timeout(1.0, connect=0.5)).public.entity(live.subject_uscc)
    assert [t for _, t in seen] == [
        dict.fromkeys(default, 5.0),
        dict.fromkeys(default, None),
        {"connect": 0.5, "read": 1.0, "write": 1.0, "pool": 1.0},
    ]
    http.close()
    real.close()


# --- access tokens ------------------------------------------------------------------------------


def test_invalid_token_renews_once_and_retries_once(live: LivePlatform, faults: Any) -> None:
    f = faults("GET", "/v1/consents/")
    f.before = {1: answer(401, INVALID_TOKEN)}
    with bank_through(live, f) as bank:
        with pytest.raises(NotFoundError):  # the token was renewed; the consent is unknown
            bank.consents.get("con_00000000000000000000")
        assert f.token_requests == 2
        assert len(f.seen) == 2
        f.before |= {3: answer(401, INVALID_TOKEN), 4: answer(401, INVALID_TOKEN)}
        with pytest.raises(AuthenticationError) as refused:
            bank.consents.get("con_00000000000000000000")
        assert refused.value.status == 401
        assert f.token_requests == 3
        assert len(f.seen) == 4


def test_a_revoked_access_token_is_replaced(live: LivePlatform, consent: dict[str, Any]) -> None:
    f = Faults("GET", "/v1/consents/")
    with bank_through(live, f) as bank:
        assert bank.consents.get(consent["consent_id"])["status"] == "authorised"
        used = f.seen[0].headers["Authorization"].removeprefix("Bearer ")
        revoked = httpx.post(
            f"{live.base_url}/oauth/revoke",
            data={"token": used, "token_type_hint": "access_token"},
            auth=(live.bank.client_id, live.bank.client_secret),
        )
        assert revoked.status_code == 200
        assert bank.consents.get(consent["consent_id"])["status"] == "authorised"
        assert f.token_requests == 2
        assert f.seen[-1].headers["Authorization"] != f"Bearer {used}"
    f.close()


def test_token_requests_are_retried_only_before_sending(
    live: LivePlatform, faults: Any, naps: list[float]
) -> None:
    f = faults("POST", "/oauth/token")
    f.before = {1: raise_(httpx.ConnectError), 3: answer(503)}
    f.after = {4: httpx.ReadError}
    with bank_through(live, f) as bank:
        with pytest.raises(NotFoundError):  # the token came at the second try
            bank.consents.get("con_00000000000000000000")
        assert len(f.seen) == 2
    with bank_through(live, f) as bank:
        with pytest.raises(ServerError):
            bank.consents.get("con_00000000000000000000")
        assert len(f.seen) == 3
    with bank_through(live, f) as bank:
        with pytest.raises(APIConnectionError):
            bank.consents.get("con_00000000000000000000")
        assert len(f.seen) == 4


def test_a_subject_session_refreshes_and_rotates(live: LivePlatform) -> None:
    tokens = sign_in(live.base_url, live.subject)
    rotated: list[TokenResponse] = []
    with Client(
        live.base_url,
        access_token="not-a-valid-access-token",
        refresh_token=tokens["refresh_token"],
        on_token_refresh=rotated.append,
    ) as me:
        assert me.me.get()["subject_id"] == live.subject.subject_id
        assert len(rotated) == 1
        assert me.refresh_token == rotated[0]["refresh_token"] != tokens["refresh_token"]
        assert me.me.get()["subject_id"] == live.subject.subject_id
        assert len(rotated) == 1  # the new access token is used until it is refused
    with (
        Client(live.base_url, access_token="not-a-valid-access-token") as stale,
        pytest.raises(AuthenticationError) as expired,
    ):
        stale.me.get()
    assert expired.value.status == 401
    # Only a refresh token: the first call refreshes.
    with Client(live.base_url, refresh_token=rotated[0]["refresh_token"]) as resumed:
        assert resumed.me.get()["subject_id"] == live.subject.subject_id
    # A spent refresh token is refused (and, RFC 6819 §5.2.2.3, ends its whole family).
    with (
        Client(live.base_url, refresh_token=tokens["refresh_token"]) as replay,
        pytest.raises(AuthenticationError) as replayed,
    ):
        replay.me.get()
    assert replayed.value.problem["error"] == "invalid_grant"


# --- async --------------------------------------------------------------------------------------


def test_async_faults(
    live: LivePlatform, faults: Any, naps: list[float], consent: dict[str, Any]
) -> None:
    f = faults("GET", "/v1/public/entities/")
    f.before = {1: raise_(httpx.ConnectError), 2: answer(429, {"Retry-After": "1"})}
    g = faults("POST", "/v1/consents")
    g.after = {1: httpx.ReadError}
    h = faults("GET", "/v1/consents/")
    h.before = {1: answer(401, INVALID_TOKEN)}
    marker = f"async-{secrets.token_hex(4)}"

    async def run() -> None:
        async with AsyncClient(live.base_url, http_client=f.async_client()) as client:
            assert (await client.public.entity(live.subject_uscc))["uscc"] == live.subject_uscc
        bank_id, secret = live.bank.client_id, live.bank.client_secret
        async with AsyncClient(
            live.base_url, bank_id, secret, http_client=g.async_client()
        ) as bank:
            with pytest.raises(APIConnectionError):
                await bank.consents.request(
                    subject={"uscc": live.subject_uscc},
                    categories=["tax"],
                    purpose="other",
                    purpose_note=marker,
                    expires_at=datetime.now(UTC) + timedelta(days=5),
                )
        async with AsyncClient(
            live.base_url, bank_id, secret, http_client=h.async_client()
        ) as bank:
            assert (await bank.consents.get(consent["consent_id"]))["status"] == "authorised"
            assert h.token_requests == 2
        for each in (f, g, h):
            await each.aclose()

    asyncio.run(run())
    assert len(f.seen) == 3
    assert naps[-1] == 1.0
    assert 0 <= naps[0] <= 0.5
    assert len(g.seen) == 1
    assert consents_noted(live, consent["subject"], marker) == 1
