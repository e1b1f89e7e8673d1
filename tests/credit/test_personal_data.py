"""Protection of identity numbers: AES-GCM round trips and tamper detection, keyed lookup hashes."""

from __future__ import annotations

import re
from datetime import date

import pytest
from cryptography.exceptions import InvalidTag
from hypothesis import given
from hypothesis import strategies as st

from credit.identifiers import make_id_number
from credit.personal_data import IdentityProtector

HMAC_KEY = b"h" * 32
ENCRYPTION_KEY = bytes(range(32))
NUMBER = make_id_number(division="370306", birth_date=date(1990, 1, 1), sequence=123)

id_numbers = st.from_regex(r"\A[0-9]{17}[0-9X]\Z")


@pytest.fixture
def protector() -> IdentityProtector:
    return IdentityProtector(hmac_key=HMAC_KEY, encryption_key=ENCRYPTION_KEY)


class TestEncryption:
    def test_round_trip(self, protector: IdentityProtector) -> None:
        blob = protector.encrypt(NUMBER)

        assert protector.decrypt(blob) == NUMBER
        assert NUMBER.encode("ascii") not in blob

    @given(number=id_numbers)
    def test_round_trip_any_number(self, number: str) -> None:
        protector = IdentityProtector(hmac_key=HMAC_KEY, encryption_key=ENCRYPTION_KEY)
        assert protector.decrypt(protector.encrypt(number)) == number

    @pytest.mark.parametrize("size", [16, 24, 32])
    def test_every_aes_key_size_works(self, size: int) -> None:
        protector = IdentityProtector(hmac_key=HMAC_KEY, encryption_key=bytes(size))
        assert protector.decrypt(protector.encrypt(NUMBER)) == NUMBER

    def test_two_encryptions_differ(self, protector: IdentityProtector) -> None:
        blobs = {protector.encrypt(NUMBER) for _ in range(5)}

        assert len(blobs) == 5
        # A fresh 12-byte nonce leads every blob.
        assert len({blob[:12] for blob in blobs}) == 5
        assert all(protector.decrypt(blob) == NUMBER for blob in blobs)

    def test_tampering_any_byte_is_detected(self, protector: IdentityProtector) -> None:
        blob = protector.encrypt(NUMBER)
        for index in range(len(blob)):
            tampered = bytearray(blob)
            tampered[index] ^= 0x01
            with pytest.raises(InvalidTag):
                protector.decrypt(bytes(tampered))

    def test_truncated_blob_is_refused(self, protector: IdentityProtector) -> None:
        blob = protector.encrypt(NUMBER)
        with pytest.raises(InvalidTag):
            protector.decrypt(blob[:-1])

    def test_another_key_cannot_decrypt(self, protector: IdentityProtector) -> None:
        other = IdentityProtector(hmac_key=HMAC_KEY, encryption_key=bytes(32))
        with pytest.raises(InvalidTag):
            other.decrypt(protector.encrypt(NUMBER))


class TestLookupHash:
    def test_deterministic_hex_sha256(self, protector: IdentityProtector) -> None:
        digest = protector.lookup_hash(NUMBER)

        assert re.fullmatch(r"[0-9a-f]{64}", digest)
        assert protector.lookup_hash(NUMBER) == digest
        assert (
            IdentityProtector(hmac_key=HMAC_KEY, encryption_key=bytes(16)).lookup_hash(NUMBER)
            == digest
        )  # the encryption key plays no part

    def test_differs_under_another_key(self, protector: IdentityProtector) -> None:
        other = IdentityProtector(hmac_key=b"k" * 32, encryption_key=ENCRYPTION_KEY)
        assert other.lookup_hash(NUMBER) != protector.lookup_hash(NUMBER)

    @given(number=id_numbers)
    def test_never_contains_the_number(self, number: str) -> None:
        protector = IdentityProtector(hmac_key=HMAC_KEY, encryption_key=ENCRYPTION_KEY)
        digest = protector.lookup_hash(number)
        assert re.fullmatch(r"[0-9a-f]{64}", digest)
        assert number not in digest
        assert number[:14] not in digest  # not even the division and birth date

    @given(first=id_numbers, second=id_numbers)
    def test_different_numbers_have_different_hashes(self, first: str, second: str) -> None:
        protector = IdentityProtector(hmac_key=HMAC_KEY, encryption_key=ENCRYPTION_KEY)
        assert (protector.lookup_hash(first) == protector.lookup_hash(second)) == (first == second)


class TestKeys:
    @pytest.mark.parametrize("size", [0, 16, 31])
    def test_short_hmac_key_is_rejected(self, size: int) -> None:
        with pytest.raises(ValueError, match="HMAC key"):
            IdentityProtector(hmac_key=b"h" * size, encryption_key=ENCRYPTION_KEY)

    @pytest.mark.parametrize("size", [0, 8, 15, 20, 31, 33, 64])
    def test_wrong_size_encryption_key_is_rejected(self, size: int) -> None:
        with pytest.raises(ValueError, match="encryption key"):
            IdentityProtector(hmac_key=HMAC_KEY, encryption_key=bytes(size))

    def test_long_hmac_key_is_accepted(self) -> None:
        protector = IdentityProtector(hmac_key=b"h" * 64, encryption_key=ENCRYPTION_KEY)
        assert protector.lookup_hash(NUMBER) != IdentityProtector(
            hmac_key=HMAC_KEY, encryption_key=ENCRYPTION_KEY
        ).lookup_hash(NUMBER)
