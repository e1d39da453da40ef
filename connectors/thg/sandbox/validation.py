"""Checks of request bodies; each failure is a 400 naming the field's pointer."""

import datetime as dt

from .errors import validation_error
from .formats import parse_time

MAX_REFERENCE_LENGTH = 200


def require_object(body) -> dict:
    if not isinstance(body, dict):
        raise validation_error(
            "", "The request body must be a JSON object. Send the fields as {...}."
        )
    return body


def required_string(
    body: dict,
    name: str,
    pointer_prefix: str = "",
    max_length: int = MAX_REFERENCE_LENGTH,
) -> str:
    value = body.get(name)
    pointer = f"{pointer_prefix}/{name}"
    if not isinstance(value, str) or not value.strip():
        raise validation_error(
            pointer, f"{name} is missing or empty. Send it as a non-empty string."
        )
    if len(value) > max_length:
        raise validation_error(
            pointer,
            f"{name} has {len(value)} characters; the maximum is {max_length}.",
        )
    return value


def optional_string(body: dict, name: str, max_length: int = 500) -> str:
    value = body.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise validation_error(
            f"/{name}", f"{name} must be a string, not {type(value).__name__}."
        )
    if len(value) > max_length:
        raise validation_error(
            f"/{name}",
            f"{name} has {len(value)} characters; the maximum is {max_length}.",
        )
    return value


def optional_time(body: dict, name: str) -> dt.datetime | None:
    value = body.get(name)
    if value is None:
        return None
    try:
        return parse_time(value)
    except (TypeError, ValueError):
        raise validation_error(
            f"/{name}",
            f"{name} {value!r} is not an RFC 3339 time. Use a form like "
            "2026-12-01T09:00:00Z.",
        ) from None


def is_whole_number(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def line_items(body: dict) -> list[dict]:
    """Check ``body["lines"]`` and return it.

    It must be a non-empty list of objects, each with a ``line_id`` string and
    a whole ``quantity`` of at least 1.
    """
    lines = body.get("lines")
    if not isinstance(lines, list) or not lines:
        raise validation_error(
            "/lines", "lines is missing or empty. Send at least one line."
        )
    for index, line in enumerate(lines):
        if not isinstance(line, dict):
            raise validation_error(
                f"/lines/{index}", f"Line {index} must be a JSON object."
            )
        required_string(line, "line_id", f"/lines/{index}", max_length=20)
        quantity = line.get("quantity")
        if not is_whole_number(quantity) or quantity < 1:
            raise validation_error(
                f"/lines/{index}/quantity",
                f"Line {index} quantity {quantity!r} is invalid. Send a whole "
                "number of at least 1.",
            )
    return lines
