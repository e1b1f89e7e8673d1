"""The bulk demo loader, on the suite's database (COPY on PostgreSQL, batched inserts on SQLite)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from credit import bulk, demo
from credit.disclosure import PUBLIC_KINDS, publish_until
from credit.identifiers import validate_uscc
from credit.models import Record, RecordChange, Subject
from credit.personal_data import IdentityProtector

AS_OF = date(2026, 11, 1)
PROTECTOR = IdentityProtector(hmac_key=b"k" * 32, encryption_key=b"e" * 32)


def _load(connection: Connection, entities: int = 120, persons: int = 30) -> bulk.LoadReport:
    return bulk.load_demo(
        connection,
        entities=entities,
        persons=persons,
        as_of=AS_OF,
        protector=PROTECTOR,
        chunk=50,  # several chunks, so ids carry across them
    )


def test_loads_counts_and_is_idempotent(connection: Connection) -> None:
    report = _load(connection)

    assert (report.entities, report.persons) == (120, 30)
    assert connection.execute(select(func.count()).select_from(Subject)).scalar_one() == 150
    assert (
        connection.execute(select(func.count()).select_from(Record)).scalar_one() == report.records
    )
    assert report.records > 100
    again = _load(connection)
    assert again.skipped
    assert connection.execute(select(func.count()).select_from(Subject)).scalar_one() == 150


def test_rows_round_trip_through_the_orm(connection: Connection) -> None:
    _load(connection)
    session = Session(bind=connection)
    first = demo.entity(0, as_of=AS_OF)

    stored = session.scalars(select(Subject).where(Subject.subject_id == first["subject_id"])).one()

    assert stored.uscc == validate_uscc(first["uscc"])
    assert stored.name == first["name"]
    expected = first["registered_capital"]
    assert stored.registered_capital == (None if expected is None else Decimal(expected))
    for record in session.scalars(select(Record).limit(200)):
        # details are a JSON object, not a JSON string holding one (a bug once seen on SQLite)
        assert isinstance(record.details, dict)
        assert record.publish_until == publish_until(record.kind, record.decided_on, record.details)


def test_identity_numbers_are_never_in_clear(connection: Connection) -> None:
    _load(connection, entities=10, persons=20)
    session = Session(bind=connection)
    for j in range(20):
        person = demo.person(j, as_of=AS_OF)
        row = session.scalars(
            select(Subject).where(Subject.subject_id == person["subject_id"])
        ).one()
        assert row.kind == "natural_person"
        assert row.uscc is None
        assert row.id_number_hash == PROTECTOR.lookup_hash(person["id_number"])
        assert row.id_number_ciphertext is not None
        assert person["id_number"].encode() not in row.id_number_ciphertext
        assert PROTECTOR.decrypt(row.id_number_ciphertext) == person["id_number"]
        values = [str(getattr(row, c.key)) for c in Subject.__table__.columns]
        assert all(person["id_number"] not in v for v in values)


def test_change_feed_covers_public_records_of_legal_persons_only(connection: Connection) -> None:
    _load(connection)
    rows = connection.execute(
        select(Record.kind, Subject.kind)
        .join(RecordChange, RecordChange.record_pk == Record.id)
        .join(Subject, Record.subject_pk == Subject.id)
    ).all()
    assert rows
    public = {k.value for k in PUBLIC_KINDS}
    assert all(
        record_kind in public and subject_kind != "natural_person"
        for record_kind, subject_kind in rows
    )


def test_ids_continue_after_a_load(connection: Connection) -> None:
    _load(connection, entities=60, persons=0)
    session = Session(bind=connection)
    session.add(Subject(subject_id="sub_after_bulk_load_01", kind="enterprise", name="后来的企业"))
    session.flush()  # the sequence was moved past the loaded ids, so no primary-key clash
    assert session.scalars(select(func.max(Subject.id))).one() == 61
