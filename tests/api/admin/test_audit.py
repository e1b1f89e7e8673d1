"""The audit trail: every department and operator write is recorded with who, what, on what and
under which request, listed for the operator at `/v1/admin/audit`, and append-only in the
database."""

from __future__ import annotations

import getpass
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from api.config import normalize_database_url
from api.database import make_engine
from credit.models import AuditEvent
from tests.api.consents.conftest import Party, World
from tests.factories import make_entity, new_uscc, penalty_row
from tests.live import command_environment

PROBLEM = "application/problem+json"
TRAIL = "/v1/admin/audit"
MARKET = "淄博市周村区市场监督管理局"
EMERGENCY = "淄博市周村区应急管理局"
XINYONG = str(Path(sys.executable).parent / "xinyong")


def _as(party: Party, request_id: str) -> dict[str, str]:
    return party.headers(**{"X-Request-ID": request_id})


def _publish(world: World, department: Party, request_id: str, *rows: dict[str, Any]) -> Any:
    response = world.http.post(
        "/v1/ingest/records", json={"records": list(rows)}, headers=_as(department, request_id)
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json


def _trail(world: World, admin: Party, **query: Any) -> TestResponse:
    return world.http.get(TRAIL, query_string=query, headers=admin.headers())


def _every_page(world: World, admin: Party, **query: Any) -> tuple[list[dict[str, Any]], int]:
    """All events matching `query`, following the cursors, and the number of pages."""
    items: list[dict[str, Any]] = []
    pages = 0
    while True:
        response = _trail(world, admin, **query)
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.json
        assert body is not None
        pages += 1
        items += body["items"]
        if body["next_cursor"] is None:
            return items, pages
        query["cursor"] = body["next_cursor"]


def _steps(items: list[dict[str, Any]]) -> list[tuple[str, str | None, str | None]]:
    return [(e["action"], e["target"], e["request_id"]) for e in items]


def test_only_the_operator_reads_the_trail(world: World) -> None:
    admin = world.party(kind="admin")
    bank = world.party()
    department = world.party(kind="department", name=MARKET)
    owner = world.subject(with_records=False)

    assert _trail(world, admin).status_code == 200
    for reader in (bank, department, owner):
        refused = world.http.get(TRAIL, headers=reader.headers())
        assert refused.status_code == 403, refused.get_data(as_text=True)
        assert refused.content_type == PROBLEM
        assert 'error="insufficient_scope"' in refused.headers["WWW-Authenticate"]
    anonymous = world.http.get(TRAIL)
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")


def test_the_trail_lists_newest_first_with_filters_and_cursors(
    world: World, db_session: Session
) -> None:
    admin = world.party(kind="admin")
    market = world.party(kind="department", name=MARKET)
    emergency = world.party(kind="department", name=EMERGENCY)
    uscc = make_entity(db_session).uscc or ""
    rows = [penalty_row(uscc, n) for n in (1, 2, 3)]
    first = _publish(world, market, "batch-000001", rows[0])
    _publish(world, market, "batch-000002", rows[1])
    _publish(world, market, "batch-000003", rows[2])
    _publish(world, emergency, "batch-000004", penalty_row(uscc, 4))
    record_id = first["records"][0]["record_id"]
    corrected = world.http.put(
        f"/v1/ingest/records/{record_id}",
        json={**rows[0], "title": "更正后的案由"},
        headers=_as(market, "correct-0001"),
    )
    assert corrected.status_code == 200, corrected.get_data(as_text=True)
    withdrawn = world.http.post(
        f"/v1/ingest/records/{record_id}/withdraw",
        json={"reason": "处罚决定已被依法撤销"},
        headers=_as(market, "withdraw-001"),
    )
    assert withdrawn.status_code == 200, withdrawn.get_data(as_text=True)

    by_market, pages = _every_page(world, admin, actor=market.client_id, page_size=2)

    assert pages == 3
    assert _steps(by_market) == [
        ("record.withdraw", record_id, "withdraw-001"),
        ("record.correct", record_id, "correct-0001"),
        ("records.ingest", MARKET, "batch-000003"),
        ("records.ingest", MARKET, "batch-000002"),
        ("records.ingest", MARKET, "batch-000001"),
    ]
    assert {(e["actor"], e["actor_kind"]) for e in by_market} == {(market.client_id, "department")}
    times = [datetime.fromisoformat(e["at"]) for e in by_market]
    assert all(t.utcoffset() is not None for t in times)
    assert times == sorted(times, reverse=True)
    newest = _trail(world, admin, page_size=3).json["items"]  # type: ignore[index]
    assert [e["request_id"] for e in newest] == ["withdraw-001", "correct-0001", "batch-000004"]
    ingests, _ = _every_page(world, admin, action="records.ingest")
    assert [e["request_id"] for e in ingests][:4] == [
        "batch-000004",
        "batch-000003",
        "batch-000002",
        "batch-000001",
    ]
    on_record, _ = _every_page(world, admin, target=record_id)
    assert _steps(on_record) == _steps(by_market)[:2]
    both, _ = _every_page(world, admin, actor=emergency.client_id, action="records.ingest")
    assert [(e["actor"], e["request_id"]) for e in both] == [(emergency.client_id, "batch-000004")]
    assert _every_page(world, admin, actor=emergency.client_id, action="record.correct")[0] == []

    cursor = _trail(world, admin, actor=market.client_id, page_size=2).json["next_cursor"]  # type: ignore[index]
    for bad in (
        {"actor": emergency.client_id, "page_size": 2, "cursor": cursor},
        {"page_size": 0},
        {"page_size": 101},
        {"cursor": "not-a-cursor"},
        {"actor": "c" * 65},
        {"action": ""},
        {"target": "t" * 201},
    ):
        response = _trail(world, admin, **bad)
        assert response.status_code == 400, (bad, response.get_data(as_text=True))
        assert response.content_type == PROBLEM


def test_department_writes_are_audited_with_the_request_id(
    world: World, db_session: Session
) -> None:
    admin = world.party(kind="admin")
    market = world.party(kind="department", name=MARKET)
    uscc = new_uscc()
    registration = {"name": "淄博市周村区审计测试丝绸有限公司", "kind": "enterprise"}
    registered = world.http.put(
        f"/v1/ingest/entities/{uscc}", json=registration, headers=_as(market, "register-001")
    )
    updated = world.http.put(
        f"/v1/ingest/entities/{uscc}",
        json={**registration, "address": "山东省淄博市周村区正阳路126号"},
        headers=_as(market, "update-00001"),
    )
    assert (registered.status_code, updated.status_code) == (201, 200), updated.json
    rows = [
        penalty_row(uscc, 1),
        penalty_row(uscc, 2, decided_on="2099-01-01"),
        penalty_row(uscc, 3),
    ]
    batch = _publish(world, market, "batch-000001", *rows)
    again = _publish(world, market, "batch-000002", *rows)
    created = [r["record_id"] for r in batch["records"]]
    assert len(created) == 2
    assert again["duplicates"] == 2
    path = f"/v1/ingest/records/{created[0]}"
    corrected = world.http.put(
        path, json={**rows[0], "title": "更正后的案由"}, headers=_as(market, "correct-0001")
    )
    unchanged = world.http.put(
        path, json={**rows[0], "title": "更正后的案由"}, headers=_as(market, "correct-0002")
    )
    withdrawn = world.http.post(
        f"{path}/withdraw",
        json={"reason": "处罚决定已被依法撤销"},
        headers=_as(market, "withdraw-001"),
    )
    twice = world.http.post(
        f"{path}/withdraw", json={"reason": "再次撤回"}, headers=_as(market, "withdraw-002")
    )
    assert (corrected.status_code, unchanged.status_code) == (200, 200)
    assert unchanged.json["changed"] is False  # type: ignore[index]
    assert (withdrawn.status_code, twice.status_code) == (200, 409)

    events, _ = _every_page(world, admin, actor=market.client_id)

    assert [(e["action"], e["target"], e["request_id"], e["details"]) for e in events] == [
        ("record.withdraw", created[0], "withdraw-001", {"version": 3}),
        ("record.correct", created[0], "correct-0001", {"version": 2}),
        (
            "records.ingest",
            MARKET,
            "batch-000002",
            {"accepted": 0, "duplicates": 2, "rejected": 1, "created": []},
        ),
        (
            "records.ingest",
            MARKET,
            "batch-000001",
            {"accepted": 2, "duplicates": 0, "rejected": 1, "created": created},
        ),
        ("entity.update", uscc, "update-00001", {"fields": ["address", "kind", "name"]}),
        ("entity.register", uscc, "register-001", {"fields": ["kind", "name"]}),
    ]
    assert {e["actor_kind"] for e in events} == {"department"}
    # The trail in the database says the same as the listing.
    stored = db_session.scalars(
        select(AuditEvent.request_id)
        .where(AuditEvent.actor == market.client_id)
        .order_by(AuditEvent.id)
    ).all()
    assert stored == [e["request_id"] for e in reversed(events)]


def test_refused_writes_leave_no_trace(world: World, db_session: Session) -> None:
    market = world.party(kind="department", name=MARKET)
    rival = world.party(kind="department", name=EMERGENCY)
    bank = world.party()
    uscc = make_entity(db_session).uscc or ""
    row = penalty_row(uscc, 1)
    record_id = _publish(world, market, "batch-000001", row)["records"][0]["record_id"]
    path = f"/v1/ingest/records/{record_id}"

    attempts = [
        world.http.put(path, json={**row, "title": "x"}, headers=rival.headers()),
        world.http.post(f"{path}/withdraw", json={"reason": "x"}, headers=rival.headers()),
        world.http.post(f"{path}/withdraw", json={"reason": ""}, headers=market.headers()),
        world.http.put(path, json={**row, "document_no": "另一个"}, headers=market.headers()),
        world.http.post("/v1/ingest/records", json={"records": []}, headers=market.headers()),
        world.http.post("/v1/ingest/records", json={"records": [row]}, headers=bank.headers()),
    ]

    assert [a.status_code for a in attempts] == [404, 404, 400, 400, 400, 403]
    actions = db_session.scalars(
        select(AuditEvent.action).where(
            AuditEvent.actor.in_([market.client_id, rival.client_id, bank.client_id])
        )
    ).all()
    assert actions == ["records.ingest"]


def test_the_trail_is_append_only(world: World, db_session: Session) -> None:
    market = world.party(kind="department", name=MARKET)
    _publish(world, market, "batch-000001", penalty_row(make_entity(db_session).uscc or "", 1))
    assert db_session.scalar(select(AuditEvent.id).limit(1)) is not None

    for statement in (
        "UPDATE audit_events SET actor = 'someone else'",
        "UPDATE audit_events SET details = details",
        "DELETE FROM audit_events",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            with db_session.begin_nested():
                db_session.execute(text(statement))
    assert (
        db_session.scalar(select(AuditEvent.actor).where(AuditEvent.actor == market.client_id))
        == market.client_id
    )


def test_the_trail_cannot_be_truncated(
    world: World, db_session: Session, is_postgres: bool
) -> None:
    if not is_postgres:
        pytest.skip("TRUNCATE is a PostgreSQL statement (SQLite's DELETE is guarded above)")
    market = world.party(kind="department", name=MARKET)
    _publish(world, market, "batch-000001", penalty_row(make_entity(db_session).uscc or "", 1))

    with pytest.raises(DBAPIError, match="append-only"):
        with db_session.begin_nested():
            db_session.execute(text("TRUNCATE audit_events"))


# --- the operator's command line ---------------------------------------------------------------


@pytest.fixture
def command_env(tmp_path: Path, database_url: str, is_postgres: bool) -> Iterator[dict[str, str]]:
    """An environment for the commands, with its own instance folder and migrated database."""
    with command_environment(
        tmp_path / "instance", database_url, is_postgres=is_postgres, suffix="audit_cli"
    ) as env:
        _run(env, "db", "upgrade")
        yield env


def _run(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(  # noqa: S603  (our own command, fixed arguments)
        [XINYONG, *args], env=env, capture_output=True, text=True, timeout=120
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


def _commands_trail(env: dict[str, str]) -> list[AuditEvent]:
    url = env.get("XINYONG_DATABASE_URL") or (
        f"sqlite:///{Path(env['XINYONG_INSTANCE_PATH']) / 'xinyong.sqlite3'}"
    )
    engine = make_engine(normalize_database_url(url))
    try:
        with Session(engine) as session:
            return list(session.scalars(select(AuditEvent).order_by(AuditEvent.id)))
    finally:
        engine.dispose()


def _operator() -> str:
    """The operator as the commands name them: `cli:` and the login name (or the uid)."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return f"cli:uid{os.getuid()}"


def test_operator_commands_are_audited(command_env: dict[str, str]) -> None:
    made = _run(
        command_env,
        "clients", "create", "--name", "淄博市周村区市场监督管理局", "--kind", "department",
        "--scopes", "records.write objections.resolve", "--json",
    )  # fmt: skip
    client_id = json.loads(made.stdout)["client_id"]
    _run(command_env, "clients", "suspend", client_id)
    rotated = _run(command_env, "keys", "rotate")
    kid = rotated.stdout.strip().rsplit(" ", 1)[-1]
    unknown = _run(command_env, "clients", "suspend", "cli_does_not_exist", check=False)

    assert unknown.returncode != 0
    events = _commands_trail(command_env)
    assert [(e.action, e.target) for e in events] == [
        ("client.create", client_id),
        ("client.suspend", client_id),
        ("keys.rotate", kid),
    ]
    assert {(e.actor, e.actor_kind, e.request_id) for e in events} == {
        (_operator(), "operator", None)
    }
    assert events[0].details == {
        "name": "淄博市周村区市场监督管理局",
        "kind": "department",
        "scopes": ["records.write", "objections.resolve"],
        "categories": [],
    }
    assert events[1].details == {"status": "suspended"}
    assert "client_secret" not in json.dumps([e.details for e in events])
