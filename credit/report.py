"""The restricted credit report: one section per data category, holding only what was asked for.

A report is built in memory from the categories a consent, a legal grant or the subject's own
sign-in covers; nothing outside them is ever read (data minimisation, DESIGN.md §5).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import date
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from credit.disclosure import CATEGORIES, CATEGORY_OF_KIND, is_public
from credit.models import Record, RecordKind, RecordStatus, Subject, SubjectKind

_KINDS_OF: dict[str, list[str]] = {
    category: [k.value for k, c in CATEGORY_OF_KIND.items() if c == category]
    for category in CATEGORIES
}

IdNumberReader = Callable[[bytes], str]


def ordered(categories: Collection[str]) -> list[str]:
    """`categories` in the report's order, without repeats."""
    wanted = set(categories)
    return [c for c in CATEGORIES if c in wanted]


def mask_id_number(id_number: str) -> str:
    """The identity number as Chinese documents print it: region code and last four only."""
    return f"{id_number[:6]}{'*' * 8}{id_number[-4:]}"


def subject_summary(subject: Subject) -> dict[str, Any]:
    """Who the report is about."""
    summary: dict[str, Any] = {
        "subject_id": subject.subject_id,
        "kind": subject.kind,
        "kind_label": subject.kind_label,
        "name": subject.name,
    }
    if subject.uscc:
        summary["uscc"] = subject.uscc
    return summary


def _basic(subject: Subject, read_id_number: IdNumberReader) -> dict[str, Any]:
    if subject.kind == SubjectKind.NATURAL_PERSON:
        masked = (
            mask_id_number(read_id_number(subject.id_number_ciphertext))
            if subject.id_number_ciphertext
            else None
        )
        return {"name": subject.name, "id_number_masked": masked}
    return registration(subject)


def registration(entity: Subject) -> dict[str, Any]:
    """A legal person's full registration data, restricted fields included."""
    capital = entity.registered_capital
    return {
        "uscc": entity.uscc,
        "name": entity.name,
        "legal_representative": entity.legal_representative,
        "established_on": entity.established_on,
        "registered_capital": (
            {"amount": str(capital), "currency": entity.registered_capital_currency or "CNY"}
            if capital is not None
            else None
        ),
        "address": entity.address,
        "registration_authority": entity.registration_authority,
        "status": entity.status,
        "status_label": entity.status_label,
        "business_scope": entity.business_scope,
        "contact_phone": entity.contact_phone,
    }


def record_fields(record: Record) -> dict[str, Any]:
    """A record as the API shows it, in public views and in reports."""
    return {
        "record_id": record.record_id,
        "kind": record.kind,
        "kind_label": record.kind_label,
        "document_no": record.document_no,
        "title": record.title,
        "decided_on": record.decided_on,
        "department": record.department,
        "publish_until": record.publish_until,
        "disputed": record.disputed,
        "details": record.details,
    }


def _record(record: Record, subject: Subject, today: date) -> dict[str, Any]:
    return {**record_fields(record), "public": is_public(record, subject, today)}


# Built once: it runs on every report.
_ACTIVE_RECORDS_OF_KINDS = (
    select(Record)
    .where(
        Record.subject_pk == bindparam("subject_pk"),
        Record.kind.in_(bindparam("kinds", expanding=True)),
        Record.status == RecordStatus.ACTIVE.value,
    )
    .order_by(Record.decided_on.desc(), Record.id.desc())
)


def build(
    *,
    db_session: Session,
    subject: Subject,
    categories: Collection[str],
    today: date,
    read_id_number: IdNumberReader,
) -> dict[str, Any]:
    """The sections of `categories` for `subject`: `basic` and one list of records per other.

    Withdrawn records are left out (a department withdraws what should never have stood);
    records past their publication period stay in, marked `public: false`.
    """
    sections: dict[str, Any] = {}
    wanted = ordered(categories)
    kinds = [kind for category in wanted for kind in _KINDS_OF[category]]
    records: list[Record] = []
    if kinds:
        records = list(
            db_session.scalars(_ACTIVE_RECORDS_OF_KINDS, {"subject_pk": subject.id, "kinds": kinds})
        )
    for category in wanted:
        if category == "basic":
            sections["basic"] = _basic(subject, read_id_number)
            continue
        mine = [r for r in records if r.category == category]
        section: dict[str, Any] = {"records": [_record(r, subject, today) for r in mine]}
        if category == "tax":
            ratings = [r for r in mine if r.kind == RecordKind.TAX_RATING]
            section["level"] = ratings[0].details.get("level") if ratings else None
        sections[category] = section
    return sections
