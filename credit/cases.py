"""What objections and repair requests share: both are a subject's case about one record,
decided by the record's department, and listed the same ways."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute, Session

from credit.errors import CaseNotFound
from credit.models import Objection, Record, RepairRequest, Subject

Case = TypeVar("Case", Objection, RepairRequest)


def get_for_subject(
    db_session: Session,
    model: type[Case],
    public_id: InstrumentedAttribute[str],
    case_id: str,
    subject: Subject,
    what: str,
) -> Case:
    """One of the subject's own cases; CaseNotFound for another subject's or none."""
    found = db_session.scalars(
        select(model).where(public_id == case_id, model.subject_pk == subject.id)
    ).one_or_none()
    if found is None:
        raise CaseNotFound(what, case_id)
    return found


def list_for_subject(
    db_session: Session,
    model: type[Case],
    subject: Subject,
    status: Any,
    before_id: int | None,
    limit: int,
) -> Sequence[Case]:
    """The subject's cases, newest first."""
    stmt = select(model).where(model.subject_pk == subject.id).order_by(model.id.desc())
    if status is not None:
        stmt = stmt.where(model.status == status.value)
    if before_id is not None:
        stmt = stmt.where(model.id < before_id)
    return db_session.scalars(stmt.limit(limit)).all()


def list_for_department(
    db_session: Session,
    model: type[Case],
    department: str,
    status: Any,
    after_id: int | None,
    limit: int,
) -> Sequence[Case]:
    """Cases about the department's records, oldest first (a work queue)."""
    stmt = (
        select(model)
        .join(Record, Record.id == model.record_pk)
        .where(Record.department == department)
        .order_by(model.id)
    )
    if status is not None:
        stmt = stmt.where(model.status == status.value)
    if after_id is not None:
        stmt = stmt.where(model.id > after_id)
    return db_session.scalars(stmt.limit(limit)).all()
