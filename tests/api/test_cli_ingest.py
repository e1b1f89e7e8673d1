"""`xinyong ingest FILE --department CLIENT_ID`, run as an operator runs it: a fresh interpreter
on an instance with its own database (a SQLite file, or a PostgreSQL database made for this
module), seeded with `xinyong seed --demo`, with departments and a bank made by `xinyong
clients create`. The tests read what the command wrote straight from the database.

Each command is a process of its own (about 2 s of imports): the module shares one instance, and
its tests run in order on it (each uses document numbers of its own). Commands that write run one
at a time (on SQLite a reading transaction cannot write once another has committed).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from api.config import normalize_database_url
from api.database import make_engine
from credit.identifiers import make_id_number
from credit.models import AuditEvent, Record, RecordChange, RecordVersion, Subject
from tests.factories import new_uscc, penalty_row
from tests.live import command_environment

XINYONG = str(Path(sys.executable).parent / "xinyong")
DEPARTMENT = "淄博市周村区市场监督管理局（导入测试）"
COUNTED = {
    "records": Record,
    "record_changes": RecordChange,
    "record_versions": RecordVersion,
    "audit_events": AuditEvent,
    "subjects": Subject,
}
BASIS = "《中华人民共和国食品安全法》第一百二十四条"

Result = subprocess.CompletedProcess[str]


@dataclass
class Site:
    """The instance the commands run on, its clients and registered entities."""

    env: dict[str, str]
    engine: Engine
    files: Path
    department: str = ""
    suspended: str = ""
    bank: str = ""
    usccs: tuple[str, ...] = ()

    def run(self, *args: str) -> Result:
        return subprocess.run(
            [XINYONG, *args], env=self.env, capture_output=True, text=True, timeout=180
        )

    def wave(self, **commands: list[str]) -> dict[str, Result]:
        """Commands run at the same time, by name."""
        running = {
            name: subprocess.Popen(
                [XINYONG, *args],
                env=self.env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for name, args in commands.items()
        }
        results = {}
        for name, process in running.items():
            stdout, stderr = process.communicate(timeout=180)
            results[name] = subprocess.CompletedProcess(
                process.args, process.returncode, stdout, stderr
            )
        return results

    def file(self, name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
        path = self.files / name
        data = content if isinstance(content, bytes) else content.encode(encoding)
        path.write_bytes(data)
        return path

    def ingest(self, path: Path, *options: str) -> Result:
        return self.run("ingest", str(path), "--department", self.department, *options)

    def counts(self) -> dict[str, int]:
        with Session(self.engine) as session:
            return {
                name: session.scalar(select(func.count()).select_from(model)) or 0
                for name, model in COUNTED.items()
            }

    def records(self, *numbers: str) -> dict[str, Record]:
        """The department's records under these document numbers, by number."""
        with Session(self.engine) as session:
            found = session.scalars(
                select(Record).where(
                    Record.department == DEPARTMENT, Record.document_no.in_(numbers)
                )
            )
            return {record.document_no: record for record in found}

    def uscc_of(self, record: Record) -> str | None:
        with Session(self.engine) as session:
            return session.scalar(select(Subject.uscc).where(Subject.id == record.subject_pk))

    def import_events(self, file_name: str) -> list[AuditEvent]:
        with Session(self.engine) as session:
            events = session.scalars(
                select(AuditEvent)
                .where(AuditEvent.action == "records.import")
                .order_by(AuditEvent.id)
            )
            return [e for e in events if e.details.get("file") == file_name]


def ok_json(result: Result) -> Any:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def rejections(stdout: str) -> dict[int, list[str]]:
    """The report's rejected lines: {line: the field messages printed under it}."""
    found: dict[int, list[str]] = {}
    current: list[str] = []
    for text in stdout.splitlines():
        if text.startswith("line "):
            current = found.setdefault(int(text.split()[1].rstrip(":")), [])
        elif text.startswith("  "):
            current.append(text)
    return found


def clean(result: Result) -> None:
    """A command that finished as designed: no traceback anywhere."""
    assert "Traceback" not in result.stdout + result.stderr, result.stderr


@pytest.fixture(scope="module")
def site(
    tmp_path_factory: pytest.TempPathFactory, database_url: str, is_postgres: bool
) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("cli_ingest")
    with command_environment(
        root / "instance", database_url, is_postgres=is_postgres, suffix="cli_ingest"
    ) as env:
        url = env.get("XINYONG_DATABASE_URL") or f"sqlite:///{root / 'instance/xinyong.sqlite3'}"
        files = root / "files"
        files.mkdir()
        site = Site(env, make_engine(normalize_database_url(url)), files)
        try:
            # First alone: it migrates and makes the instance's secrets.
            seeded = site.run("seed", "--demo", "--entities", "20")
            assert seeded.returncode == 0, seeded.stderr
            made = site.wave(  # each inserts before it reads
                department=["clients", "create", "--name", DEPARTMENT, "--kind", "department",
                            "--scopes", "records.write", "--json"],
                suspended=["clients", "create", "--name", "淄博市周村区应急管理局",
                           "--kind", "department", "--scopes", "records.write", "--json"],
                bank=["clients", "create", "--name", "周村农商银行", "--kind", "bank",
                      "--scopes", "credit.basic", "--json"],
            )  # fmt: skip
            site.department = ok_json(made["department"])["client_id"]
            site.suspended = ok_json(made["suspended"])["client_id"]
            site.bank = ok_json(made["bank"])["client_id"]
            suspended = site.run("clients", "suspend", site.suspended)
            assert suspended.returncode == 0, suspended.stderr
            with Session(site.engine) as session:
                site.usccs = tuple(
                    uscc
                    for uscc in session.scalars(
                        select(Subject.uscc)
                        .where(Subject.kind == "enterprise")
                        .order_by(Subject.id)
                    )
                    if uscc
                )
            assert len(site.usccs) >= 5
            yield site
        finally:
            site.engine.dispose()


# --- a file in the national format -----------------------------------------------------------

NATIONAL_HEADER = (
    "CF_WSH,CF_AJMC,CF_JDRQ,CF_GSJZQ,CF_XDR_LB,CF_XDR_SHXYM,CF_XDR_MC,CF_FRDB,CF_YJ,CF_WFXW,"
    "CF_NR,CF_CFLB,CF_NR_FK,CF_CFJG,CF_CFJGDM"
)
AUTHORITY = "淄博市周村区市场监督管理局,11370306MB2843175X"


def national_csv(usccs: tuple[str, ...], *, first_fine: str = "0.5") -> str:
    """Three penalties as a department's system exports them (行政处罚信息数据标准)."""
    rows = [
        f"周市监罚〔2026〕N1号,经营超过保质期的食品案,2026/6/12,,法人及非法人组织,{usccs[0]},"
        f"某公司,王建国,{BASIS},经营超过保质期的食品,罚款人民币5000元,罚款,{first_fine},{AUTHORITY}",
        f"周市监罚〔2026〕N2号,,2026年3月5日,2026/12/31,法人及非法人组织,{usccs[1]},某公司,"
        f'李强,{BASIS},未取得许可从事食品经营,没收违法所得并处罚款,"没收违法所得,罚款",'
        f'"1,234.5",{AUTHORITY}',
        f"周市监罚〔2026〕N3号,未按规定公示即时信息案,20260801,,法人及非法人组织,{usccs[2]},"
        f"某公司,张伟,《企业信息公示暂行条例》第十八条,未按规定公示即时信息,警告,警告,,"
        f"{AUTHORITY}",
    ]
    return "\r\n".join([NATIONAL_HEADER, *rows]) + "\r\n"


@pytest.fixture(scope="module")
def national(site: Site) -> tuple[Result, dict[str, int], dict[str, int]]:
    """The national file imported once (GB 18030, as spreadsheet programs in China save it)."""
    path = site.file("national.csv", national_csv(site.usccs), encoding="gb18030")
    before = site.counts()
    result = site.ingest(path)
    return result, before, site.counts()


def test_a_national_file_imports(
    site: Site, national: tuple[Result, dict[str, int], dict[str, int]]
) -> None:
    result, before, after = national
    clean(result)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        f"national.csv as {DEPARTMENT}: 3 rows, 3 created, 0 already stored, 0 rejected"
    ]
    stored = site.records("周市监罚〔2026〕N1号", "周市监罚〔2026〕N2号", "周市监罚〔2026〕N3号")
    first, second, third = (stored[f"周市监罚〔2026〕N{n}号"] for n in (1, 2, 3))
    assert first.kind == "penalty"
    assert first.title == "经营超过保质期的食品案"
    assert first.decided_on == date(2026, 6, 12)
    assert first.publish_until == date(2027, 6, 11)  # a general penalty: one year
    assert first.details == {
        "basis": BASIS,
        "violation": "经营超过保质期的食品",
        "result": "罚款人民币5000元",
        "category_label": "罚款",
        "fine_amount": "5000.00",
        "severity": "general",
    }
    assert site.uscc_of(first) == site.usccs[0]
    assert second.title == "未取得许可从事食品经营"  # no CF_AJMC: the violation
    assert second.decided_on == date(2026, 3, 5)
    assert second.publish_until == date(2026, 12, 31)  # CF_GSJZQ
    assert second.details["fine_amount"] == "12345000.00"
    assert second.details["category_label"] == "没收违法所得,罚款"
    assert third.decided_on == date(2026, 8, 1)
    assert third.publish_until == date(2027, 7, 31)
    assert "fine_amount" not in third.details
    changes = {name: after[name] - before[name] for name in after}
    assert changes == {
        "records": 3,
        "record_changes": 3,
        "record_versions": 3,
        "audit_events": 1,
        "subjects": 0,
    }
    (event,) = site.import_events("national.csv")
    assert event.actor_kind == "operator"
    assert event.target == DEPARTMENT
    assert event.details["department"] == site.department
    assert (event.details["accepted"], event.details["duplicates"]) == (3, 0)
    assert sorted(event.details["created"]) == sorted(r.record_id for r in stored.values())


def test_importing_the_same_file_again_changes_nothing(
    site: Site, national: tuple[Result, dict[str, int], dict[str, int]]
) -> None:
    path = site.files / "national.csv"
    before = site.counts()
    stored = site.records("周市监罚〔2026〕N1号", "周市监罚〔2026〕N2号", "周市监罚〔2026〕N3号")
    again = site.ingest(path)
    clean(again)
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.splitlines() == [
        f"national.csv as {DEPARTMENT}: 3 rows, 0 created, 3 already stored, 0 rejected"
    ]
    after = site.counts()
    for table in ("records", "record_changes", "record_versions", "subjects"):
        assert after[table] == before[table], table
    assert after["audit_events"] == before["audit_events"] + 1
    assert [(e.details["accepted"], e.details["duplicates"]) for e in site.import_events(
        "national.csv")] == [(3, 0), (0, 3)]  # fmt: skip
    now = site.records(*stored)
    assert {n: (r.record_id, r.version, r.updated_at) for n, r in now.items()} == {
        n: (r.record_id, r.version, r.updated_at) for n, r in stored.items()
    }


def test_a_changed_row_under_a_stored_number_is_a_conflict(
    site: Site, national: tuple[Result, dict[str, int], dict[str, int]]
) -> None:
    stored = site.records("周市监罚〔2026〕N1号")["周市监罚〔2026〕N1号"]
    # The first fine changed (0.6 万元); the other rows as stored.
    path = site.file("changed.csv", national_csv(site.usccs, first_fine="0.6"))
    before = site.counts()
    result = site.ingest(path)
    clean(result)
    assert result.returncode == 1
    rid = stored.record_id
    assert result.stdout.splitlines() == [
        "line 2: conflict",
        f"  document_no (CF_WSH): Already published with other content as {rid}: to change "
        f"it, send the corrected record with PUT /v1/ingest/records/{rid}.",
        f"changed.csv as {DEPARTMENT}: 3 rows, 0 created, 2 already stored, 1 rejected",
    ]
    after = site.counts()
    for table in ("records", "record_changes", "record_versions"):
        assert after[table] == before[table], table
    now = site.records("周市监罚〔2026〕N1号")["周市监罚〔2026〕N1号"]
    assert (now.version, now.details["fine_amount"]) == (1, "5000.00")


# --- good and bad rows -----------------------------------------------------------------------


def test_good_rows_are_stored_and_bad_ones_reported_by_line_and_column(site: Site) -> None:
    u = site.usccs
    unregistered = new_uscc()
    miscoded = u[3][:-1] + ("0" if u[3][-1] != "0" else "1")
    head = "CF_WSH,CF_AJMC,CF_JDRQ,CF_XDR_SHXYM,CF_YJ,CF_WFXW,CF_NR,CF_NR_FK"
    tail = f"{BASIS},无证经营,罚款"
    lines = [
        head,
        f"周市监罚〔2026〕M1号,无证经营案,2026/7/1,{u[3]},{tail},0.2",  # 2: good
        f"周市监罚〔2026〕M2号,无证经营案,2026/7/1,{u[3]},{tail},abc",  # 3
        f"周市监罚〔2026〕M3号,无证经营案,2026/13/45,{u[3]},{tail},0.2",  # 4
        f"周市监罚〔2026〕M4号,无证经营案,2026/7/1,{unregistered},{tail},0.2",  # 5
        f"周市监罚〔2026〕M5号,无证经营案,2027/1/5,{u[3]},{tail},0.2",  # 6
        f"周市监罚〔2026〕M6号,无证经营案,2026/7/1,{u[3]},{tail},0.2,多余",  # 7
        f"周市监罚〔2026〕M7号,无证经营案,2026/7/1,{miscoded},{tail},0.2",  # 8
        f"周市监罚〔2026〕M8号,无证经营案,2026/7/1,{u[3]},{tail},-1",  # 9
        f"周市监罚〔2026〕M9号,无证经营案,20260702,{u[4]},{tail},",  # 10: good
    ]
    path = site.file("mixed.csv", "\ufeff" + "\n".join(lines) + "\n")
    before = site.counts()
    result = site.ingest(path)
    clean(result)
    assert result.returncode == 1
    out = result.stdout.splitlines()
    assert [line for line in out if line.startswith("line ")] == [
        f"line {n}: rejected" for n in range(3, 10)
    ]
    assert out[-1] == f"mixed.csv as {DEPARTMENT}: 9 rows, 2 created, 0 already stored, 7 rejected"

    report = rejections(result.stdout)
    (amount,) = report[3]
    assert amount.startswith("  details.fine_amount (CF_NR_FK): CF_NR_FK is an amount in 万元")
    assert report[4] == ["  decided_on (CF_JDRQ): 2026-13-45 is not a real date."]
    assert report[5] == [
        f"  uscc (CF_XDR_SHXYM): No legal person is registered under {unregistered}: register "
        f"it first with PUT /v1/ingest/entities/{unregistered}."
    ]
    (future,) = report[6]
    assert future.startswith("  decided_on (CF_JDRQ): In the future")
    assert report[7] == ["  _row: More cells than the header has columns."]
    (code,) = report[8]
    assert code.startswith("  uscc (CF_XDR_SHXYM): ")
    assert report[9] == ["  details.fine_amount (CF_NR_FK): An amount must not be negative."]

    numbers = [f"周市监罚〔2026〕M{n}号" for n in range(1, 10)]
    stored = site.records(*numbers)
    assert sorted(stored) == ["周市监罚〔2026〕M1号", "周市监罚〔2026〕M9号"]
    assert stored["周市监罚〔2026〕M1号"].details["fine_amount"] == "2000.00"
    assert "fine_amount" not in stored["周市监罚〔2026〕M9号"].details
    after = site.counts()
    assert {t: after[t] - before[t] for t in after} == {
        "records": 2,
        "record_changes": 2,
        "record_versions": 2,
        "audit_events": 1,
        "subjects": 0,
    }
    (event,) = site.import_events("mixed.csv")
    # The rows refused in reading never reach a batch; the batch refused the other five.
    assert (event.details["accepted"], event.details["rejected"]) == (2, 5)


def test_identity_numbers_never_appear_in_the_report(site: Site) -> None:
    def person(n: int) -> str:
        return make_id_number(division="370306", birth_date=date(1985, 3, n), sequence=10 + n)

    good, miscoded_base, junk_fine, nameless, future = (person(n) for n in range(1, 6))
    miscoded = miscoded_base[:-1] + ("0" if miscoded_base[-1] != "0" else "1")
    head = "CF_WSH,CF_AJMC,CF_JDRQ,CF_XDR_ZJHM,CF_XDR_MC,CF_YJ,CF_WFXW,CF_NR,CF_NR_FK"
    tail = f"{BASIS},无证经营,罚款"
    lines = [
        head,
        f"周市监罚〔2026〕P1号,无证经营案,2026/7/1,{good},张三,{tail},0.05",  # 2: good
        f"周市监罚〔2026〕P2号,无证经营案,2026/7/1,{miscoded},李四,{tail},0.05",  # 3
        f"周市监罚〔2026〕P3号,无证经营案,2026/7/1,{junk_fine},王五,{tail},五百元",  # 4
        f"周市监罚〔2026〕P4号,无证经营案,2026/7/1,{nameless},,{tail},0.05",  # 5
        f"周市监罚〔2026〕P5号,无证经营案,2027/7/1,{future},赵六,{tail},0.05",  # 6
    ]
    path = site.file("persons.csv", "\n".join(lines) + "\n")
    before = site.counts()
    as_json = site.ingest(path, "--json")
    text = site.ingest(path)
    for result in (as_json, text):
        clean(result)
        assert result.returncode == 1
        for number in (good, miscoded, junk_fine, nameless, future):
            assert number not in result.stdout + result.stderr
            assert number[:-1] not in result.stdout + result.stderr
    report = json.loads(as_json.stdout)
    assert {k: report[k] for k in ("file", "department", "department_name", "rows")} == {
        "file": "persons.csv",
        "department": site.department,
        "department_name": DEPARTMENT,
        "rows": 5,
    }
    assert (report["created"], report["duplicates"]) == (1, 0)
    assert [(r["line"], r["status"]) for r in report["rejected"]] == [
        (3, 422),
        (4, 422),
        (5, 422),
        (6, 422),
    ]
    errors = {r["line"]: r["errors"] for r in report["rejected"]}
    assert set(errors[3]) == {"id_number (CF_XDR_ZJHM)"}
    assert set(errors[4]) == {"details.fine_amount (CF_NR_FK)"}
    assert [name.partition(" ")[0] for name in errors[5]] == ["name"]
    assert set(errors[6]) == {"decided_on (CF_JDRQ)"}
    assert text.stdout.splitlines()[-1] == (
        f"persons.csv as {DEPARTMENT}: 5 rows, 0 created, 1 already stored, 4 rejected"
    )
    # What the report says is what the database holds.
    stored = site.records(*(f"周市监罚〔2026〕P{n}号" for n in range(1, 6)))
    assert list(stored) == ["周市监罚〔2026〕P1号"]
    (event, _) = site.import_events("persons.csv")
    assert event.details["created"] == [stored["周市监罚〔2026〕P1号"].record_id]
    after = site.counts()
    assert {t: after[t] - before[t] for t in after} == {
        "records": 1,
        "record_changes": 0,  # a natural person's record is never public
        "record_versions": 1,
        "audit_events": 2,
        "subjects": 1,  # the natural person, made on first sight
    }


# --- a large JSON Lines file -----------------------------------------------------------------


def test_a_large_json_lines_file_imports_in_batches(site: Site) -> None:
    lines = []
    for n in range(2500):
        uscc = site.usccs[n % len(site.usccs)]
        number = f"周市监罚〔2026〕J{n:04d}号"
        if n % 2:
            line = {
                "CF_WSH": number,
                "CF_JDRQ": "2026/6/12",
                "CF_XDR_SHXYM": uscc,
                "CF_YJ": BASIS,
                "CF_WFXW": "经营超过保质期的食品",
                "CF_NR": "罚款",
                "CF_NR_FK": 0.5,
            }
        else:
            line = penalty_row(uscc, n, document_no=number)
        lines.append(json.dumps(line, ensure_ascii=False))
    path = site.file("bulk.jsonl", "\n".join(lines) + "\n")
    before = site.counts()
    result = site.ingest(path, "--json")
    clean(result)
    report = ok_json(result)
    assert report == {
        "file": "bulk.jsonl",
        "department": site.department,
        "department_name": DEPARTMENT,
        "rows": 2500,
        "created": 2500,
        "duplicates": 0,
        "rejected": [],
    }
    with Session(site.engine) as session:
        stored = dict(
            session.execute(
                select(Record.document_no, Record.record_id).where(
                    Record.department == DEPARTMENT, Record.document_no.like("周市监罚〔2026〕J%")
                )
            ).all()
        )
        fines = {
            number: details["fine_amount"]
            for number, details in session.execute(
                select(Record.document_no, Record.details).where(
                    Record.department == DEPARTMENT,
                    Record.document_no.in_(["周市监罚〔2026〕J0000号", "周市监罚〔2026〕J0001号"]),
                )
            ).all()
        }
    assert len(stored) == 2500
    assert fines == {"周市监罚〔2026〕J0000号": "5000.00", "周市监罚〔2026〕J0001号": "5000.00"}
    events = site.import_events("bulk.jsonl")
    assert [e.details["accepted"] for e in events] == [1000, 1000, 500]
    assert len({e.details["run"] for e in events}) == 1
    created = [rid for e in events for rid in e.details["created"]]
    assert sorted(created) == sorted(stored.values())
    after = site.counts()
    assert after["records"] - before["records"] == 2500
    assert after["record_versions"] - before["record_versions"] == 2500
    assert after["audit_events"] - before["audit_events"] == 3


# --- what is refused as a whole --------------------------------------------------------------


def test_refusals_are_clean_errors_that_write_nothing(site: Site) -> None:
    good = site.file(
        "good.csv",
        f"CF_WSH,CF_AJMC,CF_JDRQ,CF_XDR_SHXYM,CF_YJ,CF_WFXW,CF_NR\n"
        f"周市监罚〔2026〕R1号,无证经营案,2026/7/1,{site.usccs[0]},{BASIS},无证经营,罚款\n",
    )
    unknown_column = site.file("unknown.csv", "CF_WSH,CF_XXX\n周市监罚〔2026〕R2号,1\n")
    junk = site.file("junk.csv", bytes(range(256)) * 8)
    ingest = ["ingest", "--department"]
    before = site.counts()
    results = site.wave(
        unknown_department=[*ingest, "cli_0000000000000000nope", str(good)],
        bank=[*ingest, site.bank, str(good)],
        suspended=[*ingest, site.suspended, str(good)],
        unknown_column=[*ingest, site.department, str(unknown_column)],
        junk=[*ingest, site.department, str(junk)],
    )
    expected = {
        "unknown_department": "Error: cli_0000000000000000nope is not a registered department "
        "client",
        "bank": f"Error: {site.bank} is not a registered department client",
        "suspended": f"Error: {site.suspended} is suspended",
        "unknown_column": "Error: cannot import unknown.csv: unknown columns: CF_XXX.",
        "junk": "Error: cannot import junk.csv: the file is neither UTF-8 nor GB 18030 text",
    }
    for name, result in results.items():
        clean(result)
        assert result.returncode == 1, (name, result.stderr)
        assert result.stdout == "", name
        assert expected[name] in result.stderr, (name, result.stderr)
    assert site.counts() == before
    assert site.records("周市监罚〔2026〕R1号", "周市监罚〔2026〕R2号") == {}


# --- defects -------------------------------------------------------------------------------


def test_an_absurd_amount_is_a_rejected_line_not_a_traceback(site: Site) -> None:
    head = "CF_WSH,CF_AJMC,CF_JDRQ,CF_XDR_SHXYM,CF_YJ,CF_WFXW,CF_NR,CF_NR_FK"
    tail = f"2026/7/1,{site.usccs[0]},{BASIS},无证经营,罚款"
    path = site.file(
        "absurd.csv",
        f"{head}\n周市监罚〔2026〕A1号,无证经营案,{tail},0.1\n"
        f"周市监罚〔2026〕A2号,无证经营案,{tail},1e30\n",
    )
    result = site.ingest(path)
    clean(result)
    assert result.returncode == 1
    assert "line 3: rejected" in result.stdout
    assert "details.fine_amount (CF_NR_FK)" in result.stdout
    assert list(site.records("周市监罚〔2026〕A1号", "周市监罚〔2026〕A2号")) == [
        "周市监罚〔2026〕A1号"
    ]


def test_an_empty_required_cell_is_named_by_its_column(site: Site) -> None:
    head = "CF_WSH,CF_AJMC,CF_JDRQ,CF_XDR_SHXYM,CF_YJ,CF_WFXW,CF_NR"
    path = site.file(
        "empty_cell.csv",
        f"{head}\n周市监罚〔2026〕E1号,无证经营案,2026/7/1,{site.usccs[0]},,无证经营,罚款\n",
    )
    result = site.ingest(path)
    clean(result)
    assert result.returncode == 1
    assert "  details.basis (CF_YJ): Missing: give this field." in result.stdout.splitlines()
