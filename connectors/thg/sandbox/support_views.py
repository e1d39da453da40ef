"""The "THG support" page: each account's credentials, activity and actions.

No login: the page exists only where the sandbox is mounted (the demo and
tests). Forms keep Django's CSRF protection, unlike the fake API.
"""

import logging
from dataclasses import dataclass

from django.contrib import messages
from django.db.models import Count
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from connectors.crypto import mask

from . import services
from .errors import SandboxError
from .models import SandboxAccount, SandboxEvent, SandboxEventDelivery

logger = logging.getLogger(__name__)

RECENT_ROWS = 10
MAX_GENERATED = 100


@dataclass
class EventRow:
    event: SandboxEvent
    delivery_count: int
    last_delivery: SandboxEventDelivery | None


@dataclass
class AccountPanel:
    """The support page's data for one account."""

    account: SandboxAccount
    password_masked: str
    client_secret_masked: str
    order_counts: dict
    listing_count: int
    pending_event_count: int
    fault_counts: dict
    dispatches: list
    stock_updates: list
    returns: list
    events: list[EventRow]


def _event_rows(account: SandboxAccount) -> list[EventRow]:
    events = account.events.prefetch_related("deliveries").order_by("-pk")
    rows = []
    for event in events[:RECENT_ROWS]:
        deliveries = list(event.deliveries.all())
        rows.append(EventRow(event, len(deliveries), (deliveries or [None])[-1]))
    return rows


def _panel(account: SandboxAccount) -> AccountPanel:
    order_counts = dict(
        account.orders.values_list("status").annotate(total=Count("pk"))
    )
    return AccountPanel(
        account=account,
        password_masked=mask(account.hub_password),
        client_secret_masked=mask(account.client_secret),
        order_counts=order_counts,
        listing_count=account.listings.count(),
        pending_event_count=services.pending_events(account).count(),
        fault_counts=services.fault_counts(account),
        dispatches=list(
            account.dispatches.select_related("order").order_by("-pk")[:RECENT_ROWS]
        ),
        stock_updates=list(account.stock_updates.order_by("-pk")[:RECENT_ROWS]),
        returns=list(account.returns.order_by("-pk")[:RECENT_ROWS]),
        events=_event_rows(account),
    )


@require_GET
def support_page(request):
    panels = [_panel(account) for account in SandboxAccount.objects.order_by("pk")]
    return render(request, "thg_sandbox/support.html", {"panels": panels})


def _count(request) -> int:
    text = request.POST.get("count", "")
    count = int(text) if text.isdigit() else 0
    if not 1 <= count <= MAX_GENERATED:
        raise SandboxError(
            f"Count {text!r} is out of range: enter a whole number from 1 to "
            f"{MAX_GENERATED}."
        )
    return count


def _activate(request, account) -> str:
    deliveries = services.activate(account)
    if not deliveries:
        return (
            f"Connection {account} activated. The hub is not registered, so "
            "connection.activated stays pending."
        )
    status = deliveries[-1].status_code or deliveries[-1].error
    return f"Connection {account} activated; connection.activated sent ({status})."


def _generate_orders(request, account) -> str:
    count = _count(request)
    services.generate_orders(account, count)
    return f"Generated {count} orders for {account}; their events are pending."


def _generate_returns(request, account) -> str:
    count = _count(request)
    created = services.generate_returns(account, count)
    return f"Generated {len(created)} of {count} returns for {account}."


def _send_events(request, account) -> str:
    pending = services.pending_events(account).count()
    deliveries = services.send_pending_events(account)
    succeeded = sum(1 for delivery in deliveries if delivery.succeeded)
    if pending and not deliveries:
        return (
            f"{pending} events stay pending: the connection is inactive or the "
            "hub is not registered."
        )
    return f"Sent {len(deliveries)} events, {succeeded} accepted by the hub."


def _register_hub(request, account) -> str:
    events_url = request.POST.get("events_url", "").strip()
    username = request.POST.get("username", "").strip()
    password = request.POST.get("password", "")
    if not (events_url and username and password):
        raise SandboxError(
            "The events URL, username and password are all required: enter "
            "the three values the merchant sent."
        )
    services.register_hub(account, events_url, username, password)
    return f"Stored the hub's events URL and credentials for {account}."


ACTIONS = {
    "activate": _activate,
    "generate-orders": _generate_orders,
    "generate-returns": _generate_returns,
    "send-events": _send_events,
    "register-hub": _register_hub,
}


@require_POST
def support_action(request, account_pk: int, action: str):
    handler = ACTIONS.get(action)
    if handler is None:
        raise Http404(f"No support action {action!r}.")
    account = get_object_or_404(SandboxAccount, pk=account_pk)
    try:
        messages.success(request, handler(request, account))
    except SandboxError as error:
        messages.error(request, str(error))
    return redirect("thg_sandbox:support")
