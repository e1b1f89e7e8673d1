"""Departments through the SDK against the live platform: registrations, record batches (with
dates and Decimals as Python gives them), corrections and withdrawals, the change feed; and the
objection and repair queues between a signed-in subject and the department."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from xinyong_sdk import (
    AsyncClient,
    Client,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from xinyong_sdk.types import RecordInput

from tests.sdk.conftest import LivePlatform, new_uscc


def penalty(uscc: str, decided_on: date, *, title: str = "经营超过保质期的食品案") -> RecordInput:
    return {
        "kind": "penalty",
        "document_no": f"周市监罚〔{decided_on.year}〕{secrets.token_hex(4)}号",
        "title": title,
        "decided_on": decided_on,
        "uscc": uscc,
        "details": {
            "basis": "《中华人民共和国食品安全法》第一百二十四条",
            "violation": "经营超过保质期的食品",
            "result": "罚款人民币5000元",
            "fine_amount": Decimal("5000.00"),
            "severity": "general",
        },
    }


def department(live: LivePlatform) -> Client:
    return Client(live.base_url, live.department.client_id, live.department.client_secret)


def test_registration_batches_corrections_and_withdrawals(live: LivePlatform) -> None:
    uscc = new_uscc()
    today = date.today()
    started = datetime.now(UTC) - timedelta(seconds=5)
    with department(live) as dept, Client(live.base_url) as public:
        registered = dept.ingest.entity(
            uscc,
            {
                "kind": "enterprise",
                "name": f"淄博市周村区SDK测试丝绸有限公司{secrets.token_hex(2)}",
                "legal_representative": "王测试",
                "established_on": date(2015, 3, 1),
                "registered_capital": {"amount": "5000000.00"},
                "status": "active",
            },
        )
        assert registered["uscc"] == uscc
        assert registered["kind_label"]
        again = dept.ingest.entity(uscc, {"kind": "enterprise", "name": registered["name"]})
        assert again["subject_id"] == registered["subject_id"]

        rows = [penalty(uscc, today - timedelta(days=10 + i)) for i in range(5)]
        bad = penalty(uscc, today)
        bad["details"] = {**bad["details"], "severity": "mild", "fine_amount": "-1"}
        outcome = dept.ingest.records([*rows, bad])
        assert (outcome["accepted"], outcome["duplicates"]) == (5, 0)
        assert [r["index"] for r in outcome["records"]] == [0, 1, 2, 3, 4]
        assert {r["outcome"] for r in outcome["records"]} == {"created"}
        assert [r["index"] for r in outcome["rejected"]] == [5]
        assert {"details.severity", "details.fine_amount"} <= set(outcome["rejected"][0]["errors"])
        ids = [r["record_id"] for r in outcome["records"]]
        resent = dept.ingest.records(rows)  # idempotent on kind and document number
        assert (resent["accepted"], resent["duplicates"]) == (0, 5)
        assert [r["record_id"] for r in resent["records"]] == ids

        listed = public.public.records(uscc, kind="penalty", page_size=2)
        pages = list(listed.pages())
        assert [len(p) for p in pages] == [2, 2, 1]
        assert {r["record_id"] for p in pages for r in p} == set(ids)
        assert public.public.entity(uscc)["public_record_counts"]["penalty"] == 5

        corrected: RecordInput = {**rows[0], "title": "经营超过保质期的食品案（更正）"}
        state = dept.ingest.correct(ids[0], corrected)
        assert (state["version"], state["changed"], state["status"]) == (2, True, "active")
        assert dept.ingest.correct(ids[0], corrected)["changed"] is False
        withdrawn = dept.ingest.withdraw(ids[1], "处罚决定已被依法撤销")
        assert withdrawn["status"] == "withdrawn"
        with pytest.raises(ConflictError) as twice:
            dept.ingest.withdraw(ids[1], "again")
        assert twice.value.request_id
        with pytest.raises(NotFoundError):
            dept.ingest.correct("rec_00000000000000000000", corrected)
        impossible: RecordInput = {**corrected, "decided_on": "2026-13-45"}
        with pytest.raises(ValidationError) as invalid:
            dept.ingest.correct(ids[0], impossible)
        assert "decided_on" in invalid.value.errors

        feed = [c for c in public.public.changes(started, page_size=3) if c["uscc"] == uscc]
        steps = [(c["record_id"], c["change"]) for c in feed]
        assert {(i, "published") for i in ids} <= set(steps)
        assert (ids[0], "corrected") in steps
        assert (ids[1], "withdrawn") in steps
        assert [r["title"] for r in public.public.records(uscc) if r["record_id"] == ids[0]] == [
            corrected["title"]
        ]

    with Client(live.base_url, live.bank.client_id, live.bank.client_secret) as bank:
        with pytest.raises(PermissionDeniedError) as not_a_department:
            bank.ingest.records(rows)
        assert not_a_department.value.status == 403


def test_objections_and_repairs_between_subject_and_department(
    live: LivePlatform, subject_tokens: dict[str, Any]
) -> None:
    uscc = live.subject_uscc
    today = date.today()
    with (
        department(live) as dept,
        Client(
            live.base_url,
            access_token=subject_tokens["access_token"],
            refresh_token=subject_tokens["refresh_token"],
        ) as me,
        Client(live.base_url) as public,
    ):
        old, recent = penalty(uscc, today - timedelta(days=200)), penalty(uscc, today)
        ids = [r["record_id"] for r in dept.ingest.records([old, recent])["records"]]

        objection = me.me.objections.file(record_id=ids[1], reason="该处罚决定已被行政复议撤销。")
        assert objection["status"] == "pending"
        assert objection["record_disputed"] is True
        shown = {r["record_id"]: r for r in public.public.records(uscc, kind="penalty")}
        assert shown[ids[1]]["disputed"] is True
        pending = {o["objection_id"] for o in dept.objections.list(status="pending")}
        assert objection["objection_id"] in pending
        resolved = dept.objections.resolve(
            objection["objection_id"], outcome="dismissed", note="经核查，处罚决定书内容无误。"
        )
        assert resolved["status"] == "dismissed"
        mine = me.me.objections.get(objection["objection_id"])
        assert mine["status"] == "dismissed"
        assert mine["note"] == resolved["note"]
        assert objection["objection_id"] in {o["objection_id"] for o in me.me.objections.list()}
        with pytest.raises(ConflictError):
            dept.objections.resolve(objection["objection_id"], outcome="upheld", note="again")

        with pytest.raises(ConflictError) as too_early:
            me.me.repairs.file(record_id=ids[1], reason="已全额缴纳罚款并完成整改。")
        assert too_early.value.detail
        repair = me.me.repairs.file(record_id=ids[0], reason="已全额缴纳罚款并完成整改。")
        assert repair["status"] == "pending"
        assert repair["repair_id"] in {r["repair_id"] for r in dept.repairs.list(status="pending")}
        decided = dept.repairs.decide(
            repair["repair_id"], decision="approved", note="准予信用修复。"
        )
        assert decided["status"] == "approved"
        assert me.me.repairs.get(repair["repair_id"])["status"] == "approved"
        assert repair["repair_id"] in {r["repair_id"] for r in me.me.repairs.list()}
        assert ids[0] not in {r["record_id"] for r in public.public.records(uscc)}
        with pytest.raises(NotFoundError):
            me.me.objections.get("obj_00000000000000000000")


def test_async_department_and_subject(live: LivePlatform, subject_tokens: dict[str, Any]) -> None:
    uscc = live.subject_uscc

    async def flow() -> None:
        async with (
            AsyncClient(
                live.base_url, live.department.client_id, live.department.client_secret
            ) as dept,
            AsyncClient(live.base_url, access_token=subject_tokens["access_token"]) as me,
        ):
            row = penalty(uscc, date.today() - timedelta(days=3), title="未按规定公示年度报告案")
            record_id = (await dept.ingest.records([row]))["records"][0]["record_id"]
            objection = await me.me.objections.file(record_id=record_id, reason="内容有误。")
            upheld = await dept.objections.resolve(
                objection["objection_id"], outcome="upheld", note="属实，予以更正。"
            )
            assert upheld["status"] == "upheld"
            state = await dept.ingest.correct(record_id, {**row, "title": "更正后的标题"})
            assert state["version"] == 2
            linked = await me.me.objections.get(objection["objection_id"])
            assert linked["linked_version"] == 2
            statuses = [o["status"] async for o in me.me.objections.list(page_size=2)]
            assert "upheld" in statuses
            queue = await dept.repairs.list(status="approved").to_list()
            assert all(r["status"] == "approved" for r in queue)

    asyncio.run(flow())
