"""Checking orders again once the cause of their unmatched lines is fixed.

When a mapping is added or imported, the services that write it queue
:func:`queue_check_again`; support staff can also run
:func:`check_again_action` from the orders admin. Both end in
:func:`check_again`, which matches the unmatched lines again, resolves the
exceptions of the lines that now match, and hands orders with no open
exception left back to routing.
"""

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from catalog.matching import match_lines

from .models import Order, OrderException, OrderLine

logger = logging.getLogger(__name__)

#: Orders locked and checked per transaction.
BATCH_SIZE = 200


@dataclass
class RecheckResult:
    """The counts and order ids of one run of :func:`check_again`."""

    orders_checked: int = 0
    lines_matched: int = 0
    exceptions_resolved: int = 0
    #: Orders moved from "needs attention" back to "new".
    released_order_ids: list[int] = field(default_factory=list)
    orders_routed: int = 0
    routing_failed: int = 0
    routing_skipped: bool = False

    @property
    def orders_released(self) -> int:
        return len(self.released_order_ids)

    def summary(self) -> str:
        """Return one sentence with the counts, for a person to read."""
        text = (
            f"Checked {self.orders_checked} orders: {self.lines_matched} lines "
            f"now match, {self.exceptions_resolved} exceptions resolved, "
            f"{self.orders_released} orders back to new"
        )
        if self.routing_skipped:
            return text + " (routing is not available; they wait for it)."
        if self.routing_failed:
            return (
                text + f", {self.orders_routed} routed, {self.routing_failed} "
                "failed to route (see the log)."
            )
        return text + f", {self.orders_routed} routed."


def _order_ids(orders) -> list[int]:
    """Return the sorted primary keys of orders given in any usual form.

    Accepts a queryset or list of orders, a queryset of order exceptions
    (their orders), or primary keys.
    """
    if isinstance(orders, QuerySet):
        if orders.model is OrderException:
            return sorted(set(orders.values_list("order_id", flat=True)))
        return sorted(set(orders.values_list("pk", flat=True)))
    ids = set()
    for item in orders:
        ids.add(item if isinstance(item, int) else item.pk)
    return sorted(ids)


def check_again(orders: QuerySet | Iterable) -> RecheckResult:
    """Match the unmatched lines of ``orders`` again and clear what is fixed.

    Each batch of orders is one transaction that locks the orders in
    primary-key order. It matches every line that has no product and saves
    the new matches. It resolves the open "line matches no product"
    exceptions of lines that now have a product, and moves orders with no
    open exception left from "needs attention" to "new". After each batch
    commits, the released orders go to ``orders.routing.route_order`` when
    that function exists. Safe to run twice: a second run changes nothing.
    """
    result = RecheckResult()
    ids = _order_ids(orders)
    for start in range(0, len(ids), BATCH_SIZE):
        released = _check_batch(ids[start : start + BATCH_SIZE], result)
        result.released_order_ids.extend(released)
        _route(released, result)
    logger.info(
        "Check again: %s orders, %s lines matched, %s exceptions resolved, "
        "%s orders released",
        result.orders_checked,
        result.lines_matched,
        result.exceptions_resolved,
        result.orders_released,
    )
    return result


def _check_batch(order_ids: list[int], result: RecheckResult) -> list[int]:
    """Check one batch of orders; return the ids moved back to "new"."""
    with transaction.atomic():
        orders = list(
            Order.objects.select_for_update(of=("self",))
            .select_related("connector")
            .filter(pk__in=order_ids)
            .order_by("pk")
        )
        result.orders_checked += len(orders)
        connectors = {order.pk: order.connector for order in orders}

        lines = list(
            OrderLine.objects.filter(order_id__in=connectors, product__isnull=True)
        )
        by_connector = defaultdict(list)
        for line in lines:
            by_connector[connectors[line.order_id].pk].append(line)
        matched = []
        for group in by_connector.values():
            match_lines(connectors[group[0].order_id], group)
            matched.extend(line for line in group if line.product_id is not None)
        OrderLine.objects.bulk_update(matched, ["product"], batch_size=500)
        result.lines_matched += len(matched)

        now = timezone.now()
        result.exceptions_resolved += OrderException.objects.filter(
            order_id__in=connectors,
            kind=OrderException.Kind.UNMATCHED_LINE,
            resolved_at__isnull=True,
            line__product__isnull=False,
        ).update(resolved_at=now)

        still_open = set(
            OrderException.objects.filter(
                order_id__in=connectors, resolved_at__isnull=True
            ).values_list("order_id", flat=True)
        )
        released = [
            order.pk
            for order in orders
            if order.status == Order.Status.NEEDS_ATTENTION
            and order.pk not in still_open
        ]
        Order.objects.filter(
            pk__in=released, status=Order.Status.NEEDS_ATTENTION
        ).update(status=Order.Status.NEW, updated_at=now)
    return released


def _route(order_ids: list[int], result: RecheckResult) -> None:
    if not order_ids:
        return
    try:
        from orders.routing import route_order
    except ImportError:
        result.routing_skipped = True
        logger.info(
            "Orders %s: back to new, but orders.routing.route_order is not "
            "available, so routing was skipped",
            order_ids,
        )
        return
    for order in Order.objects.filter(pk__in=order_ids).order_by("pk"):
        # One order failing to route must not keep the others waiting: the
        # failure is logged and counted, and the order stays "new" for the
        # next routing run.
        try:
            route_order(order)
        except Exception:
            result.routing_failed += 1
            logger.exception("Order %s: routing after check again failed", order.pk)
        else:
            result.orders_routed += 1


def orders_with_unmatched_lines(connector_ids: Iterable[int] | None = None):
    """Return the orders that have an open "line matches no product" exception."""
    orders = Order.objects.filter(
        exceptions__kind=OrderException.Kind.UNMATCHED_LINE,
        exceptions__resolved_at__isnull=True,
    )
    if connector_ids is not None:
        orders = orders.filter(connector_id__in=list(connector_ids))
    return orders.distinct()


def check_again_for_connectors(connector_ids: list[int] | None = None):
    """Check again every order of these connectors (all: None) with unmatched lines.

    The django-q2 task that :func:`queue_check_again` queues.
    """
    return check_again(orders_with_unmatched_lines(connector_ids))


def queue_check_again(connector_ids: Iterable[int] | None = None) -> None:
    """Queue :func:`check_again_for_connectors` when the transaction commits.

    Called by the services that write mappings, so that an exception clears
    once its line matches, without anyone opening the order.
    """
    from django_q.tasks import async_task

    ids = None if connector_ids is None else sorted(set(connector_ids))
    transaction.on_commit(
        lambda: async_task(
            "orders.recheck.check_again_for_connectors",
            ids,
            task_name="check-again",
        )
    )


@admin.action(description="Check exceptions again", permissions=["change"])
def check_again_action(modeladmin, request, queryset):
    """Admin action: check the selected orders (or exceptions) again now."""
    result = check_again(queryset)
    fixed = result.exceptions_resolved and not result.routing_failed
    level = messages.SUCCESS if fixed else messages.WARNING
    modeladmin.message_user(request, result.summary(), level)
