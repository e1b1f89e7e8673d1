"""The credit domain's verbs for the open data: entities, their public records, the change feed."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import Date, and_, bindparam, func, or_, select, tuple_
from sqlalchemy.orm import Session

from credit import identifiers
from credit.disclosure import PUBLIC_KINDS, public_record_clause
from credit.errors import EntityNotFound, NotYourRecord
from credit.models import (
    LEGAL_PERSON_KINDS,
    LegacyUscc,
    Record,
    RecordChange,
    Subject,
    SubjectKind,
)
from credit.personal_data import IdentityProtector
from credit.search import name_contains

_LEGAL_PERSON_VALUES = [k.value for k in LEGAL_PERSON_KINDS]
_PUBLIC_KIND_VALUES = sorted(k.value for k in PUBLIC_KINDS)


def check_uscc(*, db_session: Session, raw: str) -> str:
    """The normalized code, or InvalidIdentifier; the legacy allow-list is read only on failure."""
    try:
        return identifiers.validate_uscc(raw)
    except identifiers.InvalidIdentifier:
        normalized = identifiers.normalize_uscc(raw)
        if db_session.get(LegacyUscc, normalized) is None:
            raise
        return identifiers.validate_uscc(normalized, legacy_allowed=(normalized,))


def get_entity(*, db_session: Session, uscc: str) -> Subject | None:
    """The legal person registered under a (normalized, valid) code."""
    return db_session.scalars(
        select(Subject).where(Subject.uscc == uscc, Subject.kind.in_(_LEGAL_PERSON_VALUES))
    ).one_or_none()


def get_entity_or_raise(*, db_session: Session, uscc: str) -> Subject:
    """Like `get_entity`, raising EntityNotFound."""
    entity = get_entity(db_session=db_session, uscc=uscc)
    if entity is None:
        raise EntityNotFound(uscc)
    return entity


def search_entities(
    *,
    db_session: Session,
    q: str | None,
    kind: str | None,
    after_id: int | None,
    limit: int,
) -> Sequence[Subject]:
    """Legal persons whose name contains `q` or whose USCC equals it, in registration order."""
    stmt = select(Subject).order_by(Subject.id).limit(limit)
    stmt = (
        stmt.where(Subject.kind == kind)
        if kind
        else stmt.where(Subject.kind.in_(_LEGAL_PERSON_VALUES))
    )
    if q:
        dialect = db_session.get_bind().dialect.name
        condition = name_contains(q, dialect=dialect)
        if identifiers.is_valid_uscc(q):
            condition = or_(Subject.uscc == identifiers.normalize_uscc(q), condition)
        stmt = stmt.where(condition)
    if after_id is not None:
        stmt = stmt.where(Subject.id > after_id)
    return db_session.scalars(stmt).all()


_TODAY = bindparam("today", type_=Date)
# Built once: it is the platform's hottest read, and building it cost more than running it.
_ENTITY_WITH_PUBLIC_COUNTS = (
    select(
        Subject,
        *(
            func.count(Record.id).filter(Record.kind == kind).label(kind)
            for kind in _PUBLIC_KIND_VALUES
        ),
    )
    .outerjoin(Record, and_(Record.subject_pk == Subject.id, public_record_clause(_TODAY)))
    .where(Subject.uscc == bindparam("uscc"), Subject.kind.in_(_LEGAL_PERSON_VALUES))
    .group_by(Subject.id)
)


def get_entity_with_public_counts(
    *, db_session: Session, uscc: str, today: date
) -> tuple[Subject, dict[str, int]]:
    """The legal person and how many public records of each public kind it has today, in one
    statement; EntityNotFound if unknown."""
    row = db_session.execute(
        _ENTITY_WITH_PUBLIC_COUNTS, {"uscc": uscc, "today": today}
    ).one_or_none()
    if row is None:
        raise EntityNotFound(uscc)
    entity, *numbers = row
    return entity, dict(zip(_PUBLIC_KIND_VALUES, numbers, strict=True))


def list_public_records(
    *,
    db_session: Session,
    subject: Subject,
    kind: str | None,
    today: date,
    after: tuple[date, int] | None,
    limit: int,
) -> Sequence[Record]:
    """The legal person's records that are public today, newest decision first."""
    stmt = (
        select(Record)
        .where(Record.subject_pk == subject.id, public_record_clause(today))
        .order_by(Record.decided_on.desc(), Record.id.desc())
        .limit(limit)
    )
    if kind:
        stmt = stmt.where(Record.kind == kind)
    if after is not None:
        stmt = stmt.where(tuple_(Record.decided_on, Record.id) < tuple_(*after))
    return db_session.scalars(stmt).all()


def list_changes(
    *,
    db_session: Session,
    since: datetime | None,
    after: tuple[datetime, int] | None,
    limit: int,
) -> Sequence[tuple[RecordChange, Record, Subject]]:
    """Public-record changes of legal persons since a time, oldest first."""
    stmt = (
        select(RecordChange, Record, Subject)
        .join(Record, RecordChange.record_pk == Record.id)
        .join(Subject, Record.subject_pk == Subject.id)
        .where(
            Record.kind.in_(_PUBLIC_KIND_VALUES),
            Subject.kind.in_(_LEGAL_PERSON_VALUES),
        )
        .order_by(RecordChange.at, RecordChange.id)
        .limit(limit)
    )
    if since is not None:
        stmt = stmt.where(RecordChange.at >= since)
    if after is not None:
        stmt = stmt.where(tuple_(RecordChange.at, RecordChange.id) > tuple_(*after))
    return [(change, record, subject) for change, record, subject in db_session.execute(stmt)]


def natural_person(
    *, db_session: Session, identities: IdentityProtector, id_number: str, name: str
) -> Subject:
    """The natural person with this identity number, created on first sight (API.md).

    The number is validated (InvalidIdentifier), then kept only as its keyed hash and its
    ciphertext; the subject is addressed by its opaque platform id from then on.
    """
    number = identifiers.validate_id_number(id_number)
    lookup = identities.lookup_hash(number)
    subject = db_session.scalars(
        select(Subject).where(Subject.id_number_hash == lookup)
    ).one_or_none()
    if subject is None:
        subject = Subject(
            subject_id=f"sub_{secrets.token_hex(10)}",
            kind=SubjectKind.NATURAL_PERSON.value,
            name=name.strip(),
            id_number_hash=lookup,
            id_number_ciphertext=identities.encrypt(number),
        )
        db_session.add(subject)
        db_session.flush()
    return subject


def subject_record(*, db_session: Session, subject: Subject, record_id: str) -> Record:
    """One of the subject's own records, for their objections and repair requests."""
    found = db_session.scalars(
        select(Record).where(Record.record_id == record_id, Record.subject_pk == subject.id)
    ).one_or_none()
    if found is None:
        raise NotYourRecord(record_id)
    return found


def uscc_of(*, db_session: Session, record: Record) -> str | None:
    """The code of the legal person a record is about (None for a natural person)."""
    return db_session.scalar(select(Subject.uscc).where(Subject.id == record.subject_pk))
