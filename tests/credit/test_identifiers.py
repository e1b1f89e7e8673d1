"""Tests of credit.identifiers: real published codes, error reasons and mutation properties."""

from __future__ import annotations

import datetime
import pickle
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from credit.identifiers import (
    USCC_ALPHABET,
    InvalidIdentifier,
    id_number_check_char,
    is_valid_id_number,
    is_valid_uscc,
    make_id_number,
    make_uscc,
    normalize_uscc,
    org_code_check_char,
    registration_type_of,
    uscc_check_char,
    validate_id_number,
    validate_uscc,
)
from credit.registration_types import REGISTRATION_TYPES, RegistrationType, lookup

# Real codes: all of python-stdnum's tests/test_cn_uscc.doctest (found online by its authors),
# then two from hutool's CreditCodeUtilTest.
REAL_USCC: tuple[str, ...] = tuple(
    """
121200004013590816 91110000600037341L 91110000710926094P 91120224064012553U 911522010783710635
91152201078371135X 911522010783762860 91152201078376307G 91152201078377449P 9115220107837757XE
9115220107837941X1 91152201078382010M 911522010783887624 911522010783897302 911522010783898533
91152201078389925U 9115220107839138X8 911522010783917502 91152201078391769Y 91152201078394644D
91152201078395081D 91152201078395188Q 91152201078397730B 91152201082151522J 91310000631696382C
91310000797046224D 91310112087994932F 913101127033980359 913101145852519045 913101153325803473
91310115MA1K3BTP2B 91310116052958608G 91310116076409427L 913101203509708598 9131012056010553X5
91320214745555318W 913205056082348768 913304007429141869 91340600MA2PBM9HXD 91340600MA2PBMA74B
91340600MA2PBMBL5H 91340600MA2PBMDH5R 91340600MA2PBMQB9E 91340600MA2PBN188W 91340600MA2PBN831R
91340600MA2PBNE723 91340600MA2PBNR24J 91340600MA2PBP2120 91340600MA2PBP6A1W 91340600MA2PBP6D6F
91340600MA2PBPAG69 91340600MA2PENCC7K 91340600MA2PENWF9P 91340600MA2PEP3Y54 91340600MA2PEP518T
91340600MA2PEP7F5B 91340600MA2PEPM918 91340600MA2PERLJ2D 91340600MA2UJY987H 91340600MA2UJYG49B
91340602MA2UJY0D0T 91340602MA2UJY3J9W 91340602MA2UJYD90G 91340603MA2UJXXCXF 91340603MA2UJY1D7L
91340603MA2UJYBQ7Q 91340603MA2UJYN78Q 91340603MA2UJYNU67 91340603MA2UJYUN35 91340604MA2PBQBH3P
91340604MA2PEL1X3M 91340621MA2PBNXR7P 91340621MA2PBPDT1J 91340621MA2PBPLU08 91340621MA2PBPM015
91340621MA2PBPM36P 91340621MA2PBPM608 91340621MA2PBPM870 91340621MA2PELDF2U 91340621MA2PEM704P
91340621MA2PEMUHX8 91340621MA2PEMWN1C 91340621MA2PEN6Q3Y 91340621MA2PEN8W5L 91340621MA2PEP2U6U
91340621MA2PEPJB9F 913505007821784439 91371082775260043P 914112810713741814 91420684MA4927PJ7B
91440300568520498A 9144030071526726XG 9144060573144633XL 91442000696462712R 91620100719023721L
91620105224521729E 91620105325333735M 91620105551270533Y 91620105556273987U 9162010555628132X1
91620105556284969Y 91620105556287545F 91620105566408785F 91620105571627966C 91620105571630591E
9162010558590643X0 91620105585923360D 91620105660017457X 91620105665404165K 91620105670820315R
9162010567592034XQ 91620105686055670F 91620105686057422K 9162010569564942X9 91620105710219971E
91620105719099574H 91620105720233128P 91620105750906995R 91620105750935948X 91620105756558274W
91620105756580826D 91620105767707650L 91620105767728304H 91620105773422168Y 91620105784023285J
91620105789620900B 91620105789634843P 91620105794891756D 91620105L015101280 91620105MA71T4YW8Q
91620105MA73NBBLXE 92340602MA2PBMEM24 92340602MA2PBMG99Q 92340602MA2PBMHF45 92340602MA2PBQAH7E
92340602MA2PEL3T3X 92340602MA2PEL453X 92340602MA2PEL605A 92340602MA2PEL7F4C 92340602MA2PEL8AXA
92340602MA2PEP745R 92340602MA2UK2TH6F 92340602MA2UK33127 92340603MA2PBMCG0U 92340603MA2PBMD304
92340603MA2PBMJB45 92340603MA2PBMN509 92340603MA2PBMQL04 92340603MA2PBMUF7M 92340603MA2PBMYMX1
92340603MA2PBMYN81 92340603MA2PBN161D 92340603MA2PBN17X5 92340603MA2PBN2W0N 92340603MA2PBN508K
92340603MA2PBNDM9R 92340603MA2PBNJA9T 92340603MA2PBNK461 92340603MA2PBNLR0R 92340603MA2PBPB95W
92340603MA2PBQ16XJ 92340603MA2PBQ653D 92340603MA2PBQ7J4K 92340603MA2PBQ7X9E 92340603MA2PBQA912
92340603MA2PBQBC2X 92340603MA2PBQFT7J 92340603MA2PBQGB6M 92340603MA2PBQHB2Y 92340603MA2PBQHD9N
92340603MA2PBQUC3U 92340603MA2PBQX04X 92340603MA2PBQY862 92340603MA2PEL322G 92340603MA2PEL613K
92340603MA2PELAF3Q 92340603MA2PELBT4W 92340603MA2PELD18T 92340603MA2PELE65C 92340603MA2PELFF5B
92340603MA2PELHL72 92340603MA2PELKB4T 92340603MA2PELQK6M 92340603MA2PELUD4A 92340603MA2PEM480D
92340603MA2PEN731K 92340603MA2PEN8A5W 92340603MA2PEN9F2E 92340603MA2PENAP06 92340603MA2PENCQ1M
92340603MA2PEP42XF 92340603MA2PEPBN6L 92340603MA2PEPE82T 92340603MA2PEPM83M 92340603MA2UJXYJ3P
92340603MA2UJY0W68 92340603MA2UJY2M7F 92340603MA2UJY9J74 92340603MA2UJYN358 92340603MA2UJYUM57
92340603MA2UK0CN1M 92340603MA2UK0E06R 92340603MA2UK0KQ72 92340603MA2UK0ME1G 92340603MA2UK0N546
92340603MA2UK0Q026 92340603MA2UK0QX24 92340603MA2UK0T79E 92340603MA2UK1NC4L 92340603MA2UK1PX9B
92340603MA2UK1TD00 92340603MA2UK1UE56 92340603MA2UK2002C 92340603MA2UK215XT 92340603MA2UK23F43
92340603MA2UK26D7B 92340603MA2UK27Y5C 92340603MA2UK28G4G 92340603MA2UK2C171 92340603MA2UK2ECXU
92340603MA2UK2P79U 92340603MA2UK2QAXJ 92340603MA2UK2QT5Q 92340603MA2UK2R393 92340603MA2UK2TA90
92340603MA2UK2TK0D 92340603MA2UK2UE8N 92340603MA2UK2WX6M 92340603MA2UK2XD94 92340603MA2UK2Y09C
92340603MA2UK2YX9A 92340603MA2UK31A3N 92340603MA2UK32C6P 92340603MA2UK37U5G 92340603MA2UK3CP6U
92340603MA2UK3CW3P 92340603MA2UK3D673 92340603MA2UK3DB8B 92340603MA2UK3DF0N 92340603MA2UK3DT5H
92340604MA2PBME53K 92340604MA2PBMQK2P 92340604MA2PBMXF6C 92340604MA2PBN5675 92340604MA2PBNDT64
92340604MA2PBNKM3P 92340604MA2PBNKR4Y 92340604MA2PBNP21L 92340604MA2PBNQNXM 92340604MA2PBNR83C
92340604MA2PBNUL9N 92340604MA2PBNWH99 92340604MA2PBNXH5J 92340604MA2PBP1U3Y 92340604MA2PBP7U1T
92340604MA2PBPHC8R 92340604MA2PBPXJ71 92340604MA2PELFQ53 92340604MA2PEM4L7X 92340604MA2PEM5Q4E
92340604MA2PEMEE34 92340604MA2PENA300 92340604MA2UJYCE59 92340604MA2UJYPN1K 92340604MA2UK0015N
92340604MA2UK03G7D 92340604MA2UK04L4X 92340604MA2UK07529 92340604MA2UK07M1N 92340604MA2UK08Y65
92340604MA2UK0GC73 92340604MA2UK1GD8E 92340604MA2UK2B104 92340621MA2PBKRXXG 92340621MA2PBL318W
92340621MA2PBLW63G 92340621MA2PBLWF76 92340621MA2PBLWK8D 92340621MA2PBLWT1Y 92340621MA2PBLX27E
92340621MA2PBM6286 92340621MA2PBMA318 92340621MA2PBMKK45 92340621MA2PBMNMXM 92340621MA2PBMPF5T
92340621MA2PBMQD5E 92340621MA2PBMUH3D 92340621MA2PBN0KXX 92340621MA2PBN145R 92340621MA2PBN1962
92340621MA2PBN1H1T 92340621MA2PBN4YX0 92340621MA2PBN559X 92340621MA2PBNFH07 92340621MA2PBNGC6A
92340621MA2PBNJ232 92340621MA2PBNTY9Y 92340621MA2PBP431L 92340621MA2PBP4A9L 92340621MA2PBP4T4M
92340621MA2PBQ2QXW 92340621MA2PELD34J 92340621MA2PELFR3H 92340621MA2UJRKE7N 92340621MA2UJRL762
92340621MA2UJT9WXP 92340621MA2UJTCK0M 92340621MA2UJTM785 92340621MA2UJTP42T 92340621MA2UJTQ22E
92340621MA2UJTT13U 92340621MA2UJTTF8R 92340621MA2UJTY74U 92340621MA2UJUR13D 92340621MA2UJUUC21
92340621MA2UJUW4X2 92340621MA2UJW3P2B 92340621MA2UJW4UXQ 92340621MA2UJW690P 92340621MA2UJW703D
92340621MA2UJW8C8Y 92340621MA2UJW9L8W 92340621MA2UJWA961 92340621MA2UJWAE79 92340621MA2UJWBN77
92340621MA2UJWCT2H 92340621MA2UJWE83D 92340621MA2UJWEE2G 92340621MA2UJWFB49 92340621MA2UJWG6X7
92340621MA2UJWGB0J 92340621MA2UJWH58T 92340621MA2UJWQ634 92340621MA2UJWTX37 92340621MA2UJWYPX8
92340621MA2UJX6C8T 92340621MA2UJX968M 92340621MA2UJXB52D 92340621MA2UJXEU6H 92340621MA2UJXF159
92340621MA2UJXGY1G 92340621MA2UJXLD1M 92340621MA2UJY477E 92340621MA2UJYE11E 92340621MA2UJYG57G
92340621MA2UJYJPXJ 92340621MA2UJYLF0U 92340621MA2UJYP62R 92340621MA2UK02XXW 92340621MA2UK08G9K
92340621MA2UK0DA11 92340621MA2UK0DJ5M 92340621MA2UK0G256 92340621MA2UK0GD5H 92340621MA2UK0J08Q
92340621MA2UK0JH77 92340621MA2UK0JX8N 92340621MA2UK0KR5Y 92340621MA2UK1229A 92340621MA2UK14Q89
92340621MA2UK14T2Q 92340621MA2UK1JY92 92340621MA2UK1L38E 92340621MA2UK1MK35 92340621MA2UK1MN8P
92340621MA2UK1PRX7 92340621MA2UK1W97Y 92340621MA2UK22G6N 92340621MA2UK25H3F 92340621MA2UK2BU8B
92340621MA2UK2CD59 92340621MA2UK2EP62 92340621MA2UK2GJXF 92340621MA2UK2Q24Y 92340621MA2UK2XE71
92340621MA2UK2XX21 92340621MA2UK30C35 92340621MA2UK31K58 92340621MA2UK338XJ 92340621MA2UK33Y2M
92340621MA2UK3C369 92340621MA2UK3CE6L 92340621MA2UK3PJXE
91310115591693856A 91310110666007217T
""".split()
)

# Xiamen pilot codes issued before the national check character rules (hutool's
# CreditCodeUtilTest cites the first one as a real code that fails the GB 32100 check).
LEGACY_PILOT_USCC = ("91350211M00013FA1N", "91350203M0001QAY9B")

# Resident identity numbers that python-stdnum's tests/test_cn_ric.doctest accepts.
REAL_ID_NUMBERS = (
    "360426199101010071",
    "44011320141005001X",
    "412723199010050012",
    "110102199101010078",
    "120110198012010073",
    "120110199212010072",
)

TODAY = datetime.date(2025, 6, 1)
PROVINCES = (
    *("11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37"),
    *("41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64"),
    *("65", "71", "81", "82"),
)
DIGITS = "0123456789"


def _raises(
    reason: str, func: Callable[..., object], *args: object, **kwargs: object
) -> InvalidIdentifier:
    with pytest.raises(InvalidIdentifier) as caught:
        func(*args, **kwargs)
    assert caught.value.reason == reason, str(caught.value)
    return caught.value


def _with_check(first17: str) -> str:
    return first17 + uscc_check_char(first17)


def _id_with_check(first17: str) -> str:
    return first17 + id_number_check_char(first17)


def _assert_no_leak(number: str, message: str, run: int) -> None:
    for start in range(len(number) - run + 1):
        assert number[start : start + run] not in message, message


# --- strategies --------------------------------------------------------------------------------


@st.composite
def valid_uscc(draw: st.DrawFn) -> str:
    row = draw(st.sampled_from(REGISTRATION_TYPES))
    return make_uscc(
        authority=row.authority_code,
        org_type=row.type_code,
        division=draw(st.text(DIGITS, min_size=6, max_size=6)),
        org_code_body=draw(st.text(USCC_ALPHABET, min_size=8, max_size=8)),
    )


@st.composite
def valid_id_number(draw: st.DrawFn) -> str:
    province = draw(st.sampled_from(PROVINCES))
    return make_id_number(
        division=province + draw(st.text(DIGITS, min_size=4, max_size=4)),
        birth_date=draw(st.dates(datetime.date(1900, 1, 1), TODAY)),
        sequence=draw(st.integers(0, 999)),
    )


@st.composite
def substituted(draw: st.DrawFn, code: st.SearchStrategy[str], alphabet: str) -> tuple[str, str]:
    original = draw(code)
    position = draw(st.integers(0, len(original) - 1))
    choices = alphabet + "X" if alphabet == DIGITS and position == 17 else alphabet
    replacement = draw(st.sampled_from([c for c in choices if c != original[position]]))
    return original, original[:position] + replacement + original[position + 1 :]


# --- unified social credit code: real data -----------------------------------------------------


def test_real_sample_is_large_and_distinct() -> None:
    assert len(REAL_USCC) >= 100
    assert len(set(REAL_USCC)) == len(REAL_USCC)
    assert {"91110000600037341L", "121200004013590816"} <= set(REAL_USCC)


@pytest.mark.parametrize("code", REAL_USCC)
def test_real_published_codes_pass(code: str) -> None:
    assert validate_uscc(code) == code
    assert registration_type_of(code) is not None


@pytest.mark.parametrize(
    ("code", "kind"),
    [("91110000600037341L", "enterprise"), ("121200004013590816", "public_institution")],
)
def test_well_known_codes(code: str, kind: str) -> None:
    assert validate_uscc(code) == code
    assert is_valid_uscc(code)
    row = registration_type_of(code)
    assert row is not None
    assert row.kind == kind


@pytest.mark.parametrize(
    ("body", "check"),
    # Organisation codes embedded in real unified social credit codes above.
    [("60003734", "1"), ("07837757", "X"), ("MA2PBM9H", "X"), ("40135908", "1"), ("L0151012", "8")],
)
def test_org_code_check_char_real_organisation_codes(body: str, check: str) -> None:
    assert org_code_check_char(body) == check


def test_org_code_check_char_rejects_bad_input() -> None:
    _raises("length", org_code_check_char, "6000373")
    _raises("character", org_code_check_char, "6000373-")
    _raises("character", org_code_check_char, "6000373a")


# --- unified social credit code: explicit failures ---------------------------------------------


@pytest.mark.parametrize("raw", ["", "12345", "91110000600037341", "91110000600037341LL"])
def test_wrong_length(raw: str) -> None:
    error = _raises("length", validate_uscc, raw)
    assert "18" in str(error)


@pytest.mark.parametrize("letter", ["I", "O", "Z", "S", "V"])
def test_forbidden_letters(letter: str) -> None:
    code = "911100006" + letter + "0037341L"
    error = _raises("character", validate_uscc, code)
    assert "character 10" in str(error)
    assert repr(letter) in str(error)


def test_other_characters_rejected_with_position() -> None:
    error = _raises("character", validate_uscc, "91110000-600037341")
    assert "character 9 is '-'" in str(error)


def test_lower_case_is_normalized_not_forbidden() -> None:
    assert validate_uscc("91110000600037341l") == "91110000600037341L"
    assert validate_uscc("  91620105ma71t4yw8q\n") == "91620105MA71T4YW8Q"
    assert normalize_uscc(" 91110000600037341l ") == "91110000600037341L"


def test_bad_check_character_names_the_expected_one() -> None:
    error = _raises("check_character", validate_uscc, "91110000600037341M")
    assert str(error) == (
        "91110000600037341M is not a valid unified social credit code: "
        "its check character should be L, not M"
    )
    assert not is_valid_uscc("91110000600037341M")


@pytest.mark.parametrize("prefix", ["00", "22", "94", "B1", "A2", "N4", "Y9"])
def test_unknown_registration_type(prefix: str) -> None:
    code = _with_check(prefix + "110000600037341")
    error = _raises("registration_type", validate_uscc, code)
    assert prefix in str(error)
    assert registration_type_of(code) is None


def test_non_digit_division() -> None:
    code = _with_check("9111A000600037341")
    error = _raises("division", validate_uscc, code)
    assert "11A000" in str(error)


def test_checks_run_in_documented_order() -> None:
    # Bad type, bad division and bad check character at once: the type is reported.
    _raises("registration_type", validate_uscc, "B111A000600037341M")
    _raises("division", validate_uscc, "9111A000600037341M")


@pytest.mark.parametrize("code", LEGACY_PILOT_USCC)
def test_legacy_allow_list_admits_pilot_codes(code: str) -> None:
    _raises("check_character", validate_uscc, code)
    allowed = [f" {code.lower()} "]
    assert validate_uscc(code, legacy_allowed=allowed) == code
    assert validate_uscc(code.lower(), legacy_allowed=allowed) == code
    assert is_valid_uscc(code, legacy_allowed=allowed)


def test_legacy_allow_list_admits_unknown_type_but_not_wrong_length_or_alphabet() -> None:
    unknown_type = "B2110000600037341M"
    assert validate_uscc(unknown_type, legacy_allowed={unknown_type}) == unknown_type
    too_short = LEGACY_PILOT_USCC[0][:17]
    _raises("length", validate_uscc, too_short, legacy_allowed=[too_short])
    bad_letter = "91350211M00013FA1O"
    _raises("character", validate_uscc, bad_letter, legacy_allowed=[bad_letter])


def test_legacy_allow_list_given_as_a_single_string() -> None:
    code = LEGACY_PILOT_USCC[0]
    assert validate_uscc(code, legacy_allowed=code.lower()) == code
    _raises("check_character", validate_uscc, code, legacy_allowed=code + LEGACY_PILOT_USCC[1])


def test_exception_keeps_reason_through_pickling() -> None:
    error = _raises("check_character", validate_uscc, "91110000600037341M")
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own object, made just above
    assert isinstance(copy, InvalidIdentifier)
    assert (str(copy), copy.reason) == (str(error), error.reason)


def test_legacy_allow_list_does_not_admit_other_codes() -> None:
    _raises(
        "check_character", validate_uscc, "91350211M00013FA1P", legacy_allowed=LEGACY_PILOT_USCC
    )


def test_uscc_check_char_rejects_bad_input() -> None:
    _raises("length", uscc_check_char, "9111000060003734")
    _raises("character", uscc_check_char, "9111000060003734I")


def test_make_uscc_rejects_bad_parts() -> None:
    parts = {"authority": "9", "org_type": "1", "division": "110000", "org_code_body": "60003734"}
    assert make_uscc(**parts) == "91110000600037341L"
    _raises("registration_type", make_uscc, **{**parts, "org_type": "4"})
    _raises("registration_type", make_uscc, **{**parts, "authority": "91"})
    _raises("division", make_uscc, **{**parts, "division": "11000"})
    _raises("division", make_uscc, **{**parts, "division": "11000A"})
    _raises("length", make_uscc, **{**parts, "org_code_body": "6000373"})
    _raises("character", make_uscc, **{**parts, "org_code_body": "6000373I"})


# --- registration type table -------------------------------------------------------------------


def test_table_is_well_formed() -> None:
    codes = [row.authority_code + row.type_code for row in REGISTRATION_TYPES]
    assert len(codes) == len(set(codes))
    kinds = {
        "enterprise",
        "public_institution",
        "social_organization",
        "government_agency",
        "individual_business",
    }
    for row in REGISTRATION_TYPES:
        assert len(row.authority_code) == len(row.type_code) == 1
        assert row.authority_code in USCC_ALPHABET
        assert row.type_code in USCC_ALPHABET
        assert row.kind in kinds
        assert row.authority_label
        assert row.type_label
        assert lookup(row.authority_code + row.type_code) is row
    assert {row.authority_code for row in REGISTRATION_TYPES} == set("123456789ANY")


@pytest.mark.parametrize(
    ("code2", "expected"),
    [
        ("11", RegistrationType("1", "机构编制", "1", "机关", "government_agency")),
        ("53", RegistrationType("5", "民政", "3", "基金会", "social_organization")),
        ("92", RegistrationType("9", "工商", "2", "个体工商户", "individual_business")),
        ("N2", RegistrationType("N", "农业", "2", "村级集体经济组织", "enterprise")),
    ],
)
def test_lookup(code2: str, expected: RegistrationType) -> None:
    assert lookup(code2) == expected


# --- unified social credit code: properties ----------------------------------------------------


@given(valid_uscc())
def test_made_codes_validate(code: str) -> None:
    assert validate_uscc(code) == code
    assert registration_type_of(code) == lookup(code[:2])


@given(substituted(valid_uscc(), USCC_ALPHABET))
def test_any_single_substitution_is_rejected(pair: tuple[str, str]) -> None:
    # GB 32100 weights are 3**i mod 31, all non-zero mod the prime 31: no substitution goes unseen.
    _, mutated = pair
    with pytest.raises(InvalidIdentifier):
        validate_uscc(mutated)
    assert not is_valid_uscc(mutated)


@pytest.mark.parametrize("code", ["91110000600037341L", "121200004013590816"])
def test_every_single_substitution_of_a_real_code_is_rejected(code: str) -> None:
    for position, original in enumerate(code):
        for replacement in USCC_ALPHABET.replace(original, ""):
            mutated = code[:position] + replacement + code[position + 1 :]
            assert not is_valid_uscc(mutated), mutated


@given(valid_uscc(), st.text(" \t\n", max_size=3), st.text(" \t\n", max_size=3))
def test_normalize_handles_case_and_whitespace(code: str, before: str, after: str) -> None:
    raw = before + code.lower() + after
    assert normalize_uscc(raw) == code
    assert validate_uscc(raw) == code


# --- resident identity number: real data and explicit failures ---------------------------------


@pytest.mark.parametrize("number", REAL_ID_NUMBERS)
def test_real_id_numbers_pass(number: str) -> None:
    assert validate_id_number(number, today=TODAY) == number
    assert is_valid_id_number(number.lower(), today=TODAY)


def test_id_number_normalizes_lower_case_x_and_whitespace() -> None:
    assert validate_id_number(" 44011320141005001x\t", today=TODAY) == "44011320141005001X"


def test_id_number_check_char_uses_x_for_ten() -> None:
    assert id_number_check_char("44011320141005001") == "X"
    _raises("length", id_number_check_char, "4401132014100500")
    _raises("character", id_number_check_char, "4401132014100500X")


def _id_failure(reason: str, number: str) -> str:
    error = _raises(reason, validate_id_number, number, today=TODAY)
    message = str(error)
    assert number not in message
    _assert_no_leak(number, message, run=4)
    assert not is_valid_id_number(number, today=TODAY)
    return message


def test_id_wrong_length() -> None:
    _id_failure("length", "36042619910101007")
    _id_failure("length", "3604261991010100711")


def test_id_non_digit() -> None:
    _id_failure("character", "36042619910101O071")
    _id_failure("character", "36042619910101007Y")
    # Full-width digits are digits to str.isdigit, but never part of an identity number.
    _id_failure("character", "３60426199101010071")


def test_id_unknown_province() -> None:
    _id_failure("division", _id_with_check("99042619911201007"))
    _id_failure("division", _id_with_check("00042619911201007"))


def test_id_impossible_date() -> None:
    message = _id_failure("birth_date", _id_with_check("11010519990231002"))
    assert "not a real date" in message
    _id_failure("birth_date", _id_with_check("36042619911301007"))


def test_id_future_birth_date() -> None:
    tomorrow = TODAY + datetime.timedelta(days=1)
    message = _id_failure("birth_date", _id_with_check(f"110105{tomorrow:%Y%m%d}002"))
    assert "future" in message
    assert is_valid_id_number(_id_with_check(f"110105{TODAY:%Y%m%d}002"), today=TODAY)


def test_id_year_before_1900() -> None:
    _id_failure("birth_date", _id_with_check("11010518991231002"))
    assert is_valid_id_number(_id_with_check("11010519000101002"), today=TODAY)


def test_id_bad_check_char() -> None:
    message = _id_failure("check_character", "36042619910102009X")
    assert "check character" in message
    _id_failure("check_character", "360426199101010072")


def test_make_id_number_rejects_bad_parts() -> None:
    born = datetime.date(1991, 1, 1)
    assert make_id_number(division="360426", birth_date=born, sequence=7) == "360426199101010071"
    _raises("division", make_id_number, division="990426", birth_date=born, sequence=7)
    _raises("division", make_id_number, division="36042", birth_date=born, sequence=7)
    _raises("sequence", make_id_number, division="360426", birth_date=born, sequence=1000)
    _raises("sequence", make_id_number, division="360426", birth_date=born, sequence=-1)
    early = datetime.date(1899, 12, 31)
    _raises("birth_date", make_id_number, division="360426", birth_date=early, sequence=7)


# --- resident identity number: properties ------------------------------------------------------


@pytest.mark.parametrize("number", REAL_ID_NUMBERS)
def test_every_single_substitution_of_a_real_id_number_is_rejected(number: str) -> None:
    for position, original in enumerate(number):
        alphabet = DIGITS + "X" if position == 17 else DIGITS
        for replacement in alphabet.replace(original, ""):
            mutated = number[:position] + replacement + number[position + 1 :]
            assert not is_valid_id_number(mutated, today=TODAY)


@given(valid_id_number())
def test_made_id_numbers_validate(number: str) -> None:
    assert validate_id_number(number, today=TODAY) == number


@given(substituted(valid_id_number(), DIGITS))
def test_any_single_id_substitution_is_rejected_without_leaking(pair: tuple[str, str]) -> None:
    # ISO 7064 MOD 11-2 weights are 2**k mod 11, all non-zero mod the prime 11.
    original, mutated = pair
    with pytest.raises(InvalidIdentifier) as caught:
        validate_id_number(mutated, today=TODAY)
    for number in (original, mutated):
        _assert_no_leak(number, str(caught.value), run=6)
