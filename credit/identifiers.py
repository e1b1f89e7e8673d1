"""Identifiers of credit subjects: unified social credit codes and resident identity numbers.

A unified social credit code (统一社会信用代码, GB 32100-2015) names an organisation; a resident
identity number (公民身份号码, GB 11643-1999) names a person. Validation errors about identity
numbers never repeat the number: it is personal data and error messages reach logs.
"""

from __future__ import annotations

import datetime
from collections.abc import Collection

from credit.registration_types import RegistrationType, lookup

__all__ = [
    "USCC_ALPHABET",
    "InvalidIdentifier",
    "id_number_check_char",
    "is_valid_id_number",
    "is_valid_uscc",
    "make_id_number",
    "make_uscc",
    "normalize_uscc",
    "org_code_check_char",
    "registration_type_of",
    "uscc_check_char",
    "validate_id_number",
    "validate_uscc",
]


class InvalidIdentifier(ValueError):
    """A malformed identifier; the message says what is wrong, `reason` is a short machine code."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason

    def __reduce__(self) -> tuple[type[InvalidIdentifier], tuple[str, str]]:
        # The default reduce passes only `args` (the message) and would lose `reason`.
        return type(self), (str(self), self.reason)


_DIGITS = "0123456789"

# GB 32100-2015: 18 characters from the digits and the capital letters except I, O, Z, S, V.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE = {char: value for value, char in enumerate(USCC_ALPHABET)}
_USCC_LENGTH = 18
# GB 32100-2015 check character (GB/T 17710, modulus 31): position i weighs 3**i mod 31.
_USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(_USCC_LENGTH - 1))
_USCC_NAME = "unified social credit code"

# GB 11714-1997: an organisation code is an 8-character body of digits and capital letters
# followed by a check character, MOD 11 with these weights; 10 is written X.
_ORG_CODE_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)

_ID_LENGTH = 18
# GB 11643-1999: ISO 7064 MOD 11-2, the weight of position i (from the left) is 2**(17 - i) mod 11.
_ID_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(_ID_LENGTH - 1))
_ID_NAME = "resident identity number (公民身份号码)"
_EARLIEST_BIRTH_DATE = datetime.date(1900, 1, 1)
# GB/T 2260: the province-level division codes; 71 Taiwan, 81 Hong Kong, 82 Macao.
_PROVINCE_CODES = frozenset(
    (
        *("11", "12", "13", "14", "15"),
        *("21", "22", "23"),
        *("31", "32", "33", "34", "35", "36", "37"),
        *("41", "42", "43", "44", "45", "46"),
        *("50", "51", "52", "53", "54"),
        *("61", "62", "63", "64", "65"),
        *("71", "81", "82"),
    )
)


def _shown(raw: str) -> str:
    """The input as quoted in a message: as typed if plain, else repr, and never unbounded."""
    clipped = raw if len(raw) <= 40 else raw[:40] + "…"
    return clipped if clipped and clipped.isalnum() else repr(clipped)


def _uscc_error(code: str, problem: str, reason: str) -> InvalidIdentifier:
    return InvalidIdentifier(
        f"{_shown(code)} is not a valid {_USCC_NAME}: {problem}", reason=reason
    )


def _is_digits(text: str) -> bool:
    # str.isdigit also accepts full-width and other Unicode digits, which no code uses.
    return all(char in _DIGITS for char in text)


def uscc_check_char(first17: str) -> str:
    """The GB 32100-2015 check character for the first 17 characters of a code."""
    if len(first17) != _USCC_LENGTH - 1:
        raise _uscc_error(
            first17,
            f"the check character is computed from 17 characters, not {len(first17)}",
            "length",
        )
    for position, char in enumerate(first17, start=1):
        if char not in _USCC_VALUE:
            raise _uscc_error(first17, _bad_uscc_char(position, char), "character")
    total = sum(
        _USCC_VALUE[char] * weight for char, weight in zip(first17, _USCC_WEIGHTS, strict=True)
    )
    return USCC_ALPHABET[-total % 31]


def org_code_check_char(first8: str) -> str:
    """The GB 11714-1997 organisation code check character ("0"-"9" or "X") of an 8-char body."""
    if len(first8) != len(_ORG_CODE_WEIGHTS):
        raise InvalidIdentifier(
            f"{_shown(first8)} is not an organisation code body (组织机构代码本体代码): "
            f"it must have 8 characters, not {len(first8)}",
            reason="length",
        )
    for position, char in enumerate(first8, start=1):
        if char not in _ORG_CODE_ALPHABET:
            raise InvalidIdentifier(
                f"{_shown(first8)} is not an organisation code body (组织机构代码本体代码): "
                f"character {position} is {char!r}; only digits and capital letters are allowed",
                reason="character",
            )
    total = sum(
        _ORG_CODE_ALPHABET.index(char) * weight
        for char, weight in zip(first8, _ORG_CODE_WEIGHTS, strict=True)
    )
    check = -total % 11
    return "X" if check == 10 else str(check)


def normalize_uscc(raw: str) -> str:
    """The code without surrounding whitespace, in capitals."""
    return raw.strip().upper()


def _bad_uscc_char(position: int, char: str) -> str:
    return (
        f"character {position} is {char!r}, which a {_USCC_NAME} never contains "
        "(only digits and capital letters other than I, O, Z, S and V are used)"
    )


def _structure_error(code: str) -> InvalidIdentifier | None:
    """The first registration type, division or check character error of an 18-char code."""
    if lookup(code[:2]) is None:
        return _uscc_error(
            code,
            f"its first two characters {code[:2]} are not a registration authority and "
            "organisation type listed in GB 32100-2015",
            "registration_type",
        )
    if not _is_digits(code[2:8]):
        return _uscc_error(
            code,
            f"characters 3 to 8 ({code[2:8]}) must be digits: they are the administrative "
            "division code of the registration authority",
            "division",
        )
    # The GB 11714 check character of the organisation code (position 17) is not enforced:
    # python-stdnum does not check it either, and the GB 32100 check character already catches
    # every single-character error; refusing a registered code on a secondary check costs more.
    expected = uscc_check_char(code[:17])
    if code[17] != expected:
        return _uscc_error(
            code,
            f"its check character should be {expected}, not {code[17]}",
            "check_character",
        )
    return None


def _is_allowed(code: str, legacy_allowed: Collection[str]) -> bool:
    if isinstance(legacy_allowed, str):
        # A lone string is a Collection[str] of its characters, and `in` would match substrings.
        legacy_allowed = (legacy_allowed,)
    return code in legacy_allowed or any(normalize_uscc(item) == code for item in legacy_allowed)


def validate_uscc(raw: str, *, legacy_allowed: Collection[str] = ()) -> str:
    """The normalized code, or InvalidIdentifier saying what is wrong with it."""
    code = normalize_uscc(raw)
    if len(code) != _USCC_LENGTH:
        raise _uscc_error(
            code, f"it has {len(code)} characters, a {_USCC_NAME} has exactly 18", "length"
        )
    for position, char in enumerate(code, start=1):
        if char not in _USCC_VALUE:
            raise _uscc_error(code, _bad_uscc_char(position, char), "character")
    error = _structure_error(code)
    # Early pilot regions issued codes before the national rules were final; the operator keeps
    # a list of those that are legally valid, and they stay valid as issued. It is only consulted
    # for a failing code, so that valid codes never pay for scanning it.
    if error is not None and not _is_allowed(code, legacy_allowed):
        raise error
    return code


def is_valid_uscc(raw: str, *, legacy_allowed: Collection[str] = ()) -> bool:
    """Whether `raw` is a valid unified social credit code."""
    try:
        validate_uscc(raw, legacy_allowed=legacy_allowed)
    except InvalidIdentifier:
        return False
    return True


def make_uscc(*, authority: str, org_type: str, division: str, org_code_body: str) -> str:
    """A valid unified social credit code built from its parts."""
    prefix = authority + org_type
    if len(authority) != 1 or len(org_type) != 1 or lookup(prefix) is None:
        raise InvalidIdentifier(
            f"authority {authority!r} with organisation type {org_type!r} is not a registration "
            "type listed in GB 32100-2015",
            reason="registration_type",
        )
    if len(division) != 6 or not _is_digits(division):
        raise InvalidIdentifier(
            f"the administrative division code must be 6 digits, not {division!r}",
            reason="division",
        )
    if len(org_code_body) != 8:
        raise InvalidIdentifier(
            f"the organisation code body must have 8 characters, not {len(org_code_body)}",
            reason="length",
        )
    for position, char in enumerate(org_code_body, start=1):
        if char not in _USCC_VALUE:
            raise InvalidIdentifier(
                f"character {position} of the organisation code body is {char!r}, which a "
                f"{_USCC_NAME} never contains",
                reason="character",
            )
    first17 = prefix + division + org_code_body + org_code_check_char(org_code_body)
    return first17 + uscc_check_char(first17)


def registration_type_of(uscc: str) -> RegistrationType | None:
    """The registration authority and organisation type named by a code's first two characters."""
    return lookup(normalize_uscc(uscc)[:2])


def id_number_check_char(first17: str) -> str:
    """The GB 11643-1999 check character ("0"-"9" or "X") for the first 17 digits."""
    if len(first17) != _ID_LENGTH - 1 or not _is_digits(first17):
        raise InvalidIdentifier(
            f"the check character of a {_ID_NAME} is computed from exactly 17 digits",
            reason="length" if len(first17) != _ID_LENGTH - 1 else "character",
        )
    total = sum(int(digit) * weight for digit, weight in zip(first17, _ID_WEIGHTS, strict=True))
    check = (1 - total) % 11
    return "X" if check == 10 else str(check)


def _id_error(problem: str, reason: str) -> InvalidIdentifier:
    # Deliberately says nothing of the number itself: see the module docstring.
    return InvalidIdentifier(f"the {_ID_NAME} {problem}", reason=reason)


def validate_id_number(raw: str, *, today: datetime.date | None = None) -> str:
    """The normalized identity number, or InvalidIdentifier saying (never quoting) what is wrong."""
    number = raw.strip().upper()
    if len(number) != _ID_LENGTH:
        raise _id_error(f"must have 18 characters, not {len(number)}", "length")
    for position, char in enumerate(number[:17], start=1):
        if char not in _DIGITS:
            raise _id_error(
                f"has a character other than a digit at position {position}", "character"
            )
    if number[17] not in _DIGITS and number[17] != "X":
        raise _id_error("must end with a digit or X", "character")
    if number[:2] not in _PROVINCE_CODES:
        raise _id_error("does not start with a province-level division code", "division")
    year, month, day = int(number[6:10]), int(number[10:12]), int(number[12:14])
    try:
        birth_date = datetime.date(year, month, day)
    except ValueError:
        raise _id_error("has a birth date that is not a real date", "birth_date") from None
    if birth_date < _EARLIEST_BIRTH_DATE:
        raise _id_error("has a birth date before 1900", "birth_date")
    if birth_date > (today if today is not None else datetime.date.today()):
        raise _id_error("has a birth date in the future", "birth_date")
    if number[17] != id_number_check_char(number[:17]):
        raise _id_error(
            "has a wrong check character; a digit may have been mistyped", "check_character"
        )
    return number


def is_valid_id_number(raw: str, *, today: datetime.date | None = None) -> bool:
    """Whether `raw` is a valid resident identity number."""
    try:
        validate_id_number(raw, today=today)
    except InvalidIdentifier:
        return False
    return True


def make_id_number(*, division: str, birth_date: datetime.date, sequence: int) -> str:
    """A valid resident identity number built from its parts, with its check character."""
    if len(division) != 6 or not _is_digits(division) or division[:2] not in _PROVINCE_CODES:
        raise InvalidIdentifier(
            "the division code must be 6 digits starting with a province-level code",
            reason="division",
        )
    if not _EARLIEST_BIRTH_DATE <= birth_date <= datetime.date.today():
        raise InvalidIdentifier(
            "the birth date must be between 1900-01-01 and today", reason="birth_date"
        )
    if not 0 <= sequence <= 999:
        raise InvalidIdentifier("the sequence number must be between 0 and 999", reason="sequence")
    first17 = f"{division}{birth_date:%Y%m%d}{sequence:03d}"
    return first17 + id_number_check_char(first17)
