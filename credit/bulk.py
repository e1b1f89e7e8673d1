"""Bulk loading of the synthetic demo district: COPY on PostgreSQL, batched inserts on SQLite.

A million legal persons do not go through the ORM one object at a time: rows are generated in
chunks and streamed with `COPY ... FROM STDIN` (PostgreSQL) or `executemany` (SQLite), with
primary keys assigned here so that records can point at their subjects without a round trip.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from decimal import Decimal
from typing import Any

from psycopg.types.json import Jsonb
from sqlalchemy import Connection, Engine, func, insert, select, text

from credit import demo
from credit.clock import CHINA_TZ
from credit.disclosure import PUBLIC_KINDS, category_of, publish_until
from credit.models import (
    ChangeKind,
    Record,
    RecordChange,
    RecordStatus,
    Subject,
    SubjectKind,
)
from credit.personal_data import IdentityProtector
from credit.search import NAME_GRAMS_INDEX, NAME_GRAMS_INDEX_SQL

# From this many rows on, the GIN index of name grams is dropped for the load and built once after:
# building it in one pass is several times faster than maintaining it row by row.
REBUILD_INDEX_FROM = 50_000

SUBJECT_COLUMNS = (
    "id", "subject_id", "kind", "name", "uscc", "id_number_hash", "id_number_ciphertext",
    "legal_representative", "established_on", "registered_capital_fen",
    "registered_capital_currency", "address", "registration_authority", "status",
    "business_scope", "contact_phone", "created_at", "updated_at",
)  # fmt: skip
RECORD_COLUMNS = (
    "id", "record_id", "subject_pk", "kind", "category", "department", "document_no", "title",
    "decided_on", "publish_until", "details", "status", "disputed", "version", "created_at",
    "updated_at",
)  # fmt: skip
CHANGE_COLUMNS = ("id", "record_pk", "change", "at")

_PUBLIC_KIND_VALUES = frozenset(k.value for k in PUBLIC_KINDS)


@dataclass
class LoadReport:
    """What a demo load wrote, and how long it took."""

    entities: int = 0
    persons: int = 0
    records: int = 0
    changes: int = 0
    seconds: float = 0.0
    skipped: bool = False


class _Ids:
    """Primary keys handed out from above the current maximum of each table."""

    def __init__(self, connection: Connection) -> None:
        self.subject = self._max(connection, Subject.id)
        self.record = self._max(connection, Record.id)
        self.change = self._max(connection, RecordChange.id)

    @staticmethod
    def _max(connection: Connection, column: Any) -> int:
        return int(connection.execute(select(func.coalesce(func.max(column), 0))).scalar_one())


def _fen(amount: str | None) -> int | None:
    return None if amount is None else int(Decimal(amount).scaleb(2))


def _decided_at(decided_on: date, offset_hours: int) -> datetime:
    """When a decision reached the platform: office hours of the day after, China time."""
    local = datetime.combine(decided_on + timedelta(days=1), dtime(9), tzinfo=CHINA_TZ)
    return (local + timedelta(hours=offset_hours)).astimezone(UTC)


class _Rows:
    """Accumulates one chunk's rows for the three tables."""

    def __init__(self, ids: _Ids, now: datetime) -> None:
        self.ids = ids
        self.now = now
        self.subjects: list[tuple[Any, ...]] = []
        self.records: list[tuple[Any, ...]] = []
        self.changes: list[tuple[Any, ...]] = []

    def add_subject(self, values: dict[str, Any]) -> int:
        self.ids.subject += 1
        row = {"id": self.ids.subject, "created_at": self.now, "updated_at": self.now, **values}
        self.subjects.append(tuple(row.get(c) for c in SUBJECT_COLUMNS))
        return self.ids.subject

    def add_records(self, subject_pk: int, records: Iterable[demo.DemoRecord], legal: bool) -> None:
        for rec in records:
            self.ids.record += 1
            details = dict(rec["details"])
            digest = hashlib.sha256(rec["record_id"].encode()).digest()
            # A few records were corrected or withdrawn by their department since publication.
            withdrawn = digest[0] < 3
            corrected = not withdrawn and digest[0] < 10
            created = _decided_at(rec["decided_on"], digest[1] % 8)
            self.records.append(
                (
                    self.ids.record, rec["record_id"], subject_pk, rec["kind"],
                    category_of(rec["kind"]), rec["department"], rec["document_no"], rec["title"],
                    rec["decided_on"], publish_until(rec["kind"], rec["decided_on"], details),
                    details,
                    RecordStatus.WITHDRAWN.value if withdrawn else RecordStatus.ACTIVE.value,
                    False, 2 if corrected else 1, created, created,
                )
            )  # fmt: skip
            if legal and rec["kind"] in _PUBLIC_KIND_VALUES:
                self._change(ChangeKind.PUBLISHED, created)
                later = created + timedelta(days=1 + digest[2] % 60)
                if corrected:
                    self._change(ChangeKind.CORRECTED, min(later, self.now))
                if withdrawn:
                    self._change(ChangeKind.WITHDRAWN, min(later, self.now))

    def _change(self, change: ChangeKind, at: datetime) -> None:
        self.ids.change += 1
        self.changes.append((self.ids.change, self.ids.record, change.value, at))


def _entity_values(ent: demo.DemoEntity) -> dict[str, Any]:
    return {
        "subject_id": ent["subject_id"],
        "kind": ent["kind"],
        "name": ent["name"],
        "uscc": ent["uscc"],
        "legal_representative": ent["legal_representative"],
        "established_on": ent["established_on"],
        "registered_capital_fen": _fen(ent["registered_capital"]),
        "registered_capital_currency": "CNY" if ent["registered_capital"] is not None else None,
        "address": ent["address"],
        "registration_authority": ent["registration_authority"],
        "status": ent["status"],
        "business_scope": ent["business_scope"],
        "contact_phone": ent["contact_phone"],
    }


def _write(connection: Connection, rows: _Rows) -> None:
    tables = (
        ("subjects", SUBJECT_COLUMNS, rows.subjects),
        ("records", RECORD_COLUMNS, rows.records),
        ("record_changes", CHANGE_COLUMNS, rows.changes),
    )
    if connection.dialect.name == "postgresql":
        raw = connection.connection.driver_connection
        details_at = RECORD_COLUMNS.index("details")
        with raw.cursor() as cursor:  # type: ignore[union-attr]
            for table, columns, values in tables:
                if not values:
                    continue
                with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in values:
                        if table == "records":
                            row = (
                                *row[:details_at],
                                Jsonb(row[details_at]),
                                *row[details_at + 1 :],
                            )
                        copy.write_row(row)
        return
    models = {"subjects": Subject, "records": Record, "record_changes": RecordChange}
    for table, columns, values in tables:
        if values:
            connection.execute(
                insert(models[table].__table__),  # type: ignore[arg-type]
                [dict(zip(columns, row, strict=True)) for row in values],
            )


def _reset_sequences(connection: Connection) -> None:
    if connection.dialect.name != "postgresql":
        return  # SQLite's INTEGER PRIMARY KEY continues from the maximum by itself
    for table in ("subjects", "records", "record_changes"):
        connection.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608  (fixed names)
                f"(SELECT coalesce(max(id), 1) FROM {table}))"
            )
        )


def load_demo(
    connection: Connection,
    *,
    entities: int,
    persons: int,
    as_of: date,
    protector: IdentityProtector,
    seed: int = demo.DEFAULT_SEED,
    chunk: int = 10_000,
    progress: Callable[[LoadReport], None] | None = None,
) -> LoadReport:
    """Load the demo district into an empty or already-used database; skip if it is there."""
    started = time.perf_counter()
    report = LoadReport()
    first = demo.entity(0, as_of=as_of, seed=seed)
    present = connection.execute(
        select(Subject.id).where(Subject.subject_id == first["subject_id"])
    ).first()
    if present is not None:
        report.skipped = True
        return report
    ids = _Ids(connection)
    now = datetime.now(UTC)
    rebuild = connection.dialect.name == "postgresql" and entities + persons >= REBUILD_INDEX_FROM
    if rebuild:
        connection.execute(text(f"DROP INDEX IF EXISTS {NAME_GRAMS_INDEX}"))

    def flush(rows: _Rows) -> None:
        _write(connection, rows)
        report.records += len(rows.records)
        report.changes += len(rows.changes)
        if progress:
            progress(report)

    for start in range(0, entities, chunk):
        rows = _Rows(ids, now)
        count = min(chunk, entities - start)
        for ent, records in demo.entities(count, as_of=as_of, seed=seed, start=start):
            pk = rows.add_subject(_entity_values(ent))
            rows.add_records(pk, records, legal=True)
        report.entities += count
        flush(rows)
    for start in range(0, persons, chunk):
        rows = _Rows(ids, now)
        count = min(chunk, persons - start)
        for person, records in demo.persons(count, as_of=as_of, seed=seed, start=start):
            pk = rows.add_subject(
                {
                    "subject_id": person["subject_id"],
                    "kind": SubjectKind.NATURAL_PERSON.value,
                    "name": person["name"],
                    "id_number_hash": protector.lookup_hash(person["id_number"]),
                    "id_number_ciphertext": protector.encrypt(person["id_number"]),
                }
            )
            rows.add_records(pk, records, legal=False)
        report.persons += count
        flush(rows)
    if rebuild:
        connection.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
        connection.execute(text(NAME_GRAMS_INDEX_SQL))
    _reset_sequences(connection)
    report.seconds = time.perf_counter() - started
    return report


def vacuum_analyze(
    engine: Engine, tables: Sequence[str] = ("subjects", "records", "record_changes")
) -> None:
    """After a large load: statistics for the planner, and GIN pending lists merged (PostgreSQL)."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for table in tables:
            connection.execute(text(f"VACUUM (ANALYZE) {table}"))
