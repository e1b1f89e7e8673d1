"""What the sync and async clients share: operations, options, retry rules, answers.

Everything here is free of I/O, so `Client` and `AsyncClient` differ only in how they wait.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import os
import platform
import random
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final, Generic, TypeAlias, TypeVar
from urllib.parse import quote, urlencode

import httpx

from xinyong_sdk._version import __version__
from xinyong_sdk.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    ConfigurationError,
    make_error,
    parse_retry_after,
)
from xinyong_sdk.types import Category

T = TypeVar("T")

ENV_BASE_URL: Final = "XINYONG_BASE_URL"
ENV_CLIENT_ID: Final = "XINYONG_CLIENT_ID"
ENV_CLIENT_SECRET: Final = "XINYONG_CLIENT_SECRET"  # noqa: S105 - the variable's name, no secret

# A low-latency data API: fail fast on connect, allow an answer 10 s; batches (up to 1,000
# department records, up to 100 reports) get a minute.
DEFAULT_TIMEOUT: Final = httpx.Timeout(10.0, connect=2.0)
BATCH_TIMEOUT: Final = httpx.Timeout(60.0, connect=2.0)
DEFAULT_MAX_RETRIES: Final = 2
DEFAULT_MAX_RETRY_AFTER: Final = 30.0
INITIAL_BACKOFF: Final = 0.5
MAX_BACKOFF: Final = 8.0
# The first-party public client of native apps and scripts (API.md "Subjects signing in").
SESSION_CLIENT_ID: Final = "xinyong-cli"

USER_AGENT: Final = (
    f"xinyong-sdk-python/{__version__} httpx/{httpx.__version__} "
    f"{platform.python_implementation()}/{platform.python_version()}"
)


class NotGiven:
    """The default of per-call options: "use the client's setting" (None means "no limit")."""

    _instance: NotGiven | None = None

    def __new__(cls) -> NotGiven:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN: Final = NotGiven()

TimeoutTypes: TypeAlias = float | httpx.Timeout | None


class Auth(enum.Enum):
    """Which credentials an operation sends."""

    NONE = "none"  # the token endpoint: its own client authentication
    OPTIONAL = "optional"  # open data: the client's token when it has credentials
    REQUIRED = "required"


class Retry(enum.Enum):
    """When an operation may be sent again (see README "Retries and timeouts")."""

    # Repeating it changes nothing: GETs, PUTs, POST /v1/ingest/records (idempotent on the
    # department, kind and document number). Retried on any failure without an answer, and on
    # 429, 502, 503 and 504.
    IDEMPOTENT = "idempotent"
    # A report read: each one served is written to the subject's access log. Retried only when
    # the platform cannot have served it: the connection was never made, or it answered 429 or
    # 503 (the limiter refuses before the read; a 503 is sent instead of the report, with
    # nothing logged). Not after a read timeout or a reset: that read may be in the log.
    LOGGED_READ = "logged_read"
    # Creates something or changes a state once (consents, consent tokens, access tokens,
    # refresh-token rotation, withdrawals, objections, decisions): retried only when nothing
    # was sent (connect errors) or the limiter refused it (429), never after it may have run.
    UNSAFE = "unsafe"


def _as_is(data: Any) -> Any:
    return data


@dataclass(frozen=True, slots=True)
class Operation(Generic[T]):
    """One call of the API, described; the clients send it and `parse` makes its result."""

    method: str
    path: str
    params: tuple[tuple[str, str], ...] = ()
    json: Any = None
    form: tuple[tuple[str, str], ...] | None = None
    headers: tuple[tuple[str, str], ...] = ()
    auth: Auth = Auth.REQUIRED
    retry: Retry = Retry.IDEMPOTENT
    long: bool = False  # a batch: the batch timeout applies
    oauth: bool = False  # errors come in the RFC 6749 shape
    parse: Callable[[Any], T] = _as_is

    def with_param(self, name: str, value: str | None) -> Operation[T]:
        """The same operation with query parameter `name` set (or removed when None)."""
        params = tuple(p for p in self.params if p[0] != name)
        if value is not None:
            params += ((name, value),)
        return dataclasses.replace(self, params=params)


# --- configuration ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Settings:
    """A client's resolved settings; `with_options` makes a copy with some changed."""

    base_url: str
    timeout: TimeoutTypes
    batch_timeout: TimeoutTypes
    max_retries: int
    max_retry_after: float
    headers: tuple[tuple[str, str], ...]


def resolve_base_url(base_url: str | None) -> str:
    """The platform's base URL: the argument, else `XINYONG_BASE_URL`."""
    url = base_url or os.environ.get(ENV_BASE_URL)
    if not url:
        raise ConfigurationError(
            f"No base URL: pass base_url= or set {ENV_BASE_URL} "
            "(e.g. https://credit.zhoucun.gov.cn)."
        )
    parsed = httpx.URL(url)
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ConfigurationError(f"The base URL must be an http(s) URL, not {url!r}.")
    return url.rstrip("/")


def make_settings(
    base_url: str | None,
    *,
    timeout: TimeoutTypes,
    batch_timeout: TimeoutTypes,
    max_retries: int,
    max_retry_after: float,
    default_headers: Mapping[str, str] | None,
) -> Settings:
    """Check and freeze a client's settings."""
    check_retries(max_retries)
    if max_retry_after < 0:
        raise ValueError("max_retry_after must be >= 0 seconds")
    headers = {"User-Agent": USER_AGENT, "Accept": "application/json, application/problem+json"}
    headers.update(default_headers or {})
    return Settings(
        base_url=resolve_base_url(base_url),
        timeout=timeout,
        batch_timeout=batch_timeout,
        max_retries=max_retries,
        max_retry_after=float(max_retry_after),
        headers=tuple(headers.items()),
    )


def check_retries(max_retries: int) -> int:
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise ValueError("max_retries must be an integer >= 0")
    return max_retries


def derive_settings(
    settings: Settings,
    *,
    timeout: TimeoutTypes | NotGiven,
    max_retries: int | NotGiven,
    max_retry_after: float | NotGiven,
) -> Settings:
    """`settings` with the options given changed."""
    changes: dict[str, Any] = {}
    if not isinstance(timeout, NotGiven):
        changes["timeout"] = timeout
    if not isinstance(max_retries, NotGiven):
        changes["max_retries"] = check_retries(max_retries)
    if not isinstance(max_retry_after, NotGiven):
        if max_retry_after < 0:
            raise ValueError("max_retry_after must be >= 0 seconds")
        changes["max_retry_after"] = float(max_retry_after)
    return dataclasses.replace(settings, **changes)


# --- building requests --------------------------------------------------------------------------


def segment(value: str, name: str) -> str:
    """A path segment, percent-encoded (an id can never reach another path)."""
    if not isinstance(value, str) or not value or value in (".", ".."):
        # "." and ".." would be removed as dot-segments (RFC 3986 §5.2.4) and name another path.
        raise ValueError(f"{name} must be a non-empty string and not a dot-segment")
    return quote(value, safe="")


def rfc3339(value: datetime | str, name: str) -> str:
    """A time for the API: RFC 3339 with its offset (a naive datetime is ambiguous)."""
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{name} must be timezone-aware (e.g. datetime.now(timezone.utc))")
        return value.isoformat()
    if isinstance(value, str):
        return value
    raise TypeError(f"{name} must be a datetime or an RFC 3339 string")


def categories_list(categories: Sequence[Category] | Category) -> list[Category]:
    """Categories as a list (a single category may be given as a string)."""
    if isinstance(categories, str):
        return [categories]
    return list(categories)


def legal_basis_header(text: str) -> str:
    """`Legal-Basis`: ASCII as is, anything else as RFC 8187 percent-encoded UTF-8."""
    if text.isascii() and text.isprintable():
        return text
    return "UTF-8''" + quote(text, safe="")


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return rfc3339(value, "a datetime in the body")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")  # amounts are decimal strings, never floats
    raise TypeError(f"{type(value).__name__} cannot be sent as JSON")


def encode_json(body: Any) -> bytes:
    """A request body as compact UTF-8 JSON; dates, times and Decimals as the API writes them."""
    return json.dumps(
        body, ensure_ascii=False, separators=(",", ":"), default=_json_default, allow_nan=False
    ).encode("utf-8")


def new_request_id() -> str:
    """A fresh `X-Request-ID` for one attempt (the platform echoes a well-formed one)."""
    return uuid.uuid4().hex


def request_kwargs(
    settings: Settings,
    op: Operation[Any],
    *,
    bearer: str | None,
    request_id: str,
) -> dict[str, Any]:
    """The arguments of `build_request` for one attempt of `op`."""
    headers = dict(settings.headers)
    headers.update(op.headers)
    headers["X-Request-ID"] = request_id
    if bearer is not None:
        headers["Authorization"] = f"Bearer {bearer}"
    content: bytes | None = None
    if op.json is not None:
        content = encode_json(op.json)
        headers["Content-Type"] = "application/json"
    elif op.form is not None:
        content = urlencode(op.form).encode("ascii")
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    return {
        "method": op.method,
        "url": settings.base_url + op.path,
        "params": op.params or None,
        "content": content,
        "headers": headers,
    }


def timeout_for(
    settings: Settings, op: Operation[Any], timeout: TimeoutTypes | NotGiven
) -> TimeoutTypes:
    if not isinstance(timeout, NotGiven):
        return timeout
    return settings.batch_timeout if op.long else settings.timeout


# --- retry rules --------------------------------------------------------------------------------

# Failures before any byte of the request left: safe to retry for every operation.
NOT_SENT: Final = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Failures after the request (or part of it) may have reached the platform.
MAYBE_SENT: Final = (
    httpx.ReadError,
    httpx.ReadTimeout,
    httpx.WriteError,
    httpx.WriteTimeout,
    httpx.RemoteProtocolError,
)


def may_retry_failure(op: Operation[Any], error: httpx.RequestError) -> bool:
    """Whether `op` may be sent again after `error` (no answer came)."""
    if isinstance(error, NOT_SENT):
        return True
    return op.retry is Retry.IDEMPOTENT and isinstance(error, MAYBE_SENT)


def backoff(attempt: int) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(cap, base * 2**attempt)]."""
    ceiling = min(MAX_BACKOFF, INITIAL_BACKOFF * (2**attempt))
    return random.uniform(0.0, ceiling)  # noqa: S311 - jitter, not a secret


def retry_delay(
    op: Operation[Any],
    response: httpx.Response,
    attempt: int,
    max_retries: int,
    max_retry_after: float,
) -> float | None:
    """Seconds to wait before sending `op` again after this answer, or None to give up."""
    if attempt >= max_retries:
        return None
    status = response.status_code
    if status == 429:
        pass  # the limiter refuses before the operation runs: nothing happened
    elif status == 503:
        if op.retry is Retry.UNSAFE:
            return None
    elif status in (502, 504):
        if op.retry is not Retry.IDEMPOTENT:
            return None
    else:
        return None
    after = parse_retry_after(response.headers.get("retry-after"))
    if after is None:
        return backoff(attempt)
    # Honour the platform's wait, but not beyond the bound: then the caller decides.
    return after if after <= max_retry_after else None


_INVALID_TOKEN = re.compile(r'error\s*=\s*"?invalid_token"?', re.IGNORECASE)


def is_invalid_token(response: httpx.Response) -> bool:
    """A 401 whose `WWW-Authenticate` challenge says the bearer token is invalid (RFC 6750)."""
    if response.status_code != 401:
        return False
    return bool(_INVALID_TOKEN.search(response.headers.get("www-authenticate", "")))


# --- answers --------------------------------------------------------------------------------------


def connection_error(
    error: httpx.RequestError, op: Operation[Any], request_id: str
) -> APIConnectionError:
    """The SDK's exception for a request that got no answer."""
    cls = APITimeoutError if isinstance(error, httpx.TimeoutException) else APIConnectionError
    what = "timed out" if cls is APITimeoutError else "failed"
    message = f"{op.method} {op.path} {what}: {type(error).__name__}: {error}".rstrip(": ")
    return cls(message, request_id=request_id, method=op.method, url=op.path)


def error_from_response(
    response: httpx.Response, request_id: str, *, oauth: bool = False
) -> APIError:
    """The exception for an error answer: from its problem document, or what there is."""
    body: Any = None
    if response.content:
        try:
            body = json.loads(response.content)
        except ValueError:
            body = None
    if not isinstance(body, dict):
        text = response.text[:500].strip() if response.content else ""
        body = {"title": response.reason_phrase, "status": response.status_code, "detail": text}
    return make_error(
        response.status_code,
        body,
        headers=response.headers,
        request_id=response.headers.get("x-request-id") or request_id,
        oauth=oauth,
    )


def result_of(op: Operation[T], response: httpx.Response, request_id: str) -> T:
    """The result of a successful answer."""
    try:
        data = json.loads(response.content) if response.content else None
    except ValueError:
        raise APIError(
            status=response.status_code,
            problem={
                "title": "Invalid answer",
                "detail": "The platform's answer is not JSON; is the base URL right?",
            },
            headers=response.headers,
            request_id=response.headers.get("x-request-id") or request_id,
        ) from None
    try:
        return op.parse(data)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise APIError(
            status=response.status_code,
            problem={
                "title": "Unexpected answer",
                "detail": f"The platform's answer to {op.method} {op.path} does not have the "
                f"documented shape ({type(error).__name__}: {error}); is the base URL right?",
            },
            headers=response.headers,
            request_id=response.headers.get("x-request-id") or request_id,
        ) from error
