"""Bad input to the department endpoints, over HTTP: every refusal is a 4xx that names the field,
says what to do in words, never quotes an identity number, and writes nothing.

A whole request that cannot be read is a 400 (413 when too large) problem document; a readable
batch answers 200 and lists each bad row under `rejected` with status 422 and its field keys.
Each case counts the rows of `records`, `record_changes`, `record_versions` and `subjects` before
and after. Cases marked xfail describe the right behaviour where the server is wrong today.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from credit import clock
from credit.identifiers import id_number_check_char, make_id_number
from credit.models import Record, RecordChange, RecordVersion, Subject
from tests.api.consents.conftest import Party, World
from tests.factories import make_entity, penalty_row

PROBLEM = "application/problem+json"
PATH = "/v1/ingest/records"
# 10:00 in Shanghai on 20 June 2026: "today" is 2026-06-20 for every check of this module.
NOW = datetime(2026, 6, 20, 2, 0, tzinfo=UTC)
TODAY = date(2026, 6, 20)
DEPARTMENT = "淄博市周村区市场监督管理局"
UNREGISTERED_USCC = "91110000600037341L"  # valid (python-stdnum's test vector), never registered

# A field absent from the row (as opposed to sent as null).
DROP = object()


def _with_check(first17: str) -> str:
    """An identity number whose only fault, if any, is in its first 17 digits."""
    return first17 + id_number_check_char(first17)


VALID_ID = make_id_number(division="370306", birth_date=date(1985, 3, 14), sequence=123)
OTHER_ID = make_id_number(division="370306", birth_date=date(1990, 7, 1), sequence=456)
THIRD_ID = make_id_number(division="370306", birth_date=date(1972, 11, 9), sequence=789)


def _ending_in_x() -> str:
    """A valid identity number whose check character is X."""
    for sequence in range(1000):
        number = make_id_number(division="370306", birth_date=date(1988, 8, 8), sequence=sequence)
        if number.endswith("X"):
            return number
    raise AssertionError("one in eleven numbers ends in X")


LOWER_X_ID = _ending_in_x().lower()
WRONG_CHECK_ID = VALID_ID[:17] + ("0" if VALID_ID[17] != "0" else "1")
BAD_ID_NUMBERS = {
    "wrong_check_digit": WRONG_CHECK_ID,
    "30_february": _with_check("37030619990230123"),
    "month_13": _with_check("37030619991301123"),
    "born_1899": _with_check("37030618991231123"),
    "born_in_the_future": _with_check("37030620300101123"),
    "no_such_province": _with_check("00030619850314123"),
    "17_characters": VALID_ID[:17],
    "19_characters": VALID_ID + "1",
    "letter_inside": VALID_ID[:5] + "A" + VALID_ID[6:],
    "ends_with_y": VALID_ID[:17] + "Y",
}
ALL_ID_NUMBERS = (VALID_ID, OTHER_ID, THIRD_ID, LOWER_X_ID, *BAD_ID_NUMBERS.values())


@pytest.fixture(autouse=True)
def _frozen_clock() -> Iterator[None]:
    with clock.frozen_at(NOW):
        yield


@pytest.fixture
def department(world: World) -> Party:
    return world.party(kind="department", name=DEPARTMENT)


@pytest.fixture
def uscc(db_session: Session) -> str:
    """The code of a registered enterprise."""
    return make_entity(db_session).uscc or ""


# --- helpers ---------------------------------------------------------------------------------


def _counts(db_session: Session) -> dict[str, int]:
    """Rows of each table a record write touches."""
    return {
        model.__tablename__: int(db_session.scalar(select(func.count()).select_from(model)) or 0)
        for model in (Record, RecordChange, RecordVersion, Subject)
    }


def _apply(row: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """`row` with `changes`: a dotted key sets a detail, DROP removes the field."""
    row = {**row, "details": dict(row["details"])}
    for key, value in changes.items():
        target, name = (row["details"], key[8:]) if key.startswith("details.") else (row, key)
        if value is DROP:
            target.pop(name, None)
        else:
            target[name] = value
    return row


def _post(world: World, party: Party, body: Any) -> TestResponse:
    """POST a body as JSON text (escaped, so that even lone surrogates travel)."""
    return world.http.post(
        PATH,
        data=json.dumps(body),
        headers=party.headers(**{"Content-Type": "application/json"}),
    )


def _is_sentence(message: Any) -> bool:
    """A message a clerk can read: words, not a code, a repr or an empty string."""
    return (
        isinstance(message, str)
        and len(message.split()) >= 2
        and any(char.isalpha() for char in message)
        and "Traceback" not in message
        and not message.startswith(("{", "[", "<"))
    )


def _no_id_number(response: TestResponse) -> None:
    text = response.get_data(as_text=True)
    for number in ALL_ID_NUMBERS:
        assert number not in text
        assert number.upper() not in text


def assert_problem(
    response: TestResponse, status: int, fields: set[str] | None = None
) -> dict[str, Any]:
    """A problem document of `status`, naming exactly `fields` in `errors` when given."""
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.content_type == PROBLEM
    body = response.json
    assert isinstance(body, dict)
    assert body["status"] == status
    assert body["title"]
    assert _is_sentence(body["detail"]), body
    assert "Traceback" not in response.get_data(as_text=True)
    if fields is not None:
        assert set(body["errors"]) == fields, body
        assert all(_is_sentence(m) for ms in body["errors"].values() for m in ms), body
    _no_id_number(response)
    return body


def assert_rejected_row(
    response: TestResponse, fields: set[str], index: int = 0, status: int = 422
) -> list[str]:
    """A 200 batch answer whose only row, `index`, is rejected naming exactly `fields`."""
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.content_type == "application/json"
    body = response.json
    assert isinstance(body, dict)
    assert (body["accepted"], body["duplicates"], body["records"]) == (0, 0, [])
    assert [(r["index"], r["status"]) for r in body["rejected"]] == [(index, status)], body
    errors = body["rejected"][0]["errors"]
    assert set(errors) == fields, errors
    messages = [m for ms in errors.values() for m in ms]
    assert messages
    assert all(_is_sentence(m) for m in messages), errors
    _no_id_number(response)
    return messages


# --- one bad field in an otherwise good penalty ---------------------------------------------

ROW_CASES = [
    # every required field missing, or null
    *(
        pytest.param({name: value}, {name}, id=f"{name}-{label}")
        for name in ("kind", "document_no", "title", "decided_on", "details")
        for value, label in ((DROP, "missing"), (None, "null"))
    ),
    pytest.param({"uscc": DROP}, {"uscc"}, id="no_subject"),
    pytest.param({"uscc": None}, {"uscc"}, id="uscc-null"),
    *(
        pytest.param({f"details.{name}": DROP}, {f"details.{name}"}, id=f"details.{name}-missing")
        for name in ("basis", "violation", "result", "severity")
    ),
    # wrong types
    *(
        pytest.param({name: value}, {name}, id=f"{name}-{label}")
        for name in ("kind", "document_no", "title", "decided_on", "uscc", "publish_until")
        for value, label in (
            (20260612, "number"),
            (12.5, "float"),
            (True, "boolean"),
            (["x"], "list"),
            ({"x": 1}, "object"),
        )
    ),
    *(
        pytest.param({"details": value}, {"details"}, id=f"details-{label}")
        for value, label in (("罚款", "text"), (5, "number"), ([], "list"), (True, "boolean"))
    ),
    *(
        pytest.param({f"details.{name}": value}, {f"details.{name}"}, id=f"{name}-{label}")
        for name in ("basis", "violation", "result", "severity", "fine_amount", "domain")
        for value, label in ((5000, "number"), (["x"], "list"), ({"x": 1}, "object"))
    ),
    pytest.param({"details.fine_amount": 5000.0}, {"details.fine_amount"}, id="fine-float"),
    pytest.param({"details.fine_amount": True}, {"details.fine_amount"}, id="fine-boolean"),
    # empty, blank, too long
    *(
        pytest.param({name: value}, {name}, id=f"{name}-{label}")
        for name in ("document_no", "title", "details.basis", "details.result")
        for value, label in (("", "empty"), ("   ", "blank"), ("\u3000", "ideographic_space"))
    ),
    pytest.param({"document_no": "号" * 101}, {"document_no"}, id="document_no-101"),
    pytest.param({"title": "案" * 501}, {"title"}, id="title-501"),
    pytest.param({"details.basis": "法" * 2001}, {"details.basis"}, id="basis-2001"),
    pytest.param({"details.violation": "x" * 2001}, {"details.violation"}, id="violation-2001"),
    # control characters
    *(
        pytest.param({name: f"周市监{char}罚"}, {name}, id=f"{name}-{label}")
        for name in ("document_no", "title", "details.violation")
        for char, label in (
            ("\x00", "nul"),
            ("\n", "newline"),
            ("\r\n", "crlf"),
            ("\t", "tab"),
            ("\x1b", "escape"),
            ("\x7f", "delete"),
        )
    ),
    pytest.param(
        {"title": "经营\x85超过保质期的食品案"},
        {"title"},
        id="title-c1_next_line",
    ),
    pytest.param(
        {"document_no": "周市监罚\x9b0123号"},
        {"document_no"},
        id="document_no-c1_csi",
    ),
    # decided_on
    pytest.param({"decided_on": "2026-06-21"}, {"decided_on"}, id="decided_tomorrow"),
    pytest.param({"decided_on": "2099-01-01"}, {"decided_on"}, id="decided_2099"),
    *(
        pytest.param({"decided_on": value}, {"decided_on"}, id=f"impossible-{value}")
        for value in ("2026-02-30", "2025-02-29", "2026-13-01", "2026-00-10", "2026-04-31")
    ),
    *(
        pytest.param({"decided_on": value}, {"decided_on"}, id=f"format-{value!r}")
        for value in (
            "2026/06/12",
            "12/06/2026",
            "20260612",
            "2026-6-12",
            "2026-06-12T00:00:00",
            "2026-06-12 ",
            "2026年6月12日",
            "",
            "yesterday",
        )
    ),
    *(
        pytest.param({"decided_on": value}, {"decided_on"}, id=f"before_1949-{value}")
        for value in ("1949-09-30", "1900-01-01", "0001-01-01")
    ),
    # amounts in yuan
    *(
        pytest.param({"details.fine_amount": value}, {"details.fine_amount"}, id=f"fine-{value!r}")
        for value in (
            "-1",
            "-0.01",
            "-5000.00",
            "abc",
            "5,000.00",
            "5000.001",
            "0.125",
            "1e5",
            "10000000000000",
            "5000.",
            ".5",
            " 5000",
            "+5000",
            "NaN",
            "Infinity",
            "",
            "五千元",
        )
    ),
    pytest.param(
        {"details.fine_amount": "5000.00\n"},
        {"details.fine_amount"},
        id="fine-trailing_newline",
    ),
    pytest.param(
        {"details.fine_amount": "５０００.００"},
        {"details.fine_amount"},
        id="fine-fullwidth_digits",
    ),
    pytest.param(
        {"details.domain": "food_safety\n"},
        {"details.domain"},
        id="domain-trailing_newline",
    ),
    # kinds, severities, domains
    *(
        pytest.param({"kind": value}, {"kind"}, id=f"kind-{value!r}")
        for value in ("gossip", "Penalty", "PENALTY", "penalty ", "", "行政处罚", "licence")
    ),
    pytest.param({"details.severity": "grave"}, {"details.severity"}, id="severity-grave"),
    pytest.param({"details.severity": "Serious"}, {"details.severity"}, id="severity-case"),
    pytest.param({"details.domain": "Food Safety"}, {"details.domain"}, id="domain-words"),
    # unknown fields
    pytest.param({"color": "red"}, {"color"}, id="unknown-top"),
    pytest.param({"department": "某局"}, {"department"}, id="unknown-department"),
    pytest.param({"record_id": "rec_x"}, {"record_id"}, id="unknown-record_id"),
    pytest.param({"details.fine": "5000.00"}, {"details.fine"}, id="unknown-detail"),
    pytest.param(
        {"details.valid_until": "2027-01-01"}, {"details.valid_until"}, id="licence-detail"
    ),
    # publish_until (the penalty is decided 2026-06-12)
    *(
        pytest.param({"publish_until": value}, {"publish_until"}, id=f"publish_until-{value}")
        for value in ("2029-06-12", "2030-01-01", "2099-12-31", "2026-06-11", "2020-01-01")
    ),
    *(
        pytest.param({"publish_until": value}, {"publish_until"}, id=f"publish_until-{value!r}")
        for value in ("2027-02-30", "next year", "2027/01/01", "")
    ),
    pytest.param(
        {"details.severity": "serious", "publish_until": "2029-06-12"},
        {"publish_until"},
        id="publish_until-serious_beyond_three_years",
    ),
]


@pytest.mark.parametrize(("changes", "fields"), ROW_CASES)
def test_a_bad_field_rejects_the_row_and_writes_nothing(
    world: World,
    db_session: Session,
    department: Party,
    uscc: str,
    changes: dict[str, Any],
    fields: set[str],
) -> None:
    row = _apply(penalty_row(uscc, 1), changes)
    before = _counts(db_session)

    response = _post(world, department, {"records": [row]})

    assert_rejected_row(response, fields)
    assert _counts(db_session) == before


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({}, id="as_is"),
        pytest.param({"document_no": "号" * 100, "title": "案" * 500}, id="longest_texts"),
        pytest.param({"title": "  经营超过保质期的食品案  "}, id="padded_title"),
        pytest.param({"decided_on": TODAY.isoformat()}, id="decided_today"),
        pytest.param({"decided_on": "1949-10-01"}, id="decided_1949-10-01"),
        pytest.param({"details.fine_amount": "9999999999999.99"}, id="largest_fine"),
        pytest.param({"details.fine_amount": "0"}, id="no_fine_amount_zero"),
        pytest.param({"details.fine_amount": DROP}, id="no_fine_amount"),
        pytest.param({"publish_until": "2026-06-12"}, id="publish_until_decision_day"),
        pytest.param({"publish_until": "2029-06-11"}, id="publish_until_three_years"),
        pytest.param({"details.domain": "work_safety"}, id="domain"),
    ],
)
def test_the_edges_of_each_rule_are_accepted(
    world: World, db_session: Session, department: Party, uscc: str, changes: dict[str, Any]
) -> None:
    """The counterpart of the table above: each limit is where it should be, not one off."""
    before = _counts(db_session)

    response = _post(world, department, {"records": [_apply(penalty_row(uscc, 1), changes)]})

    assert response.status_code == 200
    assert response.json is not None
    assert (response.json["accepted"], response.json["rejected"]) == (1, [])
    after = _counts(db_session)
    assert after == {**before, **{t: before[t] + 1 for t in before if t != "subjects"}}


# --- the subject: unified social credit codes and identity numbers ----------------------------


@pytest.mark.parametrize(
    "code",
    [
        pytest.param("91110000600037341M", id="wrong_check_character"),
        pytest.param("91110000600037341K", id="other_wrong_check_character"),
        pytest.param("9111000060003734", id="16_characters"),
        pytest.param("91110000600037341LL", id="19_characters"),
        pytest.param("91110000600O37341L", id="letter_O"),
        pytest.param("9111000060003734IL", id="letter_I"),
        pytest.param("91110000600037341m", id="lowercase_wrong_check"),
        pytest.param("9111000060003734-L", id="punctuation"),
        pytest.param("A1110000600037341L", id="no_registration_type"),
        pytest.param("911100A0600037341L", id="division_not_digits"),
        pytest.param("９１１１００００６０００３７３４１Ｌ", id="fullwidth"),
        pytest.param("", id="empty"),
        pytest.param(UNREGISTERED_USCC, id="valid_but_unregistered"),
        pytest.param(UNREGISTERED_USCC.lower(), id="lowercase_unregistered"),
    ],
)
def test_a_bad_or_unknown_code_rejects_the_row(
    world: World, db_session: Session, department: Party, uscc: str, code: str
) -> None:
    before = _counts(db_session)

    response = _post(world, department, {"records": [penalty_row(code, 1)]})

    messages = assert_rejected_row(response, {"uscc"})
    assert _counts(db_session) == before
    if code.upper() == UNREGISTERED_USCC:
        assert f"PUT /v1/ingest/entities/{UNREGISTERED_USCC}" in messages[0]


def test_a_code_in_lowercase_or_padded_is_the_registered_entity(
    world: World, db_session: Session, department: Party, uscc: str
) -> None:
    rows = [penalty_row(uscc.lower(), 1), penalty_row(f"  {uscc} ", 2)]
    before = _counts(db_session)

    response = _post(world, department, {"records": rows})

    assert response.json is not None
    assert (response.json["accepted"], response.json["rejected"]) == (2, [])
    assert _counts(db_session)["subjects"] == before["subjects"]
    public = world.http.get(f"/v1/public/entities/{uscc}/records?kind=penalty").json
    assert public is not None
    assert {r["record_id"] for r in public["items"]} == {
        r["record_id"] for r in response.json["records"]
    }


def _person_row(n: int, **changes: Any) -> dict[str, Any]:
    """A court enforcement against a natural person, named by identity number and name."""
    row: dict[str, Any] = {
        "kind": "court_enforcement",
        "document_no": f"（2026）鲁0306执{n}号",
        "title": "被执行人信息",
        "decided_on": "2026-05-01",
        "id_number": VALID_ID,
        "name": "张三",
        "details": {
            "court": "淄博市周村区人民法院",
            "case_no": f"（2026）鲁0306执{n}号",
            "amount": "120000.00",
            "status": "in_progress",
        },
    }
    return _apply(row, changes)


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        *(
            pytest.param({"id_number": number}, {"id_number"}, id=label)
            for label, number in BAD_ID_NUMBERS.items()
        ),
        pytest.param({"id_number": int(VALID_ID[:17])}, {"id_number"}, id="number_not_text"),
        pytest.param({"id_number": [VALID_ID]}, {"id_number"}, id="list"),
        pytest.param({"id_number": ""}, {"id_number"}, id="empty"),
        pytest.param({"name": DROP}, {"name"}, id="name_missing"),
        pytest.param({"name": None}, {"name"}, id="name_null"),
        pytest.param({"name": "  "}, {"name"}, id="name_blank"),
        pytest.param({"name": "张" * 101}, {"name"}, id="name_too_long"),
        pytest.param({"name": "张\n三"}, {"name"}, id="name_control_character"),
        pytest.param({"name": 3}, {"name"}, id="name_number"),
        pytest.param({"uscc": UNREGISTERED_USCC}, {"uscc"}, id="both_code_and_number"),
        pytest.param({"id_number": DROP}, {"uscc"}, id="name_without_number"),
    ],
)
def test_a_bad_natural_person_rejects_the_row_without_quoting_the_number(
    world: World,
    db_session: Session,
    department: Party,
    caplog: pytest.LogCaptureFixture,
    changes: dict[str, Any],
    fields: set[str],
) -> None:
    before = _counts(db_session)

    with caplog.at_level(logging.DEBUG):
        response = _post(world, department, {"records": [_person_row(1, **changes)]})

    assert_rejected_row(response, fields)  # (and no identity number anywhere in the answer)
    assert _counts(db_session) == before
    for number in ALL_ID_NUMBERS:
        assert number not in caplog.text  # nor in the logs (DESIGN.md §3)


def test_an_identity_number_in_lowercase_is_the_same_person(
    world: World, db_session: Session, department: Party
) -> None:
    before = _counts(db_session)

    first = _post(world, department, {"records": [_person_row(1, id_number=LOWER_X_ID)]})
    again = _post(world, department, {"records": [_person_row(2, id_number=LOWER_X_ID.upper())]})

    for response in (first, again):
        assert response.json is not None
        assert (response.json["accepted"], response.json["rejected"]) == (1, [])
        _no_id_number(response)
    after = _counts(db_session)
    assert after["subjects"] == before["subjects"] + 1  # one person, seen twice
    assert after["records"] == before["records"] + 2
    assert after["record_changes"] == before["record_changes"]  # never public


def test_an_identity_number_sent_as_a_code_is_not_quoted_back(
    world: World, db_session: Session, department: Party
) -> None:
    before = _counts(db_session)

    response = _post(world, department, {"records": [penalty_row(VALID_ID, 1)]})

    assert_rejected_row(response, {"uscc"})
    assert _counts(db_session) == before


def test_a_date_in_fullwidth_digits_is_told_the_format(
    world: World, db_session: Session, department: Party, uscc: str
) -> None:
    before = _counts(db_session)

    response = _post(
        world, department, {"records": [penalty_row(uscc, 1, decided_on="２０２６-０６-１２")]}
    )

    messages = assert_rejected_row(response, {"decided_on"})
    assert _counts(db_session) == before
    assert "YYYY-MM-DD" in messages[0]


# --- kind-specific details ------------------------------------------------------------------


def _row_of(kind: str, uscc: str, **changes: Any) -> dict[str, Any]:
    """A good row of `kind` for a registered legal person, with `changes`."""
    details: dict[str, dict[str, Any]] = {
        "penalty": penalty_row(uscc, 1)["details"],
        "license": {
            "license_name": "食品经营许可证",
            "license_no": "JY13703060012345",
            "content": "预包装食品销售",
            "valid_from": "2026-03-01",
            "valid_until": "2031-02-28",
        },
        "red_list": {
            "list_name": "守信激励对象名单",
            "reason": "纳税信用A级",
            "listed_on": "2026-03-01",
        },
        "black_list": {
            "list_name": "严重失信主体名单",
            "reason": "拒不履行生效法律文书确定的义务",
            "listed_on": "2026-03-01",
        },
        "abnormal_operation": {"reason": "未按规定报送年度报告", "listed_on": "2026-03-01"},
        "tax_rating": {"year": 2025, "level": "B"},
        "tax_violation": {
            "violation": "未按期申报",
            "tax_amount": "12000.00",
            "result": "补缴税款并处罚款",
        },
        "court_enforcement": _person_row(1)["details"],
        "dishonest_debtor": {
            "court": "淄博市周村区人民法院",
            "case_no": "（2026）鲁0306执77号",
            "obligation": "支付货款120000元",
            "performance": "not_performed",
        },
        "social_insurance_arrears": {"insurance_type": "pension", "months": 3, "amount": "5400.00"},
    }
    row = {
        "kind": kind,
        "document_no": f"周文〔2026〕{kind}号",
        "title": "记录",
        "decided_on": "2026-03-01",
        "uscc": uscc,
        "details": details[kind],
    }
    return _apply(row, changes)


KINDS = (
    "penalty",
    "license",
    "red_list",
    "black_list",
    "abnormal_operation",
    "tax_rating",
    "tax_violation",
    "court_enforcement",
    "dishonest_debtor",
    "social_insurance_arrears",
)


def test_a_good_row_of_every_kind_is_accepted(
    world: World, db_session: Session, department: Party, uscc: str
) -> None:
    """The base of the kind-specific cases: each is one change away from an accepted row."""
    before = _counts(db_session)

    response = _post(world, department, {"records": [_row_of(kind, uscc) for kind in KINDS]})

    assert response.json is not None
    assert (response.json["accepted"], response.json["rejected"]) == (len(KINDS), [])
    assert _counts(db_session)["records"] == before["records"] + len(KINDS)


DETAIL_CASES = [
    ("license", {"details.valid_until": "2026-02-28"}, {"details.valid_until"}),
    ("license", {"details.valid_from": "2026-02-30"}, {"details.valid_from"}),
    ("license", {"details.valid_until": DROP}, {"details.valid_until"}),
    ("license", {"details.license_no": DROP}, {"details.license_no"}),
    ("license", {"details.license_name": "证" * 201}, {"details.license_name"}),
    ("license", {"details.severity": "general"}, {"details.severity"}),
    ("license", {"publish_until": "2027-01-01"}, {"publish_until"}),
    ("black_list", {"details.removed_on": "2026-02-01"}, {"details.removed_on"}),
    ("black_list", {"details.removed_on": "2026-06-21"}, {"details.removed_on"}),
    ("black_list", {"details.listed_on": "2026-06-21"}, {"details.listed_on"}),
    ("black_list", {"details.listed_on": DROP}, {"details.listed_on"}),
    ("black_list", {"details.list_name": DROP}, {"details.list_name"}),
    ("black_list", {"publish_until": "2027-01-01"}, {"publish_until"}),
    ("red_list", {"details.reason": ""}, {"details.reason"}),
    ("red_list", {"details.removal_reason": "a\x00b"}, {"details.removal_reason"}),
    ("abnormal_operation", {"details.listed_on": "2026/03/01"}, {"details.listed_on"}),
    ("abnormal_operation", {"details.fine_amount": "1.00"}, {"details.fine_amount"}),
    ("tax_rating", {"details.level": "E"}, {"details.level"}),
    ("tax_rating", {"details.level": "a"}, {"details.level"}),
    ("tax_rating", {"details.level": DROP}, {"details.level"}),
    ("tax_rating", {"details.year": 1999}, {"details.year"}),
    ("tax_rating", {"details.year": 2027}, {"details.year"}),
    ("tax_rating", {"details.year": "2025"}, {"details.year"}),
    ("tax_rating", {"details.year": 2025.0}, {"details.year"}),
    ("tax_rating", {"details.year": True}, {"details.year"}),
    ("tax_rating", {"details.year": DROP}, {"details.year"}),
    ("tax_rating", {"publish_until": "2027-01-01"}, {"publish_until"}),
    ("tax_violation", {"details.tax_amount": "-1"}, {"details.tax_amount"}),
    ("tax_violation", {"details.tax_amount": DROP}, {"details.tax_amount"}),
    ("tax_violation", {"details.violation": DROP}, {"details.violation"}),
    ("court_enforcement", {"details.status": "done"}, {"details.status"}),
    ("court_enforcement", {"details.amount": DROP}, {"details.amount"}),
    ("court_enforcement", {"details.case_no": "号" * 101}, {"details.case_no"}),
    ("dishonest_debtor", {"details.performance": "maybe"}, {"details.performance"}),
    ("dishonest_debtor", {"details.obligation": None}, {"details.obligation"}),
    ("social_insurance_arrears", {"details.insurance_type": "housing"}, {"details.insurance_type"}),
    ("social_insurance_arrears", {"details.months": 0}, {"details.months"}),
    ("social_insurance_arrears", {"details.months": 601}, {"details.months"}),
    ("social_insurance_arrears", {"details.months": 1.5}, {"details.months"}),
    ("social_insurance_arrears", {"details.amount": "1,000"}, {"details.amount"}),
]


@pytest.mark.parametrize(
    ("kind", "changes", "fields"),
    [
        *(
            pytest.param(kind, changes, fields, id=f"{kind}-{'+'.join(sorted(fields))}-{n}")
            for n, (kind, changes, fields) in enumerate(DETAIL_CASES)
        ),
        pytest.param(
            "black_list",
            {"details.listed_on": "2026-02-01", "details.removed_on": "2026-02-15"},
            {"details.removed_on"},
            id="black_list-removed_before_the_decision",
        ),
    ],
)
def test_kind_specific_details_are_checked(
    world: World,
    db_session: Session,
    department: Party,
    uscc: str,
    kind: str,
    changes: dict[str, Any],
    fields: set[str],
) -> None:
    before = _counts(db_session)

    response = _post(world, department, {"records": [_row_of(kind, uscc, **changes)]})

    assert_rejected_row(response, fields)
    assert _counts(db_session) == before


@pytest.mark.parametrize(
    "label",
    [
        pytest.param({"生效": True}, id="object"),
        pytest.param("警" * 100_000, id="100k_characters"),
        pytest.param(["警告", "罚款"], id="list"),
        pytest.param("警告\x00", id="nul"),
    ],
)
def test_every_allowed_detail_is_checked(
    world: World, db_session: Session, department: Party, uscc: str, label: Any
) -> None:
    before = _counts(db_session)

    row = _apply(penalty_row(uscc, 1), {"details.category_label": label})

    response = _post(world, department, {"records": [row]})

    assert_rejected_row(response, {"details.category_label"})
    assert _counts(db_session) == before


# --- whole requests that cannot be read -----------------------------------------------------


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        pytest.param({}, {"records"}, id="no_records"),
        pytest.param({"records": []}, {"records"}, id="empty_batch"),
        pytest.param({"records": None}, {"records"}, id="records_null"),
        pytest.param({"records": "x"}, {"records"}, id="records_text"),
        pytest.param({"records": 5}, {"records"}, id="records_number"),
        pytest.param({"records": {"0": {}}}, {"records"}, id="records_object"),
        pytest.param([], {"_schema"}, id="body_list"),
        pytest.param("records", {"_schema"}, id="body_text"),
        pytest.param(5, {"_schema"}, id="body_number"),
        pytest.param(None, {"_schema"}, id="body_null"),
        pytest.param({"records": [], "extra": 1}, {"records", "extra"}, id="unknown_and_empty"),
    ],
)
def test_a_body_that_is_not_a_batch_is_a_400_problem(
    world: World, db_session: Session, department: Party, body: Any, fields: set[str]
) -> None:
    before = _counts(db_session)

    assert_problem(_post(world, department, body), 400, fields)
    assert _counts(db_session) == before


def test_a_good_row_is_not_stored_when_the_request_is_refused(
    world: World, db_session: Session, department: Party, uscc: str
) -> None:
    """An unknown member of the body refuses the request: no row of it is stored."""
    before = _counts(db_session)

    response = _post(world, department, {"records": [penalty_row(uscc, 1)], "department": "x"})

    assert_problem(response, 400, {"department"})
    assert _counts(db_session) == before


def test_a_null_row_is_rejected_on_its_own(
    world: World, db_session: Session, department: Party, uscc: str
) -> None:
    before = _counts(db_session)

    response = _post(world, department, {"records": [penalty_row(uscc, 1), None]})

    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.json
    assert body is not None
    assert [(r["index"], r["outcome"]) for r in body["records"]] == [(0, "created")]
    assert [(r["index"], r["status"], set(r["errors"])) for r in body["rejected"]] == [
        (1, 422, {"_schema"})
    ]
    assert _counts(db_session)["records"] == before["records"] + 1


def test_an_oversize_batch_is_refused_whole(
    world: World, db_session: Session, department: Party, uscc: str
) -> None:
    rows = [penalty_row(uscc, n) for n in range(1001)]
    before = _counts(db_session)

    body = assert_problem(_post(world, department, {"records": rows}), 400, {"records"})

    assert "1000" in body["errors"]["records"][0]
    assert _counts(db_session) == before
    # One row fewer is a batch.
    accepted = _post(world, department, {"records": rows[:1000]})
    assert accepted.json is not None
    assert accepted.json["accepted"] == 1000


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"{", id="truncated"),
        pytest.param(b'{"records": [', id="unterminated"),
        pytest.param(b"{'records': []}", id="single_quotes"),
        pytest.param(b'{"records": [{"kind": "penalty",}]}', id="trailing_comma"),
        pytest.param(b'{"records": ["\xff\xfe"]}', id="not_utf8"),
        pytest.param(b"", id="empty"),
    ],
)
def test_invalid_json_is_a_400_problem(
    world: World, db_session: Session, department: Party, data: bytes
) -> None:
    before = _counts(db_session)

    response = world.http.post(
        PATH, data=data, headers=department.headers(**{"Content-Type": "application/json"})
    )

    assert_problem(response, 400)
    assert _counts(db_session) == before


@pytest.mark.parametrize(
    "data",
    [
        pytest.param("[" * 100_000 + "]" * 100_000, id="nested_100k_deep"),
        pytest.param(
            '{"records": [' + "[" * 50_000 + "]" * 50_000 + "]}", id="nested_row_50k_deep"
        ),
        pytest.param('{"records": [{"kind": ' + "9" * 5000 + "}]}", id="integer_5000_digits"),
    ],
)
def test_pathological_json_is_a_400_problem(
    world: World, db_session: Session, department: Party, data: str
) -> None:
    before = _counts(db_session)

    response = world.http.post(
        PATH, data=data, headers=department.headers(**{"Content-Type": "application/json"})
    )

    assert_problem(response, 400)
    assert _counts(db_session) == before


@pytest.mark.parametrize(
    "json_text",
    [
        pytest.param('"title": "经营\\ud800超过保质期的食品案"', id="title"),
        pytest.param('"document_no": "周市监罚\\udfff号"', id="document_no"),
        pytest.param('"x\\ud800": 1', id="unknown_field_name"),
    ],
)
def test_a_lone_surrogate_is_refused(
    world: World, db_session: Session, department: Party, uscc: str, json_text: str
) -> None:
    row = json.dumps(penalty_row(uscc, 1), ensure_ascii=True)
    data = '{"records": [' + row[:-1] + ", " + json_text + "}]}"
    before = _counts(db_session)

    response = world.http.post(
        PATH, data=data, headers=department.headers(**{"Content-Type": "application/json"})
    )

    assert response.status_code in (200, 400), response.status_code
    if response.status_code == 400:
        assert_problem(response, 400)
    else:
        body = response.json
        assert body is not None
        assert body["accepted"] == 0
        assert [r["status"] for r in body["rejected"]] == [422]
    assert _counts(db_session) == before


@pytest.mark.parametrize(
    "data",
    [
        pytest.param("NaN", id="nan"),
        pytest.param("Infinity", id="infinity"),
        pytest.param("-Infinity", id="minus_infinity"),
    ],
)
def test_non_json_numbers_are_refused(
    world: World, db_session: Session, department: Party, uscc: str, data: str
) -> None:
    row = json.dumps(penalty_row(uscc, 1))
    text = '{"records": [' + row[:-2] + ', "category_label": ' + data + "}}]}"
    before = _counts(db_session)

    response = world.http.post(
        PATH, data=text, headers=department.headers(**{"Content-Type": "application/json"})
    )

    assert response.status_code in (200, 400), response.status_code
    if response.status_code == 200:
        assert_rejected_row(response, {"details.category_label"})
    else:
        assert_problem(response, 400)
    assert _counts(db_session) == before


def _wrong_type_posts(world: World, party: Party, uscc: str) -> dict[str, TestResponse]:
    body = json.dumps({"records": [penalty_row(uscc, 1)]})
    return {
        "text/plain": world.http.post(
            PATH, data=body, headers=party.headers(**{"Content-Type": "text/plain"})
        ),
        "form": world.http.post(PATH, data={"records": body}, headers=party.headers()),
        "multipart": world.http.post(
            PATH,
            data={"records": body},
            headers=party.headers(),
            content_type="multipart/form-data",
        ),
        "none": world.http.post(PATH, data=body.encode(), headers=party.headers()),
    }


def test_a_body_of_another_content_type_is_a_4xx_problem(
    world: World, db_session: Session, department: Party, uscc: str
) -> None:
    before = _counts(db_session)

    for content_type, response in _wrong_type_posts(world, department, uscc).items():
        assert 400 <= response.status_code < 500, content_type
        assert_problem(response, response.status_code)
    assert _counts(db_session) == before


def test_a_body_of_another_content_type_is_told_to_send_json(
    world: World, department: Party, uscc: str
) -> None:
    for response in _wrong_type_posts(world, department, uscc).values():
        body = response.json
        assert body is not None
        assert response.status_code == 415 or "application/json" in json.dumps(body)


def test_a_body_over_4_mb_is_a_413_problem(
    world: World, db_session: Session, department: Party, uscc: str
) -> None:
    row = penalty_row(uscc, 1, title="案" * (2 * 1024 * 1024))  # 6 MB of UTF-8
    before = _counts(db_session)

    response = world.http.post(
        PATH,
        data=json.dumps({"records": [row]}, ensure_ascii=False).encode(),
        headers=department.headers(**{"Content-Type": "application/json"}),
    )

    assert_problem(response, 413)
    assert _counts(db_session) == before


# --- a batch of good and bad rows -----------------------------------------------------------


def test_a_mixed_batch_stores_the_good_rows_and_nothing_of_the_bad(
    world: World, db_session: Session, department: Party, uscc: str
) -> None:
    good = penalty_row(uscc, 1)
    rows: list[Any] = [
        good,  # 0 created
        penalty_row(uscc, 2, details={**good["details"], "fine_amount": "-1"}),  # 1
        penalty_row(uscc, 3),  # 2 created
        penalty_row(UNREGISTERED_USCC, 4),  # 3
        penalty_row(uscc, 5, decided_on="2026-06-21"),  # 4
        _person_row(6),  # 5 created, with a new natural person
        _person_row(7, id_number=WRONG_CHECK_ID),  # 6
        "not a record",  # 7
        good,  # 8 the same record again: a duplicate
        penalty_row(uscc, 9, kind="gossip"),  # 9
        {},  # 10
    ]
    before = _counts(db_session)

    response = _post(world, department, {"records": rows})

    assert response.status_code == 200
    body = response.json
    assert body is not None
    assert (body["accepted"], body["duplicates"]) == (3, 1)
    assert [(r["index"], r["outcome"]) for r in body["records"]] == [
        (0, "created"), (2, "created"), (5, "created"), (8, "duplicate")
    ]  # fmt: skip
    assert body["records"][0]["record_id"] == body["records"][3]["record_id"]
    rejected = {r["index"]: (r["status"], set(r["errors"])) for r in body["rejected"]}
    assert rejected == {
        1: (422, {"details.fine_amount"}),
        3: (422, {"uscc"}),
        4: (422, {"decided_on"}),
        6: (422, {"id_number"}),
        7: (422, {"_schema"}),
        9: (422, {"kind"}),
        10: (422, {"kind", "document_no", "title", "decided_on", "uscc", "details"}),
    }
    _no_id_number(response)
    after = _counts(db_session)
    assert after == {
        "records": before["records"] + 3,
        "record_versions": before["record_versions"] + 3,
        "record_changes": before["record_changes"] + 2,  # the person's record is not public
        "subjects": before["subjects"] + 1,
    }
    stored = db_session.scalars(
        select(Record.document_no).where(
            Record.record_id.in_([r["record_id"] for r in body["records"]])
        )
    ).all()
    assert sorted(stored) == sorted(
        [rows[0]["document_no"], rows[2]["document_no"], rows[5]["document_no"]]
    )


def test_a_conflicting_row_creates_no_natural_person(
    world: World, db_session: Session, department: Party
) -> None:
    first = _post(world, department, {"records": [_person_row(1)]})
    assert first.json is not None
    assert first.json["accepted"] == 1
    before = _counts(db_session)

    # The same document number with another person: a conflict, stored and in the same batch.
    stored_conflict = _post(world, department, {"records": [_person_row(1, id_number=OTHER_ID)]})
    batch_conflict = _post(
        world, department, {"records": [_person_row(2), _person_row(2, id_number=THIRD_ID)]}
    )

    assert_rejected_row(stored_conflict, {"document_no"}, status=409)
    assert batch_conflict.json is not None
    assert [(r["index"], r["status"]) for r in batch_conflict.json["rejected"]] == [(1, 409)]
    after = _counts(db_session)
    assert after["subjects"] == before["subjects"]
    assert after["records"] == before["records"] + 1


# --- corrections and withdrawals ------------------------------------------------------------


def _publish(world: World, party: Party, row: dict[str, Any]) -> str:
    response = _post(world, party, {"records": [row]})
    assert response.json is not None
    assert response.json["rejected"] == [], response.json
    return str(response.json["records"][0]["record_id"])


def _state(db_session: Session, record_id: str) -> tuple[Any, ...]:
    record = db_session.scalars(select(Record).where(Record.record_id == record_id)).one()
    db_session.refresh(record)
    return (record.status, record.version, record.title, record.details, record.publish_until)


@pytest.mark.parametrize("action", ["correct", "withdraw"])
def test_another_department_cannot_touch_a_record(
    world: World, db_session: Session, department: Party, uscc: str, action: str
) -> None:
    rival = world.party(kind="department", name="淄博市周村区应急管理局")
    row = penalty_row(uscc, 1)
    record_id = _publish(world, department, row)
    state, before = _state(db_session, record_id), _counts(db_session)

    if action == "correct":
        response = world.http.put(
            f"{PATH}/{record_id}", json={**row, "title": "改"}, headers=rival.headers()
        )
    else:
        response = world.http.post(
            f"{PATH}/{record_id}/withdraw", json={"reason": "错误"}, headers=rival.headers()
        )

    body = assert_problem(response, 404)
    # The same answer as for a record that does not exist: nothing about the other department.
    assert DEPARTMENT not in json.dumps(body, ensure_ascii=False)
    assert (_state(db_session, record_id), _counts(db_session)) == (state, before)


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        pytest.param({"document_no": "周市监罚〔2026〕9999号"}, {"document_no"}, id="document_no"),
        pytest.param({"uscc": "OTHER"}, {"uscc"}, id="other_entity"),
        pytest.param(
            {"uscc": DROP, "id_number": VALID_ID, "name": "张三"}, {"id_number"}, id="person"
        ),
        pytest.param({"title": ""}, {"title"}, id="empty_title"),
        pytest.param({"details.fine_amount": "-1"}, {"details.fine_amount"}, id="bad_detail"),
        pytest.param({"color": "red"}, {"color"}, id="unknown_field"),
        pytest.param({"publish_until": "2030-01-01"}, {"publish_until"}, id="publish_until"),
        pytest.param({"decided_on": "2026-06-21"}, {"decided_on"}, id="future"),
    ],
)
def test_a_bad_correction_is_a_400_problem_and_changes_nothing(
    world: World,
    db_session: Session,
    department: Party,
    uscc: str,
    changes: dict[str, Any],
    fields: set[str],
) -> None:
    # (The platform answers a refused request with 400, as every validation failure; a row of
    # a batch carries 422 inside the batch's 200 answer.)
    row = penalty_row(uscc, 1)
    record_id = _publish(world, department, row)
    if changes.get("uscc") == "OTHER":
        changes = {"uscc": make_entity(db_session).uscc}
    state, before = _state(db_session, record_id), _counts(db_session)

    response = world.http.put(
        f"{PATH}/{record_id}", json=_apply(row, changes), headers=department.headers()
    )

    assert_problem(response, 400, fields)
    assert (_state(db_session, record_id), _counts(db_session)) == (state, before)


def test_a_correction_cannot_change_the_kind(
    world: World, db_session: Session, department: Party, uscc: str
) -> None:
    row = penalty_row(uscc, 1)
    record_id = _publish(world, department, row)
    licence = _row_of("license", uscc, document_no=row["document_no"])
    state, before = _state(db_session, record_id), _counts(db_session)

    response = world.http.put(f"{PATH}/{record_id}", json=licence, headers=department.headers())

    assert_problem(response, 400, {"kind"})
    assert (_state(db_session, record_id), _counts(db_session)) == (state, before)


def test_a_correction_cannot_change_the_person(
    world: World, db_session: Session, department: Party
) -> None:
    row = _person_row(1)
    record_id = _publish(world, department, row)
    state, before = _state(db_session, record_id), _counts(db_session)

    other_person = world.http.put(
        f"{PATH}/{record_id}", json={**row, "id_number": OTHER_ID}, headers=department.headers()
    )
    bad_number = world.http.put(
        f"{PATH}/{record_id}",
        json={**row, "id_number": WRONG_CHECK_ID},
        headers=department.headers(),
    )

    assert_problem(other_person, 400, {"id_number"})  # (and neither number is quoted)
    assert_problem(bad_number, 400, {"id_number"})
    assert (_state(db_session, record_id), _counts(db_session)) == (state, before)


@pytest.mark.parametrize(
    ("send", "fields"),
    [
        pytest.param({"json": []}, {"_schema"}, id="list"),
        pytest.param({"json": "record"}, {"_schema"}, id="text"),
        pytest.param(
            {"data": b"{", "content_type": "application/json"}, {"json"}, id="invalid_json"
        ),
    ],
)
def test_a_correction_that_is_not_a_record_is_a_400_problem(
    world: World,
    db_session: Session,
    department: Party,
    uscc: str,
    send: dict[str, Any],
    fields: set[str],
) -> None:
    record_id = _publish(world, department, penalty_row(uscc, 1))
    state, before = _state(db_session, record_id), _counts(db_session)

    response = world.http.put(f"{PATH}/{record_id}", headers=department.headers(), **send)

    assert_problem(response, 400, fields)
    assert (_state(db_session, record_id), _counts(db_session)) == (state, before)


@pytest.mark.parametrize(
    ("send", "fields"),
    [
        pytest.param({}, {"reason"}, id="no_body"),
        pytest.param({"json": {}}, {"reason"}, id="no_reason"),
        pytest.param({"json": {"reason": ""}}, {"reason"}, id="empty"),
        pytest.param({"json": {"reason": None}}, {"reason"}, id="null"),
        pytest.param({"json": {"reason": 5}}, {"reason"}, id="number"),
        pytest.param({"json": {"reason": ["错误"]}}, {"reason"}, id="list"),
        pytest.param({"json": {"reason": "错\x00误"}}, {"reason"}, id="nul"),
        pytest.param({"json": {"reason": "错\n误"}}, {"reason"}, id="newline"),
        pytest.param({"json": {"reason": "误" * 2001}}, {"reason"}, id="too_long"),
        pytest.param({"json": {"reason": "错误", "by": "me"}}, {"by"}, id="unknown_field"),
        pytest.param({"json": ["错误"]}, {"_schema"}, id="body_list"),
        pytest.param(
            {"json": {"reason": "   "}},
            {"reason"},
            id="blank",
        ),
        pytest.param(
            {"json": {"reason": "\u3000"}},
            {"reason"},
            id="ideographic_space",
        ),
    ],
)
def test_a_withdrawal_needs_a_reason(
    world: World,
    db_session: Session,
    department: Party,
    uscc: str,
    send: dict[str, Any],
    fields: set[str],
) -> None:
    record_id = _publish(world, department, penalty_row(uscc, 1))
    state, before = _state(db_session, record_id), _counts(db_session)

    response = world.http.post(f"{PATH}/{record_id}/withdraw", headers=department.headers(), **send)

    assert_problem(response, 400, fields)
    assert (_state(db_session, record_id), _counts(db_session)) == (state, before)


# --- who may write ---------------------------------------------------------------------------


def _writes(uscc: str, record_id: str) -> list[tuple[str, str, dict[str, Any]]]:
    row = penalty_row(uscc, 2)
    return [
        ("POST", PATH, {"records": [row]}),
        ("PUT", f"{PATH}/{record_id}", {**penalty_row(uscc, 1), "title": "改"}),
        ("POST", f"{PATH}/{record_id}/withdraw", {"reason": "错误"}),
    ]


def test_no_token_is_a_401_problem(
    world: World, db_session: Session, department: Party, uscc: str
) -> None:
    record_id = _publish(world, department, penalty_row(uscc, 1))
    state, before = _state(db_session, record_id), _counts(db_session)

    for method, path, body in _writes(uscc, record_id):
        for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic x"}):
            response = world.http.open(path, method=method, json=body, headers=headers)
            assert_problem(response, 401)
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert (_state(db_session, record_id), _counts(db_session)) == (state, before)


@pytest.mark.parametrize(
    ("kind", "scopes", "categories"),
    [
        pytest.param("bank", None, (), id="bank"),
        pytest.param("rating_agency", None, (), id="rating_agency"),
        pytest.param("government", None, ("administrative",), id="government"),
        pytest.param("department", ("objections.resolve",), (), id="department_without_scope"),
    ],
)
def test_clients_without_records_write_get_a_403_problem(
    world: World,
    db_session: Session,
    department: Party,
    uscc: str,
    kind: str,
    scopes: tuple[str, ...] | None,
    categories: tuple[str, ...],
) -> None:
    other = world.party(kind=kind, scopes=scopes, categories=categories, name="其他")
    record_id = _publish(world, department, penalty_row(uscc, 1))
    state, before = _state(db_session, record_id), _counts(db_session)

    for method, path, body in _writes(uscc, record_id):
        response = world.http.open(path, method=method, json=body, headers=other.headers())
        assert_problem(response, 403)
    assert (_state(db_session, record_id), _counts(db_session)) == (state, before)
