"""The open data entity endpoints: search, one entity, bad input."""

from __future__ import annotations

from datetime import date

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from credit.identifiers import uscc_check_char
from credit.models import LegacyUscc, Subject
from tests.factories import make_entity, make_record, new_uscc

PROBLEM = "application/problem+json"


def _wrong_check(code: str) -> str:
    right = code[-1]
    wrong = "0" if right != "0" else "1"
    return code[:-1] + wrong


def test_entity_read_returns_public_registration_data(
    client: FlaskClient, db_session: Session
) -> None:
    entity = make_entity(db_session, kind="enterprise", registered_capital_fen=123_456)

    response = client.get(f"/v1/public/entities/{entity.uscc}")

    assert response.status_code == 200
    body = response.json
    assert body["subject_id"] == entity.subject_id
    assert body["uscc"] == entity.uscc
    assert body["kind"] == "enterprise"
    assert body["kind_label"] == "企业"
    assert body["status"] == "active"
    assert body["status_label"] == "存续"
    assert body["established_on"] == "2012-05-18"
    assert body["registered_capital"] == {"amount": "1234.56", "currency": "CNY"}
    assert body["registration_authority"] == "淄博市周村区市场监督管理局"
    assert set(body["public_record_counts"]) == {
        "license", "penalty", "red_list", "black_list", "abnormal_operation"
    }  # fmt: skip
    # Restricted registration data never reaches the open data.
    assert "business_scope" not in body
    assert "contact_phone" not in body


def test_entity_counts_only_records_public_today(client: FlaskClient, db_session: Session) -> None:
    entity = make_entity(db_session)
    make_record(db_session, entity, kind="penalty", decided_on=date(2026, 6, 1))
    make_record(db_session, entity, kind="penalty", decided_on=date(2020, 1, 1))  # period over
    make_record(db_session, entity, kind="penalty", status="withdrawn")
    make_record(db_session, entity, kind="tax_violation", details={"violation": "x"})
    make_record(
        db_session,
        entity,
        kind="license",
        details={
            "license_name": "食品经营许可证",
            "valid_from": "2025-01-01",
            "valid_until": "2099-12-31",
        },
    )

    counts = client.get(f"/v1/public/entities/{entity.uscc}").json["public_record_counts"]

    assert counts == {
        "license": 1, "penalty": 1, "red_list": 0, "black_list": 0, "abnormal_operation": 0
    }  # fmt: skip


def test_entity_lower_case_code_is_normalized(client: FlaskClient, db_session: Session) -> None:
    entity = make_entity(db_session)
    assert client.get(f"/v1/public/entities/{entity.uscc.lower()}").status_code == 200


def test_unknown_entity_is_404_problem(client: FlaskClient, db_session: Session) -> None:
    response = client.get(f"/v1/public/entities/{new_uscc()}")

    assert response.status_code == 404
    assert response.content_type == PROBLEM
    assert response.json["type"] == "urn:xinyong:problem:entity-not-found"
    assert response.json["status"] == 404


def test_wrong_check_character_is_400_naming_the_right_one(
    client: FlaskClient, db_session: Session
) -> None:
    code = new_uscc()
    response = client.get(f"/v1/public/entities/{_wrong_check(code)}")

    assert response.status_code == 400
    assert response.content_type == PROBLEM
    assert response.json["type"] == "urn:xinyong:problem:invalid-identifier"
    assert f"should be {uscc_check_char(code[:17])}" in response.json["detail"]
    # DESIGN.md §6: a validation failure names its field in `errors`, as every other 400 does.
    assert response.json["errors"] == {"uscc": [response.json["detail"]]}


def test_malformed_codes_are_400(client: FlaskClient, db_session: Session) -> None:
    for bad in ("123", "9137030", "91370306MA3C4N2P1" + "I", "X" * 40, "９１３７", "%20"):
        response = client.get(f"/v1/public/entities/{bad}")
        assert response.status_code == 400, bad
        assert response.content_type == PROBLEM
        assert response.json["detail"]


def test_legacy_pilot_code_on_the_allow_list_is_accepted(
    client: FlaskClient, db_session: Session
) -> None:
    pilot = "91350211M00013FA1N"  # a Xiamen pilot code that predates the checksum
    assert client.get(f"/v1/public/entities/{pilot}").status_code == 400
    db_session.add(LegacyUscc(uscc=pilot, note="Xiamen pilot"))
    make_entity(db_session, uscc=pilot)

    assert client.get(f"/v1/public/entities/{pilot}").status_code == 200


def test_natural_persons_are_never_public(client: FlaskClient, db_session: Session) -> None:
    db_session.add(Subject(subject_id="sub_person0000000001", kind="natural_person", name="张丝绸"))
    db_session.commit()

    items = client.get("/v1/public/entities", query_string={"q": "丝绸"}).json["items"]

    assert all(item["kind"] != "natural_person" for item in items)
    assert "张丝绸" not in {item["name"] for item in items}


def test_entity_read_has_etag_and_honours_if_none_match(
    client: FlaskClient, db_session: Session
) -> None:
    entity = make_entity(db_session)
    first = client.get(f"/v1/public/entities/{entity.uscc}")
    etag = first.headers["ETag"]

    second = client.get(f"/v1/public/entities/{entity.uscc}", headers={"If-None-Match": etag})

    assert second.status_code == 304
    assert second.data == b""
    # RFC 9110 §15.4.5: a 304 carries the ETag that the 200 would have carried.
    assert second.headers["ETag"] == etag
    assert "Content-Type" not in second.headers
    assert (
        client.get(
            f"/v1/public/entities/{entity.uscc}", headers={"If-None-Match": '"x"'}
        ).status_code
        == 200
    )


class TestSearch:
    def test_two_character_chinese_substring(
        self, client: FlaskClient, db_session: Session
    ) -> None:
        hit = make_entity(db_session, name="淄博市周村区鑫瑞丝绸有限公司")
        make_entity(db_session, name="淄博市周村区恒泰机械有限公司")

        items = client.get("/v1/public/entities", query_string={"q": "鑫瑞"}).json["items"]

        assert [i["uscc"] for i in items] == [hit.uscc]

    def test_single_character_and_longer_substrings(
        self, client: FlaskClient, db_session: Session
    ) -> None:
        hit = make_entity(db_session, name="周村区萌水镇龘字号食品厂")
        for q in ("龘", "龘字号", "萌水镇龘字号食品厂"):
            items = client.get("/v1/public/entities", query_string={"q": q}).json["items"]
            assert [i["uscc"] for i in items] == [hit.uscc], q

    def test_exact_code(self, client: FlaskClient, db_session: Session) -> None:
        hit = make_entity(db_session)
        make_entity(db_session)

        items = client.get("/v1/public/entities", query_string={"q": hit.uscc}).json["items"]

        assert [i["uscc"] for i in items] == [hit.uscc]

    def test_like_wildcards_are_literal(self, client: FlaskClient, db_session: Session) -> None:
        make_entity(db_session, name="淄博市周村区普通商贸有限公司")
        for q in ("%", "_", "%%", "\\"):
            assert client.get("/v1/public/entities", query_string={"q": q}).json["items"] == []

    def test_kind_filter(self, client: FlaskClient, db_session: Session) -> None:
        make_entity(db_session, kind="enterprise", name="周村区甲乙检索丙有限公司")
        school = make_entity(db_session, kind="public_institution", name="周村区甲乙检索丙小学")

        items = client.get(
            "/v1/public/entities", query_string={"q": "检索", "kind": "public_institution"}
        ).json["items"]

        assert [i["uscc"] for i in items] == [school.uscc]
        assert items[0]["kind_label"] == "事业单位"

    def test_pages_through_every_match_once(self, client: FlaskClient, db_session: Session) -> None:
        made = {make_entity(db_session, name=f"周村区翻页测试{n}号商行").uscc for n in range(7)}
        seen: list[str] = []
        cursor = None
        while True:
            params = {"q": "翻页测试", "page_size": 3}
            if cursor:
                params["cursor"] = cursor
            body = client.get("/v1/public/entities", query_string=params).json
            assert len(body["items"]) <= 3
            seen += [i["uscc"] for i in body["items"]]
            cursor = body["next_cursor"]
            if cursor is None:
                break
        assert sorted(seen) == sorted(made)
        assert len(seen) == 7

    def test_bad_arguments_are_400_with_field_errors(
        self, client: FlaskClient, db_session: Session
    ) -> None:
        cases = {
            "page_size": [
                {"page_size": 0},
                {"page_size": 101},
                {"page_size": "abc"},
                {"page_size": -1},
            ],
            "kind": [{"kind": "bank"}, {"kind": "natural_person"}],
            "q": [{"q": "丝" * 101}],
            "cursor": [{"cursor": "x" * 600}],
        }
        for field, queries in cases.items():
            for query in queries:
                response = client.get("/v1/public/entities", query_string=query)
                assert response.status_code == 400, query
                assert response.content_type == PROBLEM
                assert field in response.json["errors"], query

    def test_forged_and_foreign_cursors_are_400(
        self, client: FlaskClient, db_session: Session
    ) -> None:
        for n in range(3):
            make_entity(db_session, name=f"周村区游标{n}商行")
        cursor = client.get("/v1/public/entities", query_string={"q": "游标", "page_size": 1}).json[
            "next_cursor"
        ]
        assert cursor

        forged = cursor[:-2] + ("AA" if not cursor.endswith("AA") else "BB")
        for params in (
            {"q": "游标", "cursor": forged},
            {"q": "游标", "cursor": "not-a-cursor"},
            {"q": "别的", "cursor": cursor},  # issued for other filters
        ):
            response = client.get("/v1/public/entities", query_string=params)
            assert response.status_code == 400, params
            assert response.json["type"] == "urn:xinyong:problem:invalid-cursor"
