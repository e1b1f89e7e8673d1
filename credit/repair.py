"""Credit repair (API.md "Objections and repair"; NDRC Order No. 58 of 2023 art. 13): once a
penalty's minimum publication period has passed, its subject may ask the department that
decided it to end the publication early; an approved repair takes the record out of every
public view at once, while partners under consent still see it in `administrative`."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from credit import cases, clock
from credit.disclosure import is_public, repair_allowed_from
from credit.errors import CaseNotFound, RecordConflict
from credit.ingest import append_history, keep_first_version
from credit.models import (
    ChangeKind,
    Record,
    RecordKind,
    RepairRequest,
    RepairStatus,
    Subject,
)
from credit.service import subject_record

REPAIRED = "repaired"  # the history's name of the step; the public feed shows a correction


class RepairTooEarly(RecordConflict):
    """The minimum publication period has not passed yet."""


def file(*, db_session: Session, subject: Subject, record_id: str, reason: str) -> RepairRequest:
    """The subject asks for repair of one of their published penalties."""
    record = subject_record(db_session=db_session, subject=subject, record_id=record_id)
    today = clock.today()
    if record.kind != RecordKind.PENALTY:
        raise RecordConflict(
            f"credit repair applies to administrative penalties, and {record_id} is a "
            f"{record.kind_label} ({record.kind}); a list entry ends when its department "
            "removes it"
        )
    if not is_public(record, subject, today):
        raise RecordConflict(f"{record_id} is not published, so there is nothing to repair")
    allowed_from = repair_allowed_from(record.kind, record.decided_on, record.details)
    if allowed_from is not None and today < allowed_from:
        raise RepairTooEarly(
            f"repair of {record_id} may be asked from {allowed_from.isoformat()}, when the "
            f"minimum publication period after the decision of {record.decided_on.isoformat()} "
            "has passed"
        )
    pending = db_session.scalar(
        select(RepairRequest.repair_id).where(
            RepairRequest.record_pk == record.id,
            RepairRequest.status == RepairStatus.PENDING.value,
        )
    )
    if pending is not None:
        raise RecordConflict(f"your repair request {pending} for {record_id} is still pending")
    repair = RepairRequest(
        repair_id=f"rep_{secrets.token_hex(10)}",
        record_pk=record.id,
        subject_pk=subject.id,
        reason=reason,
        status=RepairStatus.PENDING.value,
        filed_at=clock.now(),
    )
    db_session.add(repair)
    db_session.flush()
    return repair


def decide(
    *,
    db_session: Session,
    department: str,
    repair_id: str,
    decision: RepairStatus,
    note: str,
    decided_by: str,
    request_id: str | None = None,
) -> tuple[RepairRequest, Record]:
    """The record's department approves or denies a pending request; approval ends the
    record's publication today (its last public day becomes yesterday)."""
    if decision is RepairStatus.PENDING:
        raise ValueError("a repair request is approved or denied")
    row = db_session.execute(
        select(RepairRequest, Record, Subject)
        .join(Record, Record.id == RepairRequest.record_pk)
        .join(Subject, Subject.id == Record.subject_pk)
        .where(RepairRequest.repair_id == repair_id, Record.department == department)
    ).one_or_none()
    if row is None:
        raise CaseNotFound("repair request", repair_id)
    repair, record, subject = row
    if repair.status != RepairStatus.PENDING:
        raise RecordConflict(f"repair request {repair_id} was {repair.status} already")
    repair.status = decision.value
    repair.note = note
    repair.decided_at = clock.now()
    repair.decided_by = decided_by
    yesterday = clock.today() - timedelta(days=1)
    if decision is RepairStatus.APPROVED:
        repair.publication_ended_on = yesterday
    if decision is RepairStatus.APPROVED and (
        record.publish_until is None or record.publish_until > yesterday
    ):
        keep_first_version(db_session, record)
        record.publish_until = yesterday
        record.version += 1
        record.updated_at = clock.now()
        db_session.flush()
        append_history(
            db_session,
            record,
            subject,
            REPAIRED,
            decided_by,
            request_id,
            note,
            feed=ChangeKind.CORRECTED,
        )
    db_session.flush()
    return repair, record


def get_for_subject(*, db_session: Session, subject: Subject, repair_id: str) -> RepairRequest:
    """One of the subject's own repair requests."""
    return cases.get_for_subject(
        db_session, RepairRequest, RepairRequest.repair_id, repair_id, subject, "repair request"
    )


def list_for_subject(
    *,
    db_session: Session,
    subject: Subject,
    status: RepairStatus | None = None,
    before_id: int | None,
    limit: int,
) -> Sequence[RepairRequest]:
    """The subject's repair requests, newest first."""
    return cases.list_for_subject(db_session, RepairRequest, subject, status, before_id, limit)


def list_for_department(
    *,
    db_session: Session,
    department: str,
    status: RepairStatus | None,
    after_id: int | None,
    limit: int,
) -> Sequence[RepairRequest]:
    """Repair requests about the department's records, oldest first (a work queue)."""
    return cases.list_for_department(db_session, RepairRequest, department, status, after_id, limit)
