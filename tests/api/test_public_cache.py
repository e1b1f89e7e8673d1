"""The cache of the public reads in Redis (api/cache.py): hits, ETags, and invalidation by every
kind of department (and subject) write.

A cache hit is proven without a clock: the test changes a row directly in the database, behind
the API's back. An answer computed afresh shows the change at once (the session app, which has
no Redis, is the control); a cached answer still shows the old value until a write through the
API ends it. Each test has a Redis of the test run (`XINYONG_TEST_REDIS_URL`, flushed first;
skipped when unset), except the last, which stops a private `redis-server` of its own.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from credit import clock
from credit.models import Record, Subject
from tests.api.consents.conftest import Party, SignedIn, World
from tests.api.objections.conftest import MARKET, penalty, publish
from tests.api.test_rate_limits import AppFactory, from_address, make_app, world_of
from tests.conftest import UNLIMITED_TIERS, flushed_redis
from tests.factories import make_entity
from tests.redis_server import RedisServer, private_redis

__all__ = ["make_app", "private_redis"]

pytestmark = pytest.mark.redis

_numbers = iter(range(1, 10**6))


@pytest.fixture
def storage() -> None:
    """`make_app`'s default: no Redis (each test names the Redis of its app)."""
    return None


@pytest.fixture
def cached_app(make_app: AppFactory, redis_url: str | None) -> Flask:
    """An app whose public reads are cached in the test Redis (flushed), without tight limits."""
    return make_app(REDIS_URL=flushed_redis(redis_url), RATE_LIMITS=UNLIMITED_TIERS)


@pytest.fixture
def http(cached_app: Flask) -> FlaskClient:
    return from_address(cached_app)


@pytest.fixture
def world(cached_app: Flask, db_session: Session) -> World:
    return world_of(cached_app, db_session)


@pytest.fixture
def department(world: World) -> Party:
    return world.party("department", name=MARKET)


def rename_behind_the_api(db_session: Session, subject: Subject, name: str) -> None:
    """Change a legal person's name in the database directly: no write the cache hears of.

    (`subject.name` follows: read the old name before.)"""
    db_session.execute(update(Subject).where(Subject.id == subject.id).values(name=name))
    db_session.commit()


def retitle_behind_the_api(db_session: Session, subject: Subject, title: str) -> None:
    """Change the titles of a legal person's records in the database directly."""
    db_session.execute(update(Record).where(Record.subject_pk == subject.id).values(title=title))
    db_session.commit()


def ok(response: TestResponse) -> Any:
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json


def entity(http: FlaskClient, uscc: str | None) -> Any:
    return ok(http.get(f"/v1/public/entities/{uscc}"))


def records(http: FlaskClient, uscc: str | None) -> dict[str, dict[str, Any]]:
    """The legal person's public records, by id."""
    page = ok(http.get(f"/v1/public/entities/{uscc}/records", query_string={"page_size": 100}))
    return {r["record_id"]: r for r in page["items"]}


def search(http: FlaskClient, q: str) -> list[str]:
    """The codes of the legal persons a search finds."""
    page = ok(http.get("/v1/public/entities", query_string={"q": q, "page_size": 100}))
    return [e["uscc"] for e in page["items"]]


def new_penalty(uscc: str | None, **changes: Any) -> dict[str, Any]:
    """A general penalty of the legal person `uscc`, decided four months ago, numbered anew."""
    assert uscc is not None
    return penalty(uscc, 9000 + next(_numbers), **changes)


# --- hits -------------------------------------------------------------------------------------


def test_a_second_read_is_served_from_the_cache_until_a_write(
    http: FlaskClient, client: FlaskClient, db_session: Session, world: World, department: Party
) -> None:
    subject = make_entity(db_session)
    first = http.get(f"/v1/public/entities/{subject.uscc}")
    assert first.status_code == 200
    original = first.json["name"]  # type: ignore[index]

    rename_behind_the_api(db_session, subject, "直接改名测试丝绸有限公司")
    second = http.get(f"/v1/public/entities/{subject.uscc}")
    uncached = client.get(f"/v1/public/entities/{subject.uscc}")  # the session app: no Redis

    assert second.status_code == 200
    assert second.json["name"] == original  # type: ignore[index]
    assert second.get_data() == first.get_data()
    assert second.headers["ETag"] == first.headers["ETag"]
    assert "RateLimit" in second.headers
    assert second.headers["X-Request-ID"] != first.headers["X-Request-ID"]
    assert uncached.json["name"] == "直接改名测试丝绸有限公司"  # type: ignore[index]

    # A department's write about this legal person (a new penalty) ends the cached answer: the
    # next read is computed afresh, rename included.
    publish(world, department, new_penalty(subject.uscc))
    fresh = entity(http, subject.uscc)

    assert fresh["name"] == "直接改名测试丝绸有限公司"
    assert fresh["public_record_counts"]["penalty"] == 1


@pytest.mark.parametrize("suffix", ["", "/records", "?search"])
def test_cached_answers_keep_their_etag_and_answer_304(
    http: FlaskClient, db_session: Session, world: World, department: Party, suffix: str
) -> None:
    subject = make_entity(db_session)
    publish(world, department, new_penalty(subject.uscc))
    path = f"/v1/public/entities/{subject.uscc}{suffix}"
    query = None
    if suffix == "?search":
        path, query = "/v1/public/entities", {"q": subject.name}
    first = http.get(path, query_string=query)
    assert first.status_code == 200
    etag = first.headers["ETag"]
    # Behind the API's back: an answer computed now would differ (and so would its ETag).
    rename_behind_the_api(db_session, subject, "直接改名测试商贸有限公司")
    retitle_behind_the_api(db_session, subject, "直接更正的标题")

    hit = http.get(path, query_string=query)
    same = http.get(path, query_string=query, headers={"If-None-Match": etag})
    weak = http.get(path, query_string=query, headers={"If-None-Match": f"W/{etag}"})
    listed = http.get(path, query_string=query, headers={"If-None-Match": f'"other", {etag}'})
    stale = http.get(path, query_string=query, headers={"If-None-Match": '"not-this-one"'})

    assert hit.status_code == 200
    assert hit.headers["ETag"] == etag
    assert hit.get_data() == first.get_data()
    for not_modified in (same, weak, listed):
        assert not_modified.status_code == 304
        assert not_modified.headers["ETag"] == etag
        assert not_modified.get_data() == b""
        assert "X-Request-ID" in not_modified.headers
        assert "RateLimit" in not_modified.headers
    assert stale.status_code == 200
    assert stale.get_data() == first.get_data()

    # After a write the old ETag no longer matches: the client gets the new answer.
    publish(world, department, new_penalty(subject.uscc))
    changed = http.get(path, query_string=query, headers={"If-None-Match": etag})

    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag
    assert changed.get_data() != first.get_data()


# --- invalidation -----------------------------------------------------------------------------


def test_an_ingest_batch_shows_at_once(
    http: FlaskClient, db_session: Session, world: World, department: Party
) -> None:
    subject = make_entity(db_session)
    (existing,) = publish(world, department, new_penalty(subject.uscc))
    assert list(records(http, subject.uscc)) == [existing]
    assert entity(http, subject.uscc)["public_record_counts"]["penalty"] == 1

    added = publish(
        world,
        department,
        new_penalty(subject.uscc),
        new_penalty(subject.uscc, title="超范围经营案"),
    )

    assert set(records(http, subject.uscc)) == {existing, *added}
    assert entity(http, subject.uscc)["public_record_counts"]["penalty"] == 3


def test_a_correction_shows_at_once(
    http: FlaskClient, db_session: Session, world: World, department: Party
) -> None:
    subject = make_entity(db_session)
    row = new_penalty(subject.uscc)
    (record_id,) = publish(world, department, row)
    assert records(http, subject.uscc)[record_id]["title"] == row["title"]

    corrected = world.http.put(
        f"/v1/ingest/records/{record_id}",
        json={**row, "title": "经营超过保质期的食品案（更正）"},
        headers=department.headers(),
    )
    assert corrected.status_code == 200, corrected.get_data(as_text=True)

    assert records(http, subject.uscc)[record_id]["title"] == "经营超过保质期的食品案（更正）"


def test_a_withdrawal_shows_at_once(
    http: FlaskClient, db_session: Session, world: World, department: Party
) -> None:
    subject = make_entity(db_session)
    kept, withdrawn = publish(
        world, department, new_penalty(subject.uscc), new_penalty(subject.uscc)
    )
    assert set(records(http, subject.uscc)) == {kept, withdrawn}
    assert entity(http, subject.uscc)["public_record_counts"]["penalty"] == 2

    answer = world.http.post(
        f"/v1/ingest/records/{withdrawn}/withdraw",
        json={"reason": "处罚决定已被依法撤销"},
        headers=department.headers(),
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)

    assert set(records(http, subject.uscc)) == {kept}
    assert entity(http, subject.uscc)["public_record_counts"]["penalty"] == 1


def _owner_with_a_penalty(world: World, department: Party) -> tuple[SignedIn, str, str]:
    """A signed-in legal person with one published penalty: (it, its code, the record id)."""
    owner = world.subject(with_records=False)
    uscc = owner.subject.uscc
    assert uscc is not None
    (record_id,) = publish(world, department, new_penalty(uscc))
    return owner, uscc, record_id


def test_an_objection_and_its_resolution_show_at_once(
    http: FlaskClient, world: World, department: Party
) -> None:
    owner, uscc, record_id = _owner_with_a_penalty(world, department)
    assert records(http, uscc)[record_id]["disputed"] is False

    filed = world.http.post(
        "/v1/me/objections",
        json={"record_id": record_id, "reason": "该处罚决定已被行政复议撤销。"},
        headers=owner.headers(),
    )
    assert filed.status_code == 201, filed.get_data(as_text=True)
    assert records(http, uscc)[record_id]["disputed"] is True

    resolved = world.http.post(
        f"/v1/objections/{filed.json['objection_id']}/resolve",  # type: ignore[index]
        json={"outcome": "dismissed", "note": "经核查，处罚决定书内容无误。"},
        headers=department.headers(),
    )
    assert resolved.status_code == 200, resolved.get_data(as_text=True)
    assert records(http, uscc)[record_id]["disputed"] is False


def test_an_approved_repair_shows_at_once(
    http: FlaskClient, world: World, department: Party
) -> None:
    owner, uscc, record_id = _owner_with_a_penalty(world, department)
    filed = world.http.post(
        "/v1/me/repairs",
        json={"record_id": record_id, "reason": "已按期整改并缴清罚款，申请信用修复。"},
        headers=owner.headers(),
    )
    assert filed.status_code == 201, filed.get_data(as_text=True)
    # Read (and cache) after the filing, so that only the decision can end these answers.
    assert record_id in records(http, uscc)
    assert entity(http, uscc)["public_record_counts"]["penalty"] == 1

    decided = world.http.post(
        f"/v1/repairs/{filed.json['repair_id']}/decide",  # type: ignore[index]
        json={"decision": "approved", "note": "整改到位，同意修复。"},
        headers=department.headers(),
    )
    assert decided.status_code == 200, decided.get_data(as_text=True)

    assert record_id not in records(http, uscc)
    assert entity(http, uscc)["public_record_counts"]["penalty"] == 0


def test_an_entity_update_shows_in_the_entity_and_in_searches(
    http: FlaskClient, db_session: Session, world: World, department: Party
) -> None:
    subject = make_entity(db_session)
    old_name, new_name = subject.name, f"淄博周村鑫瑞更名{next(_numbers)}纺织有限公司"
    assert entity(http, subject.uscc)["name"] == old_name
    assert search(http, old_name) == [subject.uscc]
    assert search(http, new_name) == []

    answer = world.http.put(
        f"/v1/ingest/entities/{subject.uscc}",
        json={"name": new_name, "kind": "enterprise", "legal_representative": "王建国"},
        headers=department.headers(),
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)

    assert entity(http, subject.uscc)["name"] == new_name
    assert search(http, new_name) == [subject.uscc]
    assert search(http, old_name) == []


def test_another_day_is_another_answer(http: FlaskClient, db_session: Session) -> None:
    subject = make_entity(db_session)
    original = subject.name
    # Noon in China (UTC+8) on one day, and an hour after the next midnight there.
    today = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)
    tomorrow = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)

    with clock.frozen_at(today):
        assert clock.today().isoformat() == "2026-11-20"
        assert entity(http, subject.uscc)["name"] == original
    rename_behind_the_api(db_session, subject, "直接改名测试物流有限公司")
    with clock.frozen_at(today + timedelta(hours=1)):
        same_day = entity(http, subject.uscc)
    with clock.frozen_at(tomorrow):
        assert clock.today().isoformat() == "2026-11-21"
        next_day = entity(http, subject.uscc)

    assert same_day["name"] == original  # cached that day
    assert next_day["name"] == "直接改名测试物流有限公司"  # a new day, a new key


def test_a_write_about_one_legal_person_keeps_the_others_cached(
    http: FlaskClient, db_session: Session, world: World, department: Party
) -> None:
    written, other = make_entity(db_session), make_entity(db_session)
    original = other.name
    for subject in (written, other):
        assert entity(http, subject.uscc)["name"] == subject.name
        assert records(http, subject.uscc) == {}
    rename_behind_the_api(db_session, written, "直接改名测试甲有限公司")
    rename_behind_the_api(db_session, other, "直接改名测试乙有限公司")

    publish(world, department, new_penalty(written.uscc))

    assert entity(http, written.uscc)["name"] == "直接改名测试甲有限公司"  # fresh
    assert entity(http, other.uscc)["name"] == original  # still the cached answer


# --- without Redis ----------------------------------------------------------------------------


def test_reads_come_from_the_database_while_redis_is_unreachable(
    make_app: AppFactory, db_session: Session, private_redis: RedisServer
) -> None:
    app = make_app(REDIS_URL=private_redis.url, RATE_LIMITS=UNLIMITED_TIERS)
    http = from_address(app)
    subject = make_entity(db_session)
    before = http.get(f"/v1/public/entities/{subject.uscc}")
    assert before.json["name"] == subject.name  # type: ignore[index]
    private_redis.kill()
    rename_behind_the_api(db_session, subject, "直接改名测试机械有限公司")

    after = http.get(f"/v1/public/entities/{subject.uscc}")
    found = search(http, "直接改名测试机械有限公司")
    listed = http.get(f"/v1/public/entities/{subject.uscc}/records")
    revalidated = http.get(
        f"/v1/public/entities/{subject.uscc}", headers={"If-None-Match": after.headers["ETag"]}
    )

    assert after.status_code == 200
    assert after.json["name"] == "直接改名测试机械有限公司"  # type: ignore[index]
    assert after.headers["ETag"] != before.headers["ETag"]
    assert found == [subject.uscc]
    assert listed.status_code == 200
    assert revalidated.status_code == 304


def test_reads_are_served_when_redis_was_never_reachable(
    make_app: AppFactory, db_session: Session
) -> None:
    app = make_app(REDIS_URL="redis://127.0.0.1:1/0", RATE_LIMITS=UNLIMITED_TIERS)
    http = from_address(app)
    subject = make_entity(db_session)

    assert entity(http, subject.uscc)["name"] == subject.name
    rename_behind_the_api(db_session, subject, "直接改名测试电子有限公司")
    assert entity(http, subject.uscc)["name"] == "直接改名测试电子有限公司"
