"""Objections over HTTP: a subject disputes one of their records, the record shows `disputed`
in every view until the record's department upholds or dismisses it, an upheld objection links
the correction or withdrawal it led to, and every step is in the audit trail."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from tests.api.consents.conftest import Party, SignedIn, World
from tests.api.objections.conftest import (
    EMERGENCY,
    MARKET,
    PROBLEM,
    audit_events,
    penalty,
    post_as,
    public_records,
    publish,
    report_records,
)

MINE = "/v1/me/objections"
REASON = "该处罚决定已被行政复议撤销，复议决定书附后。"
NOTE = "经核查，处罚决定书内容无误。"


def _object(
    world: World, owner: SignedIn, record_id: str, request_id: str | None = None
) -> TestResponse:
    return post_as(world, owner, MINE, {"record_id": record_id, "reason": REASON}, request_id)


def _filed(world: World, owner: SignedIn, record_id: str) -> str:
    response = _object(world, owner, record_id)
    assert response.status_code == 201, response.get_data(as_text=True)
    return str(response.json["objection_id"])  # type: ignore[index]


def _resolve(
    world: World,
    department: Party,
    objection_id: str,
    outcome: str,
    note: str = NOTE,
    request_id: str | None = None,
) -> TestResponse:
    path = f"/v1/objections/{objection_id}/resolve"
    return post_as(world, department, path, {"outcome": outcome, "note": note}, request_id)


def _mine(world: World, owner: SignedIn, objection_id: str) -> dict[str, Any]:
    response = world.http.get(f"{MINE}/{objection_id}", headers=owner.headers())
    assert response.status_code == 200, response.get_data(as_text=True)
    return dict(response.json)  # type: ignore[arg-type]


def _ids(response: TestResponse) -> list[str]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return [item["objection_id"] for item in response.json["items"]]  # type: ignore[index]


def _disputed_everywhere(
    world: World, owner: SignedIn, partner: Party, consent_token: str, record_id: str
) -> tuple[bool, bool, bool]:
    """`disputed` of the record in the open data, the partner's report and the subject's own."""
    subject = owner.subject
    return (
        public_records(world, subject.uscc or "")[record_id]["disputed"],
        report_records(world, partner, subject.subject_id, consent_token)[record_id]["disputed"],
        report_records(world, owner, subject.subject_id)[record_id]["disputed"],
    )


def test_an_objection_marks_the_record_disputed_everywhere(
    world: World, db_session: Session
) -> None:
    department = world.party(kind="department", name=MARKET)
    bank = world.party()
    owner = world.subject(with_records=False)
    uscc = owner.subject.uscc or ""
    record_id, bystander = publish(world, department, penalty(uscc, 1), penalty(uscc, 2))
    _consent_id, token = world.consent(bank, owner, categories=("administrative",))
    assert token is not None
    assert _disputed_everywhere(world, owner, bank, token, record_id) == (False, False, False)

    filed = _object(world, owner, record_id, request_id="objection-file-0001")

    assert filed.status_code == 201, filed.get_data(as_text=True)
    body = filed.json
    assert body is not None
    assert body["objection_id"].startswith("obj_")
    assert (body["status"], body["record_id"], body["reason"]) == ("pending", record_id, REASON)
    assert body["record_disputed"] is True
    assert body["note"] is None
    assert body["linked_version"] is None
    assert _disputed_everywhere(world, owner, bank, token, record_id) == (True, True, True)
    assert _disputed_everywhere(world, owner, bank, token, bystander) == (False, False, False)
    assert _mine(world, owner, body["objection_id"])["status"] == "pending"
    [event] = audit_events(db_session, "objection.file", target=body["objection_id"])
    assert (event.actor, event.actor_kind) == (owner.subject.subject_id, "subject")
    assert event.request_id == "objection-file-0001"
    assert event.details["record_id"] == record_id


def test_one_pending_objection_per_standing_record_of_ones_own(
    world: World, db_session: Session
) -> None:
    department = world.party(kind="department", name=MARKET)
    owner = world.subject(with_records=False)
    stranger = world.subject(with_records=False)
    record_id, withdrawn = publish(
        world,
        department,
        penalty(owner.subject.uscc or "", 1),
        penalty(owner.subject.uscc or "", 2),
    )
    [theirs] = publish(world, department, penalty(stranger.subject.uscc or "", 3))
    gone = world.http.post(
        f"/v1/ingest/records/{withdrawn}/withdraw",
        json={"reason": "处罚决定已被依法撤销"},
        headers=department.headers(),
    )
    assert gone.status_code == 200, gone.get_data(as_text=True)
    first = _filed(world, owner, record_id)

    again = _object(world, owner, record_id)
    on_withdrawn = _object(world, owner, withdrawn)
    on_theirs = _object(world, owner, theirs)
    unknown_id = "rec_" + "0" * 20
    on_unknown = _object(world, owner, unknown_id)

    assert again.status_code == 409
    assert again.content_type == PROBLEM
    assert first in again.json["detail"]  # type: ignore[index]
    assert on_withdrawn.status_code == 409
    assert on_withdrawn.content_type == PROBLEM
    # Another subject's record answers exactly like a record that does not exist.
    assert on_theirs.status_code == on_unknown.status_code == 404
    assert on_theirs.content_type == on_unknown.content_type == PROBLEM
    leaked, unknown = dict(on_theirs.json), dict(on_unknown.json)  # type: ignore[arg-type]
    assert leaked.keys() == unknown.keys()
    assert leaked.pop("detail").replace(theirs, unknown_id) == unknown.pop("detail")
    leaked.pop("request_id")
    unknown.pop("request_id")
    assert leaked == unknown
    assert public_records(world, stranger.subject.uscc or "")[theirs]["disputed"] is False
    assert _ids(world.http.get(MINE, headers=owner.headers())) == [first]
    # Only the one objection made is in the audit trail.
    filed = audit_events(db_session, "objection.file", actor=owner.subject.subject_id)
    assert [e.target for e in filed] == [first]


VALID_ID = "rec_8b1e5c0f2a9d4e7b6c31"


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        pytest.param({}, {"record_id", "reason"}, id="empty"),
        pytest.param({"record_id": VALID_ID}, {"reason"}, id="no_reason"),
        pytest.param({"record_id": VALID_ID, "reason": ""}, {"reason"}, id="empty_reason"),
        pytest.param({"record_id": VALID_ID, "reason": " \n\t"}, {"reason"}, id="blank_reason"),
        pytest.param({"record_id": VALID_ID, "reason": None}, {"reason"}, id="null_reason"),
        pytest.param({"record_id": VALID_ID, "reason": 5}, {"reason"}, id="number_reason"),
        pytest.param(
            {"record_id": VALID_ID, "reason": "理" * 2001}, {"reason"}, id="reason_too_long"
        ),
        pytest.param({"record_id": "rec_XYZ", "reason": REASON}, {"record_id"}, id="not_hex"),
        pytest.param({"record_id": "../../x", "reason": REASON}, {"record_id"}, id="path"),
        pytest.param({"record_id": "", "reason": REASON}, {"record_id"}, id="empty_id"),
        pytest.param({"record_id": 42, "reason": REASON}, {"record_id"}, id="number_id"),
        pytest.param(
            {"record_id": "rec_" + "a" * 37, "reason": REASON}, {"record_id"}, id="id_too_long"
        ),
        pytest.param(
            {"record_id": VALID_ID, "reason": REASON, "status": "upheld"},
            {"status"},
            id="unknown_field",
        ),
    ],
)
def test_bad_bodies_are_problems_with_field_errors(
    world: World, body: dict[str, Any], fields: set[str]
) -> None:
    owner = world.subject(with_records=False)

    response = world.http.post(MINE, json=body, headers=owner.headers())

    assert response.status_code in (400, 422), response.get_data(as_text=True)
    assert response.content_type == PROBLEM
    assert set(response.json["errors"]) == fields, response.json  # type: ignore[index]
    assert _ids(world.http.get(MINE, headers=owner.headers())) == []


CONTROL_CHARACTERS = [
    pytest.param("错\x00误", id="nul"),
    pytest.param("理由\x1b[2J", id="escape"),
    pytest.param("\x07理由", id="leading_bell"),
]
CONTROL_DEFECT = (
    "api/objections/schemas.py _text: the pattern ^[^\\x00-\\x08...]*\\S[\\s\\S]*$ refuses "
    "only blank text (\\S matches a control character too): a NUL is stored on SQLite and is "
    "a 500 on PostgreSQL, other control characters are stored on both"
)


@pytest.mark.parametrize("reason", CONTROL_CHARACTERS)
def test_control_characters_anywhere_in_a_reason_are_refused(world: World, reason: str) -> None:
    department = world.party(kind="department", name=MARKET)
    owner = world.subject(with_records=False)
    [record_id] = publish(world, department, penalty(owner.subject.uscc or "", 1))

    response = world.http.post(
        MINE, json={"record_id": record_id, "reason": reason}, headers=owner.headers()
    )

    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.content_type == PROBLEM
    assert set(response.json["errors"]) == {"reason"}  # type: ignore[index]
    assert _ids(world.http.get(MINE, headers=owner.headers())) == []


@pytest.mark.parametrize("note", CONTROL_CHARACTERS)
def test_control_characters_anywhere_in_a_note_are_refused(world: World, note: str) -> None:
    department = world.party(kind="department", name=MARKET)
    owner = world.subject(with_records=False)
    [record_id] = publish(world, department, penalty(owner.subject.uscc or "", 1))
    objection_id = _filed(world, owner, record_id)

    response = _resolve(world, department, objection_id, "dismissed", note)

    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.content_type == PROBLEM
    assert set(response.json["errors"]) == {"note"}  # type: ignore[index]
    assert _mine(world, owner, objection_id)["status"] == "pending"


def test_unreadable_bodies_are_problems(world: World) -> None:
    owner = world.subject(with_records=False)
    json_type = {**owner.headers(), "Content-Type": "application/json"}
    cases = [
        world.http.post(MINE, data=b"{", headers=json_type),
        world.http.post(MINE, json=[VALID_ID, REASON], headers=owner.headers()),
        world.http.post(MINE, json="rec", headers=owner.headers()),
    ]
    for response in cases:
        assert response.status_code == 400, response.get_data(as_text=True)
        assert response.content_type == PROBLEM
        assert response.json["errors"], response.json  # type: ignore[index]


def test_a_dismissal_clears_disputed_and_the_subject_reads_the_note(
    world: World, db_session: Session
) -> None:
    department = world.party(kind="department", name=MARKET)
    bank = world.party()
    owner = world.subject(with_records=False)
    [record_id] = publish(world, department, penalty(owner.subject.uscc or "", 1))
    _consent_id, token = world.consent(bank, owner, categories=("administrative",))
    assert token is not None
    objection_id = _filed(world, owner, record_id)

    resolved = _resolve(
        world, department, objection_id, "dismissed", f"  {NOTE} ", "objection-resolve-01"
    )

    assert resolved.status_code == 200, resolved.get_data(as_text=True)
    body = resolved.json
    assert body is not None
    assert (body["status"], body["note"], body["record_disputed"]) == ("dismissed", NOTE, False)
    assert body["resolved_at"] is not None
    assert body["linked_version"] is None
    assert _disputed_everywhere(world, owner, bank, token, record_id) == (False, False, False)
    listed = world.http.get(MINE, headers=owner.headers()).json["items"]  # type: ignore[index]
    assert [(o["objection_id"], o["status"], o["note"]) for o in listed] == [
        (objection_id, "dismissed", NOTE)
    ]
    one = _mine(world, owner, objection_id)
    assert (one["status"], one["note"], one["record_disputed"]) == ("dismissed", NOTE, False)
    assert one["resolved_at"] == body["resolved_at"]
    [event] = audit_events(db_session, "objection.resolve", target=objection_id)
    assert (event.actor, event.actor_kind) == (department.client_id, "department")
    assert event.request_id == "objection-resolve-01"
    assert event.details["outcome"] == "dismissed"
    assert event.details["record_id"] == record_id

    twice = _resolve(world, department, objection_id, "upheld", "改为支持")

    assert twice.status_code == 409
    assert twice.content_type == PROBLEM
    one = _mine(world, owner, objection_id)
    assert (one["status"], one["note"]) == ("dismissed", NOTE)
    assert len(audit_events(db_session, "objection.resolve", target=objection_id)) == 1
    # Resolved, the record may be objected to again.
    assert _object(world, owner, record_id).status_code == 201
    assert public_records(world, owner.subject.uscc or "")[record_id]["disputed"] is True


def test_an_upheld_objection_links_the_correction_or_withdrawal_that_follows(
    world: World,
) -> None:
    department = world.party(kind="department", name=MARKET)
    owner = world.subject(with_records=False)
    uscc = owner.subject.uscc or ""
    corrected_row, withdrawn_row = penalty(uscc, 1), penalty(uscc, 2)
    to_correct, to_withdraw = publish(world, department, corrected_row, withdrawn_row)
    first, second = _filed(world, owner, to_correct), _filed(world, owner, to_withdraw)

    upheld = _resolve(world, department, first, "upheld", "处罚对象认定有误，予以更正。")
    _resolve(world, department, second, "upheld", "处罚决定已撤销，予以撤回。")

    assert upheld.status_code == 200, upheld.get_data(as_text=True)
    assert upheld.json["status"] == "upheld"  # type: ignore[index]
    assert upheld.json["linked_version"] is None  # type: ignore[index]
    assert upheld.json["record_disputed"] is False  # type: ignore[index]
    assert public_records(world, uscc)[to_correct]["disputed"] is False
    correction = world.http.put(
        f"/v1/ingest/records/{to_correct}",
        json={**corrected_row, "title": "更正后的案由"},
        headers=department.headers(),
    )
    assert correction.status_code == 200, correction.get_data(as_text=True)
    withdrawal = world.http.post(
        f"/v1/ingest/records/{to_withdraw}/withdraw",
        json={"reason": "异议成立，撤回"},
        headers=department.headers(),
    )
    assert withdrawal.status_code == 200, withdrawal.get_data(as_text=True)

    new_version = correction.json["version"]  # type: ignore[index]
    assert new_version == 2
    assert _mine(world, owner, first)["linked_version"] == new_version
    assert _mine(world, owner, second)["linked_version"] == withdrawal.json["version"]  # type: ignore[index]
    # A later correction is not the one the objection led to.
    later = world.http.put(
        f"/v1/ingest/records/{to_correct}",
        json={**corrected_row, "title": "再次更正的案由"},
        headers=department.headers(),
    )
    assert later.json["version"] == 3  # type: ignore[index]
    assert _mine(world, owner, first)["linked_version"] == new_version


def test_upheld_after_a_correction_made_since_filing_links_that_correction(
    world: World,
) -> None:
    department = world.party(kind="department", name=MARKET)
    owner = world.subject(with_records=False)
    uscc = owner.subject.uscc or ""
    row = penalty(uscc, 1)
    [record_id] = publish(world, department, row)
    objection_id = _filed(world, owner, record_id)
    correction = world.http.put(
        f"/v1/ingest/records/{record_id}",
        json={**row, "title": "更正后的案由"},
        headers=department.headers(),
    )
    assert correction.status_code == 200, correction.get_data(as_text=True)
    # Still disputed: the objection is not answered until the department resolves it.
    assert public_records(world, uscc)[record_id]["disputed"] is True

    upheld = _resolve(world, department, objection_id, "upheld", "已更正。")

    assert upheld.status_code == 200, upheld.get_data(as_text=True)
    assert upheld.json["linked_version"] == correction.json["version"] == 2  # type: ignore[index]
    assert _mine(world, owner, objection_id)["linked_version"] == 2
    assert public_records(world, uscc)[record_id]["disputed"] is False


def test_a_dismissed_objection_links_no_correction(world: World) -> None:
    department = world.party(kind="department", name=MARKET)
    owner = world.subject(with_records=False)
    row = penalty(owner.subject.uscc or "", 1)
    [record_id] = publish(world, department, row)
    objection_id = _filed(world, owner, record_id)
    _resolve(world, department, objection_id, "dismissed")

    world.http.put(
        f"/v1/ingest/records/{record_id}",
        json={**row, "title": "更正后的案由"},
        headers=department.headers(),
    )

    assert _mine(world, owner, objection_id)["linked_version"] is None


def test_only_the_records_department_resolves(world: World, db_session: Session) -> None:
    department = world.party(kind="department", name=MARKET)
    rival = world.party(kind="department", name=EMERGENCY)
    writer_only = world.party(kind="department", name=MARKET, scopes=("records.write",))
    bank = world.party()
    owner = world.subject(with_records=False)
    uscc = owner.subject.uscc or ""
    [record_id] = publish(world, department, penalty(uscc, 1))
    objection_id = _filed(world, owner, record_id)
    unknown_id = "obj_" + "0" * 20

    by_rival = _resolve(world, rival, objection_id, "upheld")
    by_rival_unknown = _resolve(world, rival, unknown_id, "upheld")
    by_bank = _resolve(world, bank, objection_id, "dismissed")
    by_writer = _resolve(world, writer_only, objection_id, "dismissed")
    by_owner = world.http.post(
        f"/v1/objections/{objection_id}/resolve",
        json={"outcome": "dismissed", "note": NOTE},
        headers=owner.headers(),
    )
    anonymous = world.http.post(
        f"/v1/objections/{objection_id}/resolve", json={"outcome": "dismissed", "note": NOTE}
    )

    assert by_rival.status_code == by_rival_unknown.status_code == 404
    assert by_rival.content_type == PROBLEM
    assert by_rival.json["type"] == by_rival_unknown.json["type"]  # type: ignore[index]
    assert by_bank.status_code == 403
    assert 'error="insufficient_scope"' in by_bank.headers["WWW-Authenticate"]
    assert by_writer.status_code == 403
    assert by_owner.status_code == 403
    assert anonymous.status_code == 401
    one = _mine(world, owner, objection_id)
    assert (one["status"], one["note"], one["record_disputed"]) == ("pending", None, True)
    assert public_records(world, uscc)[record_id]["disputed"] is True
    assert audit_events(db_session, "objection.resolve", target=objection_id) == []
    # The rival's queue does not show it either.
    assert _ids(world.http.get("/v1/objections", headers=rival.headers())) == []


def test_bad_resolutions_are_problems(world: World) -> None:
    department = world.party(kind="department", name=MARKET)
    owner = world.subject(with_records=False)
    [record_id] = publish(world, department, penalty(owner.subject.uscc or "", 1))
    objection_id = _filed(world, owner, record_id)
    path = f"/v1/objections/{objection_id}/resolve"
    cases = [
        ({"outcome": "pending", "note": NOTE}, {"outcome"}),
        ({"outcome": "UPHELD", "note": NOTE}, {"outcome"}),
        ({"note": NOTE}, {"outcome"}),
        ({"outcome": "dismissed"}, {"note"}),
        ({"outcome": "dismissed", "note": "   "}, {"note"}),
        ({"outcome": "dismissed", "note": "注" * 2001}, {"note"}),
        ({"outcome": "dismissed", "note": NOTE, "linked_version": 2}, {"linked_version"}),
    ]
    for body, fields in cases:
        response = world.http.post(path, json=body, headers=department.headers())
        assert response.status_code in (400, 422), (body, response.get_data(as_text=True))
        assert response.content_type == PROBLEM
        assert set(response.json["errors"]) == fields, response.json  # type: ignore[index]
    assert _mine(world, owner, objection_id)["status"] == "pending"


def test_the_departments_queue_is_its_own_oldest_first_in_pages(world: World) -> None:
    market = world.party(kind="department", name=MARKET)
    emergency = world.party(kind="department", name=EMERGENCY)
    first, second = world.subject(with_records=False), world.subject(with_records=False)
    a1, a3 = publish(
        world, market, penalty(first.subject.uscc or "", 1), penalty(first.subject.uscc or "", 3)
    )
    [a2] = publish(world, market, penalty(second.subject.uscc or "", 2))
    [b1] = publish(world, emergency, penalty(first.subject.uscc or "", 4))
    o_a1 = _filed(world, first, a1)
    o_b1 = _filed(world, first, b1)
    o_a2 = _filed(world, second, a2)
    o_a3 = _filed(world, first, a3)

    def queue(party: Party, **query: Any) -> tuple[list[str], str | None]:
        response = world.http.get("/v1/objections", query_string=query, headers=party.headers())
        return _ids(response), response.json["next_cursor"]  # type: ignore[index]

    page1, cursor = queue(market, status="pending", page_size=2)
    assert page1 == [o_a1, o_a2]
    assert cursor is not None
    page2, end = queue(market, status="pending", page_size=2, cursor=cursor)
    assert page2 == [o_a3]
    assert end is None
    assert queue(emergency, status="pending") == ([o_b1], None)
    # A cursor belongs to its listing and filters.
    wrong = world.http.get(
        "/v1/objections",
        query_string={"status": "upheld", "cursor": cursor},
        headers=market.headers(),
    )
    assert wrong.status_code == 400
    assert wrong.content_type == PROBLEM
    stolen = world.http.get(
        "/v1/objections",
        query_string={"status": "pending", "cursor": cursor},
        headers=emergency.headers(),
    )
    assert stolen.status_code == 400

    assert _resolve(world, market, o_a2, "dismissed").status_code == 200
    assert queue(market, status="pending") == ([o_a1, o_a3], None)
    assert queue(market, status="dismissed") == ([o_a2], None)
    assert queue(market) == ([o_a1, o_a2, o_a3], None)
    bad = world.http.get("/v1/objections?status=open", headers=market.headers())
    assert bad.status_code == 400
    assert "status" in bad.json["errors"]  # type: ignore[index]
    listed = world.http.get("/v1/objections", headers=market.headers()).json["items"]  # type: ignore[index]
    assert [(o["record_id"], o["department"]) for o in listed] == [
        (a1, MARKET),
        (a2, MARKET),
        (a3, MARKET),
    ]


def test_the_subjects_list_pages_newest_first_and_filters_by_status(world: World) -> None:
    department = world.party(kind="department", name=MARKET)
    owner = world.subject(with_records=False)
    stranger = world.subject(with_records=False)
    uscc = owner.subject.uscc or ""
    records = publish(world, department, *(penalty(uscc, n) for n in (1, 2, 3)))
    [theirs] = publish(world, department, penalty(stranger.subject.uscc or "", 4))
    o1, o2, o3 = (_filed(world, owner, r) for r in records)
    their_objection = _filed(world, stranger, theirs)
    assert _resolve(world, department, o2, "dismissed").status_code == 200

    first = world.http.get(MINE, query_string={"page_size": 2}, headers=owner.headers())
    cursor = first.json["next_cursor"]  # type: ignore[index]
    second = world.http.get(
        MINE, query_string={"page_size": 2, "cursor": cursor}, headers=owner.headers()
    )

    assert _ids(first) == [o3, o2]
    assert _ids(second) == [o1]
    assert second.json["next_cursor"] is None  # type: ignore[index]
    pending = world.http.get(MINE, query_string={"status": "pending"}, headers=owner.headers())
    dismissed = world.http.get(MINE, query_string={"status": "dismissed"}, headers=owner.headers())
    upheld = world.http.get(MINE, query_string={"status": "upheld"}, headers=owner.headers())
    assert _ids(pending) == [o3, o1]
    assert _ids(dismissed) == [o2]
    assert _ids(upheld) == []
    assert _ids(world.http.get(MINE, headers=stranger.headers())) == [their_objection]
    # Another subject's objection is not there for you, like one that does not exist.
    theirs_read = world.http.get(f"{MINE}/{their_objection}", headers=owner.headers())
    unknown_read = world.http.get(f"{MINE}/obj_{'0' * 20}", headers=owner.headers())
    assert theirs_read.status_code == unknown_read.status_code == 404
    assert theirs_read.content_type == PROBLEM
    assert theirs_read.json["type"] == unknown_read.json["type"]  # type: ignore[index]
    # A cursor is bound to its filters and to its subject.
    other_filter = world.http.get(
        MINE, query_string={"status": "pending", "cursor": cursor}, headers=owner.headers()
    )
    other_subject = world.http.get(
        MINE, query_string={"cursor": cursor}, headers=stranger.headers()
    )
    assert other_filter.status_code == other_subject.status_code == 400
    for bad in ({"status": "open"}, {"page_size": 0}, {"page_size": 101}, {"cursor": "xyz"}):
        response = world.http.get(MINE, query_string=bad, headers=owner.headers())
        assert response.status_code == 400, (bad, response.get_data(as_text=True))
        assert response.content_type == PROBLEM
