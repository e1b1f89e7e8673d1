"""The consent ledger: every consent event, each entry chained to the one before by its hash."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, String
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
