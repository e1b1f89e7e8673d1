"""A bank's whole consent flow through the SDK against the live platform, sync and async: ask,
the subject decides over HTTP, take the token, read, read in a batch, revoke, be refused; and a
court's read under a stated legal basis."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from xinyong_sdk import (
    AsyncClient,
    AuthenticationError,
    Client,
    ConflictError,
    ConsentError,
    NotFoundError,
    PermissionDeniedError,
    ReportResult,
    ValidationError,
)

from tests.sdk.conftest import LivePlatform


def in_days(days: int) -> datetime:
    return datetime.now(UTC) + timedelta(days=days)


def test_bank_flow_from_request_to_revocation(
    live: LivePlatform, subject_tokens: dict[str, Any]
) -> None:
    subject_id = live.subject.subject_id
    with (
        Client(live.base_url, live.bank.client_id, live.bank.client_secret) as bank,
        Client(live.base_url, access_token=subject_tokens["access_token"]) as me,
    ):
        who = me.me.get()
        assert who["subject_id"] == subject_id
        assert who["uscc"] == live.subject_uscc

        consent = bank.consents.request(
            subject={"uscc": live.subject_uscc},
            categories=["basic", "tax"],
            purpose="loan_application",
            purpose_note="流动资金贷款 SDK test",
            expires_at=in_days(30),
        )
        consent_id = consent["consent_id"]
        assert consent["status"] == "awaiting_authorisation"
        assert consent["subject_id"] == subject_id
        assert str(consent["authorize_url"]).endswith(consent_id)
        with pytest.raises(ConflictError) as early:
            bank.consents.token(consent_id)
        assert early.value.status == 409
        assert early.value.request_id

        # The subject finds the request in their list and approves it over HTTP.
        mine = {c["consent_id"]: c for c in me.me.consents.list(page_size=100)}
        assert mine[consent_id]["status"] == "awaiting_authorisation"
        assert mine[consent_id]["client_id"] == live.bank.client_id
        assert me.me.consents.approve(consent_id)["status"] == "authorised"

        # The bank polls, then takes the token: once.
        assert bank.consents.get(consent_id)["status"] == "authorised"
        consent_token = bank.consents.token(consent_id)["consent_token"]
        with pytest.raises(ConflictError):
            bank.consents.token(consent_id)

        tax_only = bank.reports.get(subject_id, consent_token=consent_token, categories=["tax"])
        assert tax_only["consent_id"] == consent_id
        assert tax_only["categories"] == ["tax"]
        assert "tax" in tax_only
        assert "basic" not in tax_only
        full = bank.reports.get(subject_id, consent_token=consent_token)
        assert set(full["categories"]) == {"basic", "tax"}
        assert full["basic"]["name"] == live.subject.name
        with pytest.raises(ConsentError) as uncovered:
            bank.reports.get(subject_id, consent_token=consent_token, categories="judicial")
        assert uncovered.value.type == "urn:xinyong:problem:consent-required"

        results = bank.reports.batch(
            [
                {"subject_id": subject_id, "consent_token": consent_token},
                {"subject_id": subject_id, "consent_token": "ct_not_a_real_token"},
                {"subject_id": subject_id, "consent_token": consent_token, "categories": ["tax"]},
            ]
        )
        assert [r.status for r in results] == [200, 403, 200]
        assert all(isinstance(r, ReportResult) for r in results)
        assert results[0].ok
        assert results[0].unwrap()["consent_id"] == consent_id
        assert results[2].unwrap()["categories"] == ["tax"]
        assert isinstance(results[1].error, ConsentError)
        assert results[1].report is None
        with pytest.raises(ConsentError):
            results[1].unwrap()

        # Every read that returned data is in the subject's log; the refused ones are not.
        served = {tax_only["report_no"], full["report_no"]}
        served |= {r.unwrap()["report_no"] for r in results if r.ok}
        logged = {entry["report_no"]: entry for entry in me.me.access_log(page_size=50)}
        assert served <= set(logged)
        assert {logged[n]["consent_id"] for n in served} == {consent_id}
        assert me.me.consents.receipt(consent_id)["receipt"].count(".") == 2

        # Revoked: the very next read is refused, and says nothing of the subject.
        assert me.me.consents.revoke(consent_id)["status"] == "revoked"
        with pytest.raises(ConsentError) as refused:
            bank.reports.get(subject_id, consent_token=consent_token)
        assert refused.value.status == 403
        assert refused.value.request_id == refused.value.problem["request_id"]
        assert live.subject.name not in str(refused.value.problem)
        after = bank.reports.batch([{"subject_id": subject_id, "consent_token": consent_token}])
        assert isinstance(after[0].error, ConsentError)
        assert bank.consents.get(consent_id)["status"] == "revoked"
        with pytest.raises(ConflictError):
            me.me.consents.revoke(consent_id)


def test_bank_flow_async_with_a_rejection_and_a_proactive_grant(
    live: LivePlatform, subject_tokens: dict[str, Any], is_postgres: bool
) -> None:
    subject_id = live.subject.subject_id

    async def flow() -> None:
        async with (
            AsyncClient(live.base_url, live.bank.client_id, live.bank.client_secret) as bank,
            AsyncClient(live.base_url, access_token=subject_tokens["access_token"]) as me,
        ):
            asked = await bank.consents.request(
                subject={"uscc": live.subject_uscc},
                categories=["lists"],
                purpose="credit_rating",
                expires_at=in_days(10).isoformat(),
            )
            rejected = await me.me.consents.reject(asked["consent_id"])
            assert rejected["status"] == "rejected"
            assert (await bank.consents.get(asked["consent_id"]))["status"] == "rejected"
            with pytest.raises(ConflictError):
                await bank.consents.token(asked["consent_id"])

            granted = await me.me.consents.grant(
                client_id=live.bank.client_id,
                categories=["basic", "judicial"],
                purpose="loan_monitoring",
                expires_at=in_days(60),
            )
            assert granted["status"] == "authorised"
            token = (await bank.consents.token(granted["consent_id"]))["consent_token"]
            read = [
                bank.reports.get(subject_id, consent_token=token, categories=["basic"])
                for _ in range(5)
            ]
            if is_postgres:
                reads = await asyncio.gather(*read)
            else:
                # The embedded SQLite default refuses concurrent access-log writes ("database is
                # locked", a 503 even after the SDK's retries): read one after the other there.
                reads = [await one for one in read]
            assert len({r["report_no"] for r in reads}) == 5
            batch = await bank.reports.batch(
                [{"subject_id": subject_id, "consent_token": token, "categories": ["judicial"]}]
            )
            assert batch[0].unwrap()["categories"] == ["judicial"]
            numbers = {e["report_no"] async for e in me.me.access_log(page_size=3)}
            assert {r["report_no"] for r in reads} <= numbers

            await me.me.consents.revoke(granted["consent_id"])
            with pytest.raises(ConsentError):
                await bank.reports.get(subject_id, consent_token=token)
            page = await me.me.consents.list(page_size=2).first_page()
            assert len(page.items) == 2
            assert page.has_next_page

    asyncio.run(flow())


def test_government_reads_under_a_legal_basis(live: LivePlatform) -> None:
    subject_id = live.subject.subject_id
    with Client(live.base_url, live.court.client_id, live.court.client_secret) as court:
        basis = "《中华人民共和国民事诉讼法》第二百五十五条 (2026)执字第12号"
        report = court.reports.get(subject_id, legal_basis=basis, categories=["judicial"])
        assert report["legal_basis"] == basis
        assert report["basis"] == "legal_basis"
        assert report["categories"] == ["judicial"]
        with pytest.raises(PermissionDeniedError) as no_basis:
            court.reports.get(subject_id)
        assert not isinstance(no_basis.value, ConsentError)
        assert no_basis.value.type == "urn:xinyong:problem:legal-basis-required"
        with pytest.raises(PermissionDeniedError) as outside:
            court.reports.get(subject_id, legal_basis=basis, categories=["tax"])
        assert outside.value.type == "urn:xinyong:problem:outside-grant"
        with pytest.raises(NotFoundError):
            court.reports.get("sub_does_not_exist", legal_basis=basis)


def test_bad_requests_and_credentials_map_to_their_errors(live: LivePlatform) -> None:
    with Client(live.base_url, live.bank.client_id, live.bank.client_secret) as bank:
        with pytest.raises(ValidationError) as invalid:
            bank.consents.request(
                subject={"uscc": live.subject_uscc},
                categories=["basic"],
                purpose="other",  # needs a purpose_note
                expires_at=in_days(400),  # more than 12 months
            )
        assert invalid.value.status == 400
        assert invalid.value.errors
        assert invalid.value.request_id
        with pytest.raises(NotFoundError) as unknown:
            bank.consents.get("con_00000000000000000000")
        assert unknown.value.request_id == unknown.value.headers["x-request-id"]
        with pytest.raises(PermissionDeniedError) as scope:
            bank.ingest.withdraw("rec_0123456789abcdef", "not a department")
        assert scope.value.status == 403
    with Client(live.base_url, live.bank.client_id, "wrong-secret") as impostor:
        with pytest.raises(AuthenticationError) as refused:
            impostor.consents.get("con_00000000000000000000")
        assert refused.value.problem["error"] == "invalid_client"
        assert refused.value.request_id
    with Client(live.base_url, live.bank.client_id, live.bank.client_secret, scope="admin") as bad:
        with pytest.raises(ValidationError) as scope_refused:
            bad.consents.get("con_00000000000000000000")
        assert scope_refused.value.problem["error"] == "invalid_scope"
