"""Writing the audit trail from a request: the request's client (or signed-in subject) and its
request id, added to the session of the write it describes."""

from __future__ import annotations

from typing import Any

from flask import g

from api.context import current_client, db_session
from credit import audit
from credit.models import Subject


def audited(
    action: str,
    *,
    target: str | None = None,
    details: dict[str, Any] | None = None,
    subject: Subject | None = None,
) -> None:
    """Record `action` by the request's client, or by `subject` acting through it."""
    client = current_client()
    extra = dict(details or {})
    if subject is not None:
        extra["client_id"] = client.client_id
    audit.record(
        db_session=db_session(),
        actor=subject.subject_id if subject is not None else client.client_id,
        actor_kind="subject" if subject is not None else client.kind,
        action=action,
        target=target,
        request_id=g.get("request_id"),
        details=extra,
    )
