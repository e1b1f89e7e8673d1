"""The API's documents as typed dictionaries, field for field as `openapi/openapi.json` has them.

Responses are returned as the JSON objects the platform sends, typed with these `TypedDict`s:
no parsing step, nothing lost when the platform adds a field (API.md: "add freely"), and mypy
checks every key you read. Times stay RFC 3339 strings and dates ISO 8601 strings, exactly as
sent; amounts are decimal strings. Keys under `NotRequired` may be absent.
"""

# No `from __future__ import annotations` here: TypedDict must see `NotRequired` at run time to
# record which keys are optional (`__required_keys__`), for tools that introspect these types.
from datetime import date
from typing import Any, Literal, NotRequired, TypedDict

__all__ = [
    "AcceptedRow",
    "AccessLogEntry",
    "BasicSection",
    "BatchItem",
    "Capital",
    "Category",
    "Change",
    "ChangeKind",
    "ClientKind",
    "ConsentStatus",
    "ConsentToken",
    "Entity",
    "EntityKind",
    "EntityRegistration",
    "EntitySummary",
    "IngestOutcome",
    "LegalPerson",
    "Me",
    "Money",
    "NaturalPerson",
    "Objection",
    "ObjectionOutcome",
    "ObjectionStatus",
    "PartnerConsent",
    "Problem",
    "PublicRecord",
    "PublicRecordKind",
    "Purpose",
    "ReadBasis",
    "Receipt",
    "RecordInput",
    "RecordKind",
    "RecordState",
    "RecordsSection",
    "RegisteredEntity",
    "RejectedRow",
    "Repair",
    "RepairDecision",
    "RepairStatus",
    "Report",
    "ReportRecord",
    "ReportSubject",
    "SubjectConsent",
    "SubjectKind",
    "SubjectRef",
    "TaxSection",
    "TokenResponse",
]

# --- enumerations (DESIGN.md §4, §5; API.md) --------------------------------------------------

Category = Literal["basic", "administrative", "lists", "tax", "judicial", "social_insurance"]
Purpose = Literal[
    "loan_application",
    "loan_monitoring",
    "credit_rating",
    "guarantee",
    "lease",
    "employment_screening",
    "other",
]
ConsentStatus = Literal["awaiting_authorisation", "authorised", "rejected", "revoked", "expired"]
EntityKind = Literal[
    "enterprise",
    "public_institution",
    "social_organization",
    "government_agency",
    "individual_business",
]
SubjectKind = Literal[
    "enterprise",
    "public_institution",
    "social_organization",
    "government_agency",
    "individual_business",
    "natural_person",
]
PublicRecordKind = Literal["license", "penalty", "red_list", "black_list", "abnormal_operation"]
RecordKind = Literal[
    "license",
    "penalty",
    "red_list",
    "black_list",
    "abnormal_operation",
    "tax_rating",
    "tax_violation",
    "court_enforcement",
    "dishonest_debtor",
    "social_insurance_arrears",
]
ChangeKind = Literal["published", "corrected", "withdrawn"]
ClientKind = Literal[
    "bank",
    "microcredit",
    "guarantee",
    "rating_agency",
    "credit_service_agency",
    "government",
    "judicial",
    "department",
    "admin",
    "first_party",
]
ReadBasis = Literal["consent", "legal_basis", "self"]
ObjectionStatus = Literal["pending", "upheld", "dismissed"]
ObjectionOutcome = Literal["upheld", "dismissed"]
RepairStatus = Literal["pending", "approved", "denied"]
RepairDecision = Literal["approved", "denied"]


# --- errors -------------------------------------------------------------------------------------


class Problem(TypedDict):
    """An RFC 9457 problem document (every error of the API but the OAuth endpoints')."""

    type: str
    title: str
    status: int
    detail: str
    errors: NotRequired[dict[str, list[str]]]
    request_id: NotRequired[str]


# --- OAuth ----------------------------------------------------------------------------------------


class TokenResponse(TypedDict):
    """`POST /oauth/token`: an access token (and, for subjects, a refresh token)."""

    access_token: str
    token_type: str
    expires_in: int
    scope: NotRequired[str]
    refresh_token: NotRequired[str]


# --- open data ------------------------------------------------------------------------------------


class Money(TypedDict):
    """A decimal amount (a string, never a float) and its ISO 4217 currency."""

    amount: str
    currency: str


class EntitySummary(TypedDict):
    """A legal person in a search result."""

    subject_id: str
    uscc: str
    name: str
    kind: EntityKind
    kind_label: str
    legal_representative: NotRequired[str | None]
    established_on: NotRequired[str | None]
    status: NotRequired[str | None]
    status_label: NotRequired[str | None]
    address: NotRequired[str | None]


class Entity(EntitySummary):
    """`GET /v1/public/entities/{uscc}`: a legal person's public data."""

    public_record_counts: dict[str, int]
    registered_capital: NotRequired[Money | None]
    registration_authority: NotRequired[str | None]


class PublicRecord(TypedDict):
    """A record that is public today (licences, penalties and the three lists)."""

    record_id: str
    kind: PublicRecordKind
    kind_label: str
    document_no: str
    title: str
    decided_on: str
    department: str
    publish_until: str | None
    disputed: bool
    details: dict[str, Any]


class Change(TypedDict):
    """An entry of the public change feed."""

    record_id: str
    uscc: str
    kind: PublicRecordKind
    change: ChangeKind
    at: str


# --- consent --------------------------------------------------------------------------------------


class LegalPerson(TypedDict):
    """A legal person named by its unified social credit code."""

    uscc: str


class NaturalPerson(TypedDict):
    """A natural person named by identity number and name (sent only in request bodies)."""

    id_number: str
    name: str


SubjectRef = LegalPerson | NaturalPerson


class PartnerConsent(TypedDict):
    """A consent as the partner that asked for it sees it."""

    consent_id: str
    status: ConsentStatus
    status_label: str
    subject_id: str
    categories: list[Category]
    purpose: Purpose
    purpose_label: str
    expires_at: str
    requested_at: str
    token_issued: bool
    purpose_note: NotRequired[str | None]
    authorize_url: NotRequired[str | None]
    authorised_at: NotRequired[str | None]
    decided_at: NotRequired[str | None]
    revoked_at: NotRequired[str | None]


class ConsentToken(TypedDict):
    """The consent token of an authorised consent: shown once, keep it safe."""

    consent_id: str
    consent_token: str


class SubjectConsent(TypedDict):
    """A consent as its subject sees it, with the partner's name and kind."""

    consent_id: str
    status: ConsentStatus
    status_label: str
    subject_id: str
    client_id: str
    client_name: str
    client_kind: ClientKind
    client_kind_label: str
    categories: list[Category]
    purpose: Purpose
    purpose_label: str
    expires_at: str
    requested_at: str
    token_issued: bool
    purpose_note: NotRequired[str | None]
    authorised_at: NotRequired[str | None]
    decided_at: NotRequired[str | None]
    revoked_at: NotRequired[str | None]


class Receipt(TypedDict):
    """A consent receipt: a compact JWS (ES256) verifiable with `/oauth/jwks`."""

    consent_id: str
    receipt: str


class AccessLogEntry(TypedDict):
    """One restricted read of the subject's data."""

    at: str
    basis: ReadBasis
    categories: list[Category]
    client_id: str
    client_kind: str
    client_name: str
    report_no: str
    consent_id: NotRequired[str | None]
    legal_basis: NotRequired[str | None]
    request_id: NotRequired[str | None]


class Me(TypedDict):
    """The signed-in subject."""

    subject_id: str
    kind: SubjectKind
    kind_label: str
    name: str
    uscc: NotRequired[str | None]


# --- reports --------------------------------------------------------------------------------------


class ReportSubject(TypedDict):
    """Whom a report is about."""

    subject_id: str
    kind: SubjectKind
    kind_label: str
    name: str
    uscc: NotRequired[str]


class ReportRecord(TypedDict):
    """A record in a credit report, public or not."""

    record_id: str
    kind: RecordKind
    kind_label: str
    document_no: str
    title: str
    decided_on: str
    department: str
    publish_until: str | None
    public: bool
    disputed: bool
    details: dict[str, Any]


class BasicSection(TypedDict):
    """The `basic` category: full registration or identity details."""

    name: str
    uscc: NotRequired[str | None]
    id_number_masked: NotRequired[str | None]
    legal_representative: NotRequired[str | None]
    established_on: NotRequired[str | None]
    registered_capital: NotRequired[Money | None]
    address: NotRequired[str | None]
    business_scope: NotRequired[str | None]
    contact_phone: NotRequired[str | None]
    registration_authority: NotRequired[str | None]
    status: NotRequired[str | None]
    status_label: NotRequired[str | None]


class RecordsSection(TypedDict):
    """A category made of records (`administrative`, `lists`, `judicial`, `social_insurance`)."""

    records: list[ReportRecord]


class TaxSection(TypedDict):
    """The `tax` category: the latest tax credit level and the tax records."""

    records: list[ReportRecord]
    level: NotRequired[str | None]


class Report(TypedDict):
    """A credit report: one key per category served, and only those."""

    report_no: str
    generated_at: str
    basis: ReadBasis
    categories: list[Category]
    subject: ReportSubject
    consent_id: NotRequired[str | None]
    legal_basis: NotRequired[str | None]
    basic: NotRequired[BasicSection]
    administrative: NotRequired[RecordsSection]
    lists: NotRequired[RecordsSection]
    tax: NotRequired[TaxSection]
    judicial: NotRequired[RecordsSection]
    social_insurance: NotRequired[RecordsSection]


class BatchItem(TypedDict):
    """One read of `reports.batch`: a subject, its consent token, optionally categories."""

    subject_id: str
    consent_token: str
    categories: NotRequired[list[Category]]


# --- departments ----------------------------------------------------------------------------------


class RecordInput(TypedDict, total=False):
    """A record as a department sends it (API.md "Departments"); `details` is kind-specific.

    The subject is named by `uscc`, or by `id_number` and `name` for a natural person. Dates
    may be given as `datetime.date`, amounts as `decimal.Decimal`: the SDK sends them as the
    ISO 8601 and decimal strings the API expects.
    """

    kind: RecordKind
    document_no: str
    title: str
    decided_on: str | date
    uscc: str
    id_number: str
    name: str
    details: dict[str, Any]
    publish_until: str | date


class AcceptedRow(TypedDict):
    """A row of a batch stored now (`created`) or found stored already (`duplicate`)."""

    index: int
    record_id: str
    outcome: Literal["created", "duplicate"]


class RejectedRow(TypedDict):
    """A row of a batch refused: 422 invalid, or 409 its number is taken by other content."""

    index: int
    status: int
    errors: dict[str, list[str]]


class IngestOutcome(TypedDict):
    """`POST /v1/ingest/records`: what became of each row."""

    accepted: int
    duplicates: int
    records: list[AcceptedRow]
    rejected: list[RejectedRow]


class RecordState(TypedDict):
    """A record after a correction or a withdrawal."""

    record_id: str
    status: Literal["active", "withdrawn"]
    version: int
    changed: bool


class Capital(TypedDict):
    """Registered capital as a department sends it; `currency` defaults to CNY."""

    amount: str
    currency: NotRequired[str]


class EntityRegistration(TypedDict):
    """`PUT /v1/ingest/entities/{uscc}`: a legal person's registration data."""

    kind: EntityKind
    name: str
    legal_representative: NotRequired[str | None]
    established_on: NotRequired[str | date | None]
    registered_capital: NotRequired[Capital | None]
    address: NotRequired[str | None]
    business_scope: NotRequired[str | None]
    contact_phone: NotRequired[str | None]
    registration_authority: NotRequired[str | None]
    status: NotRequired[Literal["active", "revoked", "cancelled"] | None]


class RegisteredEntity(TypedDict):
    """A legal person as registered, restricted fields included."""

    subject_id: str
    uscc: str
    name: str
    kind: EntityKind
    kind_label: str
    legal_representative: NotRequired[str | None]
    established_on: NotRequired[str | None]
    registered_capital: NotRequired[Money | None]
    address: NotRequired[str | None]
    business_scope: NotRequired[str | None]
    contact_phone: NotRequired[str | None]
    registration_authority: NotRequired[str | None]
    status: NotRequired[str | None]
    status_label: NotRequired[str | None]


# --- objections and repair ------------------------------------------------------------------------


class Objection(TypedDict):
    """A subject's objection to a record."""

    objection_id: str
    status: ObjectionStatus
    record_id: str
    record_kind: str
    record_title: str
    record_disputed: bool
    department: str
    reason: str
    filed_at: str
    note: NotRequired[str | None]
    resolved_at: NotRequired[str | None]
    linked_version: NotRequired[int | None]


class Repair(TypedDict):
    """A subject's request for credit repair of a record."""

    repair_id: str
    status: RepairStatus
    record_id: str
    record_kind: str
    record_title: str
    department: str
    reason: str
    filed_at: str
    note: NotRequired[str | None]
    decided_at: NotRequired[str | None]
    publish_until: NotRequired[str | None]
