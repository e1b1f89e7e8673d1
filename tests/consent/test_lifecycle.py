"""The consent lifecycle: requests, decisions, grants, revocation, expiry, tokens, read checks."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from consent import service
from consent.errors import ConsentConflict, ConsentDenied, ConsentNotFound, InvalidConsentRequest
from consent.ledger import verify
from consent.models import Consent, ConsentStatus, LedgerEntry
from consent.service import Partner
from credit import clock
from credit.models import Subject
from tests.factories import make_entity

BANK = Partner(
    client_id="cli_bank_test_000001",
    kind="bank",
    scopes=("consents.request", "credit.basic", "credit.tax", "credit.judicial"),
    active=True,
)
OTHER_BANK = Partner(client_id="cli_bank_test_000002", kind="bank", scopes=BANK.scopes, active=True)
NOW = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _request(session: Session, subject: Subject, **overrides: object) -> Consent:
    terms: dict[str, object] = {
        "partner": BANK,
        "categories": ["basic", "tax"],
        "purpose": "loan_application",
        "purpose_note": None,
        "expires_at": NOW + timedelta(days=90),
    }
    terms.update(overrides)
    consent = service.request(db_session=session, subject=subject, **terms)  # type: ignore[arg-type]
    session.commit()
    return consent


def _events(session: Session, consent: Consent) -> list[str]:
    return list(
        session.scalars(
            select(LedgerEntry.event)
            .where(LedgerEntry.consent_id == consent.consent_id)
            .order_by(LedgerEntry.seq)
        )
    )


@pytest.fixture(autouse=True)
def _frozen_clock() -> object:
    with clock.frozen_at(NOW):
        yield


@pytest.fixture
def subject(db_session: Session) -> Subject:
    return make_entity(db_session)


def test_a_request_awaits_the_subject_and_is_in_the_ledger(
    db_session: Session, subject: Subject
) -> None:
    consent = _request(db_session, subject)

    assert consent.status == ConsentStatus.AWAITING_AUTHORISATION
    assert consent.consent_id.startswith("con_")
    assert consent.categories == ["basic", "tax"]
    assert _events(db_session, consent) == ["requested"]
    entry = db_session.scalars(select(LedgerEntry)).one()
    assert entry.payload["subject_id"] == subject.subject_id
    assert entry.payload["client_id"] == BANK.client_id


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"categories": []}, "categories"),
        ({"categories": ["basic", "gossip"]}, "categories"),
        ({"categories": ["social_insurance"]}, "categories"),  # not in the client's scopes
        ({"purpose": "curiosity"}, "purpose"),
        ({"purpose": "other"}, "purpose_note"),
        ({"purpose_note": "x" * 501}, "purpose_note"),
        ({"expires_at": NOW - timedelta(seconds=1)}, "expires_at"),
        ({"expires_at": NOW + timedelta(days=400)}, "expires_at"),
        ({"expires_at": datetime(2027, 1, 1)}, "expires_at"),  # no offset  # noqa: DTZ001
        ({"partner": Partner("cli_gov", "government", ("credit.basic",), True)}, "client_id"),
        ({"partner": Partner(BANK.client_id, "bank", BANK.scopes, False)}, "client_id"),
        ({"partner": Partner(BANK.client_id, "bank", ("credit.basic",), True)}, "client_id"),
    ],
)
def test_bad_requests_name_the_field_and_write_nothing(
    db_session: Session, subject: Subject, overrides: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidConsentRequest) as raised:
        _request(db_session, subject, **overrides)

    assert field in raised.value.errors
    db_session.rollback()
    assert db_session.scalar(select(func.count()).select_from(Consent)) == 0
    assert db_session.scalar(select(func.count()).select_from(LedgerEntry)) == 0


def test_approve_then_token_once(db_session: Session, subject: Subject) -> None:
    consent = _request(db_session, subject)
    with pytest.raises(ConsentConflict):
        service.issue_token(db_session=db_session, consent=consent, hash_token=hash_token)

    service.approve(db_session=db_session, consent=consent, partner=BANK)
    token = service.issue_token(db_session=db_session, consent=consent, hash_token=hash_token)
    db_session.commit()

    assert consent.status == ConsentStatus.AUTHORISED
    assert consent.authorised_at == NOW
    assert token.startswith("ct_")
    assert len(token) > 40
    assert consent.token_hash == hash_token(token)
    stored = db_session.execute(text("SELECT * FROM consents")).all()
    assert token not in repr(stored)
    with pytest.raises(ConsentConflict, match="only once"):
        service.issue_token(db_session=db_session, consent=consent, hash_token=hash_token)
    assert _events(db_session, consent) == ["requested", "authorised"]


def test_decisions_happen_once(db_session: Session, subject: Subject) -> None:
    approved = _request(db_session, subject)
    service.approve(db_session=db_session, consent=approved, partner=BANK)
    rejected = _request(db_session, subject)
    service.reject(db_session=db_session, consent=rejected)

    for consent in (approved, rejected):
        with pytest.raises(ConsentConflict):
            service.approve(db_session=db_session, consent=consent, partner=BANK)
        with pytest.raises(ConsentConflict):
            service.reject(db_session=db_session, consent=consent)
    assert rejected.status == ConsentStatus.REJECTED
    assert _events(db_session, rejected) == ["requested", "rejected"]


def test_a_request_cannot_be_approved_after_its_period(
    db_session: Session, subject: Subject
) -> None:
    consent = _request(db_session, subject, expires_at=NOW + timedelta(days=1))

    with clock.frozen_at(NOW + timedelta(days=2)), pytest.raises(ConsentConflict):
        service.approve(db_session=db_session, consent=consent, partner=BANK)


def test_a_proactive_grant_is_authorised_at_once(db_session: Session, subject: Subject) -> None:
    consent = service.grant(
        db_session=db_session,
        subject=subject,
        partner=BANK,
        categories=["basic"],
        purpose="credit_rating",
        purpose_note=None,
        expires_at=NOW + timedelta(days=30),
    )

    assert consent.status == ConsentStatus.AUTHORISED
    entry = db_session.scalars(select(LedgerEntry)).one()
    assert (entry.event, entry.payload["initiative"]) == ("authorised", "subject")


def test_revocation_ends_reads_and_is_final(db_session: Session, subject: Subject) -> None:
    consent = _request(db_session, subject)
    service.approve(db_session=db_session, consent=consent, partner=BANK)
    token = service.issue_token(db_session=db_session, consent=consent, hash_token=hash_token)
    read = {
        "db_session": db_session,
        "consent_token": token,
        "hash_token": hash_token,
        "client_id": BANK.client_id,
        "subject_id": subject.subject_id,
        "categories": None,
    }
    assert service.authorise_read(**read)[2] == ["basic", "tax"]  # type: ignore[arg-type]

    service.revoke(db_session=db_session, consent=consent)

    with pytest.raises(ConsentDenied):
        service.authorise_read(**read)  # type: ignore[arg-type]
    with pytest.raises(ConsentConflict):
        service.revoke(db_session=db_session, consent=consent)
    assert _events(db_session, consent) == ["requested", "authorised", "revoked"]


def test_read_checks_deny_everything_not_covered(db_session: Session, subject: Subject) -> None:
    other_subject = make_entity(db_session)
    consent = _request(db_session, subject, expires_at=NOW + timedelta(days=10))
    service.approve(db_session=db_session, consent=consent, partner=BANK)
    token = service.issue_token(db_session=db_session, consent=consent, hash_token=hash_token)

    def read(**changes: object) -> tuple[Consent, Subject, list[str]]:
        args: dict[str, object] = {
            "db_session": db_session,
            "consent_token": token,
            "hash_token": hash_token,
            "client_id": BANK.client_id,
            "subject_id": subject.subject_id,
            "categories": ["tax"],
        }
        args.update(changes)
        return service.authorise_read(**args)  # type: ignore[arg-type]

    assert read() == (consent, subject, ["tax"])
    assert read(categories=["tax", "basic"])[2] == ["basic", "tax"]
    for denied in (
        {"consent_token": None},
        {"consent_token": ""},
        {"consent_token": "ct_forged"},
        {"client_id": OTHER_BANK.client_id},
        {"subject_id": other_subject.subject_id},
        {"subject_id": "sub_does_not_exist"},
        {"categories": ["judicial"]},
        {"categories": ["tax", "judicial"]},
    ):
        with pytest.raises(ConsentDenied):
            read(**denied)
    with clock.frozen_at(NOW + timedelta(days=11)), pytest.raises(ConsentDenied):
        read()


def test_expiry_is_recorded_once(db_session: Session, subject: Subject) -> None:
    consent = _request(db_session, subject, expires_at=NOW + timedelta(days=1))
    service.approve(db_session=db_session, consent=consent, partner=BANK)
    pending = _request(db_session, subject, expires_at=NOW + timedelta(days=1))

    with clock.frozen_at(NOW + timedelta(days=2)):
        assert consent.status_at(clock.now()) is ConsentStatus.EXPIRED
        assert service.expire_due(db_session=db_session) == 1
        assert service.expire_due(db_session=db_session) == 0

    assert consent.status == ConsentStatus.EXPIRED
    assert pending.status == ConsentStatus.AWAITING_AUTHORISATION
    assert _events(db_session, consent) == ["requested", "authorised", "expired"]
    assert verify(db_session=db_session).valid


def test_nobody_sees_another_partys_consent(db_session: Session, subject: Subject) -> None:
    consent = _request(db_session, subject)
    other = make_entity(db_session)

    assert (
        service.get_for_subject(
            db_session=db_session, consent_id=consent.consent_id, subject=subject
        )
        is consent
    )
    with pytest.raises(ConsentNotFound):
        service.get_for_subject(db_session=db_session, consent_id=consent.consent_id, subject=other)
    with pytest.raises(ConsentNotFound):
        service.get_for_partner(
            db_session=db_session, consent_id=consent.consent_id, client_id=OTHER_BANK.client_id
        )
    assert service.list_for_subject(db_session=db_session, subject=subject) == [consent]


def test_a_suspended_partner_cannot_be_approved(db_session: Session, subject: Subject) -> None:
    consent = _request(db_session, subject, expires_at=NOW + timedelta(days=10))
    suspended = Partner(BANK.client_id, BANK.kind, BANK.scopes, active=False)

    with pytest.raises(ConsentConflict):
        service.approve(db_session=db_session, consent=consent, partner=suspended)

    assert consent.status == "awaiting_authorisation"
    assert _events(db_session, consent) == ["requested"]


def test_a_revoked_partner_s_consents_end(db_session: Session, subject: Subject) -> None:
    authorised = _request(db_session, subject, expires_at=NOW + timedelta(days=10))
    service.approve(db_session=db_session, consent=authorised, partner=BANK)
    pending = _request(db_session, subject, expires_at=NOW + timedelta(days=10))
    rejected = _request(db_session, subject, expires_at=NOW + timedelta(days=10))
    service.reject(db_session=db_session, consent=rejected)

    assert service.end_for_partner(db_session=db_session, client_id=BANK.client_id) == 2

    assert authorised.status == pending.status == "revoked"
    assert rejected.status == "rejected"
    assert _events(db_session, authorised) == ["requested", "authorised", "revoked"]
    entry = db_session.scalars(
        select(LedgerEntry)
        .where(LedgerEntry.consent_id == pending.consent_id)
        .order_by(LedgerEntry.seq.desc())
    ).first()
    assert entry is not None
    assert entry.payload["revoked_by"] == "register"
