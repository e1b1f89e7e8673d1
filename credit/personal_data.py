"""Protection of resident identity numbers (DESIGN.md §3).

An identity number is never stored in clear: a keyed hash (HMAC-SHA256) finds a person, and an
AES-GCM ciphertext keeps the number for the few lawful uses that need it back.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_NONCE_BYTES = 12  # NIST SP 800-38D: 96-bit nonces for GCM
_AAD = b"xinyong:id_number:v1"


@dataclass(frozen=True)
class IdentityProtector:
    """Hashes and encrypts identity numbers with keys from configuration."""

    hmac_key: bytes
    encryption_key: bytes

    def __post_init__(self) -> None:
        if len(self.hmac_key) < 32:
            raise ValueError("the identity-number HMAC key must be at least 32 bytes")
        if len(self.encryption_key) not in (16, 24, 32):
            raise ValueError("the identity-number encryption key must be 16, 24 or 32 bytes")

    def lookup_hash(self, id_number: str) -> str:
        """The keyed hash (hex) under which a normalized identity number is looked up."""
        return hmac.new(self.hmac_key, id_number.encode("ascii"), hashlib.sha256).hexdigest()

    def encrypt(self, id_number: str) -> bytes:
        """Nonce followed by the AES-GCM ciphertext of the identity number."""
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + AESGCM(self.encryption_key).encrypt(nonce, id_number.encode("ascii"), _AAD)

    def decrypt(self, blob: bytes) -> str:
        """The identity number back from `encrypt`'s output; raises if it was tampered with."""
        nonce, ciphertext = blob[:_NONCE_BYTES], blob[_NONCE_BYTES:]
        return AESGCM(self.encryption_key).decrypt(nonce, ciphertext, _AAD).decode("ascii")
