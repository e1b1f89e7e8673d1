"""Ingestion of departments' records (API.md "Departments"): valid rows accepted, bad rows
returned with their reasons, nothing lost and nothing doubled.

A record is identified by (department, kind, document_no). Sending the same record again changes
nothing (`duplicate`); sending other content under the same number is a conflict for that row,
which names the record to correct instead. Each row is written in a savepoint, so a row that
loses a race with a concurrent batch is re-read rather than failing the batch.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from credit import clock
from credit.disclosure import PUBLIC_KINDS, category_of, publish_until
from credit.errors import InvalidRecord, RecordConflict, RecordNotFound
from credit.models import (
    LEGAL_PERSON_KINDS,
    ChangeKind,
    Objection,
    ObjectionStatus,
    Record,
    RecordChange,
    RecordKind,
    RecordStatus,
    RecordVersion,
    RepairRequest,
    RepairStatus,
    Subject,
)
from credit.personal_data import IdentityProtector
from credit.records_input import Errors, RecordDraft, validate_record
from credit.service import natural_person

MAX_BATCH = 1000
_LEGAL_PERSON_VALUES = frozenset(k.value for k in LEGAL_PERSON_KINDS)


@dataclass(frozen=True)
class Accepted:
    """A row stored now (`created`) or found stored already (`duplicate`)."""

    index: int
    record_id: str
    outcome: str


@dataclass(frozen=True)
class Rejected:
    """A row not stored: 422-like field errors, or a 409 conflict with a stored record."""

    index: int
    status: int
    errors: Errors


@dataclass
class BatchResult:
    """What became of each row of a batch, in the order of the rows."""

    records: list[Accepted] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        """Rows stored by this batch."""
        return sum(1 for r in self.records if r.outcome == "created")

    @property
    def duplicates(self) -> int:
        """Rows that were stored already, unchanged."""
        return sum(1 for r in self.records if r.outcome == "duplicate")


@dataclass(frozen=True)
class _NewPerson:
    """A natural person seen for the first time, made only if one of their records is stored."""

    lookup_hash: str


SubjectRef = Subject | _NewPerson


def _content(
    draft: RecordDraft, subject: SubjectRef, repaired_end: date | None = None
) -> dict[str, Any]:
    """What must match for a re-sent record to be the same record."""
    return {
        # A person not yet known never matches a stored record.
        "subject_pk": subject.id if isinstance(subject, Subject) else subject,
        "title": draft.title,
        "decided_on": draft.decided_on,
        "details": draft.details,
        "publish_until": _publish_until(draft, repaired_end),
    }


def _publish_until(draft: RecordDraft, repaired_end: date | None = None) -> date | None:
    """The record's last public day; an approved credit repair's early end outlasts any
    re-sending or correction of the record."""
    until = publish_until(
        draft.kind, draft.decided_on, draft.details, requested_until=draft.publish_until
    )
    if repaired_end is not None and (until is None or repaired_end < until):
        return repaired_end
    return until


def _repaired_ends(db_session: Session, records: Collection[Record]) -> dict[int, date]:
    """The last public day set by an approved credit repair, for those of `records` with one."""
    if not records:
        return {}
    rows = db_session.execute(
        select(RepairRequest.record_pk, func.min(RepairRequest.publication_ended_on))
        .where(
            RepairRequest.record_pk.in_({record.id for record in records}),
            RepairRequest.status == RepairStatus.APPROVED.value,
        )
        .group_by(RepairRequest.record_pk)
    )
    return {record_pk: ended for record_pk, ended in rows if ended is not None}


def _stored_content(record: Record) -> dict[str, Any]:
    return {
        "subject_pk": record.subject_pk,
        "title": record.title,
        "decided_on": record.decided_on,
        "details": record.details,
        "publish_until": record.publish_until,
    }


def _conflict(record_id: str) -> Errors:
    return {
        "document_no": [
            f"Already published with other content as {record_id}: to change it, "
            f"send the corrected record with PUT /v1/ingest/records/{record_id}."
        ]
    }


def ingest_records(
    *,
    db_session: Session,
    department: str,
    rows: Sequence[Any],
    identities: IdentityProtector,
    changed_by: str,
    request_id: str | None = None,
    legacy_allowed: Collection[str] = (),
) -> BatchResult:
    """Store the valid rows of a batch for `department` (the caller commits).

    `changed_by` (the client id) and `request_id` go into each new record's history. The batch
    is checked against what is stored in two queries and its new records are inserted together;
    if a concurrent batch takes one of their keys meanwhile, the batch is re-done row by row.
    """
    if len(rows) > MAX_BATCH:
        raise ValueError(f"a batch holds at most {MAX_BATCH} records")
    today = clock.today()
    outcomes: dict[int, Accepted | Rejected] = {}
    valid: list[tuple[int, RecordDraft]] = []
    for index, raw in enumerate(rows):
        draft, errors = validate_record(raw, today=today, legacy_allowed=legacy_allowed)
        if draft is None:
            outcomes[index] = Rejected(index, 422, errors)
        else:
            valid.append((index, draft))
    subjects = _subjects(db_session, valid, identities)
    stored = _stored(db_session, department, [draft for _, draft in valid])
    repaired = _repaired_ends(db_session, list(stored.values()))
    new: dict[tuple[str, str], tuple[str, RecordDraft, SubjectRef, dict[str, Any]]] = {}
    for index, draft in valid:
        subject = subjects[index]
        if isinstance(subject, dict):
            outcomes[index] = Rejected(index, 422, subject)
            continue
        key = (draft.kind, draft.document_no)
        if key in stored:
            found = stored[key]
            content = _content(draft, subject, repaired.get(found.id))
            outcomes[index] = _judge(index, found, content)
        elif key in new:  # the same number twice in one batch
            record_id, _, _, first_content = new[key]
            outcomes[index] = (
                Accepted(index, record_id, "duplicate")
                if _content(draft, subject) == first_content
                else Rejected(index, 409, _conflict(record_id))
            )
        else:
            record_id = _new_record_id()
            new[key] = (record_id, draft, subject, _content(draft, subject))
            outcomes[index] = Accepted(index, record_id, "created")
    try:
        with db_session.begin_nested():
            # Concurrent batches sharing keys take their index locks in the same (key) order,
            # so one waits for the other instead of deadlocking.
            created: list[tuple[Record, Subject]] = []
            for key in sorted(new):
                record_id, draft, subject, _ = new[key]
                person = _made(db_session, subject, draft, identities)
                created.append((_new_record(department, draft, person, record_id), person))
            db_session.add_all(record for record, _ in created)
            db_session.flush()
            for record, person in created:
                append_history(
                    db_session, record, person, ChangeKind.PUBLISHED, changed_by, request_id
                )
            db_session.flush()
    except IntegrityError:
        return _row_by_row(
            db_session, department, rows, identities, changed_by, request_id, legacy_allowed
        )
    return _in_row_order(outcomes)


def _subjects(
    db_session: Session, valid: Sequence[tuple[int, RecordDraft]], identities: IdentityProtector
) -> dict[int, SubjectRef | Errors]:
    """Each valid row's subject, found in one query per kind of person, or the errors naming
    it; natural persons not seen before are only named (`_NewPerson`), not made."""
    codes = {draft.uscc for _, draft in valid if draft.uscc is not None}
    hashes = {
        index: identities.lookup_hash(draft.id_number or "")
        for index, draft in valid
        if draft.uscc is None
    }
    registered: dict[str | None, Subject] = {}
    if codes:
        legal = select(Subject).where(
            Subject.uscc.in_(codes), Subject.kind.in_(_LEGAL_PERSON_VALUES)
        )
        registered = {subject.uscc: subject for subject in db_session.scalars(legal)}
    persons: dict[str | None, Subject] = {}
    if hashes:
        natural = select(Subject).where(Subject.id_number_hash.in_(set(hashes.values())))
        persons = {subject.id_number_hash: subject for subject in db_session.scalars(natural)}
    found: dict[int, SubjectRef | Errors] = {}
    for index, draft in valid:
        if draft.uscc is None:
            lookup = hashes[index]
            found[index] = persons.get(lookup) or _NewPerson(lookup)
        else:
            found[index] = registered.get(draft.uscc) or _unregistered(draft.uscc)
    return found


def _made(
    db_session: Session, subject: SubjectRef, draft: RecordDraft, identities: IdentityProtector
) -> Subject:
    """The subject of a record about to be stored: a new natural person is made now."""
    if isinstance(subject, Subject):
        return subject
    return natural_person(
        db_session=db_session,
        identities=identities,
        id_number=draft.id_number or "",
        name=draft.name or "",
    )


def _unregistered(uscc: str) -> Errors:
    return {
        "uscc": [
            f"No legal person is registered under {uscc}: register it first "
            f"with PUT /v1/ingest/entities/{uscc}."
        ]
    }


def _stored(
    db_session: Session, department: str, drafts: Sequence[RecordDraft]
) -> dict[tuple[str, str], Record]:
    """The department's stored records under the drafts' document numbers, by (kind, number)."""
    numbers = {draft.document_no for draft in drafts}
    if not numbers:
        return {}
    # Every column of the unique key is constrained, so the look-up stays on its index.
    records = db_session.scalars(
        select(Record).where(
            Record.department == department,
            Record.kind.in_({draft.kind for draft in drafts}),
            Record.document_no.in_(numbers),
        )
    )
    return {(record.kind, record.document_no): record for record in records}


def _judge(index: int, stored: Record, content: dict[str, Any]) -> Accepted | Rejected:
    """A row whose key is stored: a duplicate if its content is the same, a conflict if not."""
    if _stored_content(stored) == content:
        return Accepted(index, stored.record_id, "duplicate")
    return Rejected(index, 409, _conflict(stored.record_id))


def _row_by_row(
    db_session: Session,
    department: str,
    rows: Sequence[Any],
    identities: IdentityProtector,
    changed_by: str,
    request_id: str | None,
    legacy_allowed: Collection[str],
) -> BatchResult:
    """The batch one row at a time, each in a savepoint: the answer to a concurrent batch.

    Rows are stored in key order, like the batch path, so that two batches never wait for
    each other's keys in opposite orders.
    """
    today = clock.today()
    outcomes: dict[int, Accepted | Rejected] = {}
    valid: list[tuple[int, RecordDraft]] = []
    for index, raw in enumerate(rows):
        draft, errors = validate_record(raw, today=today, legacy_allowed=legacy_allowed)
        if draft is None:
            outcomes[index] = Rejected(index, 422, errors)
        else:
            valid.append((index, draft))
    valid.sort(key=lambda item: (item[1].kind, item[1].document_no, item[0]))
    for index, draft in valid:
        subject = _subjects(db_session, [(index, draft)], identities)[index]
        if isinstance(subject, dict):
            outcomes[index] = Rejected(index, 422, subject)
            continue
        # Earlier rows of this batch are flushed: they are found here like stored ones.
        stored = _find(db_session, department, draft)
        if stored is None:
            created = _store(
                db_session, department, draft, subject, identities, changed_by, request_id
            )
            if created is not None:
                outcomes[index] = Accepted(index, created.record_id, "created")
                continue
            # Lost a race with a concurrent batch: judge against the winner.
            stored = _find(db_session, department, draft)
            if stored is None:
                raise RuntimeError("a record's key was taken, yet it cannot be found")
            subject = _subjects(db_session, [(index, draft)], identities)[index]
            if isinstance(subject, dict):  # pragma: no cover - it was found a moment ago
                outcomes[index] = Rejected(index, 422, subject)
                continue
        repaired_end = _repaired_ends(db_session, [stored]).get(stored.id)
        outcomes[index] = _judge(index, stored, _content(draft, subject, repaired_end))
    return _in_row_order(outcomes)


def _find(db_session: Session, department: str, draft: RecordDraft) -> Record | None:
    """The department's record under the draft's kind and document number, if any."""
    return _stored(db_session, department, [draft]).get((draft.kind, draft.document_no))


def _in_row_order(outcomes: dict[int, Accepted | Rejected]) -> BatchResult:
    result = BatchResult()
    for index in sorted(outcomes):
        outcome = outcomes[index]
        if isinstance(outcome, Accepted):
            result.records.append(outcome)
        else:
            result.rejected.append(outcome)
    return result


def _new_record_id() -> str:
    return f"rec_{secrets.token_hex(10)}"


def _new_record(department: str, draft: RecordDraft, subject: Subject, record_id: str) -> Record:
    now = clock.now()
    return Record(
        record_id=record_id,
        subject_pk=subject.id,
        kind=draft.kind,
        category=category_of(draft.kind),
        department=department,
        document_no=draft.document_no,
        title=draft.title,
        decided_on=draft.decided_on,
        publish_until=_publish_until(draft),
        details=draft.details,
        status=RecordStatus.ACTIVE.value,
        disputed=False,
        version=1,
        created_at=now,
        updated_at=now,
    )


def _store(
    db_session: Session,
    department: str,
    draft: RecordDraft,
    subject: SubjectRef,
    identities: IdentityProtector,
    changed_by: str,
    request_id: str | None,
) -> Record | None:
    """Insert one record (its subject if new, its history) in a savepoint; None on a duplicate
    key."""
    try:
        with db_session.begin_nested():
            person = _made(db_session, subject, draft, identities)
            record = _new_record(department, draft, person, _new_record_id())
            db_session.add(record)
            db_session.flush()
            append_history(db_session, record, person, ChangeKind.PUBLISHED, changed_by, request_id)
            db_session.flush()
    except IntegrityError:
        return None
    return record


@dataclass(frozen=True)
class EntityDraft:
    """A legal person's registration data as a department sends it (already validated)."""

    name: str
    kind: str
    legal_representative: str | None = None
    established_on: date | None = None
    registered_capital_fen: int | None = None
    registered_capital_currency: str | None = None
    address: str | None = None
    registration_authority: str | None = None
    status: str | None = None
    business_scope: str | None = None
    contact_phone: str | None = None


def put_entity(*, db_session: Session, uscc: str, draft: EntityDraft) -> tuple[Subject, bool]:
    """Create or replace a legal person's registration data: (the entity, whether it is new)."""
    if draft.kind not in _LEGAL_PERSON_VALUES:
        raise ValueError(f"{draft.kind} is not a kind of legal person")
    entity = db_session.scalars(select(Subject).where(Subject.uscc == uscc)).one_or_none()
    created = entity is None
    if entity is None:
        entity = Subject(subject_id=f"sub_{secrets.token_hex(10)}", uscc=uscc, kind=draft.kind)
        db_session.add(entity)
    for name, value in vars(draft).items():
        setattr(entity, name, value)
    entity.updated_at = clock.now()
    db_session.flush()
    return entity, created


def append_history(
    db_session: Session,
    record: Record,
    subject: Subject,
    change: ChangeKind | str,
    changed_by: str,
    request_id: str | None,
    reason: str | None = None,
    *,
    feed: ChangeKind | None = None,
) -> None:
    """Append the record's state to its history, and to the public feed if it is public.

    `change` names the step in the history; `feed` the step the public feed shows, when it
    differs (a credit repair is a correction of the publication period to the public).
    """
    now = clock.now()
    db_session.add(_version(record, str(change), changed_by, now, reason, request_id))
    feed_change = feed or ChangeKind(change)
    if subject.is_legal_person and RecordKind(record.kind) in PUBLIC_KINDS:
        db_session.add(RecordChange(record_pk=record.id, change=feed_change.value, at=now))


def _version(
    record: Record,
    change: str,
    changed_by: str,
    at: datetime,
    reason: str | None = None,
    request_id: str | None = None,
) -> RecordVersion:
    """The history row of the record's present state."""
    return RecordVersion(
        record_pk=record.id,
        version=record.version,
        change=change,
        title=record.title,
        decided_on=record.decided_on,
        publish_until=record.publish_until,
        details=record.details,
        status=record.status,
        reason=reason,
        changed_by=changed_by,
        request_id=request_id,
        at=at,
    )


def _own_record(db_session: Session, department: str, record_id: str) -> tuple[Record, Subject]:
    row = db_session.execute(
        select(Record, Subject)
        .join(Subject, Subject.id == Record.subject_pk)
        .where(Record.record_id == record_id, Record.department == department)
    ).one_or_none()
    if row is None:
        raise RecordNotFound(record_id)
    record, subject = row
    return record, subject


def keep_first_version(db_session: Session, record: Record) -> None:
    """Records loaded in bulk have no history yet: keep their state before the first change."""
    has_history = db_session.scalar(
        select(RecordVersion.id).where(RecordVersion.record_pk == record.id).limit(1)
    )
    if has_history is None:
        db_session.add(_version(record, ChangeKind.PUBLISHED.value, "import", record.created_at))


def correct_record(
    *,
    db_session: Session,
    department: str,
    record_id: str,
    raw: Any,
    identities: IdentityProtector,
    changed_by: str,
    request_id: str | None = None,
    legacy_allowed: Collection[str] = (),
) -> tuple[Record, bool]:
    """Replace a record's content with its department's corrected version: (record, changed).

    The kind, document number and subject stay; everything else may change. Sending the
    current content again changes nothing.
    """
    record, subject = _own_record(db_session, department, record_id)
    if record.status == RecordStatus.WITHDRAWN:
        raise RecordConflict(f"{record_id} was withdrawn; publish a new record instead")
    draft, errors = validate_record(raw, today=clock.today(), legacy_allowed=legacy_allowed)
    if draft is None:
        raise InvalidRecord(errors)
    fixed = {
        "kind": (draft.kind, record.kind),
        "document_no": (draft.document_no, record.document_no),
    }
    mismatch = {
        name: [f"A correction keeps the record's {name} ({stored}); publish a new record."]
        for name, (sent, stored) in fixed.items()
        if sent != stored
    }
    same_subject = (
        draft.uscc == subject.uscc
        if draft.uscc is not None
        else identities.lookup_hash(draft.id_number or "") == subject.id_number_hash
    )
    if not same_subject:
        field_name = "uscc" if draft.uscc is not None else "id_number"
        mismatch[field_name] = ["A correction keeps the record's subject; withdraw it instead."]
    if mismatch:
        raise InvalidRecord(mismatch)
    repaired_end = _repaired_ends(db_session, [record]).get(record.id)
    if _stored_content(record) == _content(draft, subject, repaired_end):
        return record, False
    keep_first_version(db_session, record)
    record.title = draft.title
    record.decided_on = draft.decided_on
    record.details = draft.details
    record.publish_until = _publish_until(draft, repaired_end)
    record.version += 1
    record.updated_at = clock.now()
    db_session.flush()
    append_history(db_session, record, subject, ChangeKind.CORRECTED, changed_by, request_id)
    _link_upheld_objections(db_session, record)
    return record, True


def withdraw_record(
    *,
    db_session: Session,
    department: str,
    record_id: str,
    reason: str,
    changed_by: str,
    request_id: str | None = None,
) -> Record:
    """Withdraw a record its department published: gone from every view, kept in history."""
    record, subject = _own_record(db_session, department, record_id)
    if record.status == RecordStatus.WITHDRAWN:
        raise RecordConflict(f"{record_id} is withdrawn already")
    keep_first_version(db_session, record)
    record.status = RecordStatus.WITHDRAWN.value
    record.version += 1
    record.updated_at = clock.now()
    db_session.flush()
    append_history(
        db_session, record, subject, ChangeKind.WITHDRAWN, changed_by, request_id, reason
    )
    _link_upheld_objections(db_session, record)
    return record


def _link_upheld_objections(db_session: Session, record: Record) -> None:
    """Objections upheld before this correction or withdrawal now point to it."""
    db_session.execute(
        update(Objection)
        .where(
            Objection.record_pk == record.id,
            Objection.status == ObjectionStatus.UPHELD.value,
            Objection.change_version.is_(None),
        )
        .values(change_version=record.version)
    )
