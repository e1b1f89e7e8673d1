"""Objections (API.md "Objections and repair"): a subject disputes one of their records, the
record shows `disputed: true` in every view while an objection is pending, and the record's
department upholds it (then corrects or withdraws the record, which the objection links) or
dismisses it with a note."""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from credit import cases, clock
from credit.errors import CaseNotFound, RecordConflict
from credit.models import Objection, ObjectionStatus, Record, RecordStatus, Subject
from credit.service import subject_record


def file(*, db_session: Session, subject: Subject, record_id: str, reason: str) -> Objection:
    """The subject objects to one of their standing records; it is disputed from now on."""
    record = subject_record(db_session=db_session, subject=subject, record_id=record_id)
    if record.status != RecordStatus.ACTIVE:
        raise RecordConflict(f"{record_id} was withdrawn by its department")
    pending = db_session.scalar(
        select(Objection.objection_id).where(
            Objection.record_pk == record.id, Objection.status == ObjectionStatus.PENDING.value
        )
    )
    if pending is not None:
        raise RecordConflict(f"your objection {pending} to {record_id} is still pending")
    objection = Objection(
        objection_id=f"obj_{secrets.token_hex(10)}",
        record_pk=record.id,
        subject_pk=subject.id,
        reason=reason,
        status=ObjectionStatus.PENDING.value,
        record_version=record.version,
        filed_at=clock.now(),
    )
    db_session.add(objection)
    record.disputed = True
    db_session.flush()
    return objection


def resolve(
    *,
    db_session: Session,
    department: str,
    objection_id: str,
    outcome: ObjectionStatus,
    note: str,
    resolved_by: str,
) -> tuple[Objection, Record]:
    """The record's department upholds or dismisses a pending objection; `disputed` clears.

    An upheld objection links the correction or withdrawal of the record made since it was
    filed, or else the next one the department makes.
    """
    if outcome is ObjectionStatus.PENDING:
        raise ValueError("an objection is resolved as upheld or dismissed")
    objection, record = _departments_case(db_session, department, objection_id)
    if objection.status != ObjectionStatus.PENDING:
        raise RecordConflict(f"objection {objection_id} was {objection.status} already")
    objection.status = outcome.value
    objection.note = note
    objection.resolved_at = clock.now()
    objection.resolved_by = resolved_by
    if outcome is ObjectionStatus.UPHELD and record.version > objection.record_version:
        objection.change_version = record.version
    record.disputed = False
    db_session.flush()
    return objection, record


def _departments_case(
    db_session: Session, department: str, objection_id: str
) -> tuple[Objection, Record]:
    row = db_session.execute(
        select(Objection, Record)
        .join(Record, Record.id == Objection.record_pk)
        .where(Objection.objection_id == objection_id, Record.department == department)
    ).one_or_none()
    if row is None:
        raise CaseNotFound("objection", objection_id)
    objection, record = row
    return objection, record


def get_for_subject(*, db_session: Session, subject: Subject, objection_id: str) -> Objection:
    """One of the subject's own objections."""
    return cases.get_for_subject(
        db_session, Objection, Objection.objection_id, objection_id, subject, "objection"
    )


def list_for_subject(
    *,
    db_session: Session,
    subject: Subject,
    status: ObjectionStatus | None = None,
    before_id: int | None,
    limit: int,
) -> Sequence[Objection]:
    """The subject's objections, newest first."""
    return cases.list_for_subject(db_session, Objection, subject, status, before_id, limit)


def list_for_department(
    *,
    db_session: Session,
    department: str,
    status: ObjectionStatus | None,
    after_id: int | None,
    limit: int,
) -> Sequence[Objection]:
    """Objections about the department's records, oldest first (a work queue)."""
    return cases.list_for_department(db_session, Objection, department, status, after_id, limit)


def records_of(*, db_session: Session, record_pks: set[int]) -> dict[int, Record]:
    """The records some objections or repair requests are about, by primary key."""
    if not record_pks:
        return {}
    rows = db_session.scalars(select(Record).where(Record.id.in_(record_pks)))
    return {record.id: record for record in rows}
