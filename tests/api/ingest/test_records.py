"""POST /v1/ingest/records over HTTP: per-row answers, idempotency, who may push, bad bodies."""

from __future__ import annotations

import json

from sqlalchemy.orm import Session

from tests.api.consents.conftest import World
from tests.factories import make_entity, penalty_row

PROBLEM = "application/problem+json"
PATH = "/v1/ingest/records"


def test_a_batch_answers_row_by_row_and_is_idempotent(world: World, db_session: Session) -> None:
    department = world.party(kind="department", name="淄博市周村区市场监督管理局")
    entity = make_entity(db_session)
    uscc = entity.uscc or ""
    rows = [
        penalty_row(uscc, 1),
        penalty_row(uscc, 2, details={**penalty_row(uscc, 2)["details"], "fine_amount": "-1"}),
        penalty_row(uscc, 3),
    ]

    first = world.http.post(PATH, json={"records": rows}, headers=department.headers())
    again = world.http.post(PATH, json={"records": rows}, headers=department.headers())

    assert first.status_code == again.status_code == 200, first.get_data(as_text=True)
    body = first.json
    assert body is not None
    assert (body["accepted"], body["duplicates"]) == (2, 0)
    assert [(r["index"], r["outcome"]) for r in body["records"]] == [(0, "created"), (2, "created")]
    assert body["rejected"] == [
        {
            "index": 1,
            "status": 422,
            "errors": {"details.fine_amount": ["An amount must not be negative."]},
        }
    ]
    assert (again.json["accepted"], again.json["duplicates"]) == (0, 2)  # type: ignore[index]
    public = world.http.get(f"/v1/public/entities/{uscc}/records?kind=penalty").json
    assert {r["record_id"] for r in public["items"]} >= {  # type: ignore[index]
        r["record_id"] for r in body["records"]
    }


def test_only_departments_push(world: World) -> None:
    bank = world.party()
    court = world.party(kind="judicial", categories=("judicial",))
    record = {"records": [{"kind": "penalty"}]}

    assert world.http.post(PATH, json=record).status_code == 401
    refused = world.http.post(PATH, json=record, headers=bank.headers())
    assert refused.status_code == 403
    assert 'error="insufficient_scope"' in refused.headers["WWW-Authenticate"]
    assert world.http.post(PATH, json=record, headers=court.headers()).status_code == 403


def test_bad_bodies_are_4xx_problems(world: World) -> None:
    department = world.party(kind="department", name="淄博市周村区税务局")
    headers = department.headers()
    cases = [
        (world.http.post(PATH, json={}, headers=headers), 400),
        (world.http.post(PATH, json={"records": []}, headers=headers), 400),
        (world.http.post(PATH, json={"records": "x"}, headers=headers), 400),
        (world.http.post(PATH, json={"records": [{}] * 1001}, headers=headers), 400),
        (
            world.http.post(
                PATH, data=b"{", headers={**headers, "Content-Type": "application/json"}
            ),
            400,
        ),
        (
            world.http.post(
                PATH,
                data=json.dumps({"records": [{"kind": "penalty"}]}),
                headers={**headers, "Content-Type": "text/csv"},
            ),
            415,
        ),
        (
            world.http.post(
                PATH,
                data=json.dumps({"records": [{"title": "x" * 5000}] * 1000}),
                headers={**headers, "Content-Type": "application/json"},
            ),
            413,
        ),
    ]
    for response, status in cases:
        assert response.status_code == status, response.get_data(as_text=True)[:300]
        assert response.content_type == PROBLEM
