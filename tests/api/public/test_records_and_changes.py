"""An entity's public records (publication periods with a set clock) and the change feed."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from credit import clock
from credit.models import ChangeKind, Subject
from tests.factories import make_change, make_entity, make_record, new_uscc

PROBLEM = "application/problem+json"


def _at(day: date) -> datetime:
    """Noon in China on `day`."""
    return datetime(day.year, day.month, day.day, 4, 0, tzinfo=UTC)


def _record_ids(client: FlaskClient, uscc: str, **params: object) -> list[str]:
    response = client.get(f"/v1/public/entities/{uscc}/records", query_string=params)
    assert response.status_code == 200, response.json
    return [item["record_id"] for item in response.json["items"]]


class TestPublicationPeriods:
    def test_general_penalty_is_public_for_one_year(
        self, client: FlaskClient, db_session: Session
    ) -> None:
        entity = make_entity(db_session)
        penalty = make_record(db_session, entity, decided_on=date(2025, 3, 10))
        assert penalty.publish_until == date(2026, 3, 9)

        with clock.frozen_at(_at(date(2026, 3, 9))):
            assert _record_ids(client, entity.uscc) == [penalty.record_id]
        with clock.frozen_at(_at(date(2026, 3, 10))):
            assert _record_ids(client, entity.uscc) == []

    def test_serious_penalty_is_public_for_three_years(
        self, client: FlaskClient, db_session: Session
    ) -> None:
        entity = make_entity(db_session)
        details = {"severity": "serious", "fine_amount": "200000.00", "domain": "work_safety"}
        penalty = make_record(db_session, entity, decided_on=date(2024, 2, 29), details=details)
        assert penalty.publish_until == date(2027, 2, 27)

        with clock.frozen_at(_at(date(2027, 2, 27))):
            assert _record_ids(client, entity.uscc) == [penalty.record_id]
        with clock.frozen_at(_at(date(2027, 2, 28))):
            assert _record_ids(client, entity.uscc) == []

    def test_licence_is_public_while_valid(self, client: FlaskClient, db_session: Session) -> None:
        entity = make_entity(db_session)
        details = {
            "license_name": "食品经营许可证",
            "valid_from": "2024-01-01",
            "valid_until": "2026-12-31",
        }
        licence = make_record(
            db_session, entity, kind="license", decided_on=date(2024, 1, 1), details=details
        )

        with clock.frozen_at(_at(date(2026, 12, 31))):
            assert _record_ids(client, entity.uscc) == [licence.record_id]
        with clock.frozen_at(_at(date(2027, 1, 1))):
            assert _record_ids(client, entity.uscc) == []

    def test_list_entry_is_public_until_removed(
        self, client: FlaskClient, db_session: Session
    ) -> None:
        entity = make_entity(db_session)
        standing = make_record(
            db_session,
            entity,
            kind="black_list",
            decided_on=date(2023, 5, 1),
            details={"list_name": "严重违法失信主体名单", "removed_on": None},
        )
        removed = make_record(
            db_session,
            entity,
            kind="abnormal_operation",
            decided_on=date(2024, 5, 1),
            details={"reason": "未按照规定期限公示年度报告", "removed_on": "2025-07-01"},
        )

        with clock.frozen_at(_at(date(2025, 6, 30))):
            assert set(_record_ids(client, entity.uscc)) == {standing.record_id, removed.record_id}
        with clock.frozen_at(_at(date(2030, 1, 1))):
            assert _record_ids(client, entity.uscc) == [standing.record_id]

    def test_withdrawn_restricted_and_future_records_are_not_public(
        self, client: FlaskClient, db_session: Session
    ) -> None:
        entity = make_entity(db_session)
        make_record(db_session, entity, status="withdrawn")
        for kind in ("tax_rating", "tax_violation", "court_enforcement", "dishonest_debtor",
                     "social_insurance_arrears"):  # fmt: skip
            make_record(db_session, entity, kind=kind, details={})
        with clock.frozen_at(_at(date(2026, 5, 1))):
            make_record(db_session, entity, decided_on=date(2026, 6, 1))  # decided later
            assert _record_ids(client, entity.uscc) == []


def test_records_fields_order_and_kind_filter(client: FlaskClient, db_session: Session) -> None:
    entity = make_entity(db_session)
    older = make_record(db_session, entity, decided_on=date(2026, 1, 5))
    newer = make_record(db_session, entity, decided_on=date(2026, 2, 5))
    licence = make_record(
        db_session,
        entity,
        kind="license",
        decided_on=date(2026, 1, 1),
        details={"license_name": "排污许可证", "valid_until": "2030-12-31"},
    )

    with clock.frozen_at(_at(date(2026, 3, 1))):
        body = client.get(f"/v1/public/entities/{entity.uscc}/records").json
        assert [i["record_id"] for i in body["items"]] == [
            newer.record_id,
            older.record_id,
            licence.record_id,
        ]
        item = body["items"][0]
        assert set(item) >= {
            "record_id", "kind", "document_no", "title", "decided_on", "department",
            "publish_until", "disputed", "details",
        }  # fmt: skip
        assert item["details"]["fine_amount"] == "5000.00"
        assert item["publish_until"] == "2027-02-04"
        assert item["disputed"] is False
        assert _record_ids(client, entity.uscc, kind="license") == [licence.record_id]


def test_records_paginate(client: FlaskClient, db_session: Session) -> None:
    entity = make_entity(db_session)
    made = [
        make_record(db_session, entity, decided_on=date(2026, 1, 1) + timedelta(days=n % 3))
        for n in range(5)
    ]
    with clock.frozen_at(_at(date(2026, 3, 1))):
        seen: list[str] = []
        params: dict[str, object] = {"page_size": 2}
        while True:
            body = client.get(
                f"/v1/public/entities/{entity.uscc}/records", query_string=params
            ).json
            seen += [i["record_id"] for i in body["items"]]
            if not body["next_cursor"]:
                break
            params["cursor"] = body["next_cursor"]
    assert sorted(seen) == sorted(r.record_id for r in made)


def test_records_bad_input(client: FlaskClient, db_session: Session) -> None:
    entity = make_entity(db_session)
    assert client.get("/v1/public/entities/123/records").status_code == 400
    assert client.get(f"/v1/public/entities/{new_uscc()}/records").status_code == 404
    for params in ({"kind": "tax_rating"}, {"kind": "x"}, {"page_size": 1000}, {"cursor": "abc"}):
        response = client.get(f"/v1/public/entities/{entity.uscc}/records", query_string=params)
        assert response.status_code == 400, params
        assert response.content_type == PROBLEM


def test_records_etag(client: FlaskClient, db_session: Session) -> None:
    entity = make_entity(db_session)
    make_record(db_session, entity)
    url = f"/v1/public/entities/{entity.uscc}/records"
    etag = client.get(url).headers["ETag"]
    not_modified = client.get(url, headers={"If-None-Match": etag})
    assert not_modified.status_code == 304
    assert not_modified.headers["ETag"] == etag
    make_record(db_session, entity)
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 200


class TestChanges:
    @pytest.fixture
    def feed(self, db_session: Session) -> dict[str, object]:
        entity = make_entity(db_session)
        base = datetime(2026, 4, 1, tzinfo=UTC)
        penalty = make_record(db_session, entity)
        licence = make_record(
            db_session, entity, kind="license", details={"valid_until": "2030-01-01"}
        )
        tax = make_record(db_session, entity, kind="tax_violation", details={})
        person = Subject(subject_id="sub_feedperson000001", kind="natural_person", name="李四")
        db_session.add(person)
        db_session.commit()
        court = make_record(db_session, person, kind="court_enforcement", details={})
        changes = [
            make_change(db_session, penalty, at=base),
            make_change(db_session, licence, at=base + timedelta(hours=1)),
            make_change(db_session, penalty, ChangeKind.CORRECTED, at=base + timedelta(days=1)),
            make_change(db_session, penalty, ChangeKind.WITHDRAWN, at=base + timedelta(days=2)),
            make_change(db_session, tax, at=base),  # not a public kind
            make_change(db_session, court, at=base),  # not a legal person
        ]
        return {
            "entity": entity,
            "penalty": penalty,
            "licence": licence,
            "base": base,
            "changes": changes,
        }

    def test_lists_public_changes_oldest_first(self, client: FlaskClient, feed: dict) -> None:
        body = client.get("/v1/public/changes", query_string={"since": "2026-01-01T00:00:00Z"}).json
        assert [(i["record_id"], i["change"]) for i in body["items"]] == [
            (feed["penalty"].record_id, "published"),
            (feed["licence"].record_id, "published"),
            (feed["penalty"].record_id, "corrected"),
            (feed["penalty"].record_id, "withdrawn"),
        ]
        assert body["items"][0]["uscc"] == feed["entity"].uscc
        assert body["items"][0]["kind"] == "penalty"
        assert body["items"][0]["at"].startswith("2026-04-01T00:00:00")
        assert body["next_cursor"] is None

    def test_since_with_offset_and_unencoded_plus(self, client: FlaskClient, feed: dict) -> None:
        # 2026-04-02T08:00+08:00 is 2026-04-02T00:00Z: the correction and the withdrawal.
        for since in (
            "2026-04-02T08:00:00+08:00",
            "2026-04-02T08:00:00 08:00",
            "2026-04-02T00:00:00Z",
        ):
            items = client.get("/v1/public/changes", query_string={"since": since}).json["items"]
            assert [i["change"] for i in items] == ["corrected", "withdrawn"], since

    def test_pages(self, client: FlaskClient, feed: dict) -> None:
        seen = []
        params: dict[str, object] = {"page_size": 1, "since": "2026-03-01T00:00:00Z"}
        while True:
            body = client.get("/v1/public/changes", query_string=params).json
            seen += [i["change"] for i in body["items"]]
            if not body["next_cursor"]:
                break
            params["cursor"] = body["next_cursor"]
        assert seen == ["published", "published", "corrected", "withdrawn"]

    def test_bad_since_and_cursor(self, client: FlaskClient, feed: dict) -> None:
        for since in (
            "yesterday",
            "2026-02-30T00:00:00Z",
            "2026-04-01T00:00:00",
            "2026-04-01",
            "9" * 50,
        ):
            response = client.get("/v1/public/changes", query_string={"since": since})
            assert response.status_code == 400, since
            assert "since" in response.json["errors"], since
        cursor = client.get(
            "/v1/public/changes", query_string={"page_size": 1, "since": "2026-03-01T00:00:00Z"}
        ).json["next_cursor"]
        other = client.get(
            "/v1/public/changes", query_string={"cursor": cursor, "since": "2026-03-02T00:00:00Z"}
        )
        assert other.status_code == 400
        assert other.json["type"] == "urn:xinyong:problem:invalid-cursor"
