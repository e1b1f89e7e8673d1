"""The access log: every restricted read that returned data, for the subject to see.

An entry is written, and committed by the caller, before the report leaves the platform; a
read whose entry cannot be written is not served.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from consent.models import AccessLogEntry, ReadBasis
from credit import clock
from credit.models import Subject


@dataclass(frozen=True)
class Reader:
    """Who reads: the client, as the subject will see it in the log."""

    client_id: str
    name: str
    kind: str


def new_report_no() -> str:
    """A report number: the day it was made and 48 random bits (never guessable, never reused)."""
    return f"XY{clock.today():%Y%m%d}-{secrets.token_hex(6).upper()}"


# The table's own INSERT, built once: it runs on every restricted read, and the ORM's insert
# path does work (attribute mapping, bulk bookkeeping) that this one statement does not need.
_INSERT_ENTRY = insert(AccessLogEntry.metadata.tables[AccessLogEntry.__tablename__])


def record(
    *,
    db_session: Session,
    subject: Subject,
    reader: Reader,
    basis: ReadBasis,
    categories: Collection[str],
    report_no: str,
    consent_id: str | None = None,
    legal_basis: str | None = None,
    request_id: str | None = None,
) -> None:
    """Write the entry of one read; the caller commits it before answering.

    A plain INSERT rather than the unit of work: this runs on every restricted read.
    """
    db_session.execute(
        _INSERT_ENTRY,
        {
            "report_no": report_no,
            "subject_pk": subject.id,
            "client_id": reader.client_id,
            "client_name": reader.name,
            "client_kind": reader.kind,
            "basis": basis.value,
            "consent_id": consent_id,
            "legal_basis": legal_basis,
            "categories": list(categories),
            "request_id": request_id,
            "at": clock.now(),
        },
    )


def list_for_subject(
    *, db_session: Session, subject: Subject, before_id: int | None, limit: int
) -> Sequence[AccessLogEntry]:
    """The subject's log, newest first, after the keyset position `before_id`."""
    query = select(AccessLogEntry).where(AccessLogEntry.subject_pk == subject.id)
    if before_id is not None:
        query = query.where(AccessLogEntry.id < before_id)
    return db_session.scalars(query.order_by(AccessLogEntry.id.desc()).limit(limit)).all()
