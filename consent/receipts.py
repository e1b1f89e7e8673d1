"""Consent receipts: what a subject agreed to, with the ledger entries that anchor it.

The API signs the claims as a compact JWS (`typ: consent-receipt+jwt`) with the platform's
published signing key, so anyone holding `/oauth/jwks` can check a receipt; the entry hashes tie
it to the hash-chained ledger, which outlives any key.
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from consent.models import Consent, LedgerEntry
from credit import clock
from credit.models import Subject

RECEIPT_TYPE = "consent-receipt+jwt"
RECEIPT_VERSION = "xinyong-consent-receipt/1"


def claims(
    *,
    db_session: Session,
    consent: Consent,
    subject: Subject,
    client_name: str,
    client_kind: str,
    issuer: str,
) -> dict[str, Any]:
    """The receipt's claims: the consent's terms and state, and its ledger entries."""
    now = clock.now()
    entries = db_session.scalars(
        select(LedgerEntry)
        .where(LedgerEntry.consent_id == consent.consent_id)
        .order_by(LedgerEntry.seq)
    ).all()

    def when(value: Any) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "iss": issuer,
        "iat": int(now.timestamp()),
        "jti": f"rcp_{secrets.token_hex(10)}",
        "version": RECEIPT_VERSION,
        "consent_id": consent.consent_id,
        "status": consent.status_at(now).value,
        "subject": {"subject_id": subject.subject_id, "name": subject.name},
        "client": {"client_id": consent.client_id, "name": client_name, "kind": client_kind},
        "categories": list(consent.categories),
        "purpose": consent.purpose,
        "purpose_note": consent.purpose_note,
        "requested_at": when(consent.requested_at),
        "authorised_at": when(consent.authorised_at),
        "expires_at": when(consent.expires_at),
        "revoked_at": when(consent.revoked_at),
        "ledger": [
            {"seq": e.seq, "event": e.event, "at": when(e.at), "entry_hash": e.entry_hash}
            for e in entries
        ],
    }
