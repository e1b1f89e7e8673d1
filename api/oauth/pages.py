"""Sign-in pages: CSRF tokens, framing protection and throttling of failed sign-ins."""

from __future__ import annotations

import hmac
import secrets
import time
from typing import Any

from flask import Response, make_response, render_template, request, session
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import SlidingWindowCounterRateLimiter

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
    """Failed sign-ins per client address, in a sliding window (Redis when configured)."""

    def __init__(self, redis_url: str | None, limit: str) -> None:
        storage = storage_from_string(redis_url if redis_url else "memory://")
        self._limiter = SlidingWindowCounterRateLimiter(storage)
        self._limit = parse(limit)

    def allowed(self, address: str) -> bool:
        """Whether this address may try again."""
        return bool(self._limiter.test(self._limit, "signin-failures", address))

    def failed(self, address: str) -> None:
        """Count a failed sign-in from this address."""
        self._limiter.hit(self._limit, "signin-failures", address)

    def retry_after(self, address: str) -> int:
        """Seconds until this address may try again."""
        stats = self._limiter.get_window_stats(self._limit, "signin-failures", address)
        return max(1, int(stats.reset_time - time.time()))
