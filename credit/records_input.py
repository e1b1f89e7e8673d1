"""Validation of the records departments send (API.md "Departments"): field by field, every
problem named with a message a clerk can act on, nothing half-accepted.

`validate_record` turns one submitted row into a `RecordDraft`, or into the errors of each field
(`"details.fine_amount"` for a nested one). It decides nothing about storage: idempotency and
conflicts are the ingestion service's.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from credit import identifiers
from credit.disclosure import LIST_KINDS, MAX_PENALTY_YEARS, add_years
from credit.models import RecordKind

# The founding of the People's Republic: no administrative decision we publish is older.
EARLIEST_DECISION = date(1949, 10, 1)
TOP_LEVEL_FIELDS = frozenset(
    {"kind", "document_no", "title", "decided_on", "details", "uscc", "id_number", "name",
     "publish_until"}
)  # fmt: skip
# C0 and C1 control characters, and lone surrogates (no Unicode text, no database stores them).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
# ASCII digits only (`\d` takes full-width ones too), matched whole (`$` allows a final "\n").
_AMOUNT = re.compile(r"[0-9]{1,13}(\.[0-9]{1,2})?")
_SNAKE = re.compile(r"[a-z][a-z0-9_]{0,39}")

Errors = dict[str, list[str]]


@dataclass(frozen=True)
class RecordDraft:
    """A submitted record that passed every check, normalized."""

    kind: str
    document_no: str
    title: str
    decided_on: date
    details: dict[str, Any]
    uscc: str | None = None
    id_number: str | None = None
    name: str | None = None
    publish_until: date | None = None


@dataclass
class _Checker:
    """Collects the errors of one row."""

    today: date
    errors: Errors = field(default_factory=dict)

    def fail(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)

    def text(
        self, data: Mapping[str, Any], key: str, name: str, *, max_length: int, required: bool
    ) -> str | None:
        value = data.get(key)
        if value is None:
            if required:
                self.fail(name, "Missing: give this field.")
            return None
        if not isinstance(value, str):
            self.fail(name, "Give text (a JSON string).")
            return None
        value = value.strip()
        if not value:
            if required:
                self.fail(name, "Empty: give this field.")
            return None
        if len(value) > max_length:
            self.fail(name, f"At most {max_length} characters (this has {len(value)}).")
            return None
        if _CONTROL.search(value):
            self.fail(name, "Contains a control character (such as a NUL or a line break).")
            return None
        return value

    def day(
        self, data: Mapping[str, Any], key: str, name: str, *, required: bool, past: bool = True
    ) -> date | None:
        value = data.get(key)
        if value is None:
            if required:
                self.fail(name, "Missing: give a date as YYYY-MM-DD.")
            return None
        if not isinstance(value, str) or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
            self.fail(name, "Give a date as YYYY-MM-DD, for example 2026-06-12.")
            return None
        try:
            parsed = date.fromisoformat(value)
        except ValueError:
            self.fail(name, f"{value} is not a real date.")
            return None
        if parsed < EARLIEST_DECISION:
            self.fail(name, "A date before 1949-10-01 cannot be right.")
            return None
        if past and parsed > self.today:
            self.fail(name, f"In the future: today is {self.today.isoformat()}.")
            return None
        return parsed

    def amount(self, data: Mapping[str, Any], key: str, name: str, *, required: bool) -> None:
        value = data.get(key)
        if value is None:
            if required:
                self.fail(name, "Missing: give the amount in yuan as a decimal string.")
            return
        if not isinstance(value, str):
            self.fail(name, 'Give the amount in yuan as a decimal string, for example "5000.00".')
            return
        if value.startswith("-") and _AMOUNT.fullmatch(value[1:]):
            self.fail(name, "An amount must not be negative.")
        elif not _AMOUNT.fullmatch(value):
            self.fail(
                name,
                f'"{value[:40]}" is not an amount in yuan: up to 13 digits and at most 2 '
                'decimals, without signs, commas or spaces, e.g. "5000.00".',
            )

    def choice(
        self, data: Mapping[str, Any], key: str, name: str, options: Collection[str], *,
        required: bool,
    ) -> str | None:  # fmt: skip
        value = data.get(key)
        if value is None:
            if required:
                self.fail(name, f"Missing: one of {', '.join(options)}.")
            return None
        if value not in options:
            self.fail(name, f"Choose one of: {', '.join(options)}.")
            return None
        return str(value)

    def integer(
        self, data: Mapping[str, Any], key: str, name: str, low: int, high: int
    ) -> int | None:
        value = data.get(key)
        if value is None:
            self.fail(name, f"Missing: a whole number from {low} to {high}.")
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.fail(name, f"Give a whole number from {low} to {high}.")
            return None
        return value


def _penalty(c: _Checker, d: Mapping[str, Any]) -> None:
    for key in ("basis", "violation", "result"):
        c.text(d, key, f"details.{key}", max_length=2000, required=True)
    c.amount(d, "fine_amount", "details.fine_amount", required=False)
    c.choice(d, "severity", "details.severity", ("general", "serious"), required=True)
    # 处罚类别 of the national standard, e.g. 罚款 or 警告;罚款.
    c.text(d, "category_label", "details.category_label", max_length=100, required=False)
    domain = d.get("domain")
    if domain is not None and not (isinstance(domain, str) and _SNAKE.fullmatch(domain)):
        c.fail("details.domain", "A snake_case name such as food_safety or fire_safety.")


def _license(c: _Checker, d: Mapping[str, Any]) -> None:
    c.text(d, "license_name", "details.license_name", max_length=200, required=True)
    c.text(d, "license_no", "details.license_no", max_length=100, required=True)
    c.text(d, "content", "details.content", max_length=2000, required=False)
    start = c.day(d, "valid_from", "details.valid_from", required=True, past=False)
    end = c.day(d, "valid_until", "details.valid_until", required=True, past=False)
    if start and end and end < start:
        c.fail("details.valid_until", "Ends before it starts (valid_from).")


def _list_entry(c: _Checker, d: Mapping[str, Any], *, named: bool = True) -> None:
    c.text(d, "list_name", "details.list_name", max_length=200, required=named)
    c.text(d, "reason", "details.reason", max_length=2000, required=True)
    listed = c.day(d, "listed_on", "details.listed_on", required=True)
    removed = c.day(d, "removed_on", "details.removed_on", required=False)
    c.text(d, "removal_reason", "details.removal_reason", max_length=2000, required=False)
    if listed and removed and removed < listed:
        c.fail("details.removed_on", "Removed before it was listed (listed_on).")


def _tax_rating(c: _Checker, d: Mapping[str, Any]) -> None:
    c.integer(d, "year", "details.year", 2000, c.today.year)
    c.choice(d, "level", "details.level", ("A", "B", "M", "C", "D"), required=True)


def _tax_violation(c: _Checker, d: Mapping[str, Any]) -> None:
    c.text(d, "violation", "details.violation", max_length=2000, required=True)
    c.amount(d, "tax_amount", "details.tax_amount", required=True)
    c.text(d, "result", "details.result", max_length=2000, required=True)


def _court_enforcement(c: _Checker, d: Mapping[str, Any]) -> None:
    c.text(d, "court", "details.court", max_length=200, required=True)
    c.text(d, "case_no", "details.case_no", max_length=100, required=True)
    c.amount(d, "amount", "details.amount", required=True)
    c.choice(d, "status", "details.status", ("in_progress", "concluded"), required=True)


def _dishonest_debtor(c: _Checker, d: Mapping[str, Any]) -> None:
    c.text(d, "court", "details.court", max_length=200, required=True)
    c.text(d, "case_no", "details.case_no", max_length=100, required=True)
    c.text(d, "obligation", "details.obligation", max_length=2000, required=True)
    performance = ("not_performed", "partially_performed", "performed")
    c.choice(d, "performance", "details.performance", performance, required=True)


def _arrears(c: _Checker, d: Mapping[str, Any]) -> None:
    kinds = ("pension", "medical", "unemployment", "work_injury", "maternity")
    c.choice(d, "insurance_type", "details.insurance_type", kinds, required=True)
    c.integer(d, "months", "details.months", 1, 600)
    c.amount(d, "amount", "details.amount", required=True)


_DETAILS: dict[RecordKind, tuple[Callable[[_Checker, Mapping[str, Any]], None], frozenset[str]]] = {
    RecordKind.PENALTY: (
        _penalty,
        frozenset(
            {"basis", "violation", "result", "fine_amount", "severity", "domain", "category_label"}
        ),
    ),  # fmt: skip
    RecordKind.LICENSE: (
        _license,
        frozenset({"license_name", "license_no", "content", "valid_from", "valid_until"}),
    ),
    RecordKind.TAX_RATING: (_tax_rating, frozenset({"year", "level"})),
    RecordKind.TAX_VIOLATION: (_tax_violation, frozenset({"violation", "tax_amount", "result"})),
    RecordKind.COURT_ENFORCEMENT: (
        _court_enforcement,
        frozenset({"court", "case_no", "amount", "status"}),
    ),
    RecordKind.DISHONEST_DEBTOR: (
        _dishonest_debtor,
        frozenset({"court", "case_no", "obligation", "performance"}),
    ),
    RecordKind.SOCIAL_INSURANCE_ARREARS: (
        _arrears,
        frozenset({"insurance_type", "months", "amount"}),
    ),
}
_LIST_FIELDS = frozenset({"list_name", "reason", "listed_on", "removed_on", "removal_reason"})
for _kind in (RecordKind.RED_LIST, RecordKind.BLACK_LIST):
    _DETAILS[_kind] = (_list_entry, _LIST_FIELDS)
# The abnormal-operations list is one list (经营异常名录): it needs no name of its own.
_DETAILS[RecordKind.ABNORMAL_OPERATION] = (
    lambda c, d: _list_entry(c, d, named=False),
    _LIST_FIELDS,
)


def _subject(
    c: _Checker, raw: Mapping[str, Any], legacy_allowed: Collection[str]
) -> dict[str, Any]:
    has_code, has_number = raw.get("uscc") is not None, raw.get("id_number") is not None
    if has_code == has_number:
        c.fail("uscc", "Name the subject by `uscc`, or by `id_number` and `name`: exactly one.")
        return {}
    if has_code:
        if not isinstance(raw["uscc"], str):
            c.fail("uscc", "Give the 18-character code as text.")
            return {}
        try:
            return {"uscc": identifiers.validate_uscc(raw["uscc"], legacy_allowed=legacy_allowed)}
        except identifiers.InvalidIdentifier as error:
            # Not quoting what was sent: it may be a person's identity number (DESIGN.md §3).
            c.fail("uscc", str(error).replace(raw["uscc"].strip().upper(), "This code")
                   .replace(raw["uscc"], "This code"))  # fmt: skip
            return {}
    name = c.text(raw, "name", "name", max_length=100, required=True)
    if not isinstance(raw["id_number"], str):
        c.fail("id_number", "Give the 18-character identity number as text.")
        return {}
    try:
        # The message never quotes the number (DESIGN.md §3).
        number = identifiers.validate_id_number(raw["id_number"], today=c.today)
    except identifiers.InvalidIdentifier as error:
        c.fail("id_number", str(error))
        return {}
    return {"id_number": number, "name": name}


def _removed_after_decision(c: _Checker, details: Mapping[str, Any], decided_on: date) -> None:
    """A list entry cannot end before the decision that made it (it would never be public)."""
    if "details.removed_on" in c.errors or not isinstance(details.get("removed_on"), str):
        return
    removed = date.fromisoformat(details["removed_on"])  # checked by _list_entry
    if removed < decided_on:
        c.fail("details.removed_on", "Removed before the decision (decided_on).")


def _printable(name: Any) -> str:
    """A field name as it can be quoted back: short, and valid Unicode."""
    return str(name)[:60].encode("utf-8", "backslashreplace").decode("utf-8")


def validate_record(
    raw: Any, *, today: date, legacy_allowed: Collection[str] = ()
) -> tuple[RecordDraft | None, Errors]:
    """The draft of a submitted record, or the errors of each field (never both)."""
    c = _Checker(today=today)
    if not isinstance(raw, Mapping):
        return None, {"_schema": ["A record is a JSON object."]}
    for unknown in sorted(set(raw) - TOP_LEVEL_FIELDS)[:10]:
        c.fail(_printable(unknown), "Unknown field; check its spelling against the record format.")
    kind = c.choice(raw, "kind", "kind", [k.value for k in RecordKind], required=True)
    document_no = c.text(raw, "document_no", "document_no", max_length=100, required=True)
    title = c.text(raw, "title", "title", max_length=500, required=True)
    decided_on = c.day(raw, "decided_on", "decided_on", required=True)
    subject = _subject(c, raw, legacy_allowed)
    details = raw.get("details")
    if not isinstance(details, Mapping):
        c.fail("details", "Give the kind-specific details as a JSON object.")
        details = {}
    elif kind is not None:
        check, allowed = _DETAILS[RecordKind(kind)]
        for unknown in sorted(set(details) - allowed)[:10]:
            c.fail(f"details.{_printable(unknown)}", f"Not a detail of a {kind} record.")
        check(c, details)
        if RecordKind(kind) in LIST_KINDS and decided_on is not None:
            _removed_after_decision(c, details, decided_on)
    publish_until = c.day(raw, "publish_until", "publish_until", required=False, past=False)
    if publish_until is not None and kind != RecordKind.PENALTY:
        c.fail("publish_until", "Only a penalty takes a publication end; other kinds follow "
               "their validity or removal.")  # fmt: skip
    elif publish_until is not None and decided_on is not None:
        if publish_until < decided_on:
            c.fail("publish_until", "Ends before the decision (decided_on).")
        elif publish_until >= add_years(decided_on, MAX_PENALTY_YEARS):
            c.fail("publish_until", "A penalty is published for at most three years.")
    if c.errors or kind is None or document_no is None or title is None or decided_on is None:
        return None, c.errors  # (without errors every required field is set)
    return (
        RecordDraft(
            kind=kind,
            document_no=document_no,
            title=title,
            decided_on=decided_on,
            details=dict(details),
            publish_until=publish_until,
            **subject,
        ),
        {},
    )
