"""Transports of the SDK tests. Every answer comes from the live server: these only count the
requests on their way, or inject the faults a network makes (httpx.MockTransport) before or
after forwarding a request to the server over a real connection.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable

import httpx

Fault = Callable[[httpx.Request, int], httpx.Response | None]


class CountingTransport(httpx.HTTPTransport):
    """A real transport that counts requests by (method, path), and can slow token requests."""

    def __init__(self, token_delay: float = 0.0) -> None:
        super().__init__()
        self.counts: Counter[tuple[str, str]] = Counter()
        self.authorizations: list[str | None] = []
        self.request_ids: list[str | None] = []
        self._lock = threading.Lock()
        self._token_delay = token_delay

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.counts[(request.method, request.url.path)] += 1
            self.authorizations.append(request.headers.get("Authorization"))
            self.request_ids.append(request.headers.get("X-Request-ID"))
        if request.url.path == "/oauth/token" and self._token_delay:
            time.sleep(self._token_delay)  # widen the window in which callers race
        return super().handle_request(request)

    @property
    def token_requests(self) -> int:
        return self.counts[("POST", "/oauth/token")]


class AsyncCountingTransport(httpx.AsyncHTTPTransport):
    """The async twin of `CountingTransport`."""

    def __init__(self, token_delay: float = 0.0) -> None:
        super().__init__()
        self.counts: Counter[tuple[str, str]] = Counter()
        self._token_delay = token_delay

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.counts[(request.method, request.url.path)] += 1
        if request.url.path == "/oauth/token" and self._token_delay:
            import asyncio

            await asyncio.sleep(self._token_delay)
        return await super().handle_async_request(request)

    @property
    def token_requests(self) -> int:
        return self.counts[("POST", "/oauth/token")]


class Faults:
    """A script of faults by attempt, for a MockTransport in front of the live server.

    `plan` maps the n-th request matching (method, path prefix) to a fault: a callable that
    raises an httpx error, returns an injected error response, or returns None to forward the
    request to the server for real. `after` faults forward first and then fail (the server did
    the work; the answer is lost).
    """

    def __init__(self, method: str, path_prefix: str) -> None:
        self.method = method
        self.path_prefix = path_prefix
        self.before: dict[int, Fault] = {}
        self.after: dict[int, type[httpx.TransportError]] = {}
        self.seen: list[httpx.Request] = []
        self.paths: Counter[tuple[str, str]] = Counter()
        self.forwarded = 0
        self._real = httpx.HTTPTransport()
        self._async_real = httpx.AsyncHTTPTransport()
        self._clients: list[httpx.Client] = []
        self._async_clients: list[httpx.AsyncClient] = []

    def _matches(self, request: httpx.Request) -> bool:
        return request.method == self.method and request.url.path.startswith(self.path_prefix)

    def _attempt(self, request: httpx.Request) -> tuple[int, httpx.Response | None]:
        self.paths[(request.method, request.url.path)] += 1
        if not self._matches(request):
            return -1, None
        self.seen.append(request)
        attempt = len(self.seen)
        fault = self.before.get(attempt)
        return attempt, fault(request, attempt) if fault else None

    def handle(self, request: httpx.Request) -> httpx.Response:
        attempt, injected = self._attempt(request)
        if injected is not None:
            return injected
        response = self._real.handle_request(request)
        response.read()
        self.forwarded += attempt > 0
        if attempt in self.after:
            raise self.after[attempt]("connection reset after the server answered")
        return response

    async def ahandle(self, request: httpx.Request) -> httpx.Response:
        attempt, injected = self._attempt(request)
        if injected is not None:
            return injected
        response = await self._async_real.handle_async_request(request)
        await response.aread()
        self.forwarded += attempt > 0
        if attempt in self.after:
            raise self.after[attempt]("connection reset after the server answered")
        return response

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def async_transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.ahandle)

    def client(self) -> httpx.Client:
        """An httpx client through these faults (closed with them: the SDK leaves it open)."""
        self._clients.append(httpx.Client(transport=self.transport()))
        return self._clients[-1]

    def async_client(self) -> httpx.AsyncClient:
        self._async_clients.append(httpx.AsyncClient(transport=self.async_transport()))
        return self._async_clients[-1]

    @property
    def token_requests(self) -> int:
        return self.paths[("POST", "/oauth/token")]

    def close(self) -> None:
        for client in self._clients:
            client.close()
        self._real.close()

    async def aclose(self) -> None:
        for client in self._async_clients:
            await client.aclose()
        await self._async_real.aclose()


def raise_(error: type[httpx.TransportError]) -> Fault:
    """A fault that raises `error` (the request never reaches the server)."""

    def fault(request: httpx.Request, _attempt: int) -> httpx.Response | None:
        raise error("injected", request=request)

    return fault


def answer(status: int, headers: dict[str, str] | None = None, body: bytes = b"") -> Fault:
    """A fault that answers `status` (as a proxy or the limiter would) without the server."""

    def fault(request: httpx.Request, _attempt: int) -> httpx.Response | None:
        content = body or (
            b'{"type":"about:blank","title":"Injected","status":%d,"detail":"injected"}' % status
        )
        return httpx.Response(
            status,
            headers={"Content-Type": "application/problem+json", **(headers or {})},
            content=content,
            request=request,
        )

    return fault
