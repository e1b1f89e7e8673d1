"""Consents, and the ledger of their events, each entry chained to the one before by its hash."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from credit import clock
from credit.base import Base, BigIntPK, UTCDateTime


class LedgerEntry(Base):
    """One consent event (requested, authorised, rejected, revoked, expired), hash-chained."""

    __tablename__ = "consent_ledger"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    # 1, 2, 3, ... with no gap: a missing number is a removed entry.
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    consent_id: Mapped[str] = mapped_column(String(40))
    event: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (Index("ix_consent_ledger_consent_id", "consent_id"),)


class ConsentStatus(StrEnum):
    """A consent's lifecycle (DESIGN.md §5)."""

    AWAITING_AUTHORISATION = "awaiting_authorisation"
    AUTHORISED = "authorised"
    REJECTED = "rejected"
    REVOKED = "revoked"
    EXPIRED = "expired"


class Purpose(StrEnum):
    """Why a partner asks (DESIGN.md §5); `other` needs a note."""

    LOAN_APPLICATION = "loan_application"
    LOAN_MONITORING = "loan_monitoring"
    CREDIT_RATING = "credit_rating"
    GUARANTEE = "guarantee"
    LEASE = "lease"
    EMPLOYMENT_SCREENING = "employment_screening"
    OTHER = "other"


PURPOSE_LABELS: dict[Purpose, str] = {
    Purpose.LOAN_APPLICATION: "贷款申请",
    Purpose.LOAN_MONITORING: "贷后管理",
    Purpose.CREDIT_RATING: "信用评级",
    Purpose.GUARANTEE: "融资担保",
    Purpose.LEASE: "融资租赁",
    Purpose.EMPLOYMENT_SCREENING: "入职背景调查",
    Purpose.OTHER: "其他",
}

STATUS_LABELS: dict[ConsentStatus, str] = {
    ConsentStatus.AWAITING_AUTHORISATION: "待授权",
    ConsentStatus.AUTHORISED: "已授权",
    ConsentStatus.REJECTED: "已拒绝",
    ConsentStatus.REVOKED: "已撤销",
    ConsentStatus.EXPIRED: "已过期",
}


class Consent(Base):
    """One subject's consent that one partner may read some categories, for one purpose, a while."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    consent_id: Mapped[str] = mapped_column(String(40), unique=True)
    subject_pk: Mapped[int] = mapped_column(ForeignKey("subjects.id", ondelete="RESTRICT"))
    client_id: Mapped[str] = mapped_column(String(64))
    categories: Mapped[list[str]] = mapped_column(JSON)
    purpose: Mapped[str] = mapped_column(String(32))
    purpose_note: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(32))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    authorised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The consent token: shown once to the partner, kept only as a keyed hash.
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    token_issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_consents_subject_pk", "subject_pk"),
        Index("ix_consents_client_id", "client_id"),
    )

    def status_at(self, moment: datetime) -> ConsentStatus:
        """The status in force at `moment`: an authorised consent past its expiry has expired."""
        status = ConsentStatus(self.status)
        if status is ConsentStatus.AUTHORISED and self.expires_at <= moment:
            return ConsentStatus.EXPIRED
        return status


class ReadBasis(StrEnum):
    """On what ground a restricted read was served."""

    CONSENT = "consent"
    LEGAL_BASIS = "legal_basis"
    SELF = "self"


class AccessLogEntry(Base):
    """One restricted read that returned data: who read which categories of whom, on what basis.

    Written before the report leaves the platform; append-only (triggers refuse UPDATE and DELETE).
    """

    __tablename__ = "access_log"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    report_no: Mapped[str] = mapped_column(String(40), unique=True)
    subject_pk: Mapped[int] = mapped_column(ForeignKey("subjects.id", ondelete="RESTRICT"))
    client_id: Mapped[str] = mapped_column(String(64))
    # The client's name when it read: the log tells what the subject would have seen then.
    client_name: Mapped[str] = mapped_column(String(200))
    client_kind: Mapped[str] = mapped_column(String(32))
    basis: Mapped[str] = mapped_column(String(16))
    consent_id: Mapped[str | None] = mapped_column(String(40))
    legal_basis: Mapped[str | None] = mapped_column(String(500))
    categories: Mapped[list[str]] = mapped_column(JSON)
    request_id: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    __table_args__ = (Index("ix_access_log_subject_pk_id", "subject_pk", "id"),)
