"""The SDK's exceptions, built from the platform's RFC 9457 problem documents.

    XinyongError
    ├── ConfigurationError            no base URL, or no credentials for an operation needing them
    ├── APIConnectionError            no answer: connection refused or reset, DNS, TLS
    │   └── APITimeoutError           no answer in time
    └── APIError                      an answer with an error status; `status`, `problem`, ...
        ├── ValidationError           400 / 422, with `errors` keyed by field
        ├── AuthenticationError       401 (and the token endpoint's invalid_client/invalid_grant)
        ├── PermissionDeniedError     403
        │   └── ConsentError          403 of the consent checks (`urn:xinyong:problem:consent-*`)
        ├── NotFoundError             404
        ├── ConflictError             409
        ├── RateLimitError            429, with `retry_after`
        └── ServerError               5xx

Every exception about a request carries `request_id`: the platform's id of the request (quote
it to the operator). The SDK sends its own `X-Request-ID` with each attempt, so even a request
that got no answer has one the operator can look up. (`ConfigurationError` comes before any
request: its `request_id` is None.)
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any, cast

from xinyong_sdk.types import Problem

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AuthenticationError",
    "ConfigurationError",
    "ConflictError",
    "ConsentError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServerError",
    "ValidationError",
    "XinyongError",
]

CONSENT_PROBLEM_PREFIX = "urn:xinyong:problem:consent-"
# RFC 6749 §5.2 errors of the token endpoint that mean "these credentials do not work".
OAUTH_AUTHENTICATION_ERRORS = frozenset({"invalid_client", "invalid_grant", "unauthorized_client"})


class XinyongError(Exception):
    """Base of every exception the SDK raises."""

    request_id: str | None

    def __init__(self, message: str, *, request_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.request_id = request_id

    def __str__(self) -> str:
        if self.request_id:
            return f"{self.message} (request id {self.request_id})"
        return self.message


class ConfigurationError(XinyongError):
    """The client is not configured for this: no base URL, or no credentials."""


class APIConnectionError(XinyongError):
    """No answer came: the connection failed, was reset, or a protocol error occurred.

    `request_id` is the `X-Request-ID` the SDK sent: if the request reached the platform, the
    operator finds it under that id (and, for a report read, so does the subject's access log).
    """

    def __init__(
        self, message: str, *, request_id: str | None = None, method: str = "", url: str = ""
    ) -> None:
        super().__init__(message, request_id=request_id)
        self.method = method
        self.url = url


class APITimeoutError(APIConnectionError):
    """No answer came in time (connect, write, read or connection-pool timeout)."""


class APIError(XinyongError):
    """The platform answered with an error status."""

    status: int
    problem: dict[str, Any]
    headers: Mapping[str, str]

    def __init__(
        self,
        *,
        status: int,
        problem: Mapping[str, Any],
        headers: Mapping[str, str] | None = None,
        request_id: str | None = None,
    ) -> None:
        self.status = status
        self.problem = dict(problem)
        self.headers = {name.lower(): value for name, value in (headers or {}).items()}
        # The body's id first (it is the platform's), then the response header, then our own.
        rid = self.problem.get("request_id") or self.headers.get("x-request-id") or request_id
        title = _text(self.problem.get("title")) or _text(self.problem.get("error"))
        detail = _text(self.problem.get("detail")) or _text(self.problem.get("error_description"))
        self.title: str = title or f"HTTP {status}"
        self.detail: str = detail or ""
        self.type: str = _text(self.problem.get("type")) or "about:blank"
        message = f"{status} {self.title}" + (f": {self.detail}" if self.detail else "")
        super().__init__(message, request_id=str(rid) if rid else None)

    @property
    def errors(self) -> dict[str, list[str]]:
        """For validation failures: the messages for each offending field (else empty)."""
        raw = self.problem.get("errors")
        return cast("dict[str, list[str]]", raw) if isinstance(raw, dict) else {}

    @property
    def problem_document(self) -> Problem:
        """The problem document, typed (the OAuth endpoints answer another shape)."""
        return cast("Problem", self.problem)


class ValidationError(APIError):
    """400 or 422: bad input; `errors` says what is wrong with each field."""


class AuthenticationError(APIError):
    """401: the access token is missing, invalid, expired or revoked, or the client
    credentials (or the refresh token) were refused at the token endpoint."""


class PermissionDeniedError(APIError):
    """403: the credentials do not allow this (a missing scope, a category outside the grant,
    no legal basis, a client of the wrong kind)."""


class ConsentError(PermissionDeniedError):
    """403 of the consent checks: no authorised, unexpired consent of this subject to this client
    covers the read (revoked, expired, rejected, still awaiting, another client's or another
    subject's token, or a category it does not cover). The platform says nothing more, by design.
    """


class NotFoundError(APIError):
    """404."""


class ConflictError(APIError):
    """409: not possible in the current state (a consent token already taken, a record already
    withdrawn, a repair asked for too early, ...)."""


class RateLimitError(APIError):
    """429: over the client's rate limit; `retry_after` is the platform's wait in seconds."""

    @property
    def retry_after(self) -> float | None:
        """Seconds to wait before trying again, from `Retry-After` (None if absent)."""
        return parse_retry_after(self.headers.get("retry-after"))


class ServerError(APIError):
    """5xx: the platform (or a proxy in front of it) failed; quote the request id."""


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """`Retry-After` in seconds (RFC 9110 §10.2.3: delay-seconds or an HTTP date)."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


def error_class(status: int, problem: Mapping[str, Any], *, oauth: bool = False) -> type[APIError]:
    """The exception class for an error status and its document."""
    if oauth and problem.get("error") in OAUTH_AUTHENTICATION_ERRORS:
        return AuthenticationError
    if status in (400, 422):
        return ValidationError
    if status == 401:
        return AuthenticationError
    if status == 403:
        kind = problem.get("type")
        if isinstance(kind, str) and kind.startswith(CONSENT_PROBLEM_PREFIX):
            return ConsentError
        return PermissionDeniedError
    if status == 404:
        return NotFoundError
    if status == 409:
        return ConflictError
    if status == 429:
        return RateLimitError
    if status >= 500:
        return ServerError
    return APIError


def make_error(
    status: int,
    problem: Mapping[str, Any],
    *,
    headers: Mapping[str, str] | None = None,
    request_id: str | None = None,
    oauth: bool = False,
) -> APIError:
    """The exception for an error answer (or a batch item's problem)."""
    cls = error_class(status, problem, oauth=oauth)
    return cls(status=status, problem=problem, headers=headers, request_id=request_id)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
