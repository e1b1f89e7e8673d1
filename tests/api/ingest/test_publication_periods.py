"""Publication periods end by the calendar alone: records are ingested over the API, then only
the clock moves, and the public views follow on the right day (NDRC Order No. 58 of 2023).

For each record the public views are read the day before, on, and the day after its last public
day: the entity's `public_record_counts`, its records (all kinds and the record's kind), and the
change feed, which records what departments did and so must not move with the clock. No job
runs between the clock's moves. "Today" is the date in Shanghai.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from credit import clock
from tests.api.consents.conftest import Party, World
from tests.auth.conftest import access_token
from tests.factories import make_entity, penalty_row

PATH = "/v1/ingest/records"
DEPARTMENT = "淄博市周村区市场监督管理局"
DAY = timedelta(days=1)
FEED = "/v1/public/changes?since=2000-01-01T00:00:00Z&page_size=100"


def at_ten(day: date) -> datetime:
    """10:00 in Shanghai (02:00 UTC) on `day`: the same calendar day in both zones."""
    return datetime(day.year, day.month, day.day, 2, 0, tzinfo=UTC)


def fresh(world: World, party: Party) -> Party:
    """The party with a token issued now (tokens live ten minutes; the clock moves by days)."""
    return Party(
        party.client_id, party.secret, access_token(world.http, party.client_id, party.secret)
    )


def ingest(world: World, party: Party, *rows: dict[str, Any]) -> dict[str, Any]:
    response = world.http.post(PATH, json={"records": list(rows)}, headers=party.headers())
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.json
    assert isinstance(body, dict)
    return body


def publish(world: World, party: Party, row: dict[str, Any]) -> str:
    body = ingest(world, party, row)
    assert body["rejected"] == [], body
    return str(body["records"][0]["record_id"])


@dataclass(frozen=True)
class Views:
    """What the public sees of one entity, and the change feed."""

    counts: dict[str, int]
    listed: dict[str, dict[str, Any]]  # every public record, by id
    of_kind: set[str]  # the ids listed under ?kind=
    feed: list[tuple[str, str, str]]  # (record_id, change, at)


def views(world: World, uscc: str, kind: str) -> Views:
    entity = world.http.get(f"/v1/public/entities/{uscc}")
    listed = world.http.get(f"/v1/public/entities/{uscc}/records?page_size=100")
    of_kind = world.http.get(f"/v1/public/entities/{uscc}/records?kind={kind}&page_size=100")
    feed = world.http.get(FEED)
    for response in (entity, listed, of_kind, feed):
        assert response.status_code == 200, response.get_data(as_text=True)
    return Views(
        counts=dict(_json(entity)["public_record_counts"]),
        listed={r["record_id"]: r for r in _json(listed)["items"]},
        of_kind={r["record_id"] for r in _json(of_kind)["items"]},
        feed=[(c["record_id"], c["change"], c["at"]) for c in _json(feed)["items"]],
    )


def _json(response: TestResponse) -> dict[str, Any]:
    body = response.json
    assert isinstance(body, dict)
    return body


def assert_public(seen: Views, record_id: str, kind: str, last_day: date | None) -> None:
    """The record is in every public view, showing `last_day` as its `publish_until`."""
    assert seen.counts[kind] == 1, seen.counts
    assert record_id in seen.of_kind
    assert record_id in seen.listed
    shown = seen.listed[record_id]["publish_until"]
    assert shown == (last_day.isoformat() if last_day else None)


def assert_not_public(seen: Views, record_id: str, kind: str) -> None:
    assert seen.counts[kind] == 0, seen.counts
    assert record_id not in seen.of_kind
    assert record_id not in seen.listed


# --- the table: each kind of period, the day before, on and after its last public day ------


def _penalty(severity: str, decided_on: str, **extra: Any) -> Callable[[str], dict[str, Any]]:
    def row(uscc: str) -> dict[str, Any]:
        base = penalty_row(uscc, 1, decided_on=decided_on, **extra)
        return {**base, "details": {**base["details"], "severity": severity}}

    return row


def _licence(decided_on: str, valid_from: str, valid_until: str) -> Callable[[str], dict[str, Any]]:
    def row(uscc: str) -> dict[str, Any]:
        return {
            "kind": "license",
            "document_no": "周行审许〔2026〕12号",
            "title": "食品经营许可",
            "decided_on": decided_on,
            "uscc": uscc,
            "details": {
                "license_name": "食品经营许可证",
                "license_no": "JY13703060012345",
                "valid_from": valid_from,
                "valid_until": valid_until,
            },
        }

    return row


def _listing(kind: str, decided_on: str, removed_on: str | None) -> Callable[[str], dict[str, Any]]:
    def row(uscc: str) -> dict[str, Any]:
        details: dict[str, Any] = {
            "list_name": "守信激励对象名单" if kind == "red_list" else "严重失信主体名单",
            "reason": "拒不履行生效法律文书确定的义务",
            "listed_on": decided_on,
        }
        if kind == "abnormal_operation":
            del details["list_name"]
        if removed_on is not None:
            details |= {"removed_on": removed_on, "removal_reason": "已履行义务"}
        return {
            "kind": kind,
            "document_no": "周信用〔2026〕7号",
            "title": "列入名单",
            "decided_on": decided_on,
            "uscc": uscc,
            "details": details,
        }

    return row


PERIODS = [
    # (ingested on, the row, its last public day)
    pytest.param(
        date(2026, 6, 12), _penalty("general", "2026-06-12"), date(2027, 6, 11), id="general"
    ),
    pytest.param(
        date(2026, 6, 12), _penalty("serious", "2026-06-12"), date(2029, 6, 11), id="serious"
    ),
    pytest.param(
        date(2026, 6, 12),
        _penalty("serious", "2026-06-12", publish_until="2026-09-30"),
        date(2026, 9, 30),
        id="serious_department_earlier",
    ),
    pytest.param(
        date(2026, 6, 12),
        _penalty("general", "2026-06-12", publish_until="2026-12-31"),
        date(2026, 12, 31),
        id="general_department_earlier",
    ),
    pytest.param(
        date(2026, 6, 12),
        _penalty("serious", "2026-06-12", publish_until="2029-06-11"),
        date(2029, 6, 11),
        id="department_three_years",
    ),
    pytest.param(
        date(2024, 2, 29), _penalty("general", "2024-02-29"), date(2025, 2, 27), id="feb29_general"
    ),
    pytest.param(
        date(2024, 2, 29), _penalty("serious", "2024-02-29"), date(2027, 2, 27), id="feb29_serious"
    ),
    pytest.param(
        date(2028, 3, 1), _penalty("serious", "2028-02-29"), date(2031, 2, 27), id="feb29_2028"
    ),
    pytest.param(
        date(2023, 3, 1),
        _penalty("general", "2023-03-01"),
        date(2024, 2, 29),
        id="ends_on_feb29",
    ),
    pytest.param(
        date(2026, 6, 12),
        _licence("2026-06-01", "2026-06-01", "2027-05-31"),
        date(2027, 5, 31),
        id="licence",
    ),
    pytest.param(
        date(2026, 6, 12),
        _licence("2026-06-01", "2026-06-01", "2028-02-29"),
        date(2028, 2, 29),
        id="licence_until_feb29",
    ),
    pytest.param(
        date(2026, 6, 12),
        _listing("black_list", "2025-03-01", "2026-06-10"),
        date(2026, 6, 9),
        id="black_list_removed",
    ),
    pytest.param(
        date(2026, 6, 12),
        _listing("red_list", "2023-05-01", "2024-03-01"),
        date(2024, 2, 29),
        id="red_list_removed_after_feb29",
    ),
    pytest.param(
        date(2026, 6, 12),
        _listing("abnormal_operation", "2024-01-15", "2026-03-01"),
        date(2026, 2, 28),
        id="abnormal_operation_removed",
    ),
]


@pytest.mark.parametrize(("ingested_on", "make_row", "last_day"), PERIODS)
def test_a_record_is_public_through_its_last_day_and_gone_the_next(
    world: World,
    db_session: Session,
    ingested_on: date,
    make_row: Callable[[str], dict[str, Any]],
    last_day: date,
) -> None:
    uscc = make_entity(db_session).uscc or ""
    row = make_row(uscc)
    kind = row["kind"]
    with clock.frozen_at(at_ten(ingested_on)):
        department = world.party(kind="department", name=DEPARTMENT)
        record_id = publish(world, department, row)
        feed = views(world, uscc, kind).feed
    assert [(r, c) for r, c, _ in feed] == [(record_id, "published")]

    for day, public in ((last_day - DAY, True), (last_day, True), (last_day + DAY, False)):
        with clock.frozen_at(at_ten(day)):
            seen = views(world, uscc, kind)
        if public:
            assert_public(seen, record_id, kind, last_day)
        else:
            assert_not_public(seen, record_id, kind)
        assert seen.feed == feed, day  # the clock alone changes no feed entry
    # Years later it is still gone; a decision is never public before its day either.
    for day in (last_day + timedelta(days=3660), date.fromisoformat(row["decided_on"]) - DAY):
        with clock.frozen_at(at_ten(day)):
            assert_not_public(views(world, uscc, kind), record_id, kind)


def test_a_publication_end_beyond_three_years_is_refused(world: World, db_session: Session) -> None:
    uscc = make_entity(db_session).uscc or ""
    too_late = _penalty("serious", "2026-06-12", publish_until="2029-06-12")(uscc)
    latest = {**too_late, "document_no": "周市监罚〔2026〕0002号", "publish_until": "2029-06-11"}
    with clock.frozen_at(at_ten(date(2026, 6, 12))):
        department = world.party(kind="department", name=DEPARTMENT)
        body = ingest(world, department, too_late, latest)
        feed = views(world, uscc, "penalty").feed

    assert [(r["index"], r["status"], set(r["errors"])) for r in body["rejected"]] == [
        (0, 422, {"publish_until"})
    ]
    assert [r["index"] for r in body["records"]] == [1]
    record_id = body["records"][0]["record_id"]
    assert [(r, c) for r, c, _ in feed] == [(record_id, "published")]
    for day, public in ((date(2029, 6, 11), True), (date(2029, 6, 12), False)):
        with clock.frozen_at(at_ten(day)):
            seen = views(world, uscc, "penalty")
        assert seen.counts["penalty"] == (1 if public else 0)
        assert set(seen.listed) == ({record_id} if public else set())
        assert seen.feed == feed


def test_a_list_entry_is_public_until_its_removal_is_sent(
    world: World, db_session: Session
) -> None:
    uscc = make_entity(db_session).uscc or ""
    row = _listing("black_list", "2026-06-12", None)(uscc)
    with clock.frozen_at(at_ten(date(2026, 6, 12))):
        department = world.party(kind="department", name=DEPARTMENT)
        record_id = publish(world, department, row)
    for day in (date(2026, 6, 12), date(2027, 3, 14), date(2036, 6, 12)):
        with clock.frozen_at(at_ten(day)):
            assert_public(views(world, uscc, "black_list"), record_id, "black_list", None)

    # The department learns of the removal on its day and sends it: gone from that day on.
    removed = _listing("black_list", "2026-06-12", "2027-03-15")(uscc)
    with clock.frozen_at(at_ten(date(2027, 3, 15))):
        response = world.http.put(
            f"{PATH}/{record_id}", json=removed, headers=fresh(world, department).headers()
        )
        assert response.status_code == 200, response.get_data(as_text=True)
        seen = views(world, uscc, "black_list")
    assert_not_public(seen, record_id, "black_list")
    feed = seen.feed
    assert [(r, c) for r, c, _ in feed] == [(record_id, "published"), (record_id, "corrected")]

    last_day = date(2027, 3, 14)
    for day, public in ((last_day - DAY, True), (last_day, True), (last_day + DAY, False)):
        with clock.frozen_at(at_ten(day)):
            seen = views(world, uscc, "black_list")
        if public:
            assert_public(seen, record_id, "black_list", last_day)
        else:
            assert_not_public(seen, record_id, "black_list")
        assert seen.feed == feed


def test_today_is_the_date_in_shanghai(world: World, db_session: Session) -> None:
    """17:00 UTC on 12 June is 01:00 on 13 June in Shanghai: a decision of the 13th is today's."""
    uscc = make_entity(db_session).uscc or ""
    evening_utc = datetime(2026, 6, 12, 17, 0, tzinfo=UTC)
    with clock.frozen_at(evening_utc):
        department = world.party(kind="department", name=DEPARTMENT)
        body = ingest(
            world,
            department,
            penalty_row(uscc, 1, decided_on="2026-06-13"),
            penalty_row(uscc, 2, decided_on="2026-06-14"),
        )
        seen = views(world, uscc, "penalty")

    assert [r["index"] for r in body["records"]] == [0]
    assert [(r["index"], set(r["errors"])) for r in body["rejected"]] == [(1, {"decided_on"})]
    assert "2026-06-13" in body["rejected"][0]["errors"]["decided_on"][0]
    record_id = body["records"][0]["record_id"]
    last_day = date(2027, 6, 12)  # one year from the 13th, less a day
    assert_public(seen, record_id, "penalty", last_day)
    feed = seen.feed

    shanghai_midnight = timedelta(hours=16)  # 00:00 in Shanghai is 16:00 UTC the day before
    for moment, public in (
        (datetime(2026, 6, 12, 15, 59, 59, tzinfo=UTC), False),  # 23:59:59 on the 12th
        (datetime(2026, 6, 12, tzinfo=UTC) + shanghai_midnight, True),  # 00:00 on the 13th
        (datetime(2027, 6, 12, 15, 59, 59, tzinfo=UTC), True),  # 23:59:59 on the last day
        (datetime(2027, 6, 12, tzinfo=UTC) + shanghai_midnight, False),  # 00:00 the day after
    ):
        with clock.frozen_at(moment):
            seen = views(world, uscc, "penalty")
        if public:
            assert_public(seen, record_id, "penalty", last_day)
        else:
            assert_not_public(seen, record_id, "penalty")
        assert seen.feed == feed


def test_a_withdrawn_record_leaves_the_views_at_once(world: World, db_session: Session) -> None:
    uscc = make_entity(db_session).uscc or ""
    with clock.frozen_at(at_ten(date(2026, 6, 12))):
        department = world.party(kind="department", name=DEPARTMENT)
        kept = publish(world, department, penalty_row(uscc, 1))
        withdrawn = publish(world, department, penalty_row(uscc, 2))
        assert set(views(world, uscc, "penalty").listed) == {kept, withdrawn}
        response = world.http.post(
            f"{PATH}/{withdrawn}/withdraw",
            json={"reason": "处罚决定已被依法撤销"},
            headers=department.headers(),
        )
        assert response.status_code == 200, response.get_data(as_text=True)
        seen = views(world, uscc, "penalty")

    assert seen.counts["penalty"] == 1
    assert set(seen.listed) == seen.of_kind == {kept}
    feed = seen.feed
    assert [(r, c) for r, c, _ in feed] == [
        (kept, "published"), (withdrawn, "published"), (withdrawn, "withdrawn")
    ]  # fmt: skip
    # Inside its period, and then after it: the withdrawn record never comes back.
    for day in (date(2026, 6, 13), date(2027, 6, 11), date(2027, 6, 12)):
        with clock.frozen_at(at_ten(day)):
            later = views(world, uscc, "penalty")
        assert withdrawn not in later.listed
        assert later.counts["penalty"] == (1 if day <= date(2027, 6, 11) else 0)
        assert later.feed == feed


def test_a_consented_partner_still_sees_an_expired_penalty(
    world: World, db_session: Session
) -> None:
    """`credit.administrative` covers penalties past their period; the public views do not."""
    last_day = date(2026, 6, 12)
    with clock.frozen_at(at_ten(last_day)):
        owner = world.subject(with_records=False)
        uscc = owner.subject.uscc or ""
        department = world.party(kind="department", name=DEPARTMENT)
        # Decided a year ago (less a day): today is the last day of its general period.
        record_id = publish(world, department, penalty_row(uscc, 1, decided_on="2025-06-13"))
        partner = world.party()
        _consent_id, consent_token = world.consent(
            partner, owner, categories=("administrative",), expires_in_days=60
        )
        assert consent_token is not None
        seen = views(world, uscc, "penalty")
        report = world.report(partner, owner.subject.subject_id, consent_token, "administrative")
    assert_public(seen, record_id, "penalty", last_day)
    assert _reported(report, record_id)["public"] is True
    feed = seen.feed

    for day in (last_day + DAY, last_day + timedelta(days=40)):
        with clock.frozen_at(at_ten(day)):
            seen = views(world, uscc, "penalty")
            report = world.report(
                fresh(world, partner), owner.subject.subject_id, consent_token, "administrative"
            )
        assert_not_public(seen, record_id, "penalty")
        assert seen.feed == feed
        shown = _reported(report, record_id)
        assert shown["public"] is False
        assert shown["publish_until"] == last_day.isoformat()
        assert shown["decided_on"] == "2025-06-13"


def _reported(report: TestResponse, record_id: str) -> dict[str, Any]:
    """The record as the report's `administrative` section shows it."""
    assert report.status_code == 200, report.get_data(as_text=True)
    body = _json(report)
    assert set(body) >= {"report_no", "subject", "administrative"}
    assert "lists" not in body  # only the consented category
    records = {r["record_id"]: r for r in body["administrative"]["records"]}
    assert record_id in records, records
    return records[record_id]
