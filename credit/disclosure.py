"""Disclosure rules: which records are public, and until when (NDRC Order No. 58 of 2023).

Only licences, penalties and the three lists of legal persons are ever public, each for its
publication period. Periods are stored as the last public day (`publish_until`), computed when a
record is written, so a record leaves every public view the day its period ends without a job.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, and_, or_

from credit.models import LEGAL_PERSON_KINDS, Record, RecordKind, RecordStatus, Subject

# The data categories of restricted reads (DESIGN.md §4), in the order reports list them; the
# OAuth scope of each is `credit.<category>`.
CATEGORIES: tuple[str, ...] = (
    "basic",
    "administrative",
    "lists",
    "tax",
    "judicial",
    "social_insurance",
)

CATEGORY_OF_KIND: dict[RecordKind, str] = {
    RecordKind.LICENSE: "administrative",
    RecordKind.PENALTY: "administrative",
    RecordKind.RED_LIST: "lists",
    RecordKind.BLACK_LIST: "lists",
    RecordKind.ABNORMAL_OPERATION: "lists",
    RecordKind.TAX_RATING: "tax",
    RecordKind.TAX_VIOLATION: "tax",
    RecordKind.COURT_ENFORCEMENT: "judicial",
    RecordKind.DISHONEST_DEBTOR: "judicial",
    RecordKind.SOCIAL_INSURANCE_ARREARS: "social_insurance",
}

PUBLIC_KINDS: frozenset[RecordKind] = frozenset(
    {
        RecordKind.LICENSE,
        RecordKind.PENALTY,
        RecordKind.RED_LIST,
        RecordKind.BLACK_LIST,
        RecordKind.ABNORMAL_OPERATION,
    }
)
LIST_KINDS: frozenset[RecordKind] = frozenset(
    {RecordKind.RED_LIST, RecordKind.BLACK_LIST, RecordKind.ABNORMAL_OPERATION}
)

# NDRC Order No. 58 (2023) art. 10: general penalties one year, serious three, at most three.
GENERAL_PENALTY_YEARS = 1
SERIOUS_PENALTY_YEARS = 3
MAX_PENALTY_YEARS = 3
# Art. 13: repair may be asked after three months, one year in these safety domains.
SAFETY_DOMAINS = frozenset({"special_equipment", "work_safety", "fire_safety"})


def category_of(kind: str) -> str:
    """The data category (and so the OAuth scope `credit.<category>`) a record kind belongs to."""
    return CATEGORY_OF_KIND[RecordKind(kind)]


def add_years(day: date, years: int) -> date:
    """`day` moved by whole years; 29 February becomes 28 February in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def add_months(day: date, months: int) -> date:
    """`day` moved by whole months, clamped to the end of a shorter month."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise AssertionError("unreachable: every month has 28 days")


def _iso_date(value: Any) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def publish_until(
    kind: str, decided_on: date, details: dict[str, Any], *, requested_until: date | None = None
) -> date | None:
    """The last day a record is public; None when it is public until removed, or never public.

    A penalty is public for one year (general) or three (serious) from its decision, or until the
    department's earlier `requested_until`, never beyond three years. A licence is public while it
    is valid; a list entry until the day before its removal.
    """
    record_kind = RecordKind(kind)
    if record_kind is RecordKind.PENALTY:
        years = (
            SERIOUS_PENALTY_YEARS if details.get("severity") == "serious" else GENERAL_PENALTY_YEARS
        )
        end = add_years(decided_on, years) - timedelta(days=1)
        ceiling = add_years(decided_on, MAX_PENALTY_YEARS) - timedelta(days=1)
        if requested_until is not None:
            end = requested_until
        return min(end, ceiling)
    if record_kind is RecordKind.LICENSE:
        return _iso_date(details.get("valid_until"))
    if record_kind in LIST_KINDS:
        removed_on = _iso_date(details.get("removed_on"))
        return removed_on - timedelta(days=1) if removed_on else None
    return None


def repair_allowed_from(kind: str, decided_on: date, details: dict[str, Any]) -> date | None:
    """The first day a subject may ask for credit repair of a penalty; None for other kinds."""
    if RecordKind(kind) is not RecordKind.PENALTY:
        return None
    if details.get("domain") in SAFETY_DOMAINS:
        return add_years(decided_on, 1)
    return add_months(decided_on, 3)


def is_public(record: Record, subject: Subject, today: date) -> bool:
    """Whether `record` is in the public views on `today`."""
    if subject.kind not in LEGAL_PERSON_KINDS or record.kind not in PUBLIC_KINDS:
        return False
    if record.status != RecordStatus.ACTIVE or record.decided_on > today:
        return False
    if record.publish_until is not None:
        return today <= record.publish_until
    # Licences always carry a validity period; a licence without one is not shown.
    return RecordKind(record.kind) in LIST_KINDS


def public_record_clause(today: date | BindParameter[date]) -> ColumnElement[bool]:
    """The SQL condition matching `is_public` for records (of legal persons); `today` may be a
    bound parameter, for a statement built once."""
    return and_(
        Record.kind.in_([k.value for k in PUBLIC_KINDS]),
        Record.status == RecordStatus.ACTIVE.value,
        Record.decided_on <= today,
        or_(
            Record.publish_until >= today,
            and_(
                Record.publish_until.is_(None),
                Record.kind.in_([k.value for k in LIST_KINDS]),
            ),
        ),
    )
