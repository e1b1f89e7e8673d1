"""The ingestion benchmark's own codes: the GB 32100-2015 check character and the batches."""

from __future__ import annotations

import random

import pytest

from credit.identifiers import is_valid_uscc
from load_tests.ingest_bench import batch, new_uscc, uscc_check_char

# Real codes from python-stdnum's USCC tests (tests/test_cn_uscc.doctest), including check
# characters 0 (sum divisible by 31) and letters, and an organisation code ending in X.
KNOWN_GOOD = [
    "91110000600037341L",
    "121200004013590816",
    "91110000710926094P",
    "91152201078371135X",
    "9115220107837941X1",
    "91310115MA1K3BTP2B",
    "913205056082348768",
    "92340603MA2UK2TA90",
    "91620105L015101280",
]


@pytest.mark.parametrize("code", KNOWN_GOOD)
def test_check_character_of_known_codes(code: str) -> None:
    assert uscc_check_char(code[:17]) == code[17]


def test_a_changed_character_changes_the_check_character() -> None:
    assert uscc_check_char("91110000600037341") != "N"  # stdnum's InvalidChecksum case
    assert uscc_check_char("91110000600037342") != "L"


@pytest.mark.parametrize("first17", ["9111000060003734", "9111000060003734IO", "911100006000373S1"])
def test_wrong_input_is_refused(first17: str) -> None:
    with pytest.raises(ValueError, match=r"17 characters|never contains"):
        uscc_check_char(first17)


def test_made_codes_are_valid_for_the_server() -> None:
    rng = random.Random(370306)
    codes = [new_uscc(rng) for _ in range(500)]
    assert all(code.startswith("91370306") and len(code) == 18 for code in codes)
    assert [code for code in codes if not is_valid_uscc(code)] == []


def test_a_batch_has_unique_numbers_per_run_and_round() -> None:
    codes = [new_uscc(random.Random(1)), new_uscc(random.Random(2))]
    first, second = batch(codes, "A1B2C3", 0, 1000), batch(codes, "A1B2C3", 1, 1000)
    numbers = {row["document_no"] for row in first + second}
    assert len(numbers) == 2000
    assert {row["uscc"] for row in first} == set(codes)
    assert all(len(number) <= 100 for number in numbers)
