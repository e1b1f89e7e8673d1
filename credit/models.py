"""Subjects (legal and natural persons), their credit records, and the public change feed."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from credit import clock
from credit.base import Base, BigIntPK, UTCDateTime

JSONDocument = JSON().with_variant(JSONB(), "postgresql")


class SubjectKind(StrEnum):
    """What a subject is; the first five are legal persons."""

    ENTERPRISE = "enterprise"
    PUBLIC_INSTITUTION = "public_institution"
    SOCIAL_ORGANIZATION = "social_organization"
    GOVERNMENT_AGENCY = "government_agency"
    INDIVIDUAL_BUSINESS = "individual_business"
    NATURAL_PERSON = "natural_person"


LEGAL_PERSON_KINDS: tuple[SubjectKind, ...] = tuple(
    k for k in SubjectKind if k is not SubjectKind.NATURAL_PERSON
)

SUBJECT_KIND_LABELS: dict[SubjectKind, str] = {
    SubjectKind.ENTERPRISE: "企业",
    SubjectKind.PUBLIC_INSTITUTION: "事业单位",
    SubjectKind.SOCIAL_ORGANIZATION: "社会组织",
    SubjectKind.GOVERNMENT_AGENCY: "机关",
    SubjectKind.INDIVIDUAL_BUSINESS: "个体工商户",
    SubjectKind.NATURAL_PERSON: "自然人",
}


class EntityStatus(StrEnum):
    """The registration status of a legal person."""

    ACTIVE = "active"
    REVOKED = "revoked"
    CANCELLED = "cancelled"


ENTITY_STATUS_LABELS: dict[EntityStatus, str] = {
    EntityStatus.ACTIVE: "存续",
    EntityStatus.REVOKED: "吊销",
    EntityStatus.CANCELLED: "注销",
}


class RecordKind(StrEnum):
    """The kinds of credit record a department publishes (API.md "Departments")."""

    LICENSE = "license"
    PENALTY = "penalty"
    RED_LIST = "red_list"
    BLACK_LIST = "black_list"
    ABNORMAL_OPERATION = "abnormal_operation"
    TAX_RATING = "tax_rating"
    TAX_VIOLATION = "tax_violation"
    COURT_ENFORCEMENT = "court_enforcement"
    DISHONEST_DEBTOR = "dishonest_debtor"
    SOCIAL_INSURANCE_ARREARS = "social_insurance_arrears"


RECORD_KIND_LABELS: dict[RecordKind, str] = {
    RecordKind.LICENSE: "行政许可",
    RecordKind.PENALTY: "行政处罚",
    RecordKind.RED_LIST: "守信激励名单",
    RecordKind.BLACK_LIST: "失信惩戒名单",
    RecordKind.ABNORMAL_OPERATION: "经营异常名录",
    RecordKind.TAX_RATING: "纳税信用等级",
    RecordKind.TAX_VIOLATION: "税收违法",
    RecordKind.COURT_ENFORCEMENT: "被执行人",
    RecordKind.DISHONEST_DEBTOR: "失信被执行人",
    RecordKind.SOCIAL_INSURANCE_ARREARS: "社会保险欠费",
}


class RecordStatus(StrEnum):
    """Whether a record stands or was withdrawn by its department."""

    ACTIVE = "active"
    WITHDRAWN = "withdrawn"


class ChangeKind(StrEnum):
    """A step in the public change feed."""

    PUBLISHED = "published"
    CORRECTED = "corrected"
    WITHDRAWN = "withdrawn"


class Subject(Base):
    """A credit subject: a legal person (addressed by USCC) or a natural person."""

    __tablename__ = "subjects"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    subject_id: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    uscc: Mapped[str | None] = mapped_column(String(18), unique=True)
    # Natural persons: the identity number only as a keyed hash and a ciphertext (DESIGN.md §3).
    id_number_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    id_number_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Registration data of legal persons; business_scope and contact_phone are not public.
    legal_representative: Mapped[str | None] = mapped_column(String(100))
    established_on: Mapped[date | None] = mapped_column(Date)
    registered_capital_fen: Mapped[int | None] = mapped_column(BigInteger)
    registered_capital_currency: Mapped[str | None] = mapped_column(String(3))
    address: Mapped[str | None] = mapped_column(String(300))
    registration_authority: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str | None] = mapped_column(String(16))
    business_scope: Mapped[str | None] = mapped_column(Text)
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, onupdate=clock.now)

    records: Mapped[list[Record]] = relationship(back_populates="subject", lazy="raise")

    __table_args__ = (Index("ix_subjects_kind_id", "kind", "id"),)

    @property
    def is_legal_person(self) -> bool:
        """Whether the subject is a legal person (has registration data and may be public)."""
        return self.kind != SubjectKind.NATURAL_PERSON

    @property
    def kind_label(self) -> str:
        """The Chinese name of the subject's kind."""
        return SUBJECT_KIND_LABELS[SubjectKind(self.kind)]

    @property
    def status_label(self) -> str | None:
        """The Chinese name of the registration status."""
        return ENTITY_STATUS_LABELS[EntityStatus(self.status)] if self.status else None

    @property
    def registered_capital(self) -> Decimal | None:
        """Registered capital in yuan."""
        if self.registered_capital_fen is None:
            return None
        return Decimal(self.registered_capital_fen).scaleb(-2)


class Record(Base):
    """One credit record about one subject, decided by one department."""

    __tablename__ = "records"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    record_id: Mapped[str] = mapped_column(String(32), unique=True)
    subject_pk: Mapped[int] = mapped_column(ForeignKey("subjects.id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(String(32))
    category: Mapped[str] = mapped_column(String(32))
    department: Mapped[str] = mapped_column(String(200))
    document_no: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(500))
    decided_on: Mapped[date] = mapped_column(Date)
    # The last day the record is public; NULL for a record public until removed, or never public.
    publish_until: Mapped[date | None] = mapped_column(Date)
    details: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    status: Mapped[str] = mapped_column(String(16), default=RecordStatus.ACTIVE.value)
    disputed: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, onupdate=clock.now)

    subject: Mapped[Subject] = relationship(back_populates="records", lazy="raise")

    __table_args__ = (
        UniqueConstraint(
            "department", "kind", "document_no", name="uq_records_department_kind_doc"
        ),
        Index("ix_records_subject_kind_decided", "subject_pk", "kind", "decided_on"),
    )

    @property
    def kind_label(self) -> str:
        """The Chinese name of the record's kind."""
        return RECORD_KIND_LABELS[RecordKind(self.kind)]


class RecordChange(Base):
    """An entry of the public change feed: a public record published, corrected or withdrawn."""

    __tablename__ = "record_changes"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    record_pk: Mapped[int] = mapped_column(ForeignKey("records.id", ondelete="RESTRICT"))
    change: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    record: Mapped[Record] = relationship(lazy="raise")

    __table_args__ = (
        Index("ix_record_changes_at_id", "at", "id"),
        Index("ix_record_changes_record_pk", "record_pk"),
    )


class LegacyUscc(Base):
    """An operator-maintained allow-list entry: an early pilot code that predates the checksum."""

    __tablename__ = "legacy_uscc_allowlist"

    uscc: Mapped[str] = mapped_column(String(18), primary_key=True)
    note: Mapped[str] = mapped_column(String(500), default="")
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class RecordVersion(Base):
    """One step of a record's history: who published, corrected or withdrew it, when, and what
    it said then. Append-only (triggers refuse UPDATE and DELETE)."""

    __tablename__ = "record_versions"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    record_pk: Mapped[int] = mapped_column(ForeignKey("records.id", ondelete="RESTRICT"))
    version: Mapped[int] = mapped_column(Integer)
    change: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(500))
    decided_on: Mapped[date] = mapped_column(Date)
    publish_until: Mapped[date | None] = mapped_column(Date)
    details: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(2000))
    changed_by: Mapped[str] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    __table_args__ = (
        UniqueConstraint("record_pk", "version", name="uq_record_versions_record_pk_version"),
    )


class ObjectionStatus(StrEnum):
    """Where a subject's objection to a record stands."""

    PENDING = "pending"
    UPHELD = "upheld"
    DISMISSED = "dismissed"


class Objection(Base):
    """A subject's objection to one of their records; the record is disputed while it is
    pending, and its department upholds it (correcting or withdrawing the record) or dismisses it.
    """

    __tablename__ = "objections"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    objection_id: Mapped[str] = mapped_column(String(32), unique=True)
    record_pk: Mapped[int] = mapped_column(ForeignKey("records.id", ondelete="RESTRICT"))
    subject_pk: Mapped[int] = mapped_column(ForeignKey("subjects.id", ondelete="RESTRICT"))
    reason: Mapped[str] = mapped_column(String(2000))
    status: Mapped[str] = mapped_column(String(16), default=ObjectionStatus.PENDING.value)
    note: Mapped[str | None] = mapped_column(String(2000))
    # The record's version when the objection was filed, and the version of the correction or
    # withdrawal an upheld objection led to (API.md: "the objection links the change").
    record_version: Mapped[int] = mapped_column(Integer)
    change_version: Mapped[int | None] = mapped_column(Integer)
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_objections_record_pk_status", "record_pk", "status"),
        Index("ix_objections_subject_pk_id", "subject_pk", "id"),
    )


class RepairStatus(StrEnum):
    """Where a subject's request for credit repair stands."""

    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"


class RepairRequest(Base):
    """A subject's request to end a penalty's publication early (credit repair, NDRC Order
    No. 58 of 2023 art. 13), decided by the record's department."""

    __tablename__ = "repair_requests"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    repair_id: Mapped[str] = mapped_column(String(32), unique=True)
    record_pk: Mapped[int] = mapped_column(ForeignKey("records.id", ondelete="RESTRICT"))
    subject_pk: Mapped[int] = mapped_column(ForeignKey("subjects.id", ondelete="RESTRICT"))
    reason: Mapped[str] = mapped_column(String(2000))
    status: Mapped[str] = mapped_column(String(16), default=RepairStatus.PENDING.value)
    note: Mapped[str | None] = mapped_column(String(2000))
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    # An approval's early end: the record's last public day, kept through later corrections.
    publication_ended_on: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (
        Index("ix_repair_requests_record_pk_status", "record_pk", "status"),
        Index("ix_repair_requests_subject_pk_id", "subject_pk", "id"),
    )


class AuditEvent(Base):
    """One write by a department, an operator or a subject: who, what, on what, when, under
    which request. Append-only (triggers refuse UPDATE and DELETE)."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    actor: Mapped[str] = mapped_column(String(64))
    actor_kind: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(200))
    request_id: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)

    __table_args__ = (
        Index("ix_audit_events_at_id", "at", "id"),
        Index("ix_audit_events_actor_id", "actor", "id"),
        Index("ix_audit_events_target_id", "target", "id"),
    )
