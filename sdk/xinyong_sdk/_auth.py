"""Access tokens: fetched on first use, cached, renewed before they expire, fetched once.

Two grants: a partner's or department's client credentials (RFC 6749 §4.4), and a signed-in
subject's session (an access token, renewed with its refresh token, which the platform rotates
on every use and whose reuse revokes the whole family: so a refresh is never sent twice, and
never by two threads or tasks at once).

`TokenManager` (threads, `threading.Lock`) and `AsyncTokenManager` (tasks, `asyncio.Lock`)
hold one token per client: callers that find it missing or due queue on the lock, and the first
one fetches while the others wait for its result (double-checked locking).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from xinyong_sdk import _operations as ops
from xinyong_sdk._base import Operation
from xinyong_sdk.errors import AuthenticationError
from xinyong_sdk.types import TokenResponse

EARLY_RENEWAL = 60.0  # seconds before `expires_in` runs out (at most half the lifetime)

RefreshCallback = Callable[[TokenResponse], None]


@dataclass(slots=True)
class Token:
    """An access token and when to renew it (monotonic clock; None: use it until refused)."""

    access_token: str
    renew_at: float | None
    refused: bool = False

    def usable(self) -> bool:
        return not self.refused and (self.renew_at is None or time.monotonic() < self.renew_at)


def _token_of(answer: TokenResponse) -> Token:
    expires_in = float(answer.get("expires_in") or 0)
    if expires_in <= 0:
        return Token(answer["access_token"], None)
    early = min(EARLY_RENEWAL, expires_in / 2)
    return Token(answer["access_token"], time.monotonic() + expires_in - early)


class Grant:
    """How a client gets its access tokens."""

    renewable: bool = True

    def initial(self) -> Token | None:
        return None

    def request(self) -> Operation[TokenResponse]:
        raise NotImplementedError

    def accept(self, answer: TokenResponse) -> Token:
        return _token_of(answer)


class ClientCredentials(Grant):
    """A partner's, department's or government client's own credentials."""

    def __init__(self, client_id: str, client_secret: str, scope: str | None) -> None:
        self.client_id = client_id
        self._secret = client_secret
        self.scope = scope

    def request(self) -> Operation[TokenResponse]:
        return ops.client_credentials(self.client_id, self._secret, self.scope)

    def __repr__(self) -> str:
        return f"ClientCredentials(client_id={self.client_id!r})"


class Session(Grant):
    """A signed-in subject's tokens; renewed with the refresh token when there is one."""

    def __init__(
        self,
        client_id: str,
        client_secret: str | None,
        access_token: str | None,
        refresh_token: str | None,
        on_refresh: RefreshCallback | None,
    ) -> None:
        self.client_id = client_id
        self._secret = client_secret
        self._access_token = access_token
        self.refresh_token = refresh_token
        self._on_refresh = on_refresh
        self.renewable = refresh_token is not None

    def initial(self) -> Token | None:
        return None if self._access_token is None else Token(self._access_token, None)

    def request(self) -> Operation[TokenResponse]:
        if self.refresh_token is None:
            raise AuthenticationError(
                status=401,
                problem={
                    "title": "Session expired",
                    "detail": "The access token was refused and there is no refresh token; "
                    "sign in again.",
                },
            )
        return ops.refresh(self.client_id, self._secret, self.refresh_token)

    def accept(self, answer: TokenResponse) -> Token:
        # Rotation: the old refresh token is spent now; keep the new one before anything else.
        new_refresh = answer.get("refresh_token")
        if new_refresh:
            self.refresh_token = new_refresh
        else:
            self.refresh_token = None
            self.renewable = False
        if self._on_refresh is not None:
            self._on_refresh(answer)
        return _token_of(answer)

    def __repr__(self) -> str:
        return f"Session(client_id={self.client_id!r})"


class TokenManager:
    """The access token of a sync client, shared by its threads."""

    def __init__(self, grant: Grant) -> None:
        self.grant = grant
        self._token = grant.initial()
        self._lock = threading.Lock()

    def bearer(self, send: Callable[[Operation[TokenResponse]], TokenResponse]) -> str:
        """A usable access token, fetched (once, whoever asks) when there is none."""
        token = self._token
        if token is not None and token.usable():
            return token.access_token
        with self._lock:
            token = self._token
            if token is not None and token.usable():
                return token.access_token
            self._token = self.grant.accept(send(self.grant.request()))
            return self._token.access_token

    def refused(self, access_token: str) -> bool:
        """The platform refused `access_token` (401 invalid_token): forget it. True when a new
        one can be had, so the call may be sent once more."""
        with self._lock:
            if not self.grant.renewable:
                return False
            token = self._token
            if token is not None and token.access_token == access_token:
                token.refused = True
            return True


class AsyncTokenManager:
    """The access token of an async client, shared by its tasks (one event loop)."""

    def __init__(self, grant: Grant) -> None:
        self.grant = grant
        self._token = grant.initial()
        self._lock = asyncio.Lock()

    async def bearer(
        self, send: Callable[[Operation[TokenResponse]], Awaitable[TokenResponse]]
    ) -> str:
        """A usable access token, fetched (once, whoever asks) when there is none."""
        token = self._token
        if token is not None and token.usable():
            return token.access_token
        async with self._lock:
            token = self._token
            if token is not None and token.usable():
                return token.access_token
            self._token = self.grant.accept(await send(self.grant.request()))
            return self._token.access_token

    def refused(self, access_token: str) -> bool:
        """The platform refused `access_token`: forget it; True when a new one can be had."""
        # No await between the check and the change: atomic for the event loop.
        if not self.grant.renewable:
            return False
        token = self._token
        if token is not None and token.access_token == access_token:
            token.refused = True
        return True
