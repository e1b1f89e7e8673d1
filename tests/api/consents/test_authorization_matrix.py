"""The authorization matrix of the restricted endpoints (API.md "Consent" and "Restricted reads",
DESIGN.md §4-5): every kind of client, every restricted endpoint, every consent state and a
suspended client, each cell with the status it must answer.

The tables below are the matrix; each test builds only what its cell needs. In every cell:

* a refusal answers the same body (but for `request_id`) whether the subject exists or not:
  the same call is made for `sub_00000000000000000000` (or `con_00000000000000000000`);
* a read that returns data adds exactly one entry to the subject's access log, any other
  answer none (`GET /v1/me/access-log`, as the subject).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

import pytest
from werkzeug.test import TestResponse

from auth import credentials
from auth import service as auth_service
from auth.models import ClientKind, ClientStatus
from consent import service as consent_service
from credit import clock
from tests.api.consents.conftest import ALL_CATEGORIES, Party, SignedIn, World, later_than
from tests.auth.conftest import CLI, PROBLEM, assert_invalid_token

PROBLEM_PREFIX = "urn:xinyong:problem:"
GHOST = "sub_00000000000000000000"  # a subject id no subject has
GHOST_CONSENT = "con_00000000000000000000"  # a consent id no consent has
FORGED = "ct_forged"  # a consent token never issued
CONSENTED = ("basic", "tax")  # what every partner's consent here covers
GRANTED = ("basic", "judicial")  # what government and judicial clients are registered for
LEGAL_BASIS = "《中华人民共和国民事诉讼法》第二百五十四条，（2026）鲁0306执123号"
LEGAL_BASIS_HEADER = "UTF-8''" + quote(LEGAL_BASIS)  # RFC 8187, as API.md allows

PARTNER_KINDS = ("bank", "microcredit", "guarantee", "rating_agency", "credit_service_agency")
OFFICIAL_KINDS = ("government", "judicial")
NON_READER_KINDS = ("department", "admin")
CONSENT_ENDPOINTS = ("consent", "consent-token")


@dataclass(frozen=True)
class Expect:
    """What a cell answers: the HTTP status, the problem's slug when refused, and for a batch
    answered 200 the status of the item."""

    status: int
    problem: str | None = None
    item: int | None = None

    @property
    def final(self) -> int:
        """The status of the read itself: the batch item's, or the response's."""
        return self.item if self.item is not None else self.status


OK = Expect(200)
ITEM_OK = Expect(200, item=200)
DENIED = Expect(403, "consent-required")
ITEM_DENIED = Expect(200, "consent-required", item=403)
UNAUTHENTICATED = Expect(401, "invalid-token")
NOT_A_READER = Expect(403, "not-a-reader")
NO_SCOPE = Expect(403, "insufficient-scope")
LEGAL_BASIS_REQUIRED = Expect(403, "legal-basis-required")
OUTSIDE_GRANT = Expect(403, "outside-grant")
SUBJECT_NOT_FOUND = Expect(404, "subject-not-found")
CONSENT_NOT_FOUND = Expect(404, "consent-not-found")
CONFLICT = Expect(409, "consent-conflict")
INVALID_BODY = Expect(400, "validation")
# A suspended client's token on an endpoint whose scope it never had: invalid (401) before it is
# short of a scope (RFC 6750 §3.1); auth/server.py checks the standing first.
SUSPENDED_WITHOUT_SCOPE = UNAUTHENTICATED

# --- the matrix: {state: {endpoint: expected}} --------------------------------------------------
# Endpoints: `report` (GET /v1/subjects/{id}/report), `report-categories` (the same with
# `?categories=`), `batch` (POST /v1/subjects/reports:batch), `consent` (GET
# /v1/consents/{id}) and `consent-token` (POST /v1/consents/{id}/token).

# The five partner kinds read under a consent token: `awaiting` and `rejected` consents have no
# token, so a forged one is sent; `expired` is read two days after a one-day consent;
# `missing-category` asks `judicial` of a consent for basic and tax (a plain `report` asks no
# category, so it has no such cell); `none` sends no token (a batch item must have one: 400).
PARTNER_READS: dict[str, dict[str, Expect]] = {
    "none": {"report": DENIED, "report-categories": DENIED, "batch": INVALID_BODY},
    "awaiting": {"report": DENIED, "report-categories": DENIED, "batch": ITEM_DENIED},
    "authorised": {"report": OK, "report-categories": OK, "batch": ITEM_OK},
    "rejected": {"report": DENIED, "report-categories": DENIED, "batch": ITEM_DENIED},
    "revoked": {"report": DENIED, "report-categories": DENIED, "batch": ITEM_DENIED},
    "expired": {"report": DENIED, "report-categories": DENIED, "batch": ITEM_DENIED},
    "other-client": {"report": DENIED, "report-categories": DENIED, "batch": ITEM_DENIED},
    "other-subject": {"report": DENIED, "report-categories": DENIED, "batch": ITEM_DENIED},
    "missing-category": {"report-categories": DENIED, "batch": ITEM_DENIED},
    "suspended": {
        "report": UNAUTHENTICATED,
        "report-categories": UNAUTHENTICATED,
        "batch": UNAUTHENTICATED,
    },
}

# The partner's own consent endpoints; the consent's token is not taken beforehand.
PARTNER_CONSENT_CALLS: dict[str, dict[str, Expect]] = {
    "awaiting": {"consent": OK, "consent-token": CONFLICT},
    "authorised": {"consent": OK, "consent-token": OK},
    "rejected": {"consent": OK, "consent-token": CONFLICT},
    "revoked": {"consent": OK, "consent-token": CONFLICT},
    "expired": {"consent": OK, "consent-token": CONFLICT},
    "other-client": {"consent": CONSENT_NOT_FOUND, "consent-token": CONSENT_NOT_FOUND},
    "suspended": {"consent": UNAUTHENTICATED, "consent-token": UNAUTHENTICATED},
}

# Government and judicial clients read on a stated legal basis within their registration
# (basic and judicial); `outside-grant` asks `tax` (a plain `report` asks only what is granted,
# so it has no such cell). They never use the batch, which is for partners.
OFFICIAL_READS: dict[str, dict[str, Expect]] = {
    "legal-basis": {"report": OK, "report-categories": OK, "batch": NOT_A_READER},
    "no-legal-basis": {
        "report": LEGAL_BASIS_REQUIRED,
        "report-categories": LEGAL_BASIS_REQUIRED,
        "batch": NOT_A_READER,
    },
    "outside-grant": {"report-categories": OUTSIDE_GRANT, "batch": NOT_A_READER},
    "unknown-subject": {
        "report": SUBJECT_NOT_FOUND,
        "report-categories": SUBJECT_NOT_FOUND,
        "batch": NOT_A_READER,
    },
    "suspended": {
        "report": UNAUTHENTICATED,
        "report-categories": UNAUTHENTICATED,
        "batch": UNAUTHENTICATED,
    },
}

# Government and judicial clients do not hold `consents.request`.
OFFICIAL_CONSENT_CALLS: dict[str, dict[str, Expect]] = {
    "active": {"consent": NO_SCOPE, "consent-token": NO_SCOPE},
    "suspended": {"consent": SUSPENDED_WITHOUT_SCOPE, "consent-token": SUSPENDED_WITHOUT_SCOPE},
}

# Departments and the operator never read reports, nor hold `consents.request`.
NON_READER_CALLS: dict[str, dict[str, Expect]] = {
    "active": {
        "report": NOT_A_READER,
        "report-categories": NOT_A_READER,
        "batch": NOT_A_READER,
        "consent": NO_SCOPE,
        "consent-token": NO_SCOPE,
    },
    "suspended": {
        "report": UNAUTHENTICATED,
        "report-categories": UNAUTHENTICATED,
        "batch": UNAUTHENTICATED,
        "consent": SUSPENDED_WITHOUT_SCOPE,
        "consent-token": SUSPENDED_WITHOUT_SCOPE,
    },
}

# The subject signed in through `xinyong-cli` reads only its own report; `other-subject` reads
# (and names the consent of) another subject; `suspended` is the `xinyong-cli` client suspended.
SUBJECT_CALLS: dict[str, dict[str, Expect]] = {
    "own": {
        "report": OK,
        "report-categories": OK,
        "batch": NOT_A_READER,
        "consent": NO_SCOPE,
        "consent-token": NO_SCOPE,
    },
    "other-subject": {
        "report": DENIED,
        "report-categories": DENIED,
        "batch": NOT_A_READER,
        "consent": NO_SCOPE,
        "consent-token": NO_SCOPE,
    },
    "suspended": {
        "report": UNAUTHENTICATED,
        "report-categories": UNAUTHENTICATED,
        "batch": UNAUTHENTICATED,
        "consent": SUSPENDED_WITHOUT_SCOPE,
        "consent-token": SUSPENDED_WITHOUT_SCOPE,
    },
}

CONSENT_STATUS = {
    "awaiting": "awaiting_authorisation",
    "authorised": "authorised",
    "rejected": "rejected",
    "revoked": "revoked",
    "expired": "expired",
}


def _cases(kinds: Sequence[str], table: dict[str, dict[str, Expect]]) -> list[Any]:
    return [
        pytest.param(kind, endpoint, state, expect, id=f"{kind}-{endpoint}-{state}")
        for kind in kinds
        for state, row in table.items()
        for endpoint, expect in row.items()
    ]


CASE_ARGS = ("kind", "endpoint", "state", "expect")

# --- helpers ------------------------------------------------------------------------------------

# Signing a subject in verifies an Argon2 hash (a fifth of a second); the matrix signs in a few
# hundred subjects, all with the same password and (make_account) the same hash, so each
# (password, hash) pair is verified once. tests/auth checks verification itself without this.
_verify_once = functools.cache(credentials.verify_password)


@pytest.fixture(autouse=True)
def _fast_sign_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth_service, "verify_password", _verify_once)


@dataclass
class Answer:
    """The outcome of one read or call: its status (a batch item's when the batch answered 200),
    the report or problem, and the HTTP response it came in."""

    status: int
    body: dict[str, Any]
    response: TestResponse


def _call(
    world: World,
    caller: Party | SignedIn,
    endpoint: str,
    targets: Sequence[str],
    *,
    consent_token: str | None = None,
    categories: Sequence[str] | None = None,
    legal_basis: str | None = None,
) -> list[Answer]:
    """`endpoint` called by `caller` for each of `targets` (subject or consent ids), in order;
    a batch sends them all as the items of one request."""
    if endpoint == "batch":
        items = []
        for subject_id in targets:
            item: dict[str, Any] = {"subject_id": subject_id}
            if consent_token is not None:
                item["consent_token"] = consent_token
            if categories is not None:
                item["categories"] = list(categories)
            items.append(item)
        headers = caller.headers()
        if legal_basis is not None:
            headers["Legal-Basis"] = legal_basis
        response = world.http.post(
            "/v1/subjects/reports:batch", json={"items": items}, headers=headers
        )
        body = response.json
        assert isinstance(body, dict), response.get_data(as_text=True)
        if response.status_code != 200:
            return [Answer(response.status_code, body, response) for _ in targets]
        results = body["results"]
        assert len(results) == len(targets), body
        return [
            Answer(r["status"], r["report"] if r["status"] == 200 else r["problem"], response)
            for r in results
        ]
    answers = []
    for target in targets:
        if endpoint == "consent":
            response = world.http.get(f"/v1/consents/{target}", headers=caller.headers())
        elif endpoint == "consent-token":
            response = world.http.post(f"/v1/consents/{target}/token", headers=caller.headers())
        else:
            asked = None
            if endpoint == "report-categories":
                assert categories is not None
                asked = ",".join(categories)
            response = world.report(
                caller, target, consent_token, categories=asked, legal_basis=legal_basis
            )
        assert isinstance(response.json, dict), response.get_data(as_text=True)
        answers.append(Answer(response.status_code, response.json, response))
    return answers


def _assert_answer(answer: Answer, expect: Expect) -> None:
    text = answer.response.get_data(as_text=True)
    assert answer.response.status_code == expect.status, text
    assert answer.status == expect.final, text
    if expect.final == 200:
        return
    assert answer.body["type"] == f"{PROBLEM_PREFIX}{expect.problem}", text
    assert answer.body["status"] == expect.final, text
    if expect.item is None:
        assert answer.response.content_type == PROBLEM
    if expect.status == 401:
        assert_invalid_token(answer.response)
    if expect.problem == "insufficient-scope":
        challenge = answer.response.headers["WWW-Authenticate"]
        assert 'error="insufficient_scope"' in challenge
    if expect.problem == "validation":
        assert "items.0.consent_token" in answer.body["errors"], text


def _without_request_id(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "request_id"}


def _assert_alike(answer: Answer, ghost: Answer) -> None:
    """The same refusal for an existing subject (or consent) as for one that does not exist."""
    assert ghost.response.status_code == answer.response.status_code
    assert ghost.status == answer.status
    assert _without_request_id(ghost.body) == _without_request_id(answer.body)


def _log(world: World, subject: SignedIn) -> list[dict[str, Any]]:
    response = world.http.get("/v1/me/access-log", headers=subject.headers())
    assert response.status_code == 200, response.get_data(as_text=True)
    return list(response.json["items"])  # type: ignore[index]


def _assert_served(
    world: World,
    answer: Answer,
    owner: SignedIn,
    reader_id: str,
    categories: Sequence[str],
    basis: str,
    *,
    consent_id: str | None = None,
    legal_basis: str | None = None,
) -> None:
    """The report holds the categories served and no other, and is in the access log once."""
    report = answer.body
    assert report["basis"] == basis
    assert report["consent_id"] == consent_id
    assert report["legal_basis"] == legal_basis
    assert report["subject"]["subject_id"] == owner.subject.subject_id
    assert report["categories"] == list(categories)
    assert set(ALL_CATEGORIES) & set(report) == set(categories)
    if "tax" in categories:
        assert report["tax"]["level"] == "B"
    log = _log(world, owner)
    assert len(log) == 1, log
    entry = log[0]
    assert entry["report_no"] == report["report_no"]
    assert entry["client_id"] == reader_id
    assert entry["categories"] == list(categories)
    assert entry["consent_id"] == consent_id
    assert entry["legal_basis"] == legal_basis
    assert entry["request_id"] == answer.response.headers["X-Request-ID"]


def _set_status(world: World, client_id: str, status: ClientStatus) -> None:
    auth_service.set_client_status(db_session=world.db_session, client_id=client_id, status=status)
    world.db_session.commit()


def _at(moment: datetime | None) -> contextlib.AbstractContextManager[None]:
    return clock.frozen_at(moment) if moment is not None else contextlib.nullcontext()


def _consent_without_token(world: World, partner: Party, owner: SignedIn, state: str) -> str:
    """A consent of `owner` to `partner` in `state`, its token not taken: the consent id.

    `expired` is authorised for a day: the caller looks two days later."""
    asked = world.request(partner, owner.subject, CONSENTED, 1 if state == "expired" else 30)
    assert asked.status_code == 201, asked.get_data(as_text=True)
    consent_id = str(asked.json["consent_id"])  # type: ignore[index]
    if state == "rejected":
        world.decide(owner, consent_id, "reject")
    elif state != "awaiting":
        world.decide(owner, consent_id, "approve")
    if state == "revoked":
        world.decide(owner, consent_id, "revoke")
    return consent_id


# --- partners -----------------------------------------------------------------------------------


@pytest.mark.parametrize(CASE_ARGS, _cases(PARTNER_KINDS, PARTNER_READS))
def test_partner_reads(world: World, kind: str, endpoint: str, state: str, expect: Expect) -> None:
    partner = world.party(kind=kind)
    owner = world.subject(with_records=expect.final == 200)
    bystanders: list[SignedIn] = []
    consent_id: str | None = None
    token: str | None = None
    moment: datetime | None = None
    if state in ("awaiting", "rejected"):
        world.consent(partner, owner, state, CONSENTED)
        token = FORGED
    elif state == "other-client":
        rival = world.party("bank", name="博山农商银行")
        _rival_consent, token = world.consent(rival, owner, "authorised", CONSENTED)
    elif state == "other-subject":
        someone = world.subject(with_records=False)
        bystanders.append(someone)
        _their_consent, token = world.consent(partner, someone, "authorised", CONSENTED)
    elif state != "none":
        made = "revoked" if state == "revoked" else "authorised"
        days = 1 if state == "expired" else 30
        consent_id, token = world.consent(partner, owner, made, CONSENTED, expires_in_days=days)
        if state == "expired":
            moment = later_than(2)
        if state == "suspended":
            _set_status(world, partner.client_id, ClientStatus.SUSPENDED)
    categories: tuple[str, ...] | None = None
    if state == "missing-category":
        categories = ("judicial",)
    elif endpoint == "report-categories":
        categories = ("tax",)

    with _at(moment):
        answer, ghost = _call(
            world,
            partner,
            endpoint,
            [owner.subject.subject_id, GHOST],
            consent_token=token,
            categories=categories,
        )

    _assert_answer(answer, expect)
    if expect.final == 200:
        served = categories or CONSENTED
        _assert_served(
            world, answer, owner, partner.client_id, served, "consent", consent_id=consent_id
        )
        # The token reads its own subject and no other.
        _assert_answer(ghost, ITEM_DENIED if endpoint == "batch" else DENIED)
    else:
        _assert_alike(answer, ghost)
        assert _log(world, owner) == []
    for someone in bystanders:
        assert _log(world, someone) == []


@pytest.mark.parametrize(CASE_ARGS, _cases(PARTNER_KINDS, PARTNER_CONSENT_CALLS))
def test_partner_consent_calls(
    world: World, kind: str, endpoint: str, state: str, expect: Expect
) -> None:
    partner = world.party(kind=kind)
    owner = world.subject(with_records=False)
    holder = world.party("bank", name="博山农商银行") if state == "other-client" else partner
    made = state if state in CONSENT_STATUS else "authorised"
    consent_id = _consent_without_token(world, holder, owner, made)
    if state == "suspended":
        _set_status(world, partner.client_id, ClientStatus.SUSPENDED)

    with _at(later_than(2) if state == "expired" else None):
        answer, ghost = _call(world, partner, endpoint, [consent_id, GHOST_CONSENT])

    _assert_answer(answer, expect)
    if expect.status == 401:
        _assert_alike(answer, ghost)
    else:
        # Another partner's consent is answered like one that does not exist.
        _assert_answer(ghost, CONSENT_NOT_FOUND)
        if expect.status == 404:
            mine = _without_request_id(answer.body)
            mine["detail"] = mine["detail"].replace(consent_id, GHOST_CONSENT)
            assert mine == _without_request_id(ghost.body)
    if expect.status == 200 and endpoint == "consent":
        assert answer.body["consent_id"] == consent_id
        assert answer.body["subject_id"] == owner.subject.subject_id
        assert answer.body["status"] == CONSENT_STATUS[state]
    if expect.status == 200 and endpoint == "consent-token":
        assert answer.body["consent_token"].startswith("ct_")
        assert answer.response.headers["Cache-Control"] == "no-store"
    assert _log(world, owner) == []


# --- government and judicial clients ------------------------------------------------------------


def _official(world: World, kind: str) -> Party:
    return world.party(
        kind=kind,
        scopes=tuple(f"credit.{c}" for c in GRANTED),
        categories=GRANTED,
        name="淄博市周村区人民法院" if kind == "judicial" else "淄博市市场监督管理局",
    )


@pytest.mark.parametrize(CASE_ARGS, _cases(OFFICIAL_KINDS, OFFICIAL_READS))
def test_official_reads(world: World, kind: str, endpoint: str, state: str, expect: Expect) -> None:
    official = _official(world, kind)
    owner = world.subject(with_records=expect.final == 200)
    if state == "suspended":
        _set_status(world, official.client_id, ClientStatus.SUSPENDED)
    categories: tuple[str, ...] | None = None
    if state == "outside-grant":
        categories = ("tax",)
    elif endpoint == "report-categories":
        categories = ("judicial",)
    subject_id = GHOST if state == "unknown-subject" else owner.subject.subject_id

    answer, ghost = _call(
        world,
        official,
        endpoint,
        [subject_id, GHOST],
        # A batch item needs a consent token to be a valid item at all.
        consent_token=FORGED if endpoint == "batch" else None,
        categories=categories,
        legal_basis=None if state == "no-legal-basis" else LEGAL_BASIS_HEADER,
    )

    _assert_answer(answer, expect)
    if expect.final == 200:
        served = categories or GRANTED
        _assert_served(
            world,
            answer,
            owner,
            official.client_id,
            served,
            "legal_basis",
            legal_basis=LEGAL_BASIS,
        )
        # A legal basis may learn that a subject does not exist (API.md: 404).
        _assert_answer(ghost, SUBJECT_NOT_FOUND)
    else:
        _assert_alike(answer, ghost)
        assert _log(world, owner) == []


@pytest.mark.parametrize(CASE_ARGS, _cases(OFFICIAL_KINDS, OFFICIAL_CONSENT_CALLS))
def test_official_consent_calls(
    world: World, kind: str, endpoint: str, state: str, expect: Expect
) -> None:
    official = _official(world, kind)
    owner = world.subject(with_records=False)
    consent_id = _consent_without_token(world, world.party(), owner, "authorised")
    if state == "suspended":
        _set_status(world, official.client_id, ClientStatus.SUSPENDED)

    answer, ghost = _call(world, official, endpoint, [consent_id, GHOST_CONSENT])

    _assert_answer(answer, expect)
    _assert_alike(answer, ghost)
    assert _log(world, owner) == []


# --- departments and the operator ---------------------------------------------------------------


@pytest.mark.parametrize(CASE_ARGS, _cases(NON_READER_KINDS, NON_READER_CALLS))
def test_non_reader_calls(
    world: World, kind: str, endpoint: str, state: str, expect: Expect
) -> None:
    caller = world.party(kind=kind, name="淄博市税务局" if kind == "department" else "平台运营")
    owner = world.subject(with_records=False)
    bank = world.party()
    token: str | None = None
    if endpoint in CONSENT_ENDPOINTS:
        targets = [_consent_without_token(world, bank, owner, "authorised"), GHOST_CONSENT]
    else:
        # With a real consent token of the subject: still not theirs to use.
        _consent_id, token = world.consent(bank, owner, "authorised", CONSENTED)
        targets = [owner.subject.subject_id, GHOST]
    if state == "suspended":
        _set_status(world, caller.client_id, ClientStatus.SUSPENDED)

    answer, ghost = _call(
        world,
        caller,
        endpoint,
        targets,
        consent_token=token,
        categories=("tax",) if endpoint == "report-categories" else None,
        legal_basis=LEGAL_BASIS_HEADER,
    )

    _assert_answer(answer, expect)
    _assert_alike(answer, ghost)
    assert _log(world, owner) == []


# --- the subject itself -------------------------------------------------------------------------


@contextlib.contextmanager
def _cli_suspended(world: World, suspended: bool) -> Iterator[None]:
    """The first-party client `xinyong-cli` suspended for the block (when `suspended`)."""
    if not suspended:
        yield
        return
    _set_status(world, CLI, ClientStatus.SUSPENDED)
    try:
        yield
    finally:
        _set_status(world, CLI, ClientStatus.ACTIVE)


@pytest.mark.parametrize(CASE_ARGS, _cases(("subject",), SUBJECT_CALLS))
def test_subject_calls(world: World, kind: str, endpoint: str, state: str, expect: Expect) -> None:
    assert kind == "subject"
    owner = world.subject(with_records=expect.final == 200)
    other = world.subject(with_records=False) if state == "other-subject" else None
    whose = other or owner
    bank = world.party()
    consent_id = _consent_without_token(world, bank, whose, "awaiting")
    targets = (
        [consent_id, GHOST_CONSENT]
        if endpoint in CONSENT_ENDPOINTS
        else [whose.subject.subject_id, GHOST]
    )
    categories = ("tax",) if endpoint == "report-categories" else None

    with _cli_suspended(world, state == "suspended"):
        answer, ghost = _call(
            world,
            owner,
            endpoint,
            targets,
            consent_token=FORGED if endpoint == "batch" else None,
            categories=categories,
        )

    _assert_answer(answer, expect)
    if expect.final == 200:
        served = categories or ALL_CATEGORIES
        _assert_served(world, answer, owner, CLI, served, "self")
        # A subject learns nothing of other subjects, existing or not.
        _assert_answer(ghost, DENIED)
    else:
        _assert_alike(answer, ghost)
        assert _log(world, owner) == []
    if other is not None:
        assert _log(world, other) == []


def test_the_matrix_covers_every_client_kind() -> None:
    assert set(PARTNER_KINDS) == set(consent_service.PARTNER_KINDS)
    covered = {*PARTNER_KINDS, *OFFICIAL_KINDS, *NON_READER_KINDS, ClientKind.FIRST_PARTY}
    assert covered == set(ClientKind)
