"""Credit repair over HTTP: a subject asks once a penalty's minimum publication period has
passed (three months after the decision, a year in the safety domains), the record's department
approves or denies, and an approval takes the penalty out of every public view at once while
partners under consent still see it."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from credit import clock
from credit.disclosure import add_months, add_years
from credit.models import Record, RecordVersion
from tests.api.consents.conftest import Party, SignedIn, World
from tests.api.objections.conftest import (
    EMERGENCY,
    MARKET,
    PROBLEM,
    audit_events,
    changes_of,
    penalty,
    post_as,
    public_records,
    publish,
    report_records,
)

MINE = "/v1/me/repairs"
REASON = "已全额缴纳罚款并完成整改，申请提前停止公示。"
NOTE = "已履行行政处罚决定并完成整改，准予信用修复。"


def _ask(
    world: World, owner: SignedIn, record_id: str, request_id: str | None = None
) -> TestResponse:
    return post_as(world, owner, MINE, {"record_id": record_id, "reason": REASON}, request_id)


def _asked(world: World, owner: SignedIn, record_id: str) -> str:
    response = _ask(world, owner, record_id)
    assert response.status_code == 201, response.get_data(as_text=True)
    return str(response.json["repair_id"])  # type: ignore[index]


def _decide(
    world: World,
    department: Party,
    repair_id: str,
    decision: str,
    note: str = NOTE,
    request_id: str | None = None,
) -> TestResponse:
    path = f"/v1/repairs/{repair_id}/decide"
    return post_as(world, department, path, {"decision": decision, "note": note}, request_id)


def _mine(world: World, owner: SignedIn, repair_id: str) -> dict[str, Any]:
    response = world.http.get(f"{MINE}/{repair_id}", headers=owner.headers())
    assert response.status_code == 200, response.get_data(as_text=True)
    return dict(response.json)  # type: ignore[arg-type]


def _penalty_counts(world: World, uscc: str) -> int:
    response = world.http.get(f"/v1/public/entities/{uscc}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return int(response.json["public_record_counts"]["penalty"])  # type: ignore[index]


def _first_allowed_day(months: int = 0, years: int = 0) -> tuple[date, date]:
    """A day D a few days ahead and the decision date from which repair is allowed on D.

    D is chosen so that counting back and forth again lands on D (no month-end clamping).
    """
    for ahead in range(1, 10):
        day = clock.today() + timedelta(days=ahead)
        decided = add_years(add_months(day, -months), -years)
        if add_years(add_months(decided, months), years) == day:
            return day, decided
    raise AssertionError("no day without month-end clamping in the next ten days")


def _eve(day: date) -> datetime:
    """The last second of the day before `day`, in China."""
    return datetime(day.year, day.month, day.day, tzinfo=clock.CHINA_TZ) - timedelta(seconds=1)


def _dawn(day: date) -> datetime:
    """The first second of `day`, in China."""
    return datetime(day.year, day.month, day.day, 0, 0, 1, tzinfo=clock.CHINA_TZ)


def test_repair_is_refused_until_three_months_after_the_decision(
    world: World, db_session: Session
) -> None:
    department = world.party(kind="department", name=MARKET)
    owner = world.subject(with_records=False)
    allowed, decided = _first_allowed_day(months=3)
    [record_id] = publish(world, department, penalty(owner.subject.uscc or "", 1, decided))

    with clock.frozen_at(_eve(allowed)):
        early = _ask(world, owner, record_id)
    with clock.frozen_at(_dawn(allowed)):
        on_time = _ask(world, owner, record_id, request_id="repair-file-000001")

    assert early.status_code == 409, early.get_data(as_text=True)
    assert early.content_type == PROBLEM
    assert allowed.isoformat() in early.json["detail"]  # type: ignore[index]
    assert on_time.status_code == 201, on_time.get_data(as_text=True)
    body = on_time.json
    assert body is not None
    assert body["repair_id"].startswith("rep_")
    assert (body["status"], body["record_id"], body["reason"]) == ("pending", record_id, REASON)
    assert body["note"] is None
    assert body["decided_at"] is None
    [event] = audit_events(db_session, "repair.file", target=body["repair_id"])
    assert (event.actor, event.actor_kind) == (owner.subject.subject_id, "subject")
    assert event.request_id == "repair-file-000001"
    assert event.details["record_id"] == record_id
    # The refused request left nothing behind.
    listed = world.http.get(MINE, headers=owner.headers()).json["items"]  # type: ignore[index]
    assert [r["repair_id"] for r in listed] == [body["repair_id"]]
    assert len(audit_events(db_session, "repair.file", actor=owner.subject.subject_id)) == 1


def test_in_the_safety_domains_repair_waits_a_year(world: World) -> None:
    department = world.party(kind="department", name=EMERGENCY)
    owner = world.subject(with_records=False)
    uscc = owner.subject.uscc or ""
    allowed, decided = _first_allowed_day(years=1)
    serious = {**penalty(uscc, 1)["details"], "severity": "serious", "fine_amount": "200000.00"}
    work_safety, food_safety = publish(
        world,
        department,
        penalty(uscc, 1, decided, details={**serious, "domain": "work_safety"}),
        penalty(uscc, 2, decided, details={**serious, "domain": "food_safety"}),
    )

    with clock.frozen_at(_eve(allowed)):
        early = _ask(world, owner, work_safety)
        other_domain = _ask(world, owner, food_safety)
    with clock.frozen_at(_dawn(allowed)):
        on_time = _ask(world, owner, work_safety)

    assert early.status_code == 409, early.get_data(as_text=True)
    assert allowed.isoformat() in early.json["detail"]  # type: ignore[index]
    assert other_domain.status_code == 201, other_domain.get_data(as_text=True)
    assert on_time.status_code == 201, on_time.get_data(as_text=True)


def test_only_a_published_penalty_of_ones_own_is_repaired(world: World) -> None:
    department = world.party(kind="department", name=MARKET)
    owner = world.subject(with_records=False)
    stranger = world.subject(with_records=False)
    uscc = owner.subject.uscc or ""
    today = clock.today()
    licence = {
        "kind": "license",
        "document_no": "JY13703060012345",
        "title": "食品经营许可",
        "decided_on": add_months(today, -6).isoformat(),
        "uscc": uscc,
        "details": {
            "license_name": "食品经营许可证",
            "license_no": "JY13703060012345",
            "valid_from": add_months(today, -6).isoformat(),
            "valid_until": add_years(today, 4).isoformat(),
        },
    }
    past_its_period = penalty(uscc, 2, add_years(today, -1) - timedelta(days=30))
    licence_id, expired_id, withdrawn_id, pending_id = publish(
        world, department, licence, past_its_period, penalty(uscc, 3), penalty(uscc, 4)
    )
    [theirs] = publish(world, department, penalty(stranger.subject.uscc or "", 5))
    assert set(public_records(world, uscc)) == {licence_id, withdrawn_id, pending_id}
    gone = world.http.post(
        f"/v1/ingest/records/{withdrawn_id}/withdraw",
        json={"reason": "处罚决定已被依法撤销"},
        headers=department.headers(),
    )
    assert gone.status_code == 200, gone.get_data(as_text=True)
    first = _asked(world, owner, pending_id)

    refused = {
        "licence": _ask(world, owner, licence_id),
        "expired": _ask(world, owner, expired_id),
        "withdrawn": _ask(world, owner, withdrawn_id),
        "pending": _ask(world, owner, pending_id),
    }
    on_theirs = _ask(world, owner, theirs)
    on_unknown = _ask(world, owner, "rec_" + "0" * 20)

    for what, response in refused.items():
        assert response.status_code == 409, (what, response.get_data(as_text=True))
        assert response.content_type == PROBLEM
    assert first in refused["pending"].json["detail"]  # type: ignore[index]
    assert on_theirs.status_code == on_unknown.status_code == 404
    leaked, unknown = dict(on_theirs.json), dict(on_unknown.json)  # type: ignore[arg-type]
    assert leaked.pop("detail").replace(theirs, "rec_" + "0" * 20) == unknown.pop("detail")
    leaked.pop("request_id")
    unknown.pop("request_id")
    assert leaked == unknown
    listed = world.http.get(MINE, headers=owner.headers()).json["items"]  # type: ignore[index]
    assert [r["repair_id"] for r in listed] == [first]


def test_an_approved_repair_ends_the_publication_at_once(world: World, db_session: Session) -> None:
    department = world.party(kind="department", name=MARKET)
    bank = world.party()
    owner = world.subject(with_records=False)
    uscc = owner.subject.uscc or ""
    record_id, bystander = publish(world, department, penalty(uscc, 1), penalty(uscc, 2))
    _consent_id, token = world.consent(bank, owner, categories=("administrative",))
    assert token is not None
    with clock.frozen_at(clock.now()):
        yesterday = clock.today() - timedelta(days=1)
        assert _penalty_counts(world, uscc) == 2
        repair_id = _asked(world, owner, record_id)
        original_end = _mine(world, owner, repair_id)["publish_until"]

        approved = _decide(world, department, repair_id, "approved", request_id="repair-decide-01")

        assert approved.status_code == 200, approved.get_data(as_text=True)
        body = approved.json
        assert body is not None
        assert (body["status"], body["note"]) == ("approved", NOTE)
        assert body["publish_until"] == yesterday.isoformat() != original_end
        assert _penalty_counts(world, uscc) == 1
        assert set(public_records(world, uscc)) == {bystander}
        assert changes_of(world, record_id) == ["published", "corrected"]
        assert changes_of(world, bystander) == ["published"]
        under_consent = report_records(world, bank, owner.subject.subject_id, token)
        assert under_consent[record_id]["public"] is False
        assert under_consent[record_id]["publish_until"] == yesterday.isoformat()
        assert under_consent[bystander]["public"] is True
        listed = world.http.get(MINE, headers=owner.headers()).json["items"]  # type: ignore[index]
        assert [(r["repair_id"], r["status"], r["note"], r["publish_until"]) for r in listed] == [
            (repair_id, "approved", NOTE, yesterday.isoformat())
        ]
        one = _mine(world, owner, repair_id)
        assert (one["status"], one["publish_until"]) == ("approved", yesterday.isoformat())
        assert one["decided_at"] is not None
        queue = world.http.get("/v1/repairs?status=approved", headers=department.headers())
        assert [r["repair_id"] for r in queue.json["items"]] == [repair_id]  # type: ignore[index]

        twice = _decide(world, department, repair_id, "denied", "改为不予修复")

        assert twice.status_code == 409
        assert twice.content_type == PROBLEM
        assert _mine(world, owner, repair_id)["status"] == "approved"
        assert set(public_records(world, uscc)) == {bystander}
    [event] = audit_events(db_session, "repair.decide", target=repair_id)
    assert (event.actor, event.actor_kind) == (department.client_id, "department")
    assert event.request_id == "repair-decide-01"
    assert event.details == {"record_id": record_id, "decision": "approved"}
    assert len(audit_events(db_session, "repair.file", target=repair_id)) == 1
    record = db_session.scalars(select(Record).where(Record.record_id == record_id)).one()
    history = db_session.scalars(
        select(RecordVersion.change)
        .where(RecordVersion.record_pk == record.id)
        .order_by(RecordVersion.version)
    ).all()
    assert history == ["published", "repaired"]


def test_a_denied_repair_leaves_the_record_public(world: World, db_session: Session) -> None:
    department = world.party(kind="department", name=MARKET)
    owner = world.subject(with_records=False)
    uscc = owner.subject.uscc or ""
    [record_id] = publish(world, department, penalty(uscc, 1))
    repair_id = _asked(world, owner, record_id)
    end = _mine(world, owner, repair_id)["publish_until"]

    denied = _decide(world, department, repair_id, "denied", "整改尚未完成。")

    assert denied.status_code == 200, denied.get_data(as_text=True)
    assert denied.json["status"] == "denied"  # type: ignore[index]
    assert denied.json["publish_until"] == end  # type: ignore[index]
    assert set(public_records(world, uscc)) == {record_id}
    assert public_records(world, uscc)[record_id]["publish_until"] == end
    assert _penalty_counts(world, uscc) == 1
    assert changes_of(world, record_id) == ["published"]
    one = _mine(world, owner, repair_id)
    assert (one["status"], one["note"]) == ("denied", "整改尚未完成。")
    assert _decide(world, department, repair_id, "approved").status_code == 409
    assert set(public_records(world, uscc)) == {record_id}
    [event] = audit_events(db_session, "repair.decide", target=repair_id)
    assert event.details["decision"] == "denied"
    # Decided, the subject may ask again.
    assert _ask(world, owner, record_id).status_code == 201


def test_only_the_records_department_decides(world: World, db_session: Session) -> None:
    department = world.party(kind="department", name=MARKET)
    rival = world.party(kind="department", name=EMERGENCY)
    resolver_only = world.party(kind="department", name=MARKET, scopes=("objections.resolve",))
    bank = world.party()
    owner = world.subject(with_records=False)
    uscc = owner.subject.uscc or ""
    [record_id] = publish(world, department, penalty(uscc, 1))
    repair_id = _asked(world, owner, record_id)

    by_rival = _decide(world, rival, repair_id, "approved")
    by_rival_unknown = _decide(world, rival, "rep_" + "0" * 20, "approved")
    by_resolver = _decide(world, resolver_only, repair_id, "approved")
    by_bank = _decide(world, bank, repair_id, "approved")
    anonymous = world.http.post(
        f"/v1/repairs/{repair_id}/decide", json={"decision": "approved", "note": NOTE}
    )

    assert by_rival.status_code == by_rival_unknown.status_code == 404
    assert by_rival.content_type == PROBLEM
    assert by_rival.json["type"] == by_rival_unknown.json["type"]  # type: ignore[index]
    assert by_resolver.status_code == by_bank.status_code == 403
    assert anonymous.status_code == 401
    assert _mine(world, owner, repair_id)["status"] == "pending"
    assert set(public_records(world, uscc)) == {record_id}
    assert audit_events(db_session, "repair.decide", target=repair_id) == []
    rivals_queue = world.http.get("/v1/repairs", headers=rival.headers())
    assert rivals_queue.json["items"] == []  # type: ignore[index]
    own_queue = world.http.get("/v1/repairs?status=pending", headers=department.headers())
    assert [r["repair_id"] for r in own_queue.json["items"]] == [repair_id]  # type: ignore[index]
    # Another subject does not see the request.
    stranger = world.subject(with_records=False)
    assert world.http.get(f"{MINE}/{repair_id}", headers=stranger.headers()).status_code == 404
    assert world.http.get(MINE, headers=stranger.headers()).json["items"] == []  # type: ignore[index]


def test_bad_requests_and_decisions_are_problems(world: World) -> None:
    department = world.party(kind="department", name=MARKET)
    owner = world.subject(with_records=False)
    [record_id] = publish(world, department, penalty(owner.subject.uscc or "", 1))
    requests = [
        ({}, {"record_id", "reason"}),
        ({"record_id": record_id, "reason": "  "}, {"reason"}),
        ({"record_id": record_id, "reason": "修" * 2001}, {"reason"}),
        ({"record_id": "REC-1", "reason": REASON}, {"record_id"}),
        ({"record_id": record_id, "reason": REASON, "urgent": True}, {"urgent"}),
    ]
    for body, fields in requests:
        response = world.http.post(MINE, json=body, headers=owner.headers())
        assert response.status_code in (400, 422), (body, response.get_data(as_text=True))
        assert response.content_type == PROBLEM
        assert set(response.json["errors"]) == fields, response.json  # type: ignore[index]
    assert world.http.get(MINE, headers=owner.headers()).json["items"] == []  # type: ignore[index]
    repair_id = _asked(world, owner, record_id)
    decisions = [
        ({"decision": "pending", "note": NOTE}, {"decision"}),
        ({"decision": "yes", "note": NOTE}, {"decision"}),
        ({"decision": "approved"}, {"note"}),
        ({"decision": "approved", "note": ""}, {"note"}),
        ({"decision": "approved", "note": NOTE, "publish_until": "2020-01-01"}, {"publish_until"}),
    ]
    for body, fields in decisions:
        response = world.http.post(
            f"/v1/repairs/{repair_id}/decide", json=body, headers=department.headers()
        )
        assert response.status_code in (400, 422), (body, response.get_data(as_text=True))
        assert response.content_type == PROBLEM
        assert set(response.json["errors"]) == fields, response.json  # type: ignore[index]
    assert _mine(world, owner, repair_id)["status"] == "pending"


def test_a_correction_after_an_approved_repair_keeps_the_penalty_unpublished(
    world: World,
) -> None:
    department = world.party(kind="department", name=MARKET)
    owner = world.subject(with_records=False)
    uscc = owner.subject.uscc or ""
    row = penalty(uscc, 1)
    [record_id] = publish(world, department, row)
    repair_id = _asked(world, owner, record_id)
    assert _decide(world, department, repair_id, "approved").status_code == 200
    assert record_id not in public_records(world, uscc)

    corrected = world.http.put(
        f"/v1/ingest/records/{record_id}",
        json={**row, "title": "更正后的案由"},
        headers=department.headers(),
    )

    assert corrected.status_code == 200, corrected.get_data(as_text=True)
    assert record_id not in public_records(world, uscc)
    assert _penalty_counts(world, uscc) == 0


def test_resending_a_repaired_penalty_is_a_duplicate(world: World) -> None:
    department = world.party(kind="department", name=MARKET)
    owner = world.subject(with_records=False)
    row = penalty(owner.subject.uscc or "", 1)
    [record_id] = publish(world, department, row)
    repair_id = _asked(world, owner, record_id)
    assert _decide(world, department, repair_id, "approved").status_code == 200

    again = world.http.post(
        "/v1/ingest/records", json={"records": [row]}, headers=department.headers()
    )

    assert again.status_code == 200, again.get_data(as_text=True)
    assert again.json["rejected"] == []  # type: ignore[index]
    assert again.json["records"] == [  # type: ignore[index]
        {"index": 0, "record_id": record_id, "outcome": "duplicate"}
    ]


@pytest.mark.parametrize("field", ["reason", "note"])
def test_control_characters_in_a_repair_are_refused(world: World, field: str) -> None:
    department = world.party(kind="department", name=MARKET)
    owner = world.subject(with_records=False)
    [record_id] = publish(world, department, penalty(owner.subject.uscc or "", 1))
    text = "已整改\x00完毕"
    if field == "reason":
        response = world.http.post(
            MINE, json={"record_id": record_id, "reason": text}, headers=owner.headers()
        )
    else:
        response = _decide(world, department, _asked(world, owner, record_id), "denied", text)

    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.content_type == PROBLEM
    assert set(response.json["errors"]) == {field}  # type: ignore[index]
