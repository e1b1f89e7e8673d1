"""Restricted reads beyond the happy path: legal basis, batches, the access log's guarantees."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from tests.api.consents.conftest import World

PROBLEM = "application/problem+json"
BASIS = "《中华人民共和国民事诉讼法》第二百五十五条，（2026）鲁0306执123号"


def _log(world: World, owner: Any) -> list[dict[str, Any]]:
    response = world.http.get("/v1/me/access-log", headers=owner.headers())
    assert response.status_code == 200
    return list(response.json["items"])  # type: ignore[index]


def test_government_reads_state_a_legal_basis_the_subject_sees(world: World) -> None:
    court = world.party(kind="judicial", categories=("basic", "judicial"), name="周村区人民法院")
    owner = world.subject()
    subject_id = owner.subject.subject_id

    without = world.report(court, subject_id)
    assert without.status_code == 403
    assert without.json["type"] == "urn:xinyong:problem:legal-basis-required"  # type: ignore[index]
    blank = world.report(court, subject_id, legal_basis="   ")
    assert blank.status_code == 403

    # UTF-8 text raw in the header, or percent-encoded after UTF-8'' (RFC 8187).
    raw = world.report(court, subject_id, legal_basis=BASIS.encode().decode("latin-1"))
    encoded = world.report(court, subject_id, legal_basis="UTF-8''" + quote(BASIS))
    for read in (raw, encoded):
        assert read.status_code == 200, read.get_data(as_text=True)
        assert read.json["basis"] == "legal_basis"  # type: ignore[index]
        assert read.json["legal_basis"] == BASIS  # type: ignore[index]
        assert read.json["consent_id"] is None  # type: ignore[index]
        assert read.json["categories"] == ["basic", "judicial"]  # type: ignore[index]
        assert "tax" not in read.json  # type: ignore[operator]

    outside = world.report(court, subject_id, categories="tax", legal_basis="case 1")
    assert outside.status_code == 403
    assert outside.json["type"] == "urn:xinyong:problem:outside-grant"  # type: ignore[index]
    unknown = world.report(court, "sub_00000000000000000000", legal_basis="case 1")
    assert unknown.status_code == 404
    too_long = world.report(court, subject_id, legal_basis="x" * 501)
    assert too_long.status_code == 403

    entries = _log(world, owner)
    assert [e["basis"] for e in entries] == ["legal_basis", "legal_basis"]
    assert entries[0]["legal_basis"] == BASIS
    assert entries[0]["client_name"] == "周村区人民法院"
    assert entries[0]["client_kind"] == "judicial"


def test_unknown_categories_are_a_400(world: World) -> None:
    bank = world.party()
    owner = world.subject(with_records=False)
    _consent_id, token = world.consent(bank, owner)

    for bad in ("gossip", "basic,gossip", ",", ""):
        response = world.report(bank, owner.subject.subject_id, token, categories=bad)
        assert response.status_code == 400, bad
        assert "categories" in response.json["errors"]  # type: ignore[index]


def test_asking_a_category_the_token_lacks_is_insufficient_scope(world: World) -> None:
    bank = world.party()
    owner = world.subject(with_records=False)
    _consent_id, token = world.consent(bank, owner, categories=("basic", "tax"))
    narrow = world.http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "credit.basic"},
        auth=(bank.client_id, bank.secret),
    )
    headers = {"Authorization": f"Bearer {narrow.json['access_token']}", "Consent-Token": token}  # type: ignore[index]

    asked = world.http.get(
        f"/v1/subjects/{owner.subject.subject_id}/report?categories=tax", headers=headers
    )
    assert asked.status_code == 403
    assert 'error="insufficient_scope"' in asked.headers["WWW-Authenticate"]
    # Omitted categories mean the consent's; the token must cover them all.
    omitted = world.http.get(f"/v1/subjects/{owner.subject.subject_id}/report", headers=headers)
    assert omitted.status_code == 403
    only_basic = world.http.get(
        f"/v1/subjects/{owner.subject.subject_id}/report?categories=basic", headers=headers
    )
    assert only_basic.status_code == 200
    assert only_basic.json["categories"] == ["basic"]  # type: ignore[index]


def test_batches_answer_item_by_item_in_order(world: World) -> None:
    bank = world.party()
    first = world.subject()
    second = world.subject()
    _c1, token1 = world.consent(bank, first, categories=("tax",))
    _c2, token2 = world.consent(bank, second, categories=("judicial",), state="revoked")

    response = world.http.post(
        "/v1/subjects/reports:batch",
        json={
            "items": [
                {"subject_id": first.subject.subject_id, "consent_token": token1},
                {"subject_id": second.subject.subject_id, "consent_token": token2},
                {"subject_id": second.subject.subject_id, "consent_token": token1},
                {
                    "subject_id": first.subject.subject_id,
                    "consent_token": token1,
                    "categories": ["judicial"],
                },
            ]
        },
        headers=bank.headers(),
    )

    assert response.status_code == 200, response.get_data(as_text=True)
    results = response.json["results"]  # type: ignore[index]
    assert [r["status"] for r in results] == [200, 403, 403, 403]
    assert results[0]["report"]["categories"] == ["tax"]
    assert results[1]["problem"]["type"] == "urn:xinyong:problem:consent-required"
    assert len(_log(world, first)) == 1
    assert _log(world, second) == []


def test_batch_input_is_checked(world: World) -> None:
    bank = world.party()
    item = {"subject_id": "sub_x", "consent_token": "ct_x"}
    for body in ({}, {"items": []}, {"items": [item] * 101}, {"items": [{"subject_id": "a"}]}):
        response = world.http.post("/v1/subjects/reports:batch", json=body, headers=bank.headers())
        assert response.status_code == 400, body
        assert response.content_type == PROBLEM
    for raw in (b"\x00", b"{", b"[1, 2"):
        unreadable = world.http.post(
            "/v1/subjects/reports:batch",
            data=raw,
            headers={**bank.headers(), "Content-Type": "application/json"},
        )
        assert unreadable.status_code == 400, raw
        assert unreadable.content_type == PROBLEM
        assert unreadable.json["errors"] == {"json": ["Invalid JSON body."]}  # type: ignore[index]
    court = world.party(kind="government", categories=("basic",))
    refused = world.http.post(
        "/v1/subjects/reports:batch", json={"items": [item]}, headers=court.headers()
    )
    assert refused.status_code == 403


@pytest.fixture
def access_log_fails(db_session: Session) -> None:
    """Every insert into the access log fails, as on a full disk (inside the test's transaction)."""
    if db_session.get_bind().dialect.name == "postgresql":
        db_session.execute(
            text(
                "CREATE FUNCTION pg_temp.xy_fail() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'could not extend file: No space left on device'; END $$"
            )
        )
        db_session.execute(
            text(
                "CREATE TRIGGER access_log_fails BEFORE INSERT ON access_log "
                "FOR EACH ROW EXECUTE FUNCTION pg_temp.xy_fail()"
            )
        )
    else:
        db_session.execute(
            text(
                "CREATE TRIGGER access_log_fails BEFORE INSERT ON access_log BEGIN "
                "SELECT RAISE(ABORT, 'database or disk is full'); END"
            )
        )
    db_session.commit()


def test_no_log_entry_no_report(world: World, access_log_fails: None) -> None:
    bank = world.party()
    owner = world.subject()
    _consent_id, token = world.consent(bank, owner, categories=("basic", "tax"))

    single = world.report(bank, owner.subject.subject_id, token)
    batch = world.http.post(
        "/v1/subjects/reports:batch",
        json={"items": [{"subject_id": owner.subject.subject_id, "consent_token": token}]},
        headers=bank.headers(),
    )

    for response in (single, batch):
        assert response.status_code == 503, response.get_data(as_text=True)
        assert response.content_type == PROBLEM
        assert response.headers["Retry-After"] == "1"
        body = response.get_data(as_text=True)
        assert owner.subject.name not in body
        assert owner.subject.subject_id not in body


def test_the_access_log_is_append_only(world: World, db_session: Session) -> None:
    bank = world.party()
    owner = world.subject(with_records=False)
    _consent_id, token = world.consent(bank, owner)
    assert world.report(bank, owner.subject.subject_id, token).status_code == 200

    for statement in ("UPDATE access_log SET client_name = 'nobody'", "DELETE FROM access_log"):
        with pytest.raises(DBAPIError, match="append-only"):
            with db_session.begin_nested():
                db_session.execute(text(statement))
    assert len(_log(world, owner)) == 1


def test_my_lists_page(world: World) -> None:
    bank = world.party()
    owner = world.subject(with_records=False)
    made = [world.consent(bank, owner, state="awaiting")[0] for _ in range(3)]

    seen: list[str] = []
    cursor = None
    while True:
        query = {"page_size": 2, **({"cursor": cursor} if cursor else {})}
        page = world.http.get("/v1/me/consents", query_string=query, headers=owner.headers())
        assert page.status_code == 200
        seen += [c["consent_id"] for c in page.json["items"]]  # type: ignore[index]
        cursor = page.json["next_cursor"]  # type: ignore[index]
        if cursor is None:
            break
    assert seen == list(reversed(made))
    forged = world.http.get(
        "/v1/me/access-log", query_string={"cursor": "abc"}, headers=owner.headers()
    )
    assert forged.status_code == 400


def test_partner_endpoints_keep_partners_apart(world: World) -> None:
    bank = world.party()
    rival = world.party(name="另一家银行")
    owner = world.subject(with_records=False)
    consent_id, _token = world.consent(bank, owner, state="awaiting")

    assert world.http.get(f"/v1/consents/{consent_id}", headers=rival.headers()).status_code == 404
    taken = world.http.post(f"/v1/consents/{consent_id}/token", headers=rival.headers())
    assert taken.status_code == 404
    stranger = world.subject(with_records=False)
    for decision in ("approve", "reject", "revoke"):
        response = world.http.post(
            f"/v1/me/consents/{consent_id}/{decision}", headers=stranger.headers()
        )
        assert response.status_code == 404
    # A partner token cannot act as a subject.
    assert world.http.get("/v1/me/consents", headers=bank.headers()).status_code == 403
