"""Fixtures and helpers of the objection and credit-repair tests: the parties of the consent
tests, a department publishing penalties over HTTP, and reads of the views that show a record."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from credit import clock
from credit.disclosure import add_months
from credit.models import AuditEvent
from tests.api.consents.conftest import Party, SignedIn, World, client, keys_of_this_test, world
from tests.factories import penalty_row

__all__ = ["client", "keys_of_this_test", "world"]

PROBLEM = "application/problem+json"
MARKET = "淄博市周村区市场监督管理局"
EMERGENCY = "淄博市周村区应急管理局"


def penalty(uscc: str, n: int, decided_on: date | None = None, **changes: Any) -> dict[str, Any]:
    """A general penalty decided four months ago (public, and past its minimum period)."""
    day = decided_on or add_months(clock.today(), -4)
    return penalty_row(uscc, n, decided_on=day.isoformat(), **changes)


def publish(world: World, department: Party, *rows: dict[str, Any]) -> list[str]:
    """Push `rows` as `department`; the ids of the records made, in order."""
    response = world.http.post(
        "/v1/ingest/records", json={"records": list(rows)}, headers=department.headers()
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.json
    assert body is not None
    assert body["rejected"] == [], body
    return [str(r["record_id"]) for r in body["records"]]


def public_records(world: World, uscc: str) -> dict[str, dict[str, Any]]:
    """The legal person's records in the open data, by id."""
    response = world.http.get(f"/v1/public/entities/{uscc}/records?page_size=100")
    assert response.status_code == 200, response.get_data(as_text=True)
    return {r["record_id"]: r for r in response.json["items"]}  # type: ignore[index]


def report_records(
    world: World, reader: Party | SignedIn, subject_id: str, consent_token: str | None = None
) -> dict[str, dict[str, Any]]:
    """The `administrative` records of the subject's report as `reader` reads it, by id."""
    response = world.report(reader, subject_id, consent_token, categories="administrative")
    assert response.status_code == 200, response.get_data(as_text=True)
    records = response.json["administrative"]["records"]  # type: ignore[index]
    return {r["record_id"]: r for r in records}


def audit_events(
    db_session: Session, action: str, *, target: str | None = None, actor: str | None = None
) -> list[AuditEvent]:
    """The audit trail's events of `action` (on `target`, by `actor`), oldest first."""
    stmt = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
    if target is not None:
        stmt = stmt.where(AuditEvent.target == target)
    if actor is not None:
        stmt = stmt.where(AuditEvent.actor == actor)
    return list(db_session.scalars(stmt))


def changes_of(world: World, record_id: str) -> list[str]:
    """The steps of the public change feed for one record, oldest first (every page)."""
    steps: list[str] = []
    query: dict[str, Any] = {"since": "2000-01-01T00:00:00Z", "page_size": 100}
    while True:
        response = world.http.get("/v1/public/changes", query_string=query)
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.json
        assert body is not None
        steps += [c["change"] for c in body["items"] if c["record_id"] == record_id]
        if body["next_cursor"] is None:
            return steps
        query["cursor"] = body["next_cursor"]


def post_as(
    world: World,
    party: Party | SignedIn,
    path: str,
    body: dict[str, Any],
    request_id: str | None = None,
) -> Any:
    """POST `body` as `party`, with an `X-Request-ID` of the test's choosing if given."""
    headers = party.headers()
    if request_id is not None:
        headers["X-Request-ID"] = request_id
    return world.http.post(path, json=body, headers=headers)
