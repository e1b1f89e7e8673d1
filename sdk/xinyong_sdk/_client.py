"""`Client`: the synchronous client, safe to share between threads."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Self, TypeAlias, TypeVar

import httpx

from xinyong_sdk import _operations as ops
from xinyong_sdk._auth import RefreshCallback, TokenManager
from xinyong_sdk._base import (
    BATCH_TIMEOUT,
    DEFAULT_MAX_RETRIES,
    DEFAULT_MAX_RETRY_AFTER,
    DEFAULT_TIMEOUT,
    NOT_GIVEN,
    Auth,
    NotGiven,
    Operation,
    TimeoutTypes,
    backoff,
    check_retries,
    connection_error,
    derive_settings,
    error_from_response,
    is_invalid_token,
    make_settings,
    may_retry_failure,
    new_request_id,
    request_kwargs,
    result_of,
    retry_delay,
    timeout_for,
)
from xinyong_sdk._config import grant_from
from xinyong_sdk.errors import ConfigurationError
from xinyong_sdk.pagination import Page, SyncPager
from xinyong_sdk.results import ReportResult
from xinyong_sdk.types import (
    AccessLogEntry,
    BatchItem,
    Category,
    Change,
    ConsentToken,
    Entity,
    EntityKind,
    EntityRegistration,
    EntitySummary,
    IngestOutcome,
    Me,
    Objection,
    ObjectionOutcome,
    ObjectionStatus,
    PartnerConsent,
    PublicRecord,
    PublicRecordKind,
    Purpose,
    Receipt,
    RecordInput,
    RecordState,
    RegisteredEntity,
    Repair,
    RepairDecision,
    RepairStatus,
    Report,
    SubjectConsent,
    SubjectRef,
    TokenResponse,
)

T = TypeVar("T")

Timeout: TypeAlias = TimeoutTypes | NotGiven
Retries: TypeAlias = int | NotGiven

__all__ = ["Client"]


def _sleep(seconds: float) -> None:
    time.sleep(seconds)


class Client:
    """The Xinyong API, synchronously. Thread-safe: share one per process.

    Configured by arguments, else the environment: `XINYONG_BASE_URL`, and for a partner,
    department or government client `XINYONG_CLIENT_ID` and `XINYONG_CLIENT_SECRET`. With
    `access_token=` (and optionally `refresh_token=`) it acts as a signed-in subject instead.
    Without credentials it reads the open data only.
    """

    def __init__(
        self,
        base_url: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        *,
        scope: str | Sequence[str] | None = None,
        access_token: str | None = None,
        refresh_token: str | None = None,
        on_token_refresh: RefreshCallback | None = None,
        timeout: TimeoutTypes = DEFAULT_TIMEOUT,
        batch_timeout: TimeoutTypes = BATCH_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        max_retry_after: float = DEFAULT_MAX_RETRY_AFTER,
        http_client: httpx.Client | None = None,
        default_headers: Mapping[str, str] | None = None,
    ) -> None:
        if http_client is not None and not isinstance(http_client, httpx.Client):
            raise TypeError("http_client must be an httpx.Client (use AsyncClient for async)")
        self._settings = make_settings(
            base_url,
            timeout=timeout,
            batch_timeout=batch_timeout,
            max_retries=max_retries,
            max_retry_after=max_retry_after,
            default_headers=default_headers,
        )
        grant = grant_from(
            client_id=client_id,
            client_secret=client_secret,
            scope=scope,
            access_token=access_token,
            refresh_token=refresh_token,
            on_token_refresh=on_token_refresh,
        )
        self._tokens = None if grant is None else TokenManager(grant)
        self._owns_http = http_client is None
        self._http = http_client if http_client is not None else httpx.Client()
        self._bind()

    def _bind(self) -> None:
        self.public = Public(self)
        self.consents = Consents(self)
        self.reports = Reports(self)
        self.ingest = Ingest(self)
        self.objections = Objections(self)
        self.repairs = Repairs(self)
        self.me = MeResource(self)

    @property
    def base_url(self) -> str:
        return self._settings.base_url

    @property
    def refresh_token(self) -> str | None:
        """A subject session's current refresh token (rotated on every refresh)."""
        grant = self._tokens.grant if self._tokens is not None else None
        return getattr(grant, "refresh_token", None)

    def with_options(
        self,
        *,
        timeout: Timeout = NOT_GIVEN,
        max_retries: Retries = NOT_GIVEN,
        max_retry_after: float | NotGiven = NOT_GIVEN,
    ) -> Self:
        """A client with other defaults, sharing this one's connections and access token."""
        derived = object.__new__(type(self))
        derived.__dict__.update(self.__dict__)
        derived._settings = derive_settings(
            self._settings,
            timeout=timeout,
            max_retries=max_retries,
            max_retry_after=max_retry_after,
        )
        derived._owns_http = False  # closing a derived client leaves the shared pool open
        derived._bind()
        return derived

    def close(self) -> None:
        """Close the connections (not those of an `http_client` you passed in)."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Client(base_url={self.base_url!r})"

    # --- sending ----------------------------------------------------------------------------

    def _request(
        self, op: Operation[T], *, timeout: Timeout = NOT_GIVEN, max_retries: Retries = NOT_GIVEN
    ) -> T:
        settings = self._settings
        retries = settings.max_retries if isinstance(max_retries, NotGiven) else max_retries
        check_retries(retries)
        per_call = timeout_for(settings, op, timeout)
        attempt = 0
        renewed = False
        while True:
            bearer = self._bearer(op)
            request_id = new_request_id()
            request = self._http.build_request(
                **request_kwargs(settings, op, bearer=bearer, request_id=request_id),
                timeout=per_call,
            )
            try:
                response = self._http.send(request)
            except httpx.RequestError as failure:  # no answer: network, protocol, decoding
                if attempt < retries and may_retry_failure(op, failure):
                    _sleep(backoff(attempt))
                    attempt += 1
                    continue
                raise connection_error(failure, op, request_id) from failure
            if response.is_success:
                return result_of(op, response, request_id)
            if (
                bearer is not None
                and not renewed
                and is_invalid_token(response)
                and self._tokens is not None
                and self._tokens.refused(bearer)
            ):
                renewed = True  # one new token and one more try; not counted as a retry
                continue
            delay = retry_delay(op, response, attempt, retries, settings.max_retry_after)
            if delay is None:
                raise error_from_response(response, request_id, oauth=op.oauth)
            _sleep(delay)
            attempt += 1

    def _bearer(self, op: Operation[T]) -> str | None:
        if op.auth is Auth.NONE:
            return None
        if self._tokens is None:
            if op.auth is Auth.REQUIRED:
                raise ConfigurationError(
                    f"{op.method} {op.path} needs credentials: pass client_id= and "
                    "client_secret= (or set XINYONG_CLIENT_ID and XINYONG_CLIENT_SECRET), or "
                    "access_token= for a signed-in subject."
                )
            return None
        return self._tokens.bearer(self._token_request)

    def _token_request(self, op: Operation[TokenResponse]) -> TokenResponse:
        return self._request(op)

    def _pager(
        self,
        op: Operation[Page[T]],
        cursor: str | None,
        timeout: Timeout,
        max_retries: Retries,
    ) -> SyncPager[T]:
        def fetch(at: str | None) -> Page[T]:
            return self._request(
                op.with_param("cursor", at), timeout=timeout, max_retries=max_retries
            )

        return SyncPager(fetch, cursor)


class _Resource:
    def __init__(self, client: Client) -> None:
        self._client = client


class Public(_Resource):
    """Open data: legal persons, their public records, the change feed (no credentials)."""

    def search(
        self,
        q: str | None = None,
        *,
        kind: EntityKind | None = None,
        page_size: int | None = None,
        cursor: str | None = None,
        timeout: Timeout = NOT_GIVEN,
        max_retries: Retries = NOT_GIVEN,
    ) -> SyncPager[EntitySummary]:
        """Legal persons whose name contains `q` or whose USCC is `q`, page by page."""
        return self._client._pager(ops.search(q, kind, page_size), cursor, timeout, max_retries)

    def entity(
        self, uscc: str, *, timeout: Timeout = NOT_GIVEN, max_retries: Retries = NOT_GIVEN
    ) -> Entity:
        """One legal person's public data (NotFoundError if unknown, ValidationError if the
        code is malformed)."""
        return self._client._request(ops.entity(uscc), timeout=timeout, max_retries=max_retries)

    def records(
        self,
        uscc: str,
        *,
        kind: PublicRecordKind | None = None,
        page_size: int | None = None,
        cursor: str | None = None,
        timeout: Timeout = NOT_GIVEN,
        max_retries: Retries = NOT_GIVEN,
    ) -> SyncPager[PublicRecord]:
        """A legal person's records that are public today."""
        op = ops.records(uscc, kind, page_size)
        return self._client._pager(op, cursor, timeout, max_retries)

    def changes(
        self,
        since: datetime | str | None = None,
        *,
        page_size: int | None = None,
        cursor: str | None = None,
        timeout: Timeout = NOT_GIVEN,
        max_retries: Retries = NOT_GIVEN,
    ) -> SyncPager[Change]:
        """Public records published, corrected or withdrawn since a time, oldest first."""
        return self._client._pager(ops.changes(since, page_size), cursor, timeout, max_retries)


class Consents(_Resource):
    """A partner's consent requests (scope `consents.request`)."""

    def request(
        self,
        *,
        subject: SubjectRef,
        categories: Sequence[Category] | Category,
        purpose: Purpose,
        expires_at: datetime | str,
        purpose_note: str | None = None,
        timeout: Timeout = NOT_GIVEN,
        max_retries: Retries = NOT_GIVEN,
    ) -> PartnerConsent:
        """Ask a subject for consent; send the subject to the answer's `authorize_url`."""
        op = ops.request_consent(subject, categories, purpose, purpose_note, expires_at)
        return self._client._request(op, timeout=timeout, max_retries=max_retries)

    def get(
        self, consent_id: str, *, timeout: Timeout = NOT_GIVEN, max_retries: Retries = NOT_GIVEN
    ) -> PartnerConsent:
        """A consent you asked for, with its status now."""
        op = ops.get_consent(consent_id)
        return self._client._request(op, timeout=timeout, max_retries=max_retries)

    def token(
        self, consent_id: str, *, timeout: Timeout = NOT_GIVEN, max_retries: Retries = NOT_GIVEN
    ) -> ConsentToken:
        """The consent token of an authorised consent: given once (ConflictError after, and
        before authorisation). Store it safely."""
        op = ops.take_consent_token(consent_id)
        return self._client._request(op, timeout=timeout, max_retries=max_retries)


class Reports(_Resource):
    """Credit reports: under consent (partners), a legal basis (government), or your own."""

    def get(
        self,
        subject_id: str,
        *,
        consent_token: str | None = None,
        legal_basis: str | None = None,
        categories: Sequence[Category] | Category | None = None,
        timeout: Timeout = NOT_GIVEN,
        max_retries: Retries = NOT_GIVEN,
    ) -> Report:
        """A subject's credit report (ConsentError if no consent covers it)."""
        op = ops.report(subject_id, consent_token, legal_basis, categories)
        return self._client._request(op, timeout=timeout, max_retries=max_retries)

    def batch(
        self,
        items: Iterable[BatchItem],
        *,
        timeout: Timeout = NOT_GIVEN,
        max_retries: Retries = NOT_GIVEN,
    ) -> list[ReportResult]:
        """Up to 100 reports, each under its own consent token: one result per item, in order,
        each with its report or its error."""
        return self._client._request(ops.batch(items), timeout=timeout, max_retries=max_retries)


class Ingest(_Resource):
    """A department's records and registrations (scope `records.write`)."""

    def records(
        self,
        records: Sequence[RecordInput],
        *,
        timeout: Timeout = NOT_GIVEN,
        max_retries: Retries = NOT_GIVEN,
    ) -> IngestOutcome:
        """Push up to 1,000 records; idempotent on kind and document number."""
        op = ops.ingest_records(records)
        return self._client._request(op, timeout=timeout, max_retries=max_retries)

    def entity(
        self,
        uscc: str,
        registration: EntityRegistration,
        *,
        timeout: Timeout = NOT_GIVEN,
        max_retries: Retries = NOT_GIVEN,
    ) -> RegisteredEntity:
        """Register or update a legal person."""
        op = ops.register_entity(uscc, registration)
        return self._client._request(op, timeout=timeout, max_retries=max_retries)

    def correct(
        self,
        record_id: str,
        record: RecordInput,
        *,
        timeout: Timeout = NOT_GIVEN,
        max_retries: Retries = NOT_GIVEN,
    ) -> RecordState:
        """Replace a record your department published with its corrected version."""
        op = ops.correct_record(record_id, record)
        return self._client._request(op, timeout=timeout, max_retries=max_retries)

    def withdraw(
        self,
        record_id: str,
        reason: str,
        *,
        timeout: Timeout = NOT_GIVEN,
        max_retries: Retries = NOT_GIVEN,
    ) -> RecordState:
        """Withdraw a record your department published (ConflictError if it already is)."""
        op = ops.withdraw_record(record_id, reason)
        return self._client._request(op, timeout=timeout, max_retries=max_retries)


class Objections(_Resource):
    """A department's queue of objections to its records (scope `objections.resolve`)."""

    def list(
        self,
        *,
        status: ObjectionStatus | None = None,
        page_size: int | None = None,
        cursor: str | None = None,
        timeout: Timeout = NOT_GIVEN,
        max_retries: Retries = NOT_GIVEN,
    ) -> SyncPager[Objection]:
        """The objections to your department's records."""
        op = ops.department_objections(status, page_size)
        return self._client._pager(op, cursor, timeout, max_retries)

    def resolve(
        self,
        objection_id: str,
        *,
        outcome: ObjectionOutcome,
        note: str,
        timeout: Timeout = NOT_GIVEN,
        max_retries: Retries = NOT_GIVEN,
    ) -> Objection:
        """Uphold (then correct or withdraw the record) or dismiss an objection."""
        op = ops.resolve_objection(objection_id, outcome, note)
        return self._client._request(op, timeout=timeout, max_retries=max_retries)


class Repairs(_Resource):
    """A department's queue of credit-repair requests (scope `records.write`)."""

    def list(
        self,
        *,
        status: RepairStatus | None = None,
        page_size: int | None = None,
        cursor: str | None = None,
        timeout: Timeout = NOT_GIVEN,
        max_retries: Retries = NOT_GIVEN,
    ) -> SyncPager[Repair]:
        """The credit-repair requests about your department's records."""
        op = ops.department_repairs(status, page_size)
        return self._client._pager(op, cursor, timeout, max_retries)

    def decide(
        self,
        repair_id: str,
        *,
        decision: RepairDecision,
        note: str,
        timeout: Timeout = NOT_GIVEN,
        max_retries: Retries = NOT_GIVEN,
    ) -> Repair:
        """Approve (ending the record's publication today) or deny a repair request."""
        op = ops.decide_repair(repair_id, decision, note)
        return self._client._request(op, timeout=timeout, max_retries=max_retries)


class MyConsents(_Resource):
    """The signed-in subject's consents."""

    def list(
        self,
        *,
        page_size: int | None = None,
        cursor: str | None = None,
        timeout: Timeout = NOT_GIVEN,
        max_retries: Retries = NOT_GIVEN,
    ) -> SyncPager[SubjectConsent]:
        """Your consents, any status, with each partner's name and kind."""
        return self._client._pager(ops.my_consents(page_size), cursor, timeout, max_retries)

    def grant(
        self,
        *,
        client_id: str,
        categories: Sequence[Category] | Category,
        purpose: Purpose,
        expires_at: datetime | str,
        purpose_note: str | None = None,
        timeout: Timeout = NOT_GIVEN,
        max_retries: Retries = NOT_GIVEN,
    ) -> SubjectConsent:
        """Grant a partner a consent on your own initiative (authorised at once)."""
        op = ops.grant_consent(client_id, categories, purpose, expires_at, purpose_note)
        return self._client._request(op, timeout=timeout, max_retries=max_retries)

    def approve(
        self, consent_id: str, *, timeout: Timeout = NOT_GIVEN, max_retries: Retries = NOT_GIVEN
    ) -> SubjectConsent:
        """Approve a pending consent request."""
        op = ops.decide_consent(consent_id, "approve")
        return self._client._request(op, timeout=timeout, max_retries=max_retries)

    def reject(
        self, consent_id: str, *, timeout: Timeout = NOT_GIVEN, max_retries: Retries = NOT_GIVEN
    ) -> SubjectConsent:
        """Reject a pending consent request."""
        op = ops.decide_consent(consent_id, "reject")
        return self._client._request(op, timeout=timeout, max_retries=max_retries)

    def revoke(
        self, consent_id: str, *, timeout: Timeout = NOT_GIVEN, max_retries: Retries = NOT_GIVEN
    ) -> SubjectConsent:
        """Revoke a consent: the partner's very next read is refused."""
        op = ops.decide_consent(consent_id, "revoke")
        return self._client._request(op, timeout=timeout, max_retries=max_retries)

    def receipt(
        self, consent_id: str, *, timeout: Timeout = NOT_GIVEN, max_retries: Retries = NOT_GIVEN
    ) -> Receipt:
        """A signed receipt (JWS) of a consent."""
        op = ops.receipt(consent_id)
        return self._client._request(op, timeout=timeout, max_retries=max_retries)


class MyObjections(_Resource):
    """The signed-in subject's objections to records."""

    def list(
        self,
        *,
        status: ObjectionStatus | None = None,
        page_size: int | None = None,
        cursor: str | None = None,
        timeout: Timeout = NOT_GIVEN,
        max_retries: Retries = NOT_GIVEN,
    ) -> SyncPager[Objection]:
        """Your objections."""
        op = ops.my_objections(status, page_size)
        return self._client._pager(op, cursor, timeout, max_retries)

    def file(
        self,
        *,
        record_id: str,
        reason: str,
        timeout: Timeout = NOT_GIVEN,
        max_retries: Retries = NOT_GIVEN,
    ) -> Objection:
        """Object to one of your records: it shows `disputed` until the department answers."""
        op = ops.file_objection(record_id, reason)
        return self._client._request(op, timeout=timeout, max_retries=max_retries)

    def get(
        self, objection_id: str, *, timeout: Timeout = NOT_GIVEN, max_retries: Retries = NOT_GIVEN
    ) -> Objection:
        """One of your objections."""
        op = ops.my_objection(objection_id)
        return self._client._request(op, timeout=timeout, max_retries=max_retries)


class MyRepairs(_Resource):
    """The signed-in subject's credit-repair requests."""

    def list(
        self,
        *,
        status: RepairStatus | None = None,
        page_size: int | None = None,
        cursor: str | None = None,
        timeout: Timeout = NOT_GIVEN,
        max_retries: Retries = NOT_GIVEN,
    ) -> SyncPager[Repair]:
        """Your credit-repair requests."""
        op = ops.my_repairs(status, page_size)
        return self._client._pager(op, cursor, timeout, max_retries)

    def file(
        self,
        *,
        record_id: str,
        reason: str,
        timeout: Timeout = NOT_GIVEN,
        max_retries: Retries = NOT_GIVEN,
    ) -> Repair:
        """Ask for credit repair of a record (ConflictError before its minimum period)."""
        op = ops.file_repair(record_id, reason)
        return self._client._request(op, timeout=timeout, max_retries=max_retries)

    def get(
        self, repair_id: str, *, timeout: Timeout = NOT_GIVEN, max_retries: Retries = NOT_GIVEN
    ) -> Repair:
        """One of your credit-repair requests."""
        op = ops.my_repair(repair_id)
        return self._client._request(op, timeout=timeout, max_retries=max_retries)


class MeResource(_Resource):
    """The signed-in subject (`Client(access_token=...)`)."""

    def __init__(self, client: Client) -> None:
        super().__init__(client)
        self.consents = MyConsents(client)
        self.objections = MyObjections(client)
        self.repairs = MyRepairs(client)

    def get(self, *, timeout: Timeout = NOT_GIVEN, max_retries: Retries = NOT_GIVEN) -> Me:
        """Who is signed in."""
        return self._client._request(ops.me(), timeout=timeout, max_retries=max_retries)

    def access_log(
        self,
        *,
        page_size: int | None = None,
        cursor: str | None = None,
        timeout: Timeout = NOT_GIVEN,
        max_retries: Retries = NOT_GIVEN,
    ) -> SyncPager[AccessLogEntry]:
        """Every restricted read of your data: who, under what, which categories, when."""
        return self._client._pager(ops.access_log(page_size), cursor, timeout, max_retries)
