"""The tamper-evident consent ledger (DESIGN.md §5).

Each entry's hash covers its sequence number, its content and the hash of the entry before, so
altering an entry breaks its own hash, removing one leaves a gap in the numbers, and reordering
breaks the links. Verification recomputes the chain from the start and names the first entry
that does not fit.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from consent.models import LedgerEntry
from credit import clock

GENESIS_HASH = "0" * 64
# One writer at a time, so that two appends cannot both chain onto the same entry.
_APPEND_LOCK_KEY = 0x58494E59  # "XINY"


class LedgerEvent(StrEnum):
    """The consent events the ledger records."""

    REQUESTED = "requested"
    AUTHORISED = "authorised"
    REJECTED = "rejected"
    REVOKED = "revoked"
    EXPIRED = "expired"


def canonical(value: Any) -> bytes:
    """The canonical JSON of `value` (sorted keys, no spaces, UTF-8) that the hashes cover."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    ).encode("utf-8")


def entry_hash(
    *, seq: int, consent_id: str, event: str, payload: dict[str, Any], at: datetime, prev: str
) -> str:
    """The hash of an entry: SHA-256 over the previous hash and the entry's canonical content."""
    content = {
        "seq": seq,
        "consent_id": consent_id,
        "event": event,
        "payload": payload,
        "at": at.isoformat(),
    }
    return hashlib.sha256(prev.encode("ascii") + b"\n" + canonical(content)).hexdigest()


def append(
    *, db_session: Session, consent_id: str, event: LedgerEvent, payload: dict[str, Any]
) -> LedgerEntry:
    """Append an event in the caller's transaction (it commits with the state change it records)."""
    if db_session.get_bind().dialect.name == "postgresql":
        db_session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _APPEND_LOCK_KEY})
    last = db_session.execute(
        select(LedgerEntry.seq, LedgerEntry.entry_hash).order_by(LedgerEntry.seq.desc()).limit(1)
    ).first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS_HASH)
    # Stored and hashed at microsecond precision in UTC, as the database keeps it.
    at = clock.now()
    payload = json.loads(canonical(payload))
    entry = LedgerEntry(
        seq=seq,
        consent_id=consent_id,
        event=event.value,
        payload=payload,
        at=at,
        prev_hash=prev,
        entry_hash=entry_hash(
            seq=seq, consent_id=consent_id, event=event.value, payload=payload, at=at, prev=prev
        ),
    )
    db_session.add(entry)
    db_session.flush()
    return entry


@dataclass(frozen=True)
class Verification:
    """The outcome of checking the chain."""

    valid: bool
    entries: int
    broken_seq: int | None = None
    reason: str | None = None


def verify(*, db_session: Session) -> Verification:
    """Recompute the chain from the first entry; the first entry that does not fit, if any."""
    rows = db_session.scalars(
        select(LedgerEntry).order_by(LedgerEntry.id).execution_options(yield_per=1000)
    )
    with closing(rows):  # a server-side cursor on PostgreSQL: close it on an early return
        return _walk(rows)


def _walk(rows: Iterable[LedgerEntry]) -> Verification:
    prev = GENESIS_HASH
    expected_seq = 1
    count = 0
    for entry in rows:
        count += 1
        if entry.seq != expected_seq:
            what = "removed" if entry.seq > expected_seq else "reordered or duplicated"
            return Verification(
                False,
                count,
                expected_seq,
                f"entry {expected_seq} was expected here but entry {entry.seq} was found: "
                f"an entry was {what}",
            )
        if entry.prev_hash != prev:
            return Verification(
                False, count, entry.seq, f"entry {entry.seq} does not link to the entry before it"
            )
        recomputed = entry_hash(
            seq=entry.seq,
            consent_id=entry.consent_id,
            event=entry.event,
            payload=entry.payload,
            at=entry.at,
            prev=entry.prev_hash,
        )
        if recomputed != entry.entry_hash:
            return Verification(
                False, count, entry.seq, f"entry {entry.seq} was altered: its hash does not match"
            )
        prev = entry.entry_hash
        expected_seq += 1
    return Verification(True, count)
