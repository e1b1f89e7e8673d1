"""Corrections and withdrawals keep the full history and show in the public views and feed."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from credit.models import Record, RecordVersion
from tests.api.consents.conftest import Party, World
from tests.factories import make_entity, penalty_row

PROBLEM = "application/problem+json"


def _publish(world: World, department: Party, row: dict[str, Any]) -> str:
    response = world.http.post(
        "/v1/ingest/records", json={"records": [row]}, headers=department.headers()
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json["rejected"] == []  # type: ignore[index]
    return str(response.json["records"][0]["record_id"])  # type: ignore[index]


def _history(db_session: Session, record_id: str) -> list[tuple[int, str, str, str | None]]:
    record = db_session.scalars(select(Record).where(Record.record_id == record_id)).one()
    versions = db_session.scalars(
        select(RecordVersion)
        .where(RecordVersion.record_pk == record.id)
        .order_by(RecordVersion.version)
    ).all()
    return [(v.version, v.change, v.title, v.reason) for v in versions]


def _changes(world: World, record_id: str) -> list[str]:
    feed = world.http.get("/v1/public/changes?since=2000-01-01T00:00:00Z&page_size=100").json
    return [c["change"] for c in feed["items"] if c["record_id"] == record_id]  # type: ignore[index]


def test_correct_then_withdraw(world: World, db_session: Session) -> None:
    department = world.party(kind="department", name="淄博市周村区市场监督管理局")
    entity = make_entity(db_session)
    uscc = entity.uscc or ""
    row = penalty_row(uscc, 7)
    record_id = _publish(world, department, row)
    path = f"/v1/ingest/records/{record_id}"

    corrected = world.http.put(
        path, json={**row, "title": "更正后的案由"}, headers=department.headers()
    )
    unchanged = world.http.put(
        path, json={**row, "title": "更正后的案由"}, headers=department.headers()
    )
    assert corrected.status_code == 200, corrected.get_data(as_text=True)
    assert corrected.json == {  # type: ignore[comparison-overlap]
        "record_id": record_id, "status": "active", "version": 2, "changed": True
    }  # fmt: skip
    assert unchanged.json["changed"] is False  # type: ignore[index]
    public = world.http.get(f"/v1/public/entities/{uscc}/records?kind=penalty").json
    titles = {r["record_id"]: r["title"] for r in public["items"]}  # type: ignore[index]
    assert titles[record_id] == "更正后的案由"
    # Re-sending the original batch row is now a conflict: the record says something else.
    again = world.http.post(
        "/v1/ingest/records", json={"records": [row]}, headers=department.headers()
    )
    assert again.json["rejected"][0]["status"] == 409  # type: ignore[index]

    withdrawn = world.http.post(
        f"{path}/withdraw", json={"reason": "处罚决定已被依法撤销"}, headers=department.headers()
    )
    twice = world.http.post(f"{path}/withdraw", json={"reason": "x"}, headers=department.headers())
    assert withdrawn.status_code == 200
    assert withdrawn.json["status"] == "withdrawn"  # type: ignore[index]
    assert twice.status_code == 409
    assert twice.content_type == PROBLEM
    public = world.http.get(f"/v1/public/entities/{uscc}/records?kind=penalty").json
    assert record_id not in {r["record_id"] for r in public["items"]}  # type: ignore[index]
    assert world.http.put(path, json=row, headers=department.headers()).status_code == 409

    assert _history(db_session, record_id) == [
        (1, "published", "经营超过保质期的食品案", None),
        (2, "corrected", "更正后的案由", None),
        (3, "withdrawn", "更正后的案由", "处罚决定已被依法撤销"),
    ]
    assert _changes(world, record_id) == ["published", "corrected", "withdrawn"]


def test_a_correction_keeps_kind_number_and_subject(world: World, db_session: Session) -> None:
    department = world.party(kind="department", name="淄博市周村区市场监督管理局")
    entity = make_entity(db_session)
    other = make_entity(db_session)
    row = penalty_row(entity.uscc or "", 8)
    path = f"/v1/ingest/records/{_publish(world, department, row)}"
    cases = [
        ({"document_no": "另一个文号"}, "document_no"),
        ({"uscc": other.uscc}, "uscc"),
        ({"decided_on": "2099-01-01"}, "decided_on"),
        ({"details": {}}, "details.basis"),
    ]
    for change, field in cases:
        response = world.http.put(path, json={**row, **change}, headers=department.headers())
        assert response.status_code == 400, (change, response.get_data(as_text=True))
        assert field in response.json["errors"], response.json  # type: ignore[index]


def test_only_the_publishing_department_changes_a_record(world: World, db_session: Session) -> None:
    publisher = world.party(kind="department", name="淄博市周村区市场监督管理局")
    rival = world.party(kind="department", name="淄博市周村区应急管理局")
    bank = world.party()
    row = penalty_row(make_entity(db_session).uscc or "", 9)
    record_id = _publish(world, publisher, row)
    path = f"/v1/ingest/records/{record_id}"

    assert world.http.put(path, json=row, headers=rival.headers()).status_code == 404
    refused = world.http.post(f"{path}/withdraw", json={"reason": "x"}, headers=rival.headers())
    assert refused.status_code == 404
    assert world.http.put(path, json=row, headers=bank.headers()).status_code == 403
    missing = world.http.post(
        "/v1/ingest/records/rec_missing/withdraw", json={"reason": "x"},
        headers=publisher.headers(),
    )  # fmt: skip
    assert missing.status_code == 404
    blank = world.http.post(f"{path}/withdraw", json={"reason": ""}, headers=publisher.headers())
    assert blank.status_code == 400
    assert [v[1] for v in _history(db_session, record_id)] == ["published"]


def test_the_history_is_append_only(world: World, db_session: Session) -> None:
    department = world.party(kind="department", name="淄博市周村区市场监督管理局")
    _publish(world, department, penalty_row(make_entity(db_session).uscc or "", 10))

    for statement in ("UPDATE record_versions SET title = 'x'", "DELETE FROM record_versions"):
        with pytest.raises(DBAPIError, match="append-only"):
            with db_session.begin_nested():
                db_session.execute(text(statement))
