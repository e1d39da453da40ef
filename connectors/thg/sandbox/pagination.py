"""List parameters and cursor pagination of ``/v1/orders`` and ``/v1/returns``.

Items are sorted by ``updated_at``, then id. The cursor is the URL-safe
base64 of the last item's ``[updated_at, id]``, and the next page starts
strictly after it. An item that changes while a client pages gets a later
``updated_at``, so it moves to the end of the list instead of being skipped.
"""

import base64
import binascii
import datetime as dt
import json
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils import timezone

from .errors import APIError, validation_error
from .formats import parse_time

DEFAULT_LIMIT = 50
MAX_LIMIT = 100
HISTORY_LIMIT = dt.timedelta(days=183)


@dataclass(frozen=True)
class ListParameters:
    updated_from: dt.datetime
    updated_to: dt.datetime | None
    limit: int
    after: tuple[dt.datetime, str] | None


def encode_cursor(updated_at: dt.datetime, item_id: str) -> str:
    raw = json.dumps([updated_at.isoformat(), item_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[dt.datetime, str]:
    """Return the ``(updated_at, id)`` in ``cursor``; raise ValueError if bad."""
    padded = cursor + "=" * (-len(cursor) % 4)
    try:
        updated_at_text, item_id = json.loads(base64.urlsafe_b64decode(padded))
        updated_at = dt.datetime.fromisoformat(updated_at_text)
    except (binascii.Error, UnicodeDecodeError, TypeError, ValueError) as exc:
        raise ValueError(cursor) from exc
    if updated_at.tzinfo is None or not isinstance(item_id, str):
        raise ValueError(cursor)
    return updated_at, item_id


def parse_list_parameters(query) -> ListParameters:
    """Check the query string of a list call.

    ``updated_from`` and ``updated_to`` are inclusive bounds. A missing
    ``updated_from`` means 183 days ago, the oldest that may be asked for.
    Raises a 400 :class:`APIError` naming the invalid parameter.
    """
    now = timezone.now()
    oldest = now - HISTORY_LIMIT
    updated_from = _time_parameter(query, "updated_from") or oldest
    if updated_from < oldest:
        raise APIError(
            400,
            "HistoryLimitExceeded",
            f"updated_from {query['updated_from']} is more than 183 days ago. "
            f"Use a time after {oldest:%Y-%m-%dT%H:%M:%SZ}.",
            pointer="/updated_from",
        )
    updated_to = _time_parameter(query, "updated_to")
    if updated_to is not None and updated_to < updated_from:
        raise validation_error(
            "/updated_to",
            f"updated_to {query['updated_to']} is before updated_from. "
            "Swap the two values.",
        )
    return ListParameters(
        updated_from=updated_from,
        updated_to=updated_to,
        limit=_limit_parameter(query),
        after=_after_parameter(query),
    )


def _time_parameter(query, name: str) -> dt.datetime | None:
    text = query.get(name)
    if text is None or text == "":
        return None
    try:
        return parse_time(text)
    except ValueError:
        raise validation_error(
            f"/{name}",
            f"{name} {text!r} is not an RFC 3339 time. Use a form like "
            "2026-11-30T10:15:00Z.",
        ) from None


def _limit_parameter(query) -> int:
    text = query.get("limit")
    if text is None or text == "":
        return DEFAULT_LIMIT
    limit = int(text) if text.isdigit() else 0
    if not 1 <= limit <= MAX_LIMIT:
        raise validation_error(
            "/limit",
            f"limit {text!r} is out of range. Use a whole number from 1 to "
            f"{MAX_LIMIT}.",
        )
    return limit


def _after_parameter(query) -> tuple[dt.datetime, str] | None:
    text = query.get("after")
    if text is None or text == "":
        return None
    try:
        return decode_cursor(text)
    except ValueError:
        raise validation_error(
            "/after",
            f"after {text!r} is not a cursor from this API. Pass meta.next "
            "from the previous page unchanged.",
        ) from None


def paginate(
    queryset: QuerySet, parameters: ListParameters, id_field: str
) -> tuple[list, str | None]:
    """Return one page of ``queryset`` and the cursor of the next, if any."""
    queryset = queryset.filter(updated_at__gte=parameters.updated_from)
    if parameters.updated_to is not None:
        queryset = queryset.filter(updated_at__lte=parameters.updated_to)
    if parameters.after is not None:
        updated_at, item_id = parameters.after
        queryset = queryset.filter(
            Q(updated_at__gt=updated_at)
            | Q(updated_at=updated_at, **{f"{id_field}__gt": item_id})
        )
    rows = list(queryset.order_by("updated_at", id_field)[: parameters.limit + 1])
    if len(rows) <= parameters.limit:
        return rows, None
    rows = rows[: parameters.limit]
    last = rows[-1]
    return rows, encode_cursor(last.updated_at, getattr(last, id_field))
