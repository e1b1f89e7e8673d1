"""Sign-in pages: CSRF tokens, framing protection and throttling of failed sign-ins."""

from __future__ import annotations

import hmac
import logging
import secrets
import time
from typing import Any

from flask import Response, make_response, render_template, request, session
from limits import parse
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import SlidingWindowCounterRateLimiter

log = logging.getLogger(__name__)

CSRF_FIELD = "csrf_token"


def csrf_token() -> str:
    """The session's CSRF token, created on first use."""
    token = session.get(CSRF_FIELD)
    if not token:
        token = secrets.token_urlsafe(32)
        session[CSRF_FIELD] = token
    return str(token)


def csrf_valid() -> bool:
    """Whether the submitted form carries the session's CSRF token."""
    expected = session.get(CSRF_FIELD)
    given = request.form.get(CSRF_FIELD, "")
    return bool(expected) and hmac.compare_digest(str(expected), given)


def page(template: str, status: int = 200, **context: Any) -> Response:
    """A sign-in page that no other site may frame and no cache may keep."""
    response = make_response(render_template(template, csrf_token=csrf_token(), **context), status)
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


class SignInThrottle:
    """Failed sign-ins per client address, in a sliding window (Redis when configured).

    If Redis fails, failures are counted in this process until it answers again (checked every
    few seconds): sign-in keeps working, and stays throttled, through a Redis outage.
    """

    RETRY_REDIS_AFTER = 5.0

    def __init__(self, redis_url: str | None, limit: str) -> None:
        self._memory = SlidingWindowCounterRateLimiter(MemoryStorage())
        self._redis = (
            SlidingWindowCounterRateLimiter(
                storage_from_string(redis_url, socket_timeout=0.2, socket_connect_timeout=0.2)
            )
            if redis_url
            else None
        )
        self._redis_down_until = 0.0
        self._limit = parse(limit)

    def _call(self, method: str, address: str) -> Any:
        if self._redis is not None and time.monotonic() >= self._redis_down_until:
            try:
                return getattr(self._redis, method)(self._limit, "signin-failures", address)
            except Exception as error:  # the storage's connection and timeout errors
                self._redis_down_until = time.monotonic() + self.RETRY_REDIS_AFTER
                log.warning("sign-in throttle counting in process: Redis failed: %s", error)
        return getattr(self._memory, method)(self._limit, "signin-failures", address)

    def allowed(self, address: str) -> bool:
        """Whether this address may try again."""
        return bool(self._call("test", address))

    def failed(self, address: str) -> None:
        """Count a failed sign-in from this address."""
        self._call("hit", address)

    def retry_after(self, address: str) -> int:
        """Seconds until this address may try again."""
        stats = self._call("get_window_stats", address)
        return max(1, int(stats.reset_time - time.time()))
