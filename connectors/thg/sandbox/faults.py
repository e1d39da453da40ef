"""Fault mode: seeded random faults, expiring tokens and a rate limit.

Every call that takes part in fault mode gets the next number of the
account's ``request_count``. Whether call number ``n`` is faulty, and with
which kind, depends only on the fault settings and ``n``, so a run with the
same settings and the same sequence of calls injects the same faults.
"""

import logging
import random
import time
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F

from .errors import APIError
from .models import (
    FAULT_INTERNAL_ERROR,
    FAULT_KINDS,
    FAULT_RATE_LIMITED,
    FAULT_RETRY_AFTER,
    FAULT_SLOW_RESPONSE,
    FAULT_TOO_MANY_REQUESTS,
    RANDOM_FAULT_KINDS,
    SandboxAccount,
    SandboxFaultCount,
    SandboxToken,
)

logger = logging.getLogger(__name__)

#: Faults that replace the response; the others change a real response.
REPLACING_FAULTS = (FAULT_RETRY_AFTER, FAULT_TOO_MANY_REQUESTS, FAULT_INTERNAL_ERROR)


@dataclass(frozen=True)
class Admission:
    """The fault mode decision for one call: a fault kind, or None."""

    fault: str | None = None
    slow_seconds: float = 0.0


def configure_faults(
    account: SandboxAccount,
    *,
    rate: float = 0.0,
    seed: int = 0,
    kinds: list[str] | tuple[str, ...] = RANDOM_FAULT_KINDS,
    slow_seconds: float = 3.0,
    token_endpoint: bool = False,
    token_lifetime_calls: int = 0,
    rate_limit_per_second: int = 0,
) -> SandboxAccount:
    """Set the account's fault mode and reset its call and fault counters.

    ``rate`` is the share of calls (0 to 1) that get one of ``kinds``, chosen
    with equal weight. ``token_lifetime_calls`` makes each token expire after
    that many API calls, and ``rate_limit_per_second`` returns 429
    TooManyRequests above that many calls a second. Zero turns each off.
    Random faults reach the token call only with ``token_endpoint``.
    """
    unknown = sorted(set(kinds) - set(RANDOM_FAULT_KINDS))
    if unknown:
        raise ValueError(
            f"Unknown fault kinds {unknown}: use some of {list(RANDOM_FAULT_KINDS)}."
        )
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"Fault rate {rate} is out of range: use 0 to 1.")
    account.fault_rate = rate
    account.fault_seed = seed
    account.fault_kinds = list(kinds)
    account.fault_slow_seconds = slow_seconds
    account.fault_token_endpoint = token_endpoint
    account.token_lifetime_calls = token_lifetime_calls
    account.rate_limit_per_second = rate_limit_per_second
    account.request_count = 0
    account.rate_window_second = 0
    account.rate_window_count = 0
    account.save()
    SandboxFaultCount.objects.filter(account=account).delete()
    SandboxToken.objects.filter(account=account).update(api_calls=0)
    logger.info(
        "THG sandbox account %s: fault mode set (rate %s, seed %s, kinds %s, "
        "token lifetime %s calls, rate limit %s/s)",
        account,
        rate,
        seed,
        ",".join(kinds),
        token_lifetime_calls,
        rate_limit_per_second,
    )
    return account


def fault_counts(account: SandboxAccount) -> dict[str, int]:
    """Return the number of faults injected per kind, zeros included."""
    counts = dict.fromkeys(FAULT_KINDS, 0)
    for row in SandboxFaultCount.objects.filter(account=account):
        counts[row.kind] = row.count
    return counts


def record_fault(account: SandboxAccount, kind: str) -> None:
    SandboxFaultCount.objects.get_or_create(account=account, kind=kind)
    SandboxFaultCount.objects.filter(account=account, kind=kind).update(
        count=F("count") + 1
    )
    logger.info("THG sandbox account %s: injected fault %s", account, kind)


def draw_fault(seed: int, number: int, rate: float, kinds: list[str]) -> str | None:
    """Return the fault kind for call ``number``, or None for a normal call."""
    if rate <= 0 or not kinds:
        return None
    rng = random.Random(f"{seed}:{number}")
    if rng.random() >= rate:
        return None
    return kinds[rng.randrange(len(kinds))]


def admit(account: SandboxAccount, *, token_call: bool = False) -> Admission:
    """Count one call, apply the rate limit and draw its fault.

    Raises a 429 :class:`APIError` when the rate limit is exceeded. Locks the
    account row while it moves the counters, so concurrent calls each get
    their own number.
    """
    if token_call and not account.fault_token_endpoint:
        return Admission()
    if not (account.fault_rate > 0 or account.rate_limit_per_second):
        return Admission()

    with transaction.atomic():
        locked = SandboxAccount.objects.select_for_update().get(pk=account.pk)
        locked.request_count += 1
        limited = _count_in_rate_window(locked) if not token_call else False
        locked.save(
            update_fields=["request_count", "rate_window_second", "rate_window_count"]
        )

    if limited:
        record_fault(account, FAULT_RATE_LIMITED)
        raise APIError(
            429,
            "TooManyRequests",
            f"More than {locked.rate_limit_per_second} requests a second for "
            f"client {account.client_id}. Wait for the seconds in Retry-After.",
            headers={"Retry-After": "1"},
        )

    kinds = [kind for kind in locked.fault_kinds if kind in RANDOM_FAULT_KINDS]
    fault = draw_fault(
        locked.fault_seed, locked.request_count, locked.fault_rate, kinds
    )
    if fault is None:
        return Admission()
    record_fault(account, fault)
    return Admission(fault=fault, slow_seconds=locked.fault_slow_seconds)


def _count_in_rate_window(account: SandboxAccount) -> bool:
    """Count the call in the current one-second window; return True if over."""
    limit = account.rate_limit_per_second
    if not limit:
        return False
    second = int(time.time())
    if account.rate_window_second != second:
        account.rate_window_second = second
        account.rate_window_count = 0
    account.rate_window_count += 1
    return account.rate_window_count > limit


def replacement_error(fault: str) -> APIError:
    """Return the error response that replaces a call for ``fault``."""
    if fault == FAULT_RETRY_AFTER:
        return APIError(
            429,
            "TooManyRequests",
            "Too many requests. Wait for the seconds in Retry-After.",
            headers={"Retry-After": "1"},
        )
    if fault == FAULT_TOO_MANY_REQUESTS:
        return APIError(429, "TooManyRequests", "Too many requests. Try again later.")
    if fault == FAULT_INTERNAL_ERROR:
        return APIError(500, "InternalError", "Internal error. Try again later.")
    raise ValueError(f"Fault {fault!r} does not replace the response.")


def slow_down(admission: Admission) -> None:
    if admission.fault == FAULT_SLOW_RESPONSE and admission.slow_seconds > 0:
        time.sleep(admission.slow_seconds)


def truncate(content: bytes) -> bytes:
    """Cut a response body in half, which leaves JSON that does not parse."""
    return content[: len(content) // 2]
