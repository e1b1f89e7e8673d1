"""Every call of the public contract (API.md, openapi/openapi.json), described once.

The sync and async resources both send these; each says its method, path, parameters, body,
credentials, whether it may be repeated (see `Retry`), and how to read the answer.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Literal
from urllib.parse import quote

from xinyong_sdk._base import (
    Auth,
    Operation,
    Retry,
    categories_list,
    legal_basis_header,
    rfc3339,
    segment,
)
from xinyong_sdk.pagination import Page, page_of
from xinyong_sdk.results import ReportResult, batch_results
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

TOKEN_PATH = "/oauth/token"  # noqa: S105 - a path, not a secret


def _query(**values: Any) -> tuple[tuple[str, str], ...]:
    return tuple((name, str(value)) for name, value in values.items() if value is not None)


def _with_note(body: dict[str, Any], purpose_note: str | None) -> dict[str, Any]:
    if purpose_note is not None:
        body["purpose_note"] = purpose_note
    return body


# --- OAuth ----------------------------------------------------------------------------------------


def _basic(client_id: str, client_secret: str) -> tuple[str, str]:
    # RFC 6749 §2.3.1: form-urlencode both parts before joining them.
    raw = f"{quote(client_id, safe='')}:{quote(client_secret, safe='')}".encode()
    return ("Authorization", "Basic " + base64.b64encode(raw).decode("ascii"))


def client_credentials(
    client_id: str, client_secret: str, scope: str | None
) -> Operation[TokenResponse]:
    """`POST /oauth/token`, grant `client_credentials`, client_secret_basic."""
    form = [("grant_type", "client_credentials")]
    if scope:
        form.append(("scope", scope))
    return Operation(
        "POST",
        TOKEN_PATH,
        form=tuple(form),
        headers=(_basic(client_id, client_secret),),
        auth=Auth.NONE,
        retry=Retry.UNSAFE,
        oauth=True,
    )


def refresh(
    client_id: str, client_secret: str | None, refresh_token: str
) -> Operation[TokenResponse]:
    """`POST /oauth/token`, grant `refresh_token` (rotated on use: never sent twice)."""
    form = [("grant_type", "refresh_token"), ("refresh_token", refresh_token)]
    headers: tuple[tuple[str, str], ...] = ()
    if client_secret:
        headers = (_basic(client_id, client_secret),)
    else:
        form.append(("client_id", client_id))  # a public client (RFC 6749 §3.2.1)
    return Operation(
        "POST",
        TOKEN_PATH,
        form=tuple(form),
        headers=headers,
        auth=Auth.NONE,
        retry=Retry.UNSAFE,
        oauth=True,
    )


# --- open data ------------------------------------------------------------------------------------


def search(
    q: str | None, kind: EntityKind | None, page_size: int | None
) -> Operation[Page[EntitySummary]]:
    return Operation(
        "GET",
        "/v1/public/entities",
        params=_query(q=q, kind=kind, page_size=page_size),
        auth=Auth.OPTIONAL,
        parse=page_of,
    )


def entity(uscc: str) -> Operation[Entity]:
    return Operation("GET", f"/v1/public/entities/{segment(uscc, 'uscc')}", auth=Auth.OPTIONAL)


def records(
    uscc: str, kind: PublicRecordKind | None, page_size: int | None
) -> Operation[Page[PublicRecord]]:
    return Operation(
        "GET",
        f"/v1/public/entities/{segment(uscc, 'uscc')}/records",
        params=_query(kind=kind, page_size=page_size),
        auth=Auth.OPTIONAL,
        parse=page_of,
    )


def changes(since: datetime | str | None, page_size: int | None) -> Operation[Page[Change]]:
    return Operation(
        "GET",
        "/v1/public/changes",
        params=_query(
            since=None if since is None else rfc3339(since, "since"), page_size=page_size
        ),
        auth=Auth.OPTIONAL,
        parse=page_of,
    )


# --- consents (partners) --------------------------------------------------------------------------


def request_consent(
    subject: SubjectRef,
    categories: Sequence[Category] | Category,
    purpose: Purpose,
    purpose_note: str | None,
    expires_at: datetime | str,
) -> Operation[PartnerConsent]:
    body = {
        "subject": dict(subject),
        "categories": categories_list(categories),
        "purpose": purpose,
        "expires_at": rfc3339(expires_at, "expires_at"),
    }
    return Operation(
        "POST", "/v1/consents", json=_with_note(body, purpose_note), retry=Retry.UNSAFE
    )


def get_consent(consent_id: str) -> Operation[PartnerConsent]:
    return Operation("GET", f"/v1/consents/{segment(consent_id, 'consent_id')}")


def take_consent_token(consent_id: str) -> Operation[ConsentToken]:
    # Shown once: a second call is a 409, so a lost answer cannot be fetched again. Never
    # retried once sent.
    return Operation(
        "POST", f"/v1/consents/{segment(consent_id, 'consent_id')}/token", retry=Retry.UNSAFE
    )


# --- reports --------------------------------------------------------------------------------------


def report(
    subject_id: str,
    consent_token: str | None,
    legal_basis: str | None,
    categories: Sequence[Category] | Category | None,
) -> Operation[Report]:
    if consent_token is not None and legal_basis is not None:
        raise ValueError("give consent_token (partners) or legal_basis (government), not both")
    headers: list[tuple[str, str]] = []
    if consent_token is not None:
        headers.append(("Consent-Token", consent_token))
    if legal_basis is not None:
        headers.append(("Legal-Basis", legal_basis_header(legal_basis)))
    params = () if categories is None else (("categories", ",".join(categories_list(categories))),)
    return Operation(
        "GET",
        f"/v1/subjects/{segment(subject_id, 'subject_id')}/report",
        params=params,
        headers=tuple(headers),
        retry=Retry.LOGGED_READ,
    )


def batch(items: Iterable[BatchItem]) -> Operation[list[ReportResult]]:
    sent: list[BatchItem] = []
    for item in items:
        one: BatchItem = {"subject_id": item["subject_id"], "consent_token": item["consent_token"]}
        categories = item.get("categories")
        if categories is not None:
            one["categories"] = categories_list(categories)
        sent.append(one)
    return Operation(
        "POST",
        "/v1/subjects/reports:batch",
        json={"items": sent},
        retry=Retry.LOGGED_READ,
        long=True,
        parse=batch_results(sent),
    )


# --- departments ----------------------------------------------------------------------------------


def ingest_records(rows: Sequence[RecordInput]) -> Operation[IngestOutcome]:
    # Idempotent on (department, kind, document_no): a repeat stores nothing twice, and rows
    # an earlier attempt stored come back as `duplicate`.
    return Operation(
        "POST",
        "/v1/ingest/records",
        json={"records": list(rows)},
        long=True,
        retry=Retry.IDEMPOTENT,
    )


def register_entity(uscc: str, registration: EntityRegistration) -> Operation[RegisteredEntity]:
    return Operation("PUT", f"/v1/ingest/entities/{segment(uscc, 'uscc')}", json=dict(registration))


def correct_record(record_id: str, record: RecordInput) -> Operation[RecordState]:
    return Operation(
        "PUT", f"/v1/ingest/records/{segment(record_id, 'record_id')}", json=dict(record)
    )


def withdraw_record(record_id: str, reason: str) -> Operation[RecordState]:
    # A second withdrawal is a 409: not repeated once sent.
    return Operation(
        "POST",
        f"/v1/ingest/records/{segment(record_id, 'record_id')}/withdraw",
        json={"reason": reason},
        retry=Retry.UNSAFE,
    )


def department_objections(
    status: ObjectionStatus | None, page_size: int | None
) -> Operation[Page[Objection]]:
    return Operation(
        "GET", "/v1/objections", params=_query(status=status, page_size=page_size), parse=page_of
    )


def resolve_objection(
    objection_id: str, outcome: ObjectionOutcome, note: str
) -> Operation[Objection]:
    return Operation(
        "POST",
        f"/v1/objections/{segment(objection_id, 'objection_id')}/resolve",
        json={"outcome": outcome, "note": note},
        retry=Retry.UNSAFE,
    )


def department_repairs(
    status: RepairStatus | None, page_size: int | None
) -> Operation[Page[Repair]]:
    return Operation(
        "GET", "/v1/repairs", params=_query(status=status, page_size=page_size), parse=page_of
    )


def decide_repair(repair_id: str, decision: RepairDecision, note: str) -> Operation[Repair]:
    return Operation(
        "POST",
        f"/v1/repairs/{segment(repair_id, 'repair_id')}/decide",
        json={"decision": decision, "note": note},
        retry=Retry.UNSAFE,
    )


# --- the signed-in subject ------------------------------------------------------------------------


def me() -> Operation[Me]:
    return Operation("GET", "/v1/me")


def my_consents(page_size: int | None) -> Operation[Page[SubjectConsent]]:
    return Operation("GET", "/v1/me/consents", params=_query(page_size=page_size), parse=page_of)


def grant_consent(
    client_id: str,
    categories: Sequence[Category] | Category,
    purpose: Purpose,
    expires_at: datetime | str,
    purpose_note: str | None,
) -> Operation[SubjectConsent]:
    body = {
        "client_id": client_id,
        "categories": categories_list(categories),
        "purpose": purpose,
        "expires_at": rfc3339(expires_at, "expires_at"),
    }
    return Operation(
        "POST", "/v1/me/consents", json=_with_note(body, purpose_note), retry=Retry.UNSAFE
    )


def decide_consent(
    consent_id: str, action: Literal["approve", "reject", "revoke"]
) -> Operation[SubjectConsent]:
    # A second decision is a 409: not repeated once sent.
    return Operation(
        "POST", f"/v1/me/consents/{segment(consent_id, 'consent_id')}/{action}", retry=Retry.UNSAFE
    )


def receipt(consent_id: str) -> Operation[Receipt]:
    return Operation("GET", f"/v1/me/consents/{segment(consent_id, 'consent_id')}/receipt")


def access_log(page_size: int | None) -> Operation[Page[AccessLogEntry]]:
    return Operation("GET", "/v1/me/access-log", params=_query(page_size=page_size), parse=page_of)


def my_objections(
    status: ObjectionStatus | None, page_size: int | None
) -> Operation[Page[Objection]]:
    return Operation(
        "GET", "/v1/me/objections", params=_query(status=status, page_size=page_size), parse=page_of
    )


def file_objection(record_id: str, reason: str) -> Operation[Objection]:
    return Operation(
        "POST",
        "/v1/me/objections",
        json={"record_id": record_id, "reason": reason},
        retry=Retry.UNSAFE,
    )


def my_objection(objection_id: str) -> Operation[Objection]:
    return Operation("GET", f"/v1/me/objections/{segment(objection_id, 'objection_id')}")


def my_repairs(status: RepairStatus | None, page_size: int | None) -> Operation[Page[Repair]]:
    return Operation(
        "GET", "/v1/me/repairs", params=_query(status=status, page_size=page_size), parse=page_of
    )


def file_repair(record_id: str, reason: str) -> Operation[Repair]:
    return Operation(
        "POST",
        "/v1/me/repairs",
        json={"record_id": record_id, "reason": reason},
        retry=Retry.UNSAFE,
    )


def my_repair(repair_id: str) -> Operation[Repair]:
    return Operation("GET", f"/v1/me/repairs/{segment(repair_id, 'repair_id')}")
