"""The streams of each connector kind, and the function that runs each."""

from importlib import import_module

from .models import Connector

_MODULES = {
    Connector.Kind.THG: "connectors.thg.streams",
    Connector.Kind.TIKTOK_SHOP: "connectors.tiktok.streams",
}


def _module(connector: Connector):
    return import_module(_MODULES[connector.kind])


def streams_for(connector: Connector) -> list[str]:
    """Return the kind's streams, in the order one full cycle runs them."""
    return list(_module(connector).STREAMS)


def stream_function(connector: Connector, stream: str):
    streams = _module(connector).STREAMS
    if stream not in streams:
        raise ValueError(
            f"{connector.get_kind_display()} has no {stream!r} stream; it has "
            f"{', '.join(streams)}."
        )
    return streams[stream]


def route_waiting(context) -> None:
    """Route the connector's orders that wait for stock or whose hold ended.

    Orders still waiting for stock are not failures: they keep their
    exception, count as unchanged, and are routed once stock arrives.
    """
    from orders.routing import route_pending

    summary = route_pending(connector=context.connector)
    context.count(
        fetched=summary.routed + summary.no_stock + summary.skipped,
        updated=summary.routed,
        unchanged=summary.skipped + summary.no_stock,
    )
    if summary.no_stock:
        context.run.progress = f"{summary.no_stock} orders wait for stock."
