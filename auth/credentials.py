"""Secrets and passwords.

Client secrets and tokens are 256-bit random values: a keyed hash (HMAC-SHA256 with the platform's
pepper) is the right way to store them, fast to check and useless if the table leaks. Human
passwords are low-entropy, so they go through a slow, memory-hard KDF (Argon2id).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

SECRET_BYTES = 32  # 256 bits

_passwords = PasswordHasher()  # argon2-cffi's defaults follow RFC 9106's second recommendation


def new_secret() -> str:
    """A fresh 256-bit secret, URL-safe."""
    return secrets.token_urlsafe(SECRET_BYTES)


class SecretHasher:
    """Keyed hashes of random secrets (client secrets, codes, refresh and consent tokens)."""

    def __init__(self, pepper: bytes) -> None:
        if len(pepper) < 32:
            raise ValueError("the secret-hashing pepper must be at least 32 bytes")
        self._pepper = pepper

    def hash(self, secret: str) -> str:
        """The hex HMAC-SHA256 of `secret`."""
        return hmac.new(self._pepper, secret.encode("utf-8"), hashlib.sha256).hexdigest()

    def matches(self, secret: str, stored_hash: str | None) -> bool:
        """Whether `secret` hashes to `stored_hash`, in constant time."""
        if not stored_hash:
            return False
        return hmac.compare_digest(self.hash(secret), stored_hash)


def hash_password(password: str) -> str:
    """An Argon2id hash of a subject's password."""
    return _passwords.hash(password)


def verify_password(password: str, stored_hash: str) -> bool:
    """Whether `password` matches; never raises for a wrong or malformed hash."""
    try:
        return _passwords.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False
