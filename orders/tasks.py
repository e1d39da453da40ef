"""django-q2 tasks for orders. Each is thin and safe to run twice."""

from .models import Order


def route_again(order_ids: list[int]) -> str:
    """Release and route the given orders again; return a one-line summary."""
    from .routing import reroute_orders

    summary = reroute_orders(Order.objects.filter(pk__in=order_ids))
    return (
        f"Route again: {summary.routed} routed, {summary.no_stock} waiting for "
        f"stock, {summary.skipped} skipped."
    )


def route_pending() -> str:
    """Route every order waiting for stock or whose hold ended (the schedule)."""
    from .routing import route_pending as route

    summary = route()
    return f"Routing: {summary.routed} routed, {summary.no_stock} waiting for stock."
