"""The shared facts about codes, each written once: NPI check digits, bill types, ICD-10-CM dots.

Rules, adapters and the Hypothesis strategies all use these; none keeps a copy of its own.
"""

from __future__ import annotations

import functools
import re

__all__ = ["bill_type", "icd10_dotted", "npi_check_digit", "npi_is_valid"]

_TEN_DIGITS = re.compile(r"[0-9]{10}")
_NINE_DIGITS = re.compile(r"[0-9]{9}")
NPI_PREFIX = "80840"
"""The ISO 7812 issuer prefix that the NPI check digit is computed with (CMS NPI standard)."""


def _luhn_sum(digits: str, *, doubled_first: bool) -> int:
    """The Luhn sum of ``digits`` read from the right; the rightmost is doubled if ``doubled_first``."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = ord(char) - 48
        if (position % 2 == 0) is doubled_first:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total


def npi_check_digit(first9: str) -> str:
    """The check digit that completes nine NPI digits (Luhn over ``80840`` + the nine digits).

    >>> npi_check_digit("123456789")
    '3'
    """
    if not _NINE_DIGITS.fullmatch(first9):
        raise ValueError("an NPI check digit completes exactly nine digits")
    return str(-_luhn_sum(NPI_PREFIX + first9, doubled_first=True) % 10)


@functools.lru_cache(maxsize=1 << 16)
def npi_is_valid(npi: str) -> bool:
    """Whether ``npi`` is 10 ASCII digits whose last digit is the Luhn check digit over ``80840`` + NPI.

    Cached: a batch repeats a few thousand NPIs, and the answer depends on the value alone.

    >>> npi_is_valid("1234567893"), npi_is_valid("1234567890"), npi_is_valid("123456789")
    (True, False, False)
    """
    if not _TEN_DIGITS.fullmatch(npi):
        return False
    return _luhn_sum(NPI_PREFIX + npi, doubled_first=False) % 10 == 0


def npi_is_ten_digits(npi: str) -> bool:
    """Whether ``npi`` is 10 ASCII digits (a wrong check digit, rather than a wrong length)."""
    return _TEN_DIGITS.fullmatch(npi) is not None


def bill_type(type_of_bill: str) -> str:
    """The bill-type digits of a type of bill: facility type and bill classification.

    A 4-digit UB-04 type of bill starts with a ``0`` that carries no meaning (``"0131"`` is ``"131"``);
    the first two remaining digits are the bill type (``"131"`` -> ``"13"``, ``"0711"`` -> ``"71"``).

    >>> bill_type("131"), bill_type("0711")
    ('13', '71')
    """
    if len(type_of_bill) == 4 and type_of_bill.startswith("0"):
        type_of_bill = type_of_bill[1:]
    return type_of_bill[:2]


def icd10_dotted(code: str) -> str:
    """An ICD-10-CM code as written with its dot (after the three-character category), upper case.

    837s and FHIR send codes without the dot; a code that has a dot, or is a category, is kept:
    ``"e1165"`` -> ``"E11.65"``, ``"E11.9"`` -> ``"E11.9"``, ``"E11"`` -> ``"E11"``.
    """
    code = code.strip().upper()
    if len(code) > 3 and "." not in code:
        return f"{code[:3]}.{code[3:]}"
    return code
