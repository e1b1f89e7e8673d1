"""The Python SDK of the Xinyong open credit data and partner API.

    from xinyong_sdk import Client

    with Client() as xinyong:  # XINYONG_BASE_URL, XINYONG_CLIENT_ID, XINYONG_CLIENT_SECRET
        consent = xinyong.consents.request(
            subject={"uscc": "91370306MA3C4N2P50"},
            categories=["basic", "tax"],
            purpose="loan_application",
            expires_at="2027-05-31T23:59:59+08:00",
        )

See README.md for the whole consent flow, batches, pagination, errors, retries and asyncio.
"""

from xinyong_sdk._async_client import AsyncClient
from xinyong_sdk._base import BATCH_TIMEOUT, DEFAULT_TIMEOUT, NOT_GIVEN, NotGiven
from xinyong_sdk._client import Client
from xinyong_sdk._version import __version__
from xinyong_sdk.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    ConfigurationError,
    ConflictError,
    ConsentError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    ValidationError,
    XinyongError,
)
from xinyong_sdk.pagination import AsyncPager, Page, SyncPager
from xinyong_sdk.results import ReportResult

__all__ = [
    "BATCH_TIMEOUT",
    "DEFAULT_TIMEOUT",
    "NOT_GIVEN",
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AsyncClient",
    "AsyncPager",
    "AuthenticationError",
    "Client",
    "ConfigurationError",
    "ConflictError",
    "ConsentError",
    "NotFoundError",
    "NotGiven",
    "Page",
    "PermissionDeniedError",
    "RateLimitError",
    "ReportResult",
    "ServerError",
    "SyncPager",
    "ValidationError",
    "XinyongError",
    "__version__",
]
