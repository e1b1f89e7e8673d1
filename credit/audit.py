"""The audit trail: every write by a department, an operator or a subject, in the write's own
transaction, so that a write and its audit entry land together or not at all."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from credit import clock
from credit.models import AuditEvent


def record(
    *,
    db_session: Session,
    actor: str,
    actor_kind: str,
    action: str,
    target: str | None = None,
    request_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event: `actor` (a client id, `cli:<user>` or a subject id) did `action`."""
    event = AuditEvent(
        at=clock.now(),
        actor=actor,
        actor_kind=actor_kind,
        action=action,
        target=target,
        request_id=request_id,
        details=details or {},
    )
    db_session.add(event)
    return event


def list_(
    *,
    db_session: Session,
    actor: str | None = None,
    action: str | None = None,
    target: str | None = None,
    since: datetime | None = None,
    before_id: int | None = None,
    limit: int,
) -> Sequence[AuditEvent]:
    """Events matching the filters, newest first."""
    stmt = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if actor is not None:
        stmt = stmt.where(AuditEvent.actor == actor)
    if action is not None:
        stmt = stmt.where(AuditEvent.action == action)
    if target is not None:
        stmt = stmt.where(AuditEvent.target == target)
    if since is not None:
        stmt = stmt.where(AuditEvent.at >= since)
    if before_id is not None:
        stmt = stmt.where(AuditEvent.id < before_id)
    return db_session.scalars(stmt).all()
