"""Signing keys: ES256 keys with a `kid`, private halves encrypted at rest, rotation, the JWKS.

Every worker keeps the keys in memory, so verifying a token touches no database: the set is
reloaded every `refresh_seconds`, and at once (at most every few seconds) when a token names a
`kid` this worker has not seen, which is how a rotation made by another worker arrives.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from joserfc import jws
from joserfc.jwk import ECKey, KeySet
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from auth.models import SigningKey
from credit import clock

ALGORITHM = "ES256"
_AAD = b"xinyong:signing-key:v1"
_NONCE = 12
_FIRST_KEY_LOCK = 370306_0001  # an advisory-lock id of our own (PostgreSQL)


def _seal(key: bytes, plaintext: bytes) -> bytes:
    nonce = os.urandom(_NONCE)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, _AAD)


def _open(key: bytes, blob: bytes) -> bytes:
    return AESGCM(key).decrypt(blob[:_NONCE], blob[_NONCE:], _AAD)


def rotate(*, db_session: Session, keystore_key: bytes) -> SigningKey:
    """Make a new signing key; the previous ones stay published until their tokens expire."""
    private = ECKey.generate_key(
        "P-256", parameters={"alg": ALGORITHM, "use": "sig"}, auto_kid=True
    )
    now = clock.now()
    for previous in db_session.scalars(select(SigningKey).where(SigningKey.retired_at.is_(None))):
        previous.retired_at = now
    key = SigningKey(
        kid=private.kid,
        algorithm=ALGORITHM,
        private_key_ciphertext=_seal(keystore_key, private.as_pem(private=True)),
        public_jwk=private.as_dict(private=False),
        created_at=now,
    )
    db_session.add(key)
    db_session.flush()
    return key


class KeyStore:
    """The signing key and the published keys, cached per process."""

    def __init__(
        self,
        session_factory: Callable[[], Session],
        keystore_key: bytes,
        *,
        publish_retired_for: timedelta,
        refresh_seconds: float = 60.0,
        unknown_kid_interval: float = 2.0,
    ) -> None:
        self._session_factory = session_factory
        self._keystore_key = keystore_key
        self._publish_retired_for = publish_retired_for
        self._refresh_seconds = refresh_seconds
        self._unknown_kid_interval = unknown_kid_interval
        self._lock = threading.Lock()
        self._loaded_at = 0.0
        self._signing: ECKey | None = None
        self._public = KeySet([])

    def _load(self) -> None:
        cutoff = clock.now() - self._publish_retired_for
        with self._session_factory() as session:
            rows = session.scalars(
                select(SigningKey)
                .where(or_(SigningKey.retired_at.is_(None), SigningKey.retired_at > cutoff))
                .order_by(SigningKey.created_at.desc(), SigningKey.id.desc())
            ).all()
            if not rows:
                rows = [self._first_key(session)]
            newest = rows[0]
            pem = _open(self._keystore_key, newest.private_key_ciphertext)
            self._signing = ECKey.import_key(
                pem, parameters={"kid": newest.kid, "alg": newest.algorithm, "use": "sig"}
            )
            self._public = KeySet([ECKey.import_key(dict(r.public_jwk)) for r in rows])
        self._loaded_at = time.monotonic()

    def _first_key(self, session: Session) -> SigningKey:
        """The first signing key, made by one process only even when several start at once."""
        if session.get_bind().dialect.name == "postgresql":
            # Two processes starting on an empty table would each make a key and refuse the
            # other's tokens; the second one waits here, then finds the first one's key.
            session.execute(select(func.pg_advisory_xact_lock(_FIRST_KEY_LOCK)))
            existing = session.scalars(
                select(SigningKey).where(SigningKey.retired_at.is_(None))
            ).first()
            if existing is not None:
                session.commit()
                return existing
        key = rotate(db_session=session, keystore_key=self._keystore_key)
        session.commit()
        return key

    def _ensure(self, *, force: bool = False) -> None:
        age = time.monotonic() - self._loaded_at
        if (
            self._signing is None
            or age > self._refresh_seconds
            or (force and age > self._unknown_kid_interval)
        ):
            with self._lock:
                age = time.monotonic() - self._loaded_at
                if (
                    self._signing is None
                    or age > self._refresh_seconds
                    or (force and age > self._unknown_kid_interval)
                ):
                    self._load()

    def signing_keyset(self) -> KeySet:
        """A key set holding only the current private signing key."""
        self._ensure()
        assert self._signing is not None  # noqa: S101  (_ensure loads it)
        return KeySet([self._signing])

    def public_keyset(self, kid: str | None = None) -> KeySet:
        """The published public keys; reloaded first if `kid` is not among them."""
        self._ensure()
        if kid is not None and not any(k.kid == kid for k in self._public.keys):
            self._ensure(force=True)
        return self._public

    def jwks(self) -> dict[str, Any]:
        """The JWKS document (RFC 7517) of the published keys."""
        return dict(self.public_keyset().as_dict(private=False))

    def sign(self, payload: bytes, *, typ: str) -> str:
        """A compact JWS of `payload` under the current key, verifiable with the JWKS."""
        key = self.signing_keyset().keys[0]
        header = {"alg": ALGORITHM, "kid": key.kid, "typ": typ}
        return jws.serialize_compact(header, payload, key, algorithms=[ALGORITHM])

    def invalidate(self) -> None:
        """Forget the cache (after a rotation in this process)."""
        self._loaded_at = 0.0
