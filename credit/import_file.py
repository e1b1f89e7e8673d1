"""Reading departments' record files (`xinyong ingest FILE`): CSV or JSON Lines in the API's
record format, with the column names of the national "double publicity" data standards for
administrative licences (`XK_*`) and penalties (`CF_*`) accepted as aliases.

Each row becomes a record as `POST /v1/ingest/records` takes it, or the errors that stop it from
being one; the ingestion service then judges it like any other row. Nothing here writes.

CSV: one row per record, the top-level fields by name (`kind`, `document_no`, `title`,
`decided_on`, `uscc` or `id_number` and `name`, `publish_until`) and the details as
`details.<field>` columns; empty cells are absent fields. Files exported by spreadsheet programs
in UTF-8 (with or without a byte-order mark) or GB 18030 are read.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

Errors = dict[str, list[str]]

FORMATS = ("csv", "jsonl")

# The national standards' columns (行政许可、行政处罚信息数据标准): where each goes.
LICENSE_ALIASES: dict[str, str] = {
    "XK_WSH": "document_no",  # 行政许可决定文书号
    "XK_XKWS": "title",  # 行政许可决定文书名称
    "XK_JDRQ": "decided_on",  # 许可决定日期
    "XK_XDR_SHXYM": "uscc",  # 统一社会信用代码
    "XK_XDR_ZJHM": "id_number",  # 证件号码 (a natural person)
    "XK_XDR_MC": "name",  # 行政相对人名称
    "XK_XKZS": "details.license_name",  # 许可证书名称
    "XK_XKBH": "details.license_no",  # 许可编号
    "XK_NR": "details.content",  # 许可内容
    "XK_YXQZ": "details.valid_from",  # 有效期自
    "XK_YXQZI": "details.valid_until",  # 有效期至
}
PENALTY_ALIASES: dict[str, str] = {
    "CF_WSH": "document_no",  # 行政处罚决定书文号
    "CF_AJMC": "title",  # 案件名称
    "CF_JDRQ": "decided_on",  # 处罚决定日期
    "CF_GSJZQ": "publish_until",  # 公示截止期
    "CF_XDR_SHXYM": "uscc",  # 统一社会信用代码
    "CF_XDR_ZJHM": "id_number",  # 证件号码 (a natural person)
    "CF_XDR_MC": "name",  # 行政相对人名称
    "CF_YJ": "details.basis",  # 处罚依据
    "CF_WFXW": "details.violation",  # 违法行为类型
    "CF_NR": "details.result",  # 处罚内容
    "CF_CFLB": "details.category_label",  # 处罚类别
    "CF_NR_FK": "details.fine_amount",  # 罚款金额（万元）: converted to yuan
}
ALIASES: dict[str, str] = {**LICENSE_ALIASES, **PENALTY_ALIASES}
# Columns of the standards the platform has no field for (the department is the importing
# client; the subject's category and legal representative come from its registration).
IGNORED_COLUMNS = frozenset(
    {
        "XK_XDR_LB", "XK_FRDB", "XK_XDR_ZJLX", "XK_XKLB", "XK_FSJG", "XK_FSJGDM", "XK_XKJG",
        "XK_XKJGDM", "XK_ZT", "XK_SJLY", "XK_SJLYDM", "XK_BZ", "XK_FR_ZJLX", "XK_FR_ZJHM",
        "CF_XDR_LB", "CF_FRDB", "CF_XDR_ZJLX", "CF_SY", "CF_NR_WFFF", "CF_NR_ZKDX", "CF_YXQ",
        "CF_CFJG", "CF_CFJGDM", "CF_SJLY", "CF_SJLYDM", "CF_BZ", "CF_FR_ZJLX", "CF_FR_ZJHM",
    }
)  # fmt: skip
TEN_THOUSAND_YUAN = frozenset({"CF_NR_FK"})
TOP_LEVEL = frozenset(
    {"kind", "document_no", "title", "decided_on", "uscc", "id_number", "name", "publish_until"}
)
INTEGER_DETAILS = frozenset({"year", "months"})
_DATE_FIELDS = frozenset(
    {"decided_on", "publish_until", "details.valid_from", "details.valid_until"}
)
_DATE_FORMS = (
    re.compile(r"^(\d{4})[/.](\d{1,2})[/.](\d{1,2})$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日$"),
)


class UnreadableFile(ValueError):
    """The file cannot be read as records at all (its header, encoding or format)."""


@dataclass
class SourceRow:
    """One row of the file: the record it holds, and the errors found in reading it (a row
    with errors is not stored; its `record` holds the rest, to be checked for more); `line`
    counts from 1."""

    line: int
    record: dict[str, Any] | None
    errors: Errors = field(default_factory=dict)
    # Which column each field came from, for messages: {"details.fine_amount": "CF_NR_FK"}.
    columns: dict[str, str] = field(default_factory=dict)


def format_of(path: Path, given: str | None) -> str:
    """The file's format: as given, or from its extension."""
    if given:
        return given
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    raise UnreadableFile(f"{path.name}: say --format csv or --format jsonl (unknown extension)")


def read_rows(path: Path, *, file_format: str, encoding: str | None = None) -> Iterator[SourceRow]:
    """The rows of a record file, in order."""
    text = _decode(path.read_bytes(), encoding)
    if file_format == "csv":
        yield from _csv_rows(text)
    elif file_format == "jsonl":
        yield from _jsonl_rows(text)
    else:
        raise UnreadableFile(f"unknown format {file_format}: use csv or jsonl")


def _decode(data: bytes, encoding: str | None) -> str:
    candidates = [encoding] if encoding else ["utf-8-sig", "gb18030"]
    for name in candidates:
        try:
            # A byte-order mark is no part of the first column's name, whatever the encoding.
            return data.decode(name).removeprefix("\ufeff")
        except (UnicodeDecodeError, LookupError):
            continue
    raise UnreadableFile(
        "the file is neither UTF-8 nor GB 18030 text; save it as UTF-8, or name its "
        "encoding with --encoding"
    )


def _unknown(names: Iterable[str]) -> list[str]:
    return [
        n
        for n in names
        if n not in TOP_LEVEL
        and n not in ALIASES
        and n not in IGNORED_COLUMNS
        and not (n.startswith("details.") and len(n) > len("details."))
    ]


def _twice(names: Iterable[str]) -> tuple[str, str, str] | None:
    """Two names that give the same field (a field and its national alias), if any."""
    seen: dict[str, str] = {}
    for n in names:
        if n in IGNORED_COLUMNS:
            continue
        target = ALIASES.get(n, n)
        if target in seen:
            return seen[target], n, target
        seen[target] = n
    return None


def _check_columns(names: list[str]) -> None:
    unknown = _unknown(names)
    if unknown:
        raise UnreadableFile(
            "unknown columns: " + ", ".join(unknown) + ". Use the record fields (kind, "
            "document_no, title, decided_on, uscc or id_number and name, publish_until, "
            "details.<field>) or the national XK_/CF_ column names"
        )
    twice = _twice(names)
    if twice:
        raise UnreadableFile(f"columns {twice[0]} and {twice[1]} both give {twice[2]}")


def _csv_rows(text: str) -> Iterator[SourceRow]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            raise UnreadableFile("the file is empty: the first line names the columns")
        names = [name.strip() for name in header]
        if len(set(names)) != len(names) or not all(names):
            raise UnreadableFile("the header names a column twice, or has an empty column name")
        _check_columns(names)
        aliases = {ALIASES[n]: n for n in names if n in ALIASES}
        line = reader.line_num
        for cells in reader:
            # Each row starts on the line after the previous one ended (a quoted cell may
            # span lines); csv.reader yields an empty list for an empty line.
            first_line, line = line + 1, reader.line_num
            if len(cells) > len(names):
                yield SourceRow(
                    first_line, None, {"_row": ["More cells than the header has columns."]}
                )
                continue
            values = {
                name: cell.strip() for name, cell in zip(names, cells, strict=False) if cell.strip()
            }
            if values:  # else a blank line
                yield _row_from(first_line, values, from_text=True, aliases=aliases)
    except csv.Error as exc:
        raise UnreadableFile(
            f"line {reader.line_num}: {exc} (an unclosed quote?); nothing was imported"
        ) from exc


def _jsonl_rows(text: str) -> Iterator[SourceRow]:
    # Only a line feed ends a record: JSON strings may hold U+2028 and the like unescaped.
    for number, raw in enumerate(text.split("\n"), start=1):
        if not raw.strip():
            continue
        try:
            value = json.loads(raw)
        except (json.JSONDecodeError, RecursionError, ValueError) as exc:
            where = f" (column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else ""
            message = exc.msg if isinstance(exc, json.JSONDecodeError) else "too deep or too long"
            yield SourceRow(number, None, {"_row": [f"Not valid JSON: {message}{where}."]})
            continue
        if not isinstance(value, dict):
            yield SourceRow(number, None, {"_row": ["Each line holds one record, a JSON object."]})
            continue
        flat = {k: v for k, v in value.items() if k != "details"}
        details = value.get("details")
        if isinstance(details, dict):
            flat.update({f"details.{k}": v for k, v in details.items()})
        elif details is not None:
            flat["details"] = details  # left for the validator to name
        unknown = [k for k in _unknown(flat) if k != "details"]
        if unknown:
            yield SourceRow(
                number,
                None,
                {k: ["Unknown field: not part of the record format."] for k in unknown},
            )
            continue
        twice = _twice(flat)
        if twice:
            yield SourceRow(
                number, None, {twice[2]: [f"Given twice, as {twice[0]} and as {twice[1]}."]}
            )
            continue
        aliases = {ALIASES[n]: n for n in flat if n in ALIASES}
        yield _row_from(number, flat, from_text=False, aliases=aliases)


def _row_from(
    line: int, values: dict[str, Any], *, from_text: bool, aliases: dict[str, str]
) -> SourceRow:
    """A record from one row's named values (aliases resolved, units converted).

    `aliases` names the file's column of each field given by a national column name, for
    messages; it covers the row's empty cells too.
    """
    record: dict[str, Any] = {}
    details: dict[str, Any] = {}
    errors: Errors = {}
    for column, value in values.items():
        if column in IGNORED_COLUMNS:
            continue
        target = ALIASES.get(column, column)
        if column in TEN_THOUSAND_YUAN and value is not None:
            converted = _yuan_from_wan(value)
            if converted is None:
                errors[target] = [
                    f"{column} is an amount in 万元 (ten thousand yuan), such as 0.5; "
                    f"{value!r} is not one."
                ]
                continue
            value = converted
        elif column in ALIASES and target in _DATE_FIELDS:
            value = _iso_date(value)
        if target == "details":
            record["details"] = value
        elif target.startswith("details."):
            key = target.removeprefix("details.")
            if (
                from_text
                and key in INTEGER_DETAILS
                and isinstance(value, str)
                and value.isascii()
                and value.isdigit()
            ):
                value = int(value)
            details[key] = value
        else:
            record[target] = value
    record.setdefault("details", details)
    national = {c for c in values if c in ALIASES}
    if "kind" not in record:
        kinds = {"license" if c in LICENSE_ALIASES else "penalty" for c in national}
        if len(kinds) == 1:
            record["kind"] = kinds.pop()
    uses_penalty_standard = any(c in PENALTY_ALIASES for c in national)
    if (
        uses_penalty_standard
        and record.get("kind") == "penalty"
        and isinstance(record["details"], dict)
    ):
        # The national penalty standard has no severity: general unless the file says serious.
        record["details"].setdefault("severity", "general")
    if "uscc" in record and "id_number" not in record:
        record.pop("name", None)  # a legal person is named by its registration
    if "title" not in record and uses_penalty_standard and isinstance(record["details"], dict):
        violation = record["details"].get("violation")
        if isinstance(violation, str):
            record["title"] = violation
    return SourceRow(line, record, errors, dict(aliases))


def _yuan_from_wan(value: Any) -> str | None:
    """An amount in 万元 as a decimal string in yuan (0.5 → "5000.00"); None if it is none."""
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        return None
    try:
        amount = Decimal(str(value).replace(",", ""))
    except InvalidOperation:
        return None
    if not amount.is_finite():
        return None
    try:
        return str((amount * 10000).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
    except InvalidOperation:  # too many digits to hold to the fen: the validator could not either
        return None


def _iso_date(value: Any) -> Any:
    """2026/6/12, 2026.06.12, 20260612 and 2026年6月12日 as 2026-06-12; anything else as is."""
    if not isinstance(value, str):
        return value
    for form in _DATE_FORMS:
        match = form.match(value.strip())
        if match:
            year, month, day = match.groups()
            return f"{year}-{int(month):02d}-{int(day):02d}"
    return value
