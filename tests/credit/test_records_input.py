"""Validation of submitted records: every field, every way it can be wrong, a message per field."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from credit import demo
from credit.records_input import validate_record
from tests.factories import penalty_row

TODAY = date(2026, 11, 27)
USCC = "91110000600037341L"


def _penalty(**changes: Any) -> dict[str, Any]:
    return {**penalty_row(USCC, 123), **changes}


def _errors(raw: Any) -> dict[str, list[str]]:
    draft, errors = validate_record(raw, today=TODAY)
    assert draft is None
    assert errors
    return errors


def test_a_good_penalty_is_normalized() -> None:
    draft, errors = validate_record(
        _penalty(uscc=USCC.lower(), title="  经营超过保质期的食品案 "), today=TODAY
    )

    assert errors == {}
    assert draft is not None
    assert draft.uscc == USCC
    assert draft.title == "经营超过保质期的食品案"
    assert draft.decided_on == date(2026, 6, 12)
    assert draft.details["fine_amount"] == "5000.00"


def test_every_demo_record_is_valid() -> None:
    as_of = date(2026, 11, 1)
    checked = 0
    for i in range(60):
        entity = demo.entity(i, as_of=as_of)
        for record in demo.entity_records(i, entity, as_of=as_of):
            raw = {
                **{k: v for k, v in record.items() if k not in ("record_id", "department")},
                "decided_on": record["decided_on"].isoformat(),
                "uscc": entity["uscc"],
            }
            draft, errors = validate_record(raw, today=as_of)
            assert errors == {}, (record["kind"], errors)
            assert draft is not None
            checked += 1
    for j in range(40):
        person = demo.person(j, as_of=as_of)
        for record in demo.person_records(j, person, as_of=as_of):
            raw = {
                **{k: v for k, v in record.items() if k not in ("record_id", "department")},
                "decided_on": record["decided_on"].isoformat(),
                "id_number": person["id_number"],
                "name": person["name"],
            }
            draft, errors = validate_record(raw, today=as_of)
            assert errors == {}, (record["kind"], errors)
            checked += 1
    assert checked > 50


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"kind": "gossip"}, "kind"),
        ({"kind": None}, "kind"),
        ({"document_no": ""}, "document_no"),
        ({"document_no": "   "}, "document_no"),
        ({"document_no": "x" * 101}, "document_no"),
        ({"document_no": "a\x00b"}, "document_no"),
        ({"document_no": 123}, "document_no"),
        ({"title": None}, "title"),
        ({"title": "line\nbreak"}, "title"),
        ({"decided_on": "2026-02-30"}, "decided_on"),
        ({"decided_on": "2027-01-01"}, "decided_on"),
        ({"decided_on": "1900-01-01"}, "decided_on"),
        ({"decided_on": "12/06/2026"}, "decided_on"),
        ({"decided_on": 20260612}, "decided_on"),
        ({"uscc": "91110000600037341M"}, "uscc"),
        ({"uscc": "9111000060003734"}, "uscc"),
        ({"uscc": 91110000600037341}, "uscc"),
        ({"uscc": None}, "uscc"),
        ({"id_number": "11010519491231002X", "name": "张三"}, "uscc"),
        ({"details": "none"}, "details"),
        ({"details": []}, "details"),
        ({"color": "red"}, "color"),
        ({"publish_until": "2026-06-01"}, "publish_until"),
        ({"publish_until": "2029-06-12"}, "publish_until"),
        ({"publish_until": "next year"}, "publish_until"),
    ],
)
def test_each_bad_field_is_named(changes: dict[str, Any], field: str) -> None:
    errors = _errors(_penalty(**changes))

    assert field in errors, errors
    assert all(isinstance(m, str) and m for m in errors[field])


@pytest.mark.parametrize(
    ("details", "field"),
    [
        ({"fine_amount": "-5.00"}, "details.fine_amount"),
        ({"fine_amount": "5,000"}, "details.fine_amount"),
        ({"fine_amount": "5000.001"}, "details.fine_amount"),
        ({"fine_amount": 5000}, "details.fine_amount"),
        ({"fine_amount": "NaN"}, "details.fine_amount"),
        ({"severity": "grave"}, "details.severity"),
        ({"severity": None}, "details.severity"),
        ({"basis": ""}, "details.basis"),
        ({"domain": "Food Safety"}, "details.domain"),
        ({"fine": "5000.00"}, "details.fine"),
    ],
)
def test_penalty_details_are_checked(details: dict[str, Any], field: str) -> None:
    good = _penalty()["details"]
    merged = {**good, **details}
    errors = _errors(_penalty(details={k: v for k, v in merged.items()}))

    assert field in errors, errors


def test_kind_specific_details() -> None:
    license_ = {
        "kind": "license",
        "document_no": "周行审许〔2026〕12号",
        "title": "食品经营许可",
        "decided_on": "2026-03-01",
        "uscc": USCC,
        "details": {
            "license_name": "食品经营许可证",
            "license_no": "JY13703060012345",
            "valid_from": "2026-03-01",
            "valid_until": "2026-02-28",
        },
    }
    assert "details.valid_until" in _errors(license_)
    listing = {
        **license_,
        "kind": "black_list",
        "details": {
            "list_name": "严重失信主体名单",
            "reason": "拒不履行生效法律文书确定的义务",
            "listed_on": "2026-05-01",
            "removed_on": "2026-04-01",
        },
    }
    assert "details.removed_on" in _errors(listing)
    rating = {**license_, "kind": "tax_rating", "details": {"year": 2031, "level": "E"}}
    assert {"details.year", "details.level"} <= set(_errors(rating))
    arrears = {
        **license_,
        "kind": "social_insurance_arrears",
        "details": {"insurance_type": "pension", "months": 0, "amount": "-1"},
    }
    assert {"details.months", "details.amount"} <= set(_errors(arrears))
    assert "publish_until" in _errors({**license_, "publish_until": "2026-12-01"})


def test_natural_persons_need_a_valid_number_and_a_name_and_it_is_never_quoted() -> None:
    bad = "110105194912310021"
    errors = _errors(_penalty(uscc=None, id_number=bad, name="张三"))
    assert "id_number" in errors
    assert bad not in str(errors)
    assert "name" in _errors(_penalty(uscc=None, id_number="11010519491231002X"))
    draft, errors = validate_record(
        _penalty(uscc=None, id_number="11010519491231002x", name="张三"), today=TODAY
    )
    assert errors == {}
    assert draft is not None
    assert draft.id_number == "11010519491231002X"


@pytest.mark.parametrize("raw", [None, [], "record", 5])
def test_a_row_that_is_not_an_object(raw: Any) -> None:
    assert _errors(raw) == {"_schema": ["A record is a JSON object."]}
