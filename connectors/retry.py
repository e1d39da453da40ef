"""Bounded retries with exponential back-off and jitter.

Used inside one sync run: a call that keeps failing with a
:class:`~connectors.errors.RetryableError` is tried a few times, waiting
``min(base * 2**n + jitter, cap)`` seconds, or the channel's ``Retry-After``
when it sent one, and then the error is raised for the run to fail.
"""

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings

from .errors import RetryableError

logger = logging.getLogger(__name__)

T = TypeVar("T")


def backoff_delay(attempt: int, retry_after: float | None = None) -> float:
    """Return the wait before retry number ``attempt`` (counted from 1)."""
    base = settings.CHANNEL_RETRY_BASE_DELAY
    cap = settings.CHANNEL_RETRY_MAX_DELAY
    if retry_after is not None:
        return min(max(retry_after, 0.0), cap)
    jitter = random.uniform(0, base)
    return min(base * 2 ** (attempt - 1) + jitter, cap)


def call_with_retries(
    call: Callable[[], T],
    *,
    description: str,
    attempts: int | None = None,
    sleep: Callable[[float], None] | None = None,
    on_retry: Callable[[RetryableError], None] | None = None,
) -> T:
    """Run ``call``, retrying it on :class:`RetryableError` up to ``attempts`` times."""
    attempts = attempts or settings.CHANNEL_RETRY_ATTEMPTS
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except RetryableError as exc:
            if attempt == attempts:
                raise
            delay = backoff_delay(attempt, exc.retry_after)
            logger.warning(
                "%s failed (%s), retry %d of %d in %.1f s",
                description,
                exc,
                attempt,
                attempts - 1,
                delay,
            )
            if on_retry is not None:
                on_retry(exc)
            (sleep or time.sleep)(delay)
    raise AssertionError("unreachable")
