"""The decision of every restricted read (API.md "Restricted reads"): on what basis, which data.

Three bases: a partner's consent (its consent token), a government or judicial client's legal
basis within the categories granted at registration, or the subject reading their own data.
Everything else is refused. The caller logs the read (`access_log.record`) and commits before it
answers.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from consent import service
from consent.access_log import Reader
from consent.errors import (
    ConsentDenied,
    LegalBasisRequired,
    NotAReader,
    OutsideGrant,
    ScopeMissing,
)
from consent.models import ReadBasis
from credit.disclosure import CATEGORIES
from credit.errors import SubjectNotFound
from credit.models import Subject
from credit.report import ordered

OFFICIAL_KINDS = frozenset({"government", "judicial"})
SELF_KINDS = frozenset({"first_party"})
LEGAL_BASIS_MAX = 500


@dataclass(frozen=True)
class ReadRequest:
    """Who asks to read what, with which credentials."""

    reader: Reader
    token_scopes: Collection[str]
    token_subject: str | None
    granted_categories: Collection[str]
    subject_id: str
    categories: Collection[str] | None
    consent_token: str | None = None
    legal_basis: str | None = None


@dataclass(frozen=True)
class ReadGrant:
    """A read allowed: whose data, which categories, on what basis."""

    subject: Subject
    categories: list[str]
    basis: ReadBasis
    consent_id: str | None = None
    legal_basis: str | None = None


def _require_scopes(token_scopes: Collection[str], categories: Collection[str]) -> None:
    missing = [f"credit.{c}" for c in ordered(categories) if f"credit.{c}" not in token_scopes]
    if missing:
        raise ScopeMissing(missing)


def clean_legal_basis(raw: str | None) -> str:
    """The stated legal basis, trimmed; LegalBasisRequired when absent, blank or unusable."""
    text = (raw or "").strip()
    if not text or len(text) > LEGAL_BASIS_MAX or any(ord(ch) < 32 for ch in text):
        raise LegalBasisRequired
    return text


def _subject(db_session: Session, subject_id: str) -> Subject:
    subject = db_session.scalars(
        select(Subject).where(Subject.subject_id == subject_id)
    ).one_or_none()
    if subject is None:
        raise SubjectNotFound(subject_id)
    return subject


def authorise(
    *, db_session: Session, ask: ReadRequest, hash_token: service.TokenHasher
) -> ReadGrant:
    """The grant of a read, or the domain error that refuses it."""
    kind = ask.reader.kind
    if kind in service.PARTNER_KINDS:
        if ask.categories is not None:
            _require_scopes(ask.token_scopes, ask.categories)
        consent, subject, categories = service.authorise_read(
            db_session=db_session,
            consent_token=ask.consent_token,
            hash_token=hash_token,
            client_id=ask.reader.client_id,
            subject_id=ask.subject_id,
            categories=ask.categories,
        )
        _require_scopes(ask.token_scopes, categories)
        return ReadGrant(
            subject=subject,
            categories=ordered(categories),
            basis=ReadBasis.CONSENT,
            consent_id=consent.consent_id,
        )
    if kind in OFFICIAL_KINDS:
        legal_basis = clean_legal_basis(ask.legal_basis)
        categories = ordered(
            ask.categories if ask.categories is not None else ask.granted_categories
        )
        outside = [c for c in categories if c not in ask.granted_categories]
        if outside or not categories:
            raise OutsideGrant(outside)
        _require_scopes(ask.token_scopes, categories)
        return ReadGrant(
            subject=_subject(db_session, ask.subject_id),
            categories=categories,
            basis=ReadBasis.LEGAL_BASIS,
            legal_basis=legal_basis,
        )
    if kind in SELF_KINDS and "subject" in ask.token_scopes:
        if ask.token_subject != ask.subject_id:
            raise ConsentDenied
        own = db_session.scalars(
            select(Subject).where(Subject.subject_id == ask.subject_id)
        ).one_or_none()
        if own is None:
            raise ConsentDenied
        return ReadGrant(
            subject=own,
            categories=ordered(ask.categories if ask.categories is not None else CATEGORIES),
            basis=ReadBasis.SELF,
        )
    raise NotAReader(kind)
