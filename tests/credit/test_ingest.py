"""Ingestion: valid rows stored once, bad rows named, re-sent batches change nothing."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.context import Platform
from credit import clock
from credit.ingest import ingest_records
from credit.models import Record, RecordChange, Subject
from tests.factories import make_entity, penalty_row

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
DEPARTMENT = "淄博市周村区市场监督管理局"


@pytest.fixture(autouse=True)
def _frozen_clock() -> Any:
    with clock.frozen_at(NOW):
        yield


def _identities(app: Flask) -> Any:
    platform: Platform = app.extensions["xinyong"]
    return platform.identities


def _count(db_session: Session, model: Any) -> int:
    return int(db_session.scalar(select(func.count()).select_from(model)) or 0)


def test_a_batch_is_stored_and_a_resend_changes_nothing(app: Flask, db_session: Session) -> None:
    entity = make_entity(db_session)
    rows = [penalty_row(entity.uscc or "", n) for n in range(5)]
    before = (_count(db_session, Record), _count(db_session, RecordChange))

    first = ingest_records(
        db_session=db_session,
        department=DEPARTMENT,
        rows=rows,
        identities=_identities(app),
        changed_by="cli_test_department",
    )
    db_session.commit()
    again = ingest_records(
        db_session=db_session,
        department=DEPARTMENT,
        rows=copy.deepcopy(rows),
        identities=_identities(app),
        changed_by="cli_test_department",
    )

    assert (first.accepted, first.duplicates, first.rejected) == (5, 0, [])
    assert (again.accepted, again.duplicates, again.rejected) == (0, 5, [])
    assert [r.record_id for r in again.records] == [r.record_id for r in first.records]
    assert _count(db_session, Record) == before[0] + 5
    # Penalties of legal persons are public: each is published in the change feed, once.
    assert _count(db_session, RecordChange) == before[1] + 5
    stored = db_session.scalars(
        select(Record).where(Record.record_id == first.records[0].record_id)
    ).one()
    assert stored.category == "administrative"
    assert stored.publish_until is not None
    assert stored.publish_until.isoformat() == "2027-06-11"


def test_changed_content_under_the_same_number_is_a_conflict(
    app: Flask, db_session: Session
) -> None:
    entity = make_entity(db_session)
    original = penalty_row(entity.uscc or "", 1)
    first = ingest_records(
        db_session=db_session,
        department=DEPARTMENT,
        rows=[original],
        identities=_identities(app),
        changed_by="cli_test_department",
    )
    changed = penalty_row(entity.uscc or "", 1, title="另一个案由")

    result = ingest_records(
        db_session=db_session,
        department=DEPARTMENT,
        rows=[changed, penalty_row(entity.uscc or "", 2), penalty_row(entity.uscc or "", 2)],
        identities=_identities(app),
        changed_by="cli_test_department",
    )

    assert [(r.index, r.status) for r in result.rejected] == [(0, 409)]
    record_id = first.records[0].record_id
    assert f"PUT /v1/ingest/records/{record_id}" in result.rejected[0].errors["document_no"][0]
    # The same new record twice in one batch: stored once, the second a duplicate.
    assert [(r.index, r.outcome) for r in result.records] == [(1, "created"), (2, "duplicate")]
    # Another department may use the same number for its own record.
    other = ingest_records(
        db_session=db_session,
        department="淄博市周村区应急管理局",
        rows=[changed],
        identities=_identities(app),
        changed_by="cli_test_department",
    )
    assert other.accepted == 1


def test_bad_rows_are_named_and_nothing_of_them_is_written(app: Flask, db_session: Session) -> None:
    entity = make_entity(db_session)
    good = penalty_row(entity.uscc or "", 1)
    rows = [
        good,
        penalty_row(entity.uscc or "", 2, decided_on="2027-01-01"),
        penalty_row("91110000600037341L", 3),  # valid code, nobody registered under it
        {"kind": "penalty"},
        "not a record",
    ]
    before = _count(db_session, Record)

    result = ingest_records(
        db_session=db_session,
        department=DEPARTMENT,
        rows=rows,
        identities=_identities(app),
        changed_by="cli_test_department",
    )

    assert result.accepted == 1
    assert [r.index for r in result.rejected] == [1, 2, 3, 4]
    assert "decided_on" in result.rejected[0].errors
    assert "PUT /v1/ingest/entities/91110000600037341L" in result.rejected[1].errors["uscc"][0]
    assert {"document_no", "title", "decided_on", "details", "uscc"} <= set(
        result.rejected[2].errors
    )
    assert _count(db_session, Record) == before + 1


def test_a_natural_person_is_created_on_first_sight_and_not_published(
    app: Flask, db_session: Session
) -> None:
    row = {
        "kind": "court_enforcement",
        "document_no": "（2026）鲁0306执123号",
        "title": "被执行人信息",
        "decided_on": "2026-05-01",
        "id_number": "11010519491231002X",
        "name": "张三",
        "details": {
            "court": "淄博市周村区人民法院",
            "case_no": "（2026）鲁0306执123号",
            "amount": "120000.00",
            "status": "in_progress",
        },
    }
    changes = _count(db_session, RecordChange)

    first = ingest_records(
        db_session=db_session, department="淄博市周村区人民法院", rows=[row],
        identities=_identities(app), changed_by="cli_test_department",
    )  # fmt: skip
    second = ingest_records(
        db_session=db_session, department="淄博市周村区人民法院", rows=[row],
        identities=_identities(app), changed_by="cli_test_department",
    )  # fmt: skip

    assert (first.accepted, second.duplicates) == (1, 1)
    record = db_session.scalars(
        select(Record).where(Record.record_id == first.records[0].record_id)
    ).one()
    person = db_session.get(Subject, record.subject_pk)
    assert person is not None
    assert person.kind == "natural_person"
    assert person.id_number_hash is not None
    assert "11010519491231002X" not in repr(person.__dict__)
    assert _count(db_session, RecordChange) == changes  # never in the public feed


def test_batches_are_bounded(app: Flask, db_session: Session) -> None:
    with pytest.raises(ValueError, match="at most 1000"):
        ingest_records(
            db_session=db_session, department=DEPARTMENT, rows=[{}] * 1001,
            identities=_identities(app), changed_by="cli_test_department",
        )  # fmt: skip
