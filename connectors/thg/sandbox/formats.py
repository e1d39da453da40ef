"""Value formats of the THG API: RFC 3339 times, GTINs and money."""

import datetime as dt
from decimal import Decimal

from django.utils import timezone

GTIN_LENGTH = 14
UPC_MIN_LENGTH = 8


def format_time(value: dt.datetime) -> str:
    """Format ``value`` as RFC 3339 in UTC, to the second (``...T10:15:00Z``)."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> dt.datetime:
    """Parse an RFC 3339 time with an offset; raise ValueError otherwise."""
    if not isinstance(text, str) or "T" not in text.upper():
        raise ValueError(text)
    value = dt.datetime.fromisoformat(text.replace("z", "Z"))
    if value.tzinfo is None:
        raise ValueError(text)
    return value.astimezone(dt.UTC)


def whole_second(value: dt.datetime) -> dt.datetime:
    return value.replace(microsecond=0)


def next_update_time(previous: dt.datetime | None) -> dt.datetime:
    """Return the ``updated_at`` for a change made now.

    Times are shown to the second, so a change within the same second as
    ``previous`` moves one second past it. A client then always finds the
    update newer than the state before it.
    """
    now = whole_second(timezone.now())
    if previous is not None and now <= previous:
        return previous + dt.timedelta(seconds=1)
    return now


def gtin14(upc: str) -> str:
    """Return ``upc`` left-padded to 14 digits, the form UPCs compare in."""
    return upc.strip().zfill(GTIN_LENGTH)


def is_upc_text(value) -> bool:
    return (
        isinstance(value, str)
        and value.isdigit()
        and UPC_MIN_LENGTH <= len(value) <= GTIN_LENGTH
    )


def check_digit(body: str) -> int:
    """Return the GS1 check digit for the digits before it."""
    total = 0
    for position, digit in enumerate(reversed(body)):
        weight = 3 if position % 2 == 0 else 1
        total += int(digit) * weight
    return (10 - total % 10) % 10


def with_check_digit(body: str) -> str:
    return body + str(check_digit(body))


def money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))
