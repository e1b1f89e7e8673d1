"""One access token for many callers: 20 threads of a `Client` and 200 tasks of an `AsyncClient`
calling at once make one token request between them (and a subject session one refresh, which
matters: a refresh token is rotated on use and its reuse revokes the session). Counted on the way
to the live server by a transport that forwards every request over a real connection; the token
endpoint is slowed down so that the callers really do pile up behind the first one."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from xinyong_sdk import AsyncClient, Client

from tests.sdk.conftest import LivePlatform, sign_in
from tests.sdk.transports import AsyncCountingTransport, CountingTransport

THREADS = 20
TASKS = 200


@pytest.fixture(scope="module")
def consent_id(live: LivePlatform) -> str:
    """A consent the bank asked for (made by a client of its own, so the clients under test
    start without a token)."""
    with Client(live.base_url, live.bank.client_id, live.bank.client_secret) as bank:
        asked = bank.consents.request(
            subject={"uscc": live.subject_uscc},
            categories=["basic"],
            purpose="guarantee",
            expires_at=datetime.now(UTC) + timedelta(days=7),
        )
    return asked["consent_id"]


def in_threads(count: int, call: Callable[[int], Any]) -> list[Any]:
    """`call(i)` in `count` threads released together."""
    start = threading.Barrier(count)

    def run(i: int) -> Any:
        start.wait()
        return call(i)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


def test_twenty_threads_share_one_token_fetch(live: LivePlatform, consent_id: str) -> None:
    counting = CountingTransport(token_delay=0.3)
    with (
        httpx.Client(transport=counting) as http,
        Client(
            live.base_url, live.bank.client_id, live.bank.client_secret, http_client=http
        ) as bank,
    ):

        def call(i: int) -> str:
            if i % 2:
                return bank.consents.get(consent_id)["consent_id"]
            return bank.public.entity(live.subject_uscc)["uscc"]

        results = in_threads(THREADS, call)
    assert results == [live.subject_uscc, consent_id] * (THREADS // 2)
    assert counting.token_requests == 1
    bearers = {a for a in counting.authorizations if a and a.startswith("Bearer ")}
    assert len(bearers) == 1


def test_twenty_threads_of_a_session_refresh_once(live: LivePlatform) -> None:
    tokens = sign_in(live.base_url, live.subject)
    counting = CountingTransport(token_delay=0.3)
    refreshed: list[Any] = []
    with (
        httpx.Client(transport=counting) as http,
        Client(
            live.base_url,
            access_token="expired-or-revoked",  # every thread's first call gets a 401
            refresh_token=tokens["refresh_token"],
            on_token_refresh=refreshed.append,
            http_client=http,
        ) as me,
    ):
        subjects = in_threads(THREADS, lambda _i: me.me.get()["subject_id"])
        assert subjects == [live.subject.subject_id] * THREADS
        assert counting.token_requests == 1
        assert len(refreshed) == 1
        assert me.refresh_token == refreshed[0]["refresh_token"]


def test_two_hundred_tasks_share_one_token_fetch(live: LivePlatform, consent_id: str) -> None:
    tokens = sign_in(live.base_url, live.subject)

    async def run() -> None:
        bank_counts = AsyncCountingTransport(token_delay=0.3)
        session_counts = AsyncCountingTransport(token_delay=0.3)
        async with (
            httpx.AsyncClient(transport=bank_counts) as bank_http,
            httpx.AsyncClient(transport=session_counts) as session_http,
            AsyncClient(
                live.base_url,
                live.bank.client_id,
                live.bank.client_secret,
                http_client=bank_http,
            ) as bank,
            AsyncClient(
                live.base_url,
                access_token="expired-or-revoked",
                refresh_token=tokens["refresh_token"],
                http_client=session_http,
            ) as me,
        ):

            async def call(i: int) -> str:
                if i % 2:
                    return (await bank.consents.get(consent_id))["consent_id"]
                return (await bank.public.entity(live.subject_uscc))["uscc"]

            results = await asyncio.gather(*(call(i) for i in range(TASKS)))
            assert results == [live.subject_uscc, consent_id] * (TASKS // 2)
            assert bank_counts.token_requests == 1
            who = await asyncio.gather(*(me.me.get() for _ in range(TASKS // 4)))
            assert {w["subject_id"] for w in who} == {live.subject.subject_id}
            assert session_counts.token_requests == 1

    asyncio.run(run())


class ShortLivedTokens(CountingTransport):
    """Forwards to the server, but says its access tokens live 2 seconds."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if request.url.path != "/oauth/token" or response.status_code != 200:
            return response
        body = json.loads(response.read())
        body["expires_in"] = 2
        return httpx.Response(200, json=body, request=request)


def test_the_token_is_renewed_before_it_expires(live: LivePlatform, consent_id: str) -> None:
    counting = ShortLivedTokens()
    with (
        httpx.Client(transport=counting) as http,
        Client(
            live.base_url, live.bank.client_id, live.bank.client_secret, http_client=http
        ) as bank,
    ):
        bank.consents.get(consent_id)
        bank.consents.get(consent_id)
        assert counting.token_requests == 1
        time.sleep(1.1)  # renewed early: at half of a short lifetime (60 s before a long one)
        bank.consents.get(consent_id)
        assert counting.token_requests == 2
