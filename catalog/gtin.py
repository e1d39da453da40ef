"""GTIN (UPC/EAN) validation and the one canonical form the hub stores.

UPC-A (12 digits), EAN-13 and GTIN-14 are one code written at different
lengths: left-padded with zeros to 14 digits they compare equal. The hub
stores GTIN-14 and sends channels the 13-digit form where the code allows it.
"""

import re
from decimal import Decimal
from math import isfinite

CANONICAL_LENGTH = 14
VALID_LENGTHS = (8, 12, 13, 14)
# A number that lost its leading zeros: a 12-digit UPC-A or a 13-digit EAN
# whose first digits were zeros, read back as a number by a spreadsheet.
LOST_ZEROS_LENGTHS = range(9, 12)
_SCIENTIFIC = re.compile(r"^[+-]?\d+(?:[.,]\d*)?[eE][+-]?\d+$")
# A spreadsheet number written out as text: "5012345678900.0".
_WHOLE_NUMBER_WITH_DECIMALS = re.compile(r"^(\d+)[.,]0+$")


class InvalidGTIN(ValueError):
    """An invalid GTIN value. The message states the reason and the fix."""


def check_digit(body: str) -> int:
    """Return the GS1 check digit for the digits before it."""
    total = 0
    for position, digit in enumerate(reversed(body)):
        weight = 3 if position % 2 == 0 else 1
        total += int(digit) * weight
    return (10 - total % 10) % 10


def _as_text(value) -> str:
    """Return the digits of a cell value, whether it is text or a number.

    Spreadsheet readers return numeric cells as int or float (openpyxl does),
    so 5012345678900 may arrive as the float 5012345678900.0. Every GTIN is
    below 10**14, well inside the range where a float represents every
    integer exactly, so a float without a fractional part converts without loss.
    """
    if isinstance(value, bool):
        raise InvalidGTIN(f"{value!r} is not a GTIN: it must contain digits only.")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float | Decimal):
        finite = value.is_finite() if isinstance(value, Decimal) else isfinite(value)
        if not finite:
            raise InvalidGTIN(f"{value!r} is not a GTIN: it must contain digits only.")
        if value != int(value):
            raise InvalidGTIN(
                f"{value!r} is not a GTIN: it has a fractional part. "
                "A GTIN contains digits only."
            )
        return str(int(value))
    text = str(value).strip()
    whole = _WHOLE_NUMBER_WITH_DECIMALS.match(text)
    if whole:
        return whole.group(1)
    return text


def normalize(value) -> str:
    """Return ``value`` as a 14-digit GTIN, or raise :class:`InvalidGTIN`.

    ``value`` may be text or a number (int, float or Decimal). Text in
    scientific notation ("5.01235E+12") is rejected because its digits are
    lost, and so is a number of 9 to 11 digits, which is what a UPC or EAN
    becomes when a spreadsheet drops its leading zeros.
    """
    if isinstance(value, str) and _SCIENTIFIC.match(value.strip()):
        raise InvalidGTIN(
            f"{value.strip()!r} is in scientific notation, so its digits are "
            "lost. Format the column as text in the spreadsheet, enter the "
            "codes again and export again."
        )
    text = _as_text(value)
    if not text:
        raise InvalidGTIN("The GTIN is empty.")
    if not text.isdigit() or not text.isascii():
        raise InvalidGTIN(f"{text!r} is not a GTIN: it must contain digits only.")
    if len(text) not in VALID_LENGTHS:
        if len(text) in LOST_ZEROS_LENGTHS:
            raise InvalidGTIN(
                f"{text!r} has {len(text)} digits; a UPC has 12 and an EAN 13. "
                "It looks like a code that lost its leading zeros: format the "
                "column as text so the zeros are kept, and enter the full code."
            )
        raise InvalidGTIN(
            f"{text!r} has {len(text)} digits; a GTIN has 8, 12, 13 or 14."
        )
    if check_digit(text[:-1]) != int(text[-1]):
        raise InvalidGTIN(
            f"{text!r} has an invalid check digit (expected "
            f"{check_digit(text[:-1])}). Check the value for a typing error."
        )
    return text.zfill(CANONICAL_LENGTH)


def is_valid(value) -> bool:
    """Return whether ``value`` is a valid GTIN in any of its lengths."""
    try:
        normalize(value)
    except InvalidGTIN:
        return False
    return True


def as_ean13(gtin14: str) -> str:
    """Return the 13-digit form of a canonical GTIN when it has one."""
    if len(gtin14) == CANONICAL_LENGTH and gtin14.startswith("0"):
        return gtin14[1:]
    return gtin14
