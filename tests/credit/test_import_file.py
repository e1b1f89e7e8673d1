"""Tests of credit.import_file: reading departments' record files, without a database.

The national double-publicity columns (XK_* for licences, CF_* for penalties) map to the record
fields, 万元 become yuan, national date forms become ISO dates, and what cannot be read is named
with its line (a row) or refused as a whole (the header, the encoding).
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from credit.import_file import (
    ALIASES,
    IGNORED_COLUMNS,
    LICENSE_ALIASES,
    PENALTY_ALIASES,
    SourceRow,
    UnreadableFile,
    format_of,
    read_rows,
)
from credit.records_input import validate_record

TODAY = date(2026, 11, 27)
USCC = "91370306MADD964Y1R"
ID_NUMBER = "370306198001010011"
DATE_TARGETS = {"decided_on", "publish_until", "details.valid_from", "details.valid_until"}

PENALTY_HEADER = (
    "CF_WSH,CF_AJMC,CF_JDRQ,CF_GSJZQ,CF_XDR_SHXYM,CF_XDR_MC,CF_YJ,CF_WFXW,CF_NR,CF_CFLB,"
    "CF_NR_FK,CF_XDR_LB,CF_FRDB,CF_CFJG,CF_CFJGDM,CF_SJLY,CF_BZ"
)
PENALTY_LINE = (
    f"周市监罚〔2026〕101号,经营超过保质期的食品案,2026/6/12,2026/12/31,{USCC},"
    "淄博市周村区骁梅物业管理有限公司,《中华人民共和国食品安全法》第一百二十四条,"
    "经营超过保质期的食品,罚款人民币5000元,罚款,0.5,法人及非法人组织,王建国,"
    "淄博市周村区市场监督管理局,11370306MB2843175X,淄博市周村区市场监督管理局,"
)
LICENSE_HEADER = (
    "XK_WSH,XK_XKWS,XK_JDRQ,XK_XDR_SHXYM,XK_XDR_MC,XK_XKZS,XK_XKBH,XK_NR,XK_YXQZ,XK_YXQZI,"
    "XK_XDR_LB,XK_FRDB,XK_XKLB,XK_XKJG,XK_XKJGDM,XK_ZT,XK_SJLY"
)
LICENSE_LINE = (
    f"周市监许〔2026〕7号,食品经营许可决定书,20260301,{USCC},淄博市周村区骁梅物业管理有限公司,"
    "食品经营许可证,JY13703060012345,预包装食品销售,2026年3月1日,2031年2月28日,"
    "法人及非法人组织,王建国,普通,淄博市周村区市场监督管理局,11370306MB2843175X,1,"
    "淄博市周村区市场监督管理局"
)


def write(directory: Path, name: str, content: str | bytes) -> Path:
    path = directory / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", newline="")
    return path


def csv_rows(directory: Path, text: str, **options: Any) -> list[SourceRow]:
    return list(read_rows(write(directory, "rows.csv", text), file_format="csv", **options))


def jsonl_rows(directory: Path, lines: list[Any] | str) -> list[SourceRow]:
    text = lines if isinstance(lines, str) else "".join(f"{line}\n" for line in lines)
    return list(read_rows(write(directory, "rows.jsonl", text), file_format="jsonl"))


def one(rows: list[SourceRow]) -> SourceRow:
    assert len(rows) == 1, rows
    return rows[0]


def field_of(record: dict[str, Any], target: str) -> Any:
    if target.startswith("details."):
        return record["details"].get(target.removeprefix("details."))
    return record.get(target)


# --- the national columns ------------------------------------------------------------------


def test_a_national_penalty_row_becomes_a_valid_record(tmp_path: Path) -> None:
    row = one(csv_rows(tmp_path, f"{PENALTY_HEADER}\n{PENALTY_LINE}\n"))
    assert row.line == 2
    assert row.errors == {}
    assert row.record == {
        "kind": "penalty",
        "document_no": "周市监罚〔2026〕101号",
        "title": "经营超过保质期的食品案",
        "decided_on": "2026-06-12",
        "publish_until": "2026-12-31",
        "uscc": USCC,
        "details": {
            "basis": "《中华人民共和国食品安全法》第一百二十四条",
            "violation": "经营超过保质期的食品",
            "result": "罚款人民币5000元",
            "category_label": "罚款",
            "fine_amount": "5000.00",
            "severity": "general",
        },
    }
    assert row.columns["details.fine_amount"] == "CF_NR_FK"
    assert row.columns["document_no"] == "CF_WSH"
    draft, errors = validate_record(row.record, today=TODAY)
    assert errors == {}
    assert draft is not None
    assert draft.details["fine_amount"] == "5000.00"


def test_a_national_licence_row_becomes_a_valid_record(tmp_path: Path) -> None:
    row = one(csv_rows(tmp_path, f"{LICENSE_HEADER}\n{LICENSE_LINE}\n"))
    assert row.errors == {}
    assert row.record == {
        "kind": "license",
        "document_no": "周市监许〔2026〕7号",
        "title": "食品经营许可决定书",
        "decided_on": "2026-03-01",
        "uscc": USCC,
        "details": {
            "license_name": "食品经营许可证",
            "license_no": "JY13703060012345",
            "content": "预包装食品销售",
            "valid_from": "2026-03-01",
            "valid_until": "2031-02-28",
        },
    }
    assert validate_record(row.record, today=TODAY)[1] == {}


@pytest.mark.parametrize(("column", "target"), sorted(ALIASES.items()))
def test_each_alias_gives_its_field(tmp_path: Path, column: str, target: str) -> None:
    if column == "CF_NR_FK":
        value, expected = "2", "20000.00"
    elif target in DATE_TARGETS:
        value, expected = "2026/6/12", "2026-06-12"
    else:
        value, expected = "值1", "值1"
    record = one(csv_rows(tmp_path, f"{column}\n{value}\n")).record
    assert record is not None
    assert field_of(record, target) == expected
    assert record["kind"] == ("license" if column in LICENSE_ALIASES else "penalty")
    assert one(csv_rows(tmp_path, f"{column}\n{value}\n")).columns == {target: column}


def test_the_aliases_are_those_of_the_standards() -> None:
    assert all(c.startswith("XK_") for c in LICENSE_ALIASES)
    assert all(c.startswith("CF_") for c in PENALTY_ALIASES)
    assert set(LICENSE_ALIASES.values()) >= {"document_no", "title", "decided_on", "uscc"}
    assert set(PENALTY_ALIASES.values()) >= {"document_no", "title", "decided_on", "uscc"}
    assert not IGNORED_COLUMNS & set(ALIASES)


@pytest.mark.parametrize("column", sorted(IGNORED_COLUMNS))
def test_ignored_national_columns_leave_no_trace(tmp_path: Path, column: str) -> None:
    row = one(csv_rows(tmp_path, f"CF_WSH,{column}\nA1,某值\n"))
    assert row.errors == {}
    assert row.record is not None
    assert "某值" not in json.dumps(row.record, ensure_ascii=False)
    assert row.record["document_no"] == "A1"


# --- 万元 to yuan ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wan", "yuan"),
    [
        ("0.5", "5000.00"),
        ("1,234.5", "12345000.00"),
        ("0.000001", "0.01"),
        ("3", "30000.00"),
        ("0", "0.00"),
        ("12.345678", "123456.78"),
        (" 0.5 ", "5000.00"),
        ("0.0000005", "0.01"),  # half a cent rounds up
        ("0.0000004", "0.00"),
    ],
)
def test_ten_thousand_yuan_become_yuan(tmp_path: Path, wan: str, yuan: str) -> None:
    row = one(csv_rows(tmp_path, f'CF_WSH,CF_NR_FK\nA1,"{wan}"\n'))
    assert row.errors == {}
    assert row.record is not None
    assert row.record["details"]["fine_amount"] == yuan


def test_a_negative_amount_stays_negative_for_the_validator_to_refuse(tmp_path: Path) -> None:
    row = one(csv_rows(tmp_path, f"{PENALTY_HEADER}\n{PENALTY_LINE.replace(',0.5,', ',-0.5,')}\n"))
    assert row.errors == {}
    assert row.record is not None
    assert row.record["details"]["fine_amount"] == "-5000.00"
    draft, errors = validate_record(row.record, today=TODAY)
    assert draft is None
    assert errors == {"details.fine_amount": ["An amount must not be negative."]}


@pytest.mark.parametrize("wan", ["abc", "NaN", "Infinity", "-Infinity", "sNaN", "0.5万", "1.2.3"])
def test_what_is_no_amount_is_a_row_error_naming_the_column(tmp_path: Path, wan: str) -> None:
    rows = csv_rows(tmp_path, f"CF_WSH,CF_NR_FK\nA1,{wan}\nA2,1\n")
    assert [r.line for r in rows] == [2, 3]
    bad, good = rows
    (message,) = bad.errors["details.fine_amount"]
    assert "CF_NR_FK" in message
    assert "万元" in message
    assert bad.record is not None
    assert "fine_amount" not in bad.record["details"]
    assert bad.columns["details.fine_amount"] == "CF_NR_FK"
    assert good.errors == {}


@pytest.mark.parametrize(
    ("value", "yuan"), [(0.5, "5000.00"), (12, "120000.00"), ("0.5", "5000.00")]
)
def test_json_amounts_in_ten_thousand_yuan(tmp_path: Path, value: Any, yuan: str) -> None:
    row = one(jsonl_rows(tmp_path, [json.dumps({"CF_WSH": "A1", "CF_NR_FK": value})]))
    assert row.record is not None
    assert row.record["details"]["fine_amount"] == yuan


@pytest.mark.parametrize("value", [True, [1], {"wan": 1}])
def test_json_values_that_are_no_amount(tmp_path: Path, value: Any) -> None:
    row = one(jsonl_rows(tmp_path, [json.dumps({"CF_WSH": "A1", "CF_NR_FK": value})]))
    assert "CF_NR_FK" in row.errors["details.fine_amount"][0]


@pytest.mark.parametrize("wan", ["1e30", "99999999999999999999999999"])
def test_a_huge_amount_is_refused_not_a_crash(tmp_path: Path, wan: str) -> None:
    line = PENALTY_LINE.replace(",0.5,", f",{wan},")
    row = one(csv_rows(tmp_path, f"{PENALTY_HEADER}\n{line}\n"))
    assert row.record is not None
    errors = row.errors or validate_record(row.record, today=TODAY)[1]
    assert "details.fine_amount" in errors


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("amounts")


@given(
    millionths=st.integers(min_value=-(10**17), max_value=10**17),
    places=st.integers(min_value=0, max_value=6),
    grouped=st.booleans(),
)
def test_any_amount_with_up_to_six_decimals_converts_exactly(
    scratch: Path, millionths: int, places: int, grouped: bool
) -> None:
    # The amount in 万元 is `units` × 10^-places (|amount| < 10^11 万元); in yuan it is exactly
    # units × 10^(6 - places) cents: no rounding is ever needed.
    units = millionths // 10 ** (6 - places)
    sign, magnitude = ("-" if units < 0 else ""), abs(units)
    whole, fraction = divmod(magnitude, 10**places)
    text = f"{whole:,}" if grouped else str(whole)
    if places:
        text += "." + str(fraction).zfill(places)
    cents = magnitude * 10 ** (6 - places)
    expected = f"{sign if cents else ''}{cents // 100}.{cents % 100:02d}"
    assert Decimal(expected) == (Decimal(f"{sign}{text.replace(',', '')}") * 10000)
    row = one(csv_rows(scratch, f'CF_WSH,CF_NR_FK\nA1,"{sign}{text}"\n'))
    assert row.errors == {}
    assert row.record is not None
    assert row.record["details"]["fine_amount"] == expected


# --- dates ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "given_date",
    ["2026/6/12", "2026/06/12", "2026.6.12", "2026.06.12", "20260612", "2026年6月12日",
     "2026年06月12日", "2026-06-12", " 2026/6/12 "],
)  # fmt: skip
def test_national_date_forms_become_iso_dates(tmp_path: Path, given_date: str) -> None:
    text = f'CF_WSH,CF_JDRQ,CF_GSJZQ\nA1,"{given_date}","{given_date}"\n'
    record = one(csv_rows(tmp_path, text)).record
    assert record is not None
    assert record["decided_on"] == "2026-06-12"
    assert record["publish_until"] == "2026-06-12"


@pytest.mark.parametrize(
    "junk", ["12/06/2026", "June 12, 2026", "2026/6/12 10:30", "2026年6月", "明天", "2026612"]
)
def test_other_dates_are_left_as_they_are(tmp_path: Path, junk: str) -> None:
    record = one(csv_rows(tmp_path, f'XK_WSH,XK_JDRQ,XK_YXQZI\nA1,"{junk}","{junk}"\n')).record
    assert record is not None
    assert record["decided_on"] == junk
    assert record["details"]["valid_until"] == junk


def test_an_impossible_date_is_left_for_the_validator(tmp_path: Path) -> None:
    row = one(
        csv_rows(tmp_path, f"{PENALTY_HEADER}\n{PENALTY_LINE.replace('2026/6/12', '2026/13/45')}\n")
    )
    assert row.record is not None
    assert row.record["decided_on"] == "2026-13-45"
    assert validate_record(row.record, today=TODAY)[1] == {
        "decided_on": ["2026-13-45 is not a real date."]
    }


# --- kind, severity, title, name -------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "kind"),
    [
        ("CF_WSH,CF_JDRQ", "penalty"),
        ("XK_WSH,XK_JDRQ", "license"),
        ("XK_WSH,CF_JDRQ", None),  # mixed: no kind inferred
        ("CF_WSH,XK_FSJG", "penalty"),  # an ignored column says nothing of the kind
        ("document_no,decided_on", None),
    ],
)
def test_the_kind_is_inferred_from_the_aliases(tmp_path: Path, header: str, kind: str) -> None:
    record = one(csv_rows(tmp_path, f"{header}\nA1,2026/6/12\n")).record
    assert record is not None
    assert record.get("kind") == kind


def test_a_kind_column_wins_over_the_inference(tmp_path: Path) -> None:
    record = one(csv_rows(tmp_path, "kind,CF_WSH\nred_list,A1\n")).record
    assert record is not None
    assert record["kind"] == "red_list"
    assert "severity" not in record["details"]


def test_a_penalty_is_general_unless_the_file_says_otherwise(tmp_path: Path) -> None:
    rows = csv_rows(
        tmp_path,
        "kind,CF_WSH,details.severity\n,A1,\npenalty,A2,serious\npenalty,A3,\nlicense,A4,\n",
    )
    records = [r.record for r in rows]
    assert all(r is not None for r in records)
    assert [r["details"].get("severity") for r in records if r is not None] == [
        "general",
        "serious",
        "general",
        None,
    ]
    mixed = one(csv_rows(tmp_path, "XK_WSH,CF_WFXW\nA1,违法\n")).record
    assert mixed is not None
    assert "severity" not in mixed["details"]
    licence = one(csv_rows(tmp_path, "XK_WSH\nA1\n")).record
    assert licence is not None
    assert "severity" not in licence["details"]


def test_a_file_in_the_record_format_gets_no_severity_default(tmp_path: Path) -> None:
    # Severity sets the publication period: only the national standard, which has no column
    # for it, gets the default; the platform's own format must say it, as the API requires.
    record = one(csv_rows(tmp_path, "kind,document_no\npenalty,A1\n")).record
    assert record is not None
    assert "severity" not in record["details"]
    line = json.dumps({"kind": "penalty", "document_no": "A1", "details": {}})
    json_record = one(jsonl_rows(tmp_path, [line])).record
    assert json_record is not None
    assert "severity" not in json_record["details"]


def test_json_severity_is_kept(tmp_path: Path) -> None:
    line = json.dumps({"CF_WSH": "A1", "details": {"severity": "serious"}})
    record = one(jsonl_rows(tmp_path, [line])).record
    assert record is not None
    assert record["details"]["severity"] == "serious"


def test_the_title_defaults_to_the_violation(tmp_path: Path) -> None:
    rows = csv_rows(tmp_path, "CF_WSH,CF_AJMC,CF_WFXW\nA1,,无证经营\nA2,某案,无证经营\n")
    titles = [r.record["title"] for r in rows if r.record is not None]
    assert titles == ["无证经营", "某案"]
    licence = one(csv_rows(tmp_path, "XK_WSH,details.violation\nA1,无证经营\n")).record
    assert licence is not None
    assert "title" not in licence


def test_a_legal_person_is_named_by_its_registration(tmp_path: Path) -> None:
    rows = csv_rows(
        tmp_path,
        "CF_WSH,CF_XDR_SHXYM,CF_XDR_ZJHM,CF_XDR_MC\n"
        f"A1,{USCC},,某公司\nA2,,{ID_NUMBER},张三\nA3,{USCC},{ID_NUMBER},张三\n",
    )
    company, person, both = (r.record for r in rows)
    assert company is not None
    assert person is not None
    assert both is not None
    assert company["uscc"] == USCC
    assert "name" not in company
    assert (person["id_number"], person["name"]) == (ID_NUMBER, "张三")
    assert "uscc" not in person
    # Both: left whole for the validator to refuse.
    assert both["name"] == "张三"
    assert "uscc" in validate_record(both, today=TODAY)[1]


# --- cells and lines -------------------------------------------------------------------------


def test_whole_numbers_of_details_are_read_from_text(tmp_path: Path) -> None:
    rows = csv_rows(
        tmp_path,
        "kind,document_no,details.year,details.months,details.level\n"
        "tax_rating,A1,2025,,12\n"
        "social_insurance_arrears,A2,,12,\n"
        "social_insurance_arrears,A3,,twelve,\n"
        "social_insurance_arrears,A4,,-1,\n",
    )
    details = [r.record["details"] for r in rows if r.record is not None]
    assert details == [
        {"year": 2025, "level": "12"},
        {"months": 12},
        {"months": "twelve"},
        {"months": "-1"},
    ]
    # JSON says what it means: a string stays a string, for the validator to name.
    line = json.dumps({"kind": "tax_rating", "details": {"year": "2025"}})
    record = one(jsonl_rows(tmp_path, [line])).record
    assert record is not None
    assert record["details"]["year"] == "2025"


def test_a_superscript_digit_is_left_for_the_validator(tmp_path: Path) -> None:
    text = "kind,document_no,details.months\nsocial_insurance_arrears,A1,³\n"
    row = one(csv_rows(tmp_path, text))
    assert row.record is not None
    assert row.record["details"]["months"] == "³"


def test_empty_cells_are_absent_fields(tmp_path: Path) -> None:
    rows = csv_rows(tmp_path, "document_no,title,details.basis,details.result\nA1,,  ,处罚\nA2\n")
    assert [r.record for r in rows] == [
        {"document_no": "A1", "details": {"result": "处罚"}},
        {"document_no": "A2", "details": {}},
    ]
    assert all(r.errors == {} for r in rows)


def test_cells_and_column_names_are_trimmed(tmp_path: Path) -> None:
    record = one(csv_rows(tmp_path, " CF_WSH , CF_AJMC \n  A1 ,  某案  \n")).record
    assert record is not None
    assert (record["document_no"], record["title"]) == ("A1", "某案")


def test_blank_lines_are_skipped_and_lines_counted(tmp_path: Path) -> None:
    rows = csv_rows(tmp_path, "document_no,title\nA1,a\n,\n  ,  \nA2,b\n\r\n")
    assert [(r.line, r.record and r.record["document_no"]) for r in rows] == [(2, "A1"), (5, "A2")]


def test_a_quoted_cell_over_two_lines_keeps_the_line_numbers(tmp_path: Path) -> None:
    rows = csv_rows(
        tmp_path, 'document_no,title\nA1,"第一行\n第二行"\nA2,b\r\nA3,"x\r\ny\r\nz"\nA4,c\n'
    )
    assert [r.line for r in rows] == [2, 4, 5, 8]
    assert rows[0].record is not None
    assert rows[0].record["title"] == "第一行\n第二行"


def test_a_row_after_an_empty_line_has_its_own_line_number(tmp_path: Path) -> None:
    rows = csv_rows(tmp_path, "document_no,title\nA1,a\n\nA2,b\n\n\nA3,c\n")
    assert [r.line for r in rows] == [2, 4, 7]


def test_more_cells_than_columns_is_a_row_error(tmp_path: Path) -> None:
    rows = csv_rows(tmp_path, "document_no,title\nA1,a,extra\nA2,b\n")
    assert [r.line for r in rows] == [2, 3]
    assert rows[0].record is None
    assert rows[0].errors == {"_row": ["More cells than the header has columns."]}
    assert rows[1].errors == {}


def test_fewer_cells_than_columns_leaves_fields_absent(tmp_path: Path) -> None:
    record = one(csv_rows(tmp_path, "document_no,title,decided_on\nA1\n")).record
    assert record == {"document_no": "A1", "details": {}}


# --- files refused as a whole ----------------------------------------------------------------


def test_an_unknown_column_refuses_the_file_naming_it(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFile, match="unknown columns: CF_XXX, 金额") as caught:
        csv_rows(tmp_path, "CF_WSH,CF_XXX,金额,details.basis\nA1,1,2,3\n")
    assert "CF_WSH" not in str(caught.value).partition(".")[0]
    with pytest.raises(UnreadableFile, match="unknown columns: details."):
        csv_rows(tmp_path, "CF_WSH,details.\nA1,1\n")


@pytest.mark.parametrize(
    ("header", "named"),
    [
        ("document_no,CF_WSH", ("document_no", "CF_WSH")),
        ("XK_WSH,CF_WSH", ("XK_WSH", "CF_WSH")),
        ("CF_NR_FK,details.fine_amount", ("CF_NR_FK", "details.fine_amount")),
        ("uscc,XK_XDR_SHXYM", ("uscc", "XK_XDR_SHXYM")),
    ],
)
def test_two_columns_for_one_field_refuse_the_file(
    tmp_path: Path, header: str, named: tuple[str, str]
) -> None:
    with pytest.raises(UnreadableFile) as caught:
        csv_rows(tmp_path, f"{header}\nA1,A2\n")
    assert all(name in str(caught.value) for name in named)


@pytest.mark.parametrize("header", ["document_no,document_no", "document_no,,title"])
def test_a_column_named_twice_or_unnamed_refuses_the_file(tmp_path: Path, header: str) -> None:
    with pytest.raises(UnreadableFile, match="twice"):
        csv_rows(tmp_path, f"{header}\nA1,A2,A3\n")


@pytest.mark.parametrize("content", [b"", "\ufeff".encode()])
def test_an_empty_file_is_refused(tmp_path: Path, content: bytes) -> None:
    with pytest.raises(UnreadableFile, match="empty"):
        list(read_rows(write(tmp_path, "empty.csv", content), file_format="csv"))


def test_a_header_alone_has_no_rows(tmp_path: Path) -> None:
    assert csv_rows(tmp_path, "CF_WSH,CF_JDRQ\n") == []
    assert jsonl_rows(tmp_path, "") == []


@pytest.mark.parametrize(
    "junk",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00",
        bytes(range(256)) * 4,
        b"\xff\xfe" + "CF_WSH\nA1\n".encode("utf-16-le"),
        b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00\xff\xff",  # a spreadsheet (zip)
    ],
)
def test_binary_junk_is_refused(tmp_path: Path, junk: bytes) -> None:
    with pytest.raises(UnreadableFile):
        list(read_rows(write(tmp_path, "junk.csv", junk), file_format="csv"))


def test_a_stray_quote_in_a_large_file_is_refused_not_a_crash(tmp_path: Path) -> None:
    body = "".join(f"A{n},第{n}号处罚决定书的标题\n" for n in range(10_000))
    try:
        rows = csv_rows(tmp_path, f'document_no,title\nA,"unclosed\n{body}')
    except UnreadableFile:
        return  # refused as a whole: right
    assert rows[0].errors or validate_record(rows[0].record, today=TODAY)[1]


# --- encodings ------------------------------------------------------------------------------


def test_gb18030_and_a_byte_order_mark_are_read(tmp_path: Path) -> None:
    text = f"{PENALTY_HEADER}\r\n{PENALTY_LINE}\r\n"
    expected = [(r.line, r.record) for r in csv_rows(tmp_path, text)]
    assert expected[0][1] is not None
    for name, data in [
        ("gb.csv", text.encode("gb18030")),
        ("bom.csv", "\ufeff".encode() + text.encode()),
        ("plain.csv", text.encode()),
    ]:
        rows = list(read_rows(write(tmp_path, name, data), file_format="csv"))
        assert [(r.line, r.record) for r in rows] == expected, name
    gb = write(tmp_path, "gb.csv", text.encode("gb18030"))
    named = list(read_rows(gb, file_format="csv", encoding="gb18030"))
    assert [(r.line, r.record) for r in named] == expected


def test_a_byte_order_mark_on_json_lines_is_read(tmp_path: Path) -> None:
    data = "\ufeff".encode() + json.dumps({"CF_WSH": "A1"}).encode() + b"\n"
    rows = list(read_rows(write(tmp_path, "bom.jsonl", data), file_format="jsonl"))
    assert one(rows).record == {
        "document_no": "A1",
        "kind": "penalty",
        "details": {"severity": "general"},
    }


@pytest.mark.parametrize("file_format", ["csv", "jsonl"])
def test_a_byte_order_mark_is_read_with_the_encoding_named(
    tmp_path: Path, file_format: str
) -> None:
    text = "CF_WSH\nA1\n" if file_format == "csv" else '{"CF_WSH": "A1"}\n'
    path = write(tmp_path, f"bom.{file_format}", "\ufeff".encode() + text.encode())
    row = one(list(read_rows(path, file_format=file_format, encoding="utf-8")))
    assert row.record is not None
    assert row.record["document_no"] == "A1"


@pytest.mark.parametrize("encoding", ["utf-8", "no-such-encoding"])
def test_a_wrong_encoding_refuses_the_file(tmp_path: Path, encoding: str) -> None:
    path = write(
        tmp_path, "gb.csv", "CF_WSH,CF_AJMC\nA1,经营超过保质期的食品案\n".encode("gb18030")
    )
    with pytest.raises(UnreadableFile, match="--encoding"):
        list(read_rows(path, file_format="csv", encoding=encoding))


def test_an_unknown_format_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFile, match="unknown format xlsx"):
        list(read_rows(write(tmp_path, "rows.xlsx", "CF_WSH\nA1\n"), file_format="xlsx"))


# --- JSON Lines -----------------------------------------------------------------------------


def test_json_lines_are_records_with_their_line_numbers(tmp_path: Path) -> None:
    lines = [
        json.dumps({"CF_WSH": "A1", "CF_JDRQ": "2026/6/12", "details": {"basis": "依据"}}),
        "",
        "{not json",
        json.dumps(["CF_WSH", "A2"]),
        '"A3"',
        "null",
        json.dumps({"CF_WSH": "A4", "amount": 1, "kind": "penalty", "备注": "x"}),
        "   ",
        json.dumps({"kind": "penalty", "document_no": "A5", "details": "罚款"}),
        json.dumps({"document_no": "A6", "details.basis": "依据", "details": {"result": "罚款"}}),
    ]
    rows = jsonl_rows(tmp_path, "\r\n".join(lines) + "\r\n")
    assert [r.line for r in rows] == [1, 3, 4, 5, 6, 7, 9, 10]
    first, invalid, array, string, null, unknown, odd_details, flat = rows
    assert first.record == {
        "document_no": "A1",
        "decided_on": "2026-06-12",
        "kind": "penalty",
        "details": {"basis": "依据", "severity": "general"},
    }
    assert first.errors == {}
    assert invalid.record is None
    assert invalid.errors["_row"][0].startswith("Not valid JSON")
    for row in (array, string, null):
        assert row.record is None
        assert row.errors == {"_row": ["Each line holds one record, a JSON object."]}
    assert unknown.record is None
    assert set(unknown.errors) == {"amount", "备注"}
    assert odd_details.record is not None
    assert odd_details.record["details"] == "罚款"
    assert "details" in validate_record(odd_details.record, today=TODAY)[1]
    assert flat.record == {"document_no": "A6", "details": {"basis": "依据", "result": "罚款"}}


def test_a_national_json_line_is_a_valid_record(tmp_path: Path) -> None:
    line = {
        "CF_WSH": "周市监罚〔2026〕102号",
        "CF_JDRQ": "20260612",
        "CF_XDR_ZJHM": ID_NUMBER,
        "CF_XDR_MC": "张三",
        "CF_YJ": "依据",
        "CF_WFXW": "无证经营",
        "CF_NR": "罚款",
        "CF_NR_FK": 0.05,
        "CF_XDR_LB": "自然人",
    }
    row = one(jsonl_rows(tmp_path, [json.dumps(line, ensure_ascii=False)]))
    assert row.record is not None
    assert row.record["title"] == "无证经营"
    assert row.record["details"]["fine_amount"] == "500.00"
    assert row.record["name"] == "张三"
    assert validate_record(row.record, today=TODAY)[1] == {}


def test_a_line_separator_inside_a_json_string_is_text(tmp_path: Path) -> None:
    lines = [
        json.dumps({"document_no": "A1", "title": "第一段\u2028第二段"}, ensure_ascii=False),
        json.dumps({"document_no": "A2", "title": "x"}),
    ]
    rows = jsonl_rows(tmp_path, lines)
    assert [(r.line, r.errors) for r in rows] == [(1, {}), (2, {})]
    assert rows[0].record is not None
    assert rows[0].record["title"] == "第一段\u2028第二段"


def test_a_json_line_giving_a_field_twice_is_refused(tmp_path: Path) -> None:
    row = one(jsonl_rows(tmp_path, [json.dumps({"document_no": "A1", "CF_WSH": "A2"})]))
    assert row.errors


# --- the format ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "file_format"),
    [("a.csv", "csv"), ("A.CSV", "csv"), ("a.jsonl", "jsonl"), ("a.ndjson", "jsonl"),
     ("a.json", "jsonl"), ("行政处罚.2026.csv", "csv")],
)  # fmt: skip
def test_the_format_follows_the_extension(name: str, file_format: str) -> None:
    assert format_of(Path(name), None) == file_format


def test_a_given_format_wins_over_the_extension() -> None:
    assert format_of(Path("a.txt"), "csv") == "csv"
    assert format_of(Path("a.csv"), "jsonl") == "jsonl"


@pytest.mark.parametrize("name", ["a.txt", "a.xlsx", "records", "a.csv.gz"])
def test_an_unknown_extension_asks_for_the_format(name: str) -> None:
    with pytest.raises(UnreadableFile, match="--format"):
        format_of(Path(name), None)
