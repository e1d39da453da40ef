"""Shared pieces of the views that channels call: size limits, storing events,
and the throttle on failed authentication.

Every inbound endpoint checks the body size and the caller's credentials
before it parses anything, stores the raw event once by the channel's id,
answers at once, and leaves the processing to a django-q2 task.
:class:`FailedAuthThrottleMiddleware` returns 429 to a client that keeps
failing an endpoint's authentication, before the view runs.
"""

import logging
import math
import time

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.http import HttpRequest, JsonResponse

from .models import Connector, InboundEvent

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024


class BodyTooLarge(Exception):
    pass


def read_body(request: HttpRequest, limit: int = MAX_BODY_BYTES) -> bytes:
    """Return the raw body; raise :class:`BodyTooLarge` past ``limit`` bytes."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise BodyTooLarge
    body = request.read(limit + 1)
    if len(body) > limit:
        raise BodyTooLarge
    return body


def store_event(
    connector: Connector, external_id: str, event_type: str, body: bytes
) -> tuple[InboundEvent, bool]:
    """Store an event once by its id; return it and whether it was new.

    A new event's processing task is queued when the transaction commits.
    """
    try:
        with transaction.atomic():
            event = InboundEvent.objects.create(
                connector=connector,
                external_id=external_id[:200],
                event_type=event_type[:100],
                body=body.decode("utf-8", errors="replace"),
            )
    except IntegrityError:
        existing = InboundEvent.objects.get(
            connector=connector, external_id=external_id
        )
        return existing, False
    transaction.on_commit(lambda: queue_processing(event.pk))
    return event, True


def queue_processing(event_id: int) -> None:
    from django_q.tasks import async_task

    async_task(
        "connectors.events.process_event", event_id, task_name=f"event-{event_id}"
    )


#: URL names of the endpoints that channels and warehouses call, with their
#: own authentication: the only views exempt from CSRF outside the sandbox.
INBOUND_URL_NAMES = frozenset(
    {
        "thg:events",
        "tiktok:webhooks",
        "warehouse_api:stock-snapshots",
        "warehouse_api:shipments",
        "warehouse_api:fulfillments",
    }
)


def _failure_key(request: HttpRequest) -> str:
    # NOTE: REMOTE_ADDR is the proxy's address behind a reverse proxy; the
    # counters are then shared by every client behind it.
    client = request.META.get("REMOTE_ADDR", "")
    return f"inbound-auth-failures:{client}:{request.path}"


def blocked_for(key: str) -> int:
    """Return the seconds left in the block on ``key``, 0 when not blocked."""
    if (cache.get(key) or 0) < settings.INBOUND_AUTH_FAILURE_LIMIT:
        return 0
    window_ends = cache.get(f"{key}:ends") or 0
    return max(1, math.ceil(window_ends - time.time()))


def record_failure(key: str) -> int:
    """Count one failed authentication in the key's window; return the count.

    The window starts at the first failure and lasts
    ``INBOUND_AUTH_FAILURE_WINDOW`` seconds; the count expires with it.
    """
    window = settings.INBOUND_AUTH_FAILURE_WINDOW
    if cache.add(key, 0, timeout=window):
        cache.set(f"{key}:ends", time.time() + window, timeout=window)
    try:
        return cache.incr(key)
    except ValueError:
        # The count expired between add() and incr(): start a new window.
        cache.set(key, 1, timeout=window)
        cache.set(f"{key}:ends", time.time() + window, timeout=window)
        return 1


class FailedAuthThrottleMiddleware:
    """Slow down repeated failed authentication on the inbound endpoints.

    A 401 from one of :data:`INBOUND_URL_NAMES` counts against the client
    IP and the path in Django's cache. Once ``INBOUND_AUTH_FAILURE_LIMIT``
    failures fall in one window, the endpoint returns 429 with Retry-After
    until the window ends, without running the view, so no credential is
    checked and no body is read.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        key = getattr(request, "_auth_failure_key", None)
        if key is not None and response.status_code == 401:
            count = record_failure(key)
            if count == settings.INBOUND_AUTH_FAILURE_LIMIT:
                logger.warning(
                    "Inbound endpoint %s: %d failed authentications from %s; "
                    "returning 429 for %d seconds",
                    request.path,
                    count,
                    request.META.get("REMOTE_ADDR", ""),
                    settings.INBOUND_AUTH_FAILURE_WINDOW,
                )
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if match is None or match.view_name not in INBOUND_URL_NAMES:
            return None
        key = _failure_key(request)
        request._auth_failure_key = key
        seconds = blocked_for(key)
        if not seconds:
            return None
        response = JsonResponse(
            {
                "error": {
                    "code": "too_many_failed_authentications",
                    "message": "Too many failed authentications from this "
                    f"address; retry after {seconds} seconds with valid "
                    "credentials.",
                }
            },
            status=429,
        )
        response["Retry-After"] = str(seconds)
        return response
