"""Builders of test data: subjects and records with valid identifiers and sensible defaults."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.orm import Session

from credit.disclosure import category_of, publish_until
from credit.identifiers import make_uscc
from credit.models import ChangeKind, Record, RecordChange, Subject

_counter = itertools.count(1)

KIND_CODES = {
    "enterprise": ("9", "1"),
    "individual_business": ("9", "2"),
    "government_agency": ("1", "1"),
    "public_institution": ("1", "2"),
    "social_organization": ("5", "1"),
}


def new_uscc(kind: str = "enterprise") -> str:
    """A fresh, valid code of the registration type matching `kind`."""
    authority, org_type = KIND_CODES[kind]
    return make_uscc(
        authority=authority,
        org_type=org_type,
        division="370306",
        org_code_body=f"T{next(_counter):07d}",
    )


def make_entity(session: Session, **overrides: Any) -> Subject:
    """A legal person, committed (within the test's transaction)."""
    n = next(_counter)
    kind = overrides.get("kind", "enterprise")
    values: dict[str, Any] = {
        "subject_id": f"sub_test{n:016d}",
        "kind": kind,
        "name": f"淄博市周村区测试{n}丝绸有限公司",
        "uscc": new_uscc(kind),
        "legal_representative": "王建国",
        "established_on": date(2012, 5, 18),
        "registered_capital_fen": 500_000_000,
        "registered_capital_currency": "CNY",
        "address": "山东省淄博市周村区正阳路126号",
        "registration_authority": "淄博市周村区市场监督管理局",
        "status": "active",
        "business_scope": "丝绸制品加工、销售",
        "contact_phone": "0533-6123456",
    }
    values.update(overrides)
    subject = Subject(**values)
    session.add(subject)
    session.commit()
    return subject


def make_record(session: Session, subject: Subject, **overrides: Any) -> Record:
    """A record of `subject` (a general penalty decided 2026-06-01 by default), committed."""
    n = next(_counter)
    kind = overrides.pop("kind", "penalty")
    decided_on = overrides.pop("decided_on", date(2026, 6, 1))
    details = overrides.pop(
        "details",
        {
            "basis": "《中华人民共和国食品安全法》第一百二十四条",
            "violation": "经营超过保质期的食品",
            "result": "罚款人民币5000元",
            "fine_amount": "5000.00",
            "severity": "general",
            "domain": "food_safety",
        }
        if kind == "penalty"
        else {},
    )
    values: dict[str, Any] = {
        "record_id": f"rec_test{n:016d}",
        "subject_pk": subject.id,
        "kind": kind,
        "category": category_of(kind),
        "department": "淄博市周村区市场监督管理局",
        "document_no": f"周市监罚〔2026〕{n:05d}号",
        "title": "测试记录",
        "decided_on": decided_on,
        "publish_until": publish_until(kind, decided_on, details),
        "details": details,
    }
    values.update(overrides)
    record = Record(**values)
    session.add(record)
    session.commit()
    return record


def make_change(
    session: Session, record: Record, change: ChangeKind = ChangeKind.PUBLISHED, *, at: datetime
) -> RecordChange:
    """A change-feed entry, committed."""
    entry = RecordChange(record_pk=record.id, change=change.value, at=at.astimezone(UTC))
    session.add(entry)
    session.commit()
    return entry


def penalty_row(uscc: str, n: int, **changes: Any) -> dict[str, Any]:
    """A penalty as a department submits it (API.md "Departments"), number `n`."""
    record: dict[str, Any] = {
        "kind": "penalty",
        "document_no": f"周市监罚〔2026〕{n:04d}号",
        "title": "经营超过保质期的食品案",
        "decided_on": "2026-06-12",
        "uscc": uscc,
        "details": {
            "basis": "《中华人民共和国食品安全法》第一百二十四条",
            "violation": "经营超过保质期的食品",
            "result": "罚款人民币5000元",
            "fine_amount": "5000.00",
            "severity": "general",
        },
    }
    record.update(changes)
    return record
