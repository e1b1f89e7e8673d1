"""The consent lifecycle (DESIGN.md §5): request, approve or reject, grant, revoke, expire, the
one-time consent token, and the check every restricted read must pass.

Every state change appends its ledger entry in the same transaction, so that both commit or
neither does. The domain knows nothing of HTTP or of OAuth: callers pass who the partner is
(`Partner`) and how to hash a token.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from consent import ledger
from consent.errors import ConsentConflict, ConsentDenied, ConsentNotFound, InvalidConsentRequest
from consent.models import Consent, ConsentStatus, Purpose
from credit import clock
from credit.disclosure import CATEGORIES
from credit.models import Subject

PARTNER_KINDS = frozenset(
    {"bank", "microcredit", "guarantee", "rating_agency", "credit_service_agency"}
)
MAX_PERIOD = timedelta(days=366)  # at most twelve months (a leap year's worth)
TOKEN_BYTES = 32

TokenHasher = Callable[[str], str]


@dataclass(frozen=True)
class Partner:
    """What the consent domain needs to know of a partner client."""

    client_id: str
    kind: str
    scopes: Collection[str]
    active: bool


def _payload(consent: Consent, subject_id: str, **extra: Any) -> dict[str, Any]:
    """The ledger's canonical record of a consent's terms at an event."""
    return {
        "consent_id": consent.consent_id,
        "subject_id": subject_id,
        "client_id": consent.client_id,
        "categories": sorted(consent.categories),
        "purpose": consent.purpose,
        "purpose_note": consent.purpose_note,
        "expires_at": consent.expires_at.isoformat(),
        "status": consent.status,
        **extra,
    }


def _subject_id(db_session: Session, consent: Consent) -> str:
    return str(
        db_session.scalar(select(Subject.subject_id).where(Subject.id == consent.subject_pk))
    )


def _validate_terms(
    *,
    partner: Partner,
    categories: Sequence[str],
    purpose: str,
    purpose_note: str | None,
    expires_at: datetime,
    now: datetime,
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not categories:
        errors["categories"] = ["Name at least one category."]
    unknown = sorted(set(categories) - set(CATEGORIES))
    if unknown:
        errors["categories"] = [f"Unknown categories: {', '.join(unknown)}."]
    elif beyond := sorted(c for c in set(categories) if f"credit.{c}" not in partner.scopes):
        errors["categories"] = [
            f"This client is not registered for: {', '.join(beyond)} (scope credit.<category>)."
        ]
    if purpose not in {p.value for p in Purpose}:
        errors["purpose"] = [f"Choose one of: {', '.join(p.value for p in Purpose)}."]
    elif purpose == Purpose.OTHER and not (purpose_note or "").strip():
        errors["purpose_note"] = ["Explain the purpose when it is `other`."]
    if purpose_note is not None and len(purpose_note) > 500:
        errors["purpose_note"] = ["At most 500 characters."]
    if expires_at.tzinfo is None:
        errors["expires_at"] = ["Give the time with its UTC offset."]
    elif expires_at <= now:
        errors["expires_at"] = ["The expiry must be in the future."]
    elif expires_at > now + MAX_PERIOD:
        errors["expires_at"] = ["A consent lasts at most twelve months."]
    return errors


def _open(
    *,
    db_session: Session,
    subject: Subject,
    partner: Partner,
    categories: Sequence[str],
    purpose: str,
    purpose_note: str | None,
    expires_at: datetime,
    status: ConsentStatus,
    event: ledger.LedgerEvent,
    **extra: Any,
) -> Consent:
    """Validate the terms, store the consent and append its first ledger entry."""
    now = clock.now()
    if partner.kind not in PARTNER_KINDS or not partner.active:
        raise InvalidConsentRequest({"client_id": ["This client cannot hold consents."]})
    errors = _validate_terms(
        partner=partner,
        categories=categories,
        purpose=purpose,
        purpose_note=purpose_note,
        expires_at=expires_at,
        now=now,
    )
    if errors:
        raise InvalidConsentRequest(errors)
    consent = Consent(
        consent_id=f"con_{secrets.token_hex(10)}",
        subject_pk=subject.id,
        client_id=partner.client_id,
        categories=sorted(set(categories)),
        purpose=purpose,
        purpose_note=(purpose_note or "").strip() or None,
        status=status.value,
        requested_at=now,
        expires_at=expires_at,
        authorised_at=now if status is ConsentStatus.AUTHORISED else None,
        decided_at=now if status is ConsentStatus.AUTHORISED else None,
    )
    db_session.add(consent)
    db_session.flush()
    ledger.append(
        db_session=db_session,
        consent_id=consent.consent_id,
        event=event,
        payload=_payload(consent, subject.subject_id, **extra),
    )
    return consent


def request(
    *,
    db_session: Session,
    subject: Subject,
    partner: Partner,
    categories: Sequence[str],
    purpose: str,
    purpose_note: str | None,
    expires_at: datetime,
) -> Consent:
    """A partner asks the subject for consent: awaiting the subject's decision."""
    if "consents.request" not in partner.scopes:
        raise InvalidConsentRequest({"client_id": ["This client may not ask for consent."]})
    return _open(
        db_session=db_session,
        subject=subject,
        partner=partner,
        categories=categories,
        purpose=purpose,
        purpose_note=purpose_note,
        expires_at=expires_at,
        status=ConsentStatus.AWAITING_AUTHORISATION,
        event=ledger.LedgerEvent.REQUESTED,
    )


def grant(
    *,
    db_session: Session,
    subject: Subject,
    partner: Partner,
    categories: Sequence[str],
    purpose: str,
    purpose_note: str | None,
    expires_at: datetime,
) -> Consent:
    """The subject grants a consent on their own initiative: authorised at once."""
    return _open(
        db_session=db_session,
        subject=subject,
        partner=partner,
        categories=categories,
        purpose=purpose,
        purpose_note=purpose_note,
        expires_at=expires_at,
        status=ConsentStatus.AUTHORISED,
        event=ledger.LedgerEvent.AUTHORISED,
        initiative="subject",
    )


def get_for_subject(*, db_session: Session, consent_id: str, subject: Subject) -> Consent:
    """The subject's own consent; ConsentNotFound for anyone else's."""
    consent = db_session.scalars(
        select(Consent).where(Consent.consent_id == consent_id, Consent.subject_pk == subject.id)
    ).one_or_none()
    if consent is None:
        raise ConsentNotFound(consent_id)
    return consent


def get_for_partner(*, db_session: Session, consent_id: str, client_id: str) -> Consent:
    """A consent the partner asked for; ConsentNotFound for another partner's."""
    consent = db_session.scalars(
        select(Consent).where(Consent.consent_id == consent_id, Consent.client_id == client_id)
    ).one_or_none()
    if consent is None:
        raise ConsentNotFound(consent_id)
    return consent


def list_for_subject(
    *, db_session: Session, subject: Subject, before_id: int | None = None, limit: int = 100
) -> Sequence[Consent]:
    """The subject's consents of any status, newest first, after the keyset position."""
    query = select(Consent).where(Consent.subject_pk == subject.id)
    if before_id is not None:
        query = query.where(Consent.id < before_id)
    return db_session.scalars(query.order_by(Consent.id.desc()).limit(limit)).all()


def _decide(
    db_session: Session, consent: Consent, status: ConsentStatus, event: ledger.LedgerEvent
) -> Consent:
    now = clock.now()
    if consent.status_at(now) is not ConsentStatus.AWAITING_AUTHORISATION:
        raise ConsentConflict(f"the consent is {consent.status_at(now).value}, not awaiting")
    if consent.expires_at <= now:
        raise ConsentConflict("the consent's period has already ended")
    consent.status = status.value
    consent.decided_at = now
    if status is ConsentStatus.AUTHORISED:
        consent.authorised_at = now
    ledger.append(
        db_session=db_session,
        consent_id=consent.consent_id,
        event=event,
        payload=_payload(consent, _subject_id(db_session, consent)),
    )
    db_session.flush()
    return consent


def approve(*, db_session: Session, consent: Consent, partner: Partner) -> Consent:
    """The subject approves a pending request of a partner in good standing."""
    if partner.client_id != consent.client_id:
        raise ValueError("the partner is not the consent's")
    if not partner.active:
        raise ConsentConflict("the partner is suspended or revoked; it cannot receive consent")
    return _decide(db_session, consent, ConsentStatus.AUTHORISED, ledger.LedgerEvent.AUTHORISED)


def reject(*, db_session: Session, consent: Consent) -> Consent:
    """The subject rejects a pending request."""
    return _decide(db_session, consent, ConsentStatus.REJECTED, ledger.LedgerEvent.REJECTED)


def revoke(*, db_session: Session, consent: Consent, by: str = "subject") -> Consent:
    """The subject withdraws a consent, pending or authorised; the next read is refused.

    `by` names who ended it in the ledger: the subject, or the register when the partner's
    registration is revoked.
    """
    now = clock.now()
    status = consent.status_at(now)
    if status not in (ConsentStatus.AUTHORISED, ConsentStatus.AWAITING_AUTHORISATION):
        raise ConsentConflict(f"the consent is already {status.value}")
    consent.status = ConsentStatus.REVOKED.value
    consent.revoked_at = now
    ledger.append(
        db_session=db_session,
        consent_id=consent.consent_id,
        event=ledger.LedgerEvent.REVOKED,
        payload=_payload(consent, _subject_id(db_session, consent), revoked_by=by),
    )
    db_session.flush()
    return consent


def end_for_partner(*, db_session: Session, client_id: str) -> int:
    """End every live consent of a partner whose registration is revoked (DESIGN.md §5)."""
    now = clock.now()
    live = db_session.scalars(
        select(Consent)
        .where(
            Consent.client_id == client_id,
            Consent.status.in_(
                [ConsentStatus.AUTHORISED.value, ConsentStatus.AWAITING_AUTHORISATION.value]
            ),
            Consent.expires_at > now,
        )
        .order_by(Consent.id)
    ).all()
    for consent in live:
        revoke(db_session=db_session, consent=consent, by="register")
    return len(live)


def issue_token(*, db_session: Session, consent: Consent, hash_token: TokenHasher) -> str:
    """The consent token, once: only its hash is kept; a second call is a conflict."""
    status = consent.status_at(clock.now())
    if status is not ConsentStatus.AUTHORISED:
        raise ConsentConflict(f"the consent is {status.value}; a token needs it authorised")
    if consent.token_hash is not None:
        raise ConsentConflict("the consent token was already issued; it is shown only once")
    token = f"ct_{secrets.token_urlsafe(TOKEN_BYTES)}"
    consent.token_hash = hash_token(token)
    consent.token_issued_at = clock.now()
    db_session.flush()
    return token


def expire_due(*, db_session: Session) -> int:
    """Record in the ledger the expiry of every authorised consent past its `expires_at`."""
    now = clock.now()
    due = db_session.scalars(
        select(Consent).where(
            Consent.status == ConsentStatus.AUTHORISED.value, Consent.expires_at <= now
        )
    ).all()
    for consent in due:
        consent.status = ConsentStatus.EXPIRED.value
        ledger.append(
            db_session=db_session,
            consent_id=consent.consent_id,
            event=ledger.LedgerEvent.EXPIRED,
            payload=_payload(consent, _subject_id(db_session, consent)),
        )
    db_session.flush()
    return len(due)


# Built once: it runs on every restricted read.
_CONSENT_BY_TOKEN = (
    select(Consent, Subject)
    .join(Subject, Subject.id == Consent.subject_pk)
    .where(Consent.token_hash == bindparam("token_hash"))
)


def authorise_read(
    *,
    db_session: Session,
    consent_token: str | None,
    hash_token: TokenHasher,
    client_id: str,
    subject_id: str,
    categories: Collection[str] | None,
) -> tuple[Consent, Subject, list[str]]:
    """The consent a read is served under, its subject and the categories it may return.

    Every failure raises the same ConsentDenied, whether the subject exists or not: the token
    is missing, unknown, another client's or another subject's, the consent is not authorised
    or has expired, or a requested category is not covered.
    """
    if not consent_token:
        raise ConsentDenied
    row = db_session.execute(
        _CONSENT_BY_TOKEN, {"token_hash": hash_token(consent_token)}
    ).one_or_none()
    if row is None:
        raise ConsentDenied
    consent, subject = row
    if (
        consent.client_id != client_id
        or consent.status_at(clock.now()) is not ConsentStatus.AUTHORISED
        or subject.subject_id != subject_id
    ):
        raise ConsentDenied
    allowed = list(consent.categories)
    if categories is None:
        return consent, subject, allowed
    if not set(categories) <= set(allowed):
        raise ConsentDenied
    return consent, subject, [c for c in allowed if c in set(categories)]
