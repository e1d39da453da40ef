"""GTIN (UPC/EAN) validation and the one canonical form the hub stores.

UPC-A (12 digits), EAN-13 and GTIN-14 are one code written at different
lengths: left-padded with zeros to 14 digits they compare equal. The hub
stores GTIN-14 and sends channels the 13-digit form where the code allows it.
"""

import re

CANONICAL_LENGTH = 14
VALID_LENGTHS = (8, 12, 13, 14)
_SCIENTIFIC = re.compile(r"^\d+(?:[.,]\d+)?[eE][+-]?\d+$")


class InvalidGTIN(ValueError):
    """A value that is not a valid GTIN; the message says why and what to do."""


def check_digit(body: str) -> int:
    """Return the GS1 check digit for the digits before it."""
    total = 0
    for position, digit in enumerate(reversed(body)):
        weight = 3 if position % 2 == 0 else 1
        total += int(digit) * weight
    return (10 - total % 10) % 10


def normalize(value) -> str:
    """Return ``value`` as a 14-digit GTIN, or raise :class:`InvalidGTIN`."""
    text = str(value).strip()
    if _SCIENTIFIC.match(text):
        raise InvalidGTIN(
            f"{text!r} is in scientific notation, so its digits are lost. "
            "Format the column as text in the spreadsheet and export again."
        )
    if text.endswith(".0") and text[:-2].isdigit():
        # A spreadsheet number cell: 5012345678900.0.
        text = text[:-2]
    if not text.isdigit():
        raise InvalidGTIN(f"{text!r} is not a GTIN: it must contain digits only.")
    if len(text) not in VALID_LENGTHS:
        if 9 <= len(text) <= 11:
            raise InvalidGTIN(
                f"{text!r} has {len(text)} digits; a UPC has 12 and an EAN 13. "
                "It looks like a code that lost its leading zeros: format the "
                "column as text so the zeros are kept."
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
