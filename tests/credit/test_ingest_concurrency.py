"""Ingestion under concurrency: overlapping batches at once store each record exactly once.

Two sessions, each on its own connection, ingest batches sharing most of their document numbers.
Both look their keys up before either has written: one batch's insert then meets the other's
rows (waiting for its commit on PostgreSQL) and must fall back to answering row by row, so that
every row of both batches comes back `created` or `duplicate`, never rejected and never doubled.
The same number twice within one batch is checked on both databases.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from api.context import Platform
from api.migrate import upgrade
from credit import clock, ingest
from credit.ingest import BatchResult, ingest_records
from credit.models import Record, RecordChange, RecordVersion
from tests.factories import make_entity, penalty_row

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
DEPARTMENT = "淄博市周村区市场监督管理局"
ROUNDS = 4
OWN = 30  # document numbers in one batch only
SHARED = 4 * OWN  # numbers in both batches of a round
TIMEOUT = 30
SLOW_INSERTS = """
CREATE FUNCTION slow_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM pg_sleep(0.0005); RETURN NEW; END $$;
CREATE TRIGGER slow_record_inserts BEFORE INSERT ON records
FOR EACH ROW EXECUTE FUNCTION slow_insert();
"""


@pytest.fixture(autouse=True)
def _frozen_clock() -> Iterator[None]:
    with clock.frozen_at(NOW):
        yield


def _identities(app: Flask) -> Any:
    platform: Platform = app.extensions["xinyong"]
    return platform.identities


@pytest.fixture
def sessions(fresh_engine: Engine, is_postgres: bool) -> sessionmaker[Session]:
    """Sessions on a database of this test's own, migrated; what they commit stays there."""
    if not is_postgres:
        pytest.skip(
            "PostgreSQL only: SQLite serialises writers on one file lock, so two batches "
            "never interleave their inserts"
        )
    upgrade(fresh_engine)
    with fresh_engine.begin() as connection:
        # Widen the race on this throw-away database: each row's insert takes a little while,
        # so the two batches' inserts are certainly in progress at the same time.
        connection.execute(text(SLOW_INSERTS))
    return sessionmaker(bind=fresh_engine, expire_on_commit=False)


class Race:
    """Runs two batches at once, both past their look-up of stored keys before either writes.

    `ingest_records` checks the batch against stored records in one query (`_stored`) and then
    inserts; a barrier after that query makes both batches see the same stored state, so the
    shared keys are certainly contested. The fallbacks taken (`_row_by_row`) are counted.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.looked_up = threading.Barrier(2, timeout=TIMEOUT)
        self.fallbacks = 0
        self._lock = threading.Lock()
        stored, row_by_row = ingest._stored, ingest._row_by_row
        # Only a batch's first look-up waits: the row-by-row fallback looks up again, row by row
        # (each run's threads are new, so this starts afresh every round).
        first = threading.local()

        def stored_then_wait(*args: Any, **kwargs: Any) -> Any:
            found = stored(*args, **kwargs)
            if not getattr(first, "done", False):
                first.done = True
                self.looked_up.wait()
            return found

        def counted_row_by_row(*args: Any, **kwargs: Any) -> BatchResult:
            with self._lock:
                self.fallbacks += 1
            return row_by_row(*args, **kwargs)

        monkeypatch.setattr(ingest, "_stored", stored_then_wait)
        monkeypatch.setattr(ingest, "_row_by_row", counted_row_by_row)

    def run(
        self, sessions: sessionmaker[Session], app: Flask, batches: Sequence[list[dict[str, Any]]]
    ) -> list[BatchResult]:
        start = threading.Barrier(len(batches), timeout=TIMEOUT)
        results: list[BatchResult | None] = [None] * len(batches)
        errors: list[BaseException] = []

        def push(slot: int) -> None:
            try:
                with sessions() as session:
                    start.wait()
                    results[slot] = ingest_records(
                        db_session=session,
                        department=DEPARTMENT,
                        rows=batches[slot],
                        identities=_identities(app),
                        changed_by=f"cli_race_{slot}",
                    )
                    session.commit()
            except BaseException as error:  # reported by the test, not lost in the thread
                errors.append(error)
                self.looked_up.abort()  # the other batch must not wait for this one

        threads = [threading.Thread(target=push, args=(i,)) for i in range(len(batches))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=TIMEOUT * 2)
        assert not any(thread.is_alive() for thread in threads), "a batch hung"
        assert not errors, f"a batch failed: {errors!r}"
        self.looked_up.reset()
        return [result for result in results if result is not None]


def _outcomes(rows: Sequence[dict[str, Any]], result: BatchResult) -> dict[str, tuple[str, str]]:
    """(outcome, record_id) of each row of the batch, by document number."""
    assert result.rejected == []
    assert sorted(r.index for r in result.records) == list(range(len(rows)))
    return {rows[r.index]["document_no"]: (r.outcome, r.record_id) for r in result.records}


@pytest.mark.postgres
@pytest.mark.parametrize("order", ["same", "reversed", "shuffled"])
def test_overlapping_batches_at_once_store_each_record_once(
    sessions: sessionmaker[Session], app: Flask, monkeypatch: pytest.MonkeyPatch, order: str
) -> None:
    with sessions() as session:
        codes = [make_entity(session).uscc or "" for _ in range(3)]
    race = Race(monkeypatch)
    rng = random.Random(370306)
    expected: set[str] = set()
    for round_no in range(ROUNDS):
        base = round_no * 1000
        shared = [penalty_row(codes[n % 3], base + n) for n in range(SHARED)]
        own = [
            [penalty_row(codes[n % 3], base + SHARED + side * OWN + n) for n in range(OWN)]
            for side in (0, 1)
        ]
        mine, theirs = list(shared), list(shared)
        if order == "reversed":
            theirs.reverse()
        elif order == "shuffled":
            rng.shuffle(mine)
            rng.shuffle(theirs)
        # One batch has its own numbers among the shared ones, the other has them first.
        first: list[dict[str, Any]] = []
        for i, row in enumerate(mine):
            first += [row, own[0][i // 4]] if i % 4 == 0 else [row]
        second = own[1] + theirs
        fallbacks = race.fallbacks

        results = race.run(sessions, app, [first, second])

        a, b = _outcomes(first, results[0]), _outcomes(second, results[1])
        keys = set(a) | set(b)
        assert len(keys) == SHARED + 2 * OWN
        expected |= keys
        # One insert met the other's rows and that batch was answered row by row.
        assert race.fallbacks == fallbacks + 1
        for number in set(a) & set(b):
            assert a[number][1] == b[number][1], number  # both name the one stored record
            assert sorted((a[number][0], b[number][0])) == ["created", "duplicate"], number
        for only in (set(a) - set(b), set(b) - set(a)):
            assert len(only) == OWN
            assert {(a.get(n) or b[n])[0] for n in only} == {"created"}
        answered = {number: (a.get(number) or b[number])[1] for number in keys}
        with sessions() as session:
            rows = session.execute(
                select(Record.document_no, Record.record_id).where(
                    Record.department == DEPARTMENT, Record.document_no.in_(keys)
                )
            )
            stored = {number: record_id for number, record_id in rows}
        assert stored == answered  # the union of the answers' record ids is what is stored

    with sessions() as session:
        per_number = session.execute(
            select(Record.document_no, func.count())
            .where(Record.department == DEPARTMENT)
            .group_by(Record.document_no)
        )
        counts = {number: count for number, count in per_number}
        versions = session.scalar(select(func.count()).select_from(RecordVersion))
        changes = session.scalar(select(func.count()).select_from(RecordChange))
    assert set(counts) == expected
    assert set(counts.values()) == {1}
    # The losing inserts left no history behind: one version and one feed entry per record.
    assert versions == changes == len(expected)


def _count(db_session: Session, document_no: str) -> int:
    query = select(func.count()).where(
        Record.department == DEPARTMENT, Record.document_no == document_no
    )
    return int(db_session.scalar(query) or 0)


def test_the_same_number_twice_in_one_batch(app: Flask, db_session: Session) -> None:
    entity = make_entity(db_session)
    uscc = entity.uscc or ""
    same = penalty_row(uscc, 9001)
    other = penalty_row(uscc, 9002)
    changed = penalty_row(uscc, 9002, details={**other["details"], "fine_amount": "8000.00"})

    result = ingest_records(
        db_session=db_session,
        department=DEPARTMENT,
        rows=[same, dict(same), other, penalty_row(uscc, 9003), changed],
        identities=_identities(app),
        changed_by="cli_test_department",
    )
    db_session.commit()

    outcomes = {r.index: (r.outcome, r.record_id) for r in result.records}
    assert [(i, o) for i, (o, _) in sorted(outcomes.items())] == [
        (0, "created"),
        (1, "duplicate"),
        (2, "created"),
        (3, "created"),
    ]
    assert outcomes[1][1] == outcomes[0][1]
    assert (result.accepted, result.duplicates) == (3, 1)
    assert [(r.index, r.status) for r in result.rejected] == [(4, 409)]
    first_of_2 = outcomes[2][1]
    assert first_of_2 in result.rejected[0].errors["document_no"][0]
    assert _count(db_session, same["document_no"]) == 1
    assert _count(db_session, other["document_no"]) == 1
    kept = db_session.scalars(select(Record).where(Record.record_id == first_of_2)).one()
    assert kept.details["fine_amount"] == "5000.00"  # the first row's content, not the second's
