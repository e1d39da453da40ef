from datetime import timedelta

import pytest
from django.utils import timezone

from connectors.models import Connector
from inventory import stock
from inventory.models import StockMovement
from orders import routing
from orders.models import (
    Allocation,
    Order,
    OrderException,
    OrderLine,
    RoutingRule,
    RoutingRuleLocation,
)
from tests.inventory.factories import (
    level,
    link,
    make_connector,
    make_location,
    make_order,
    make_product,
    put_stock,
)

pytestmark = pytest.mark.django_db


def _rule(name, *candidates, position=0, **fields):
    rule = RoutingRule.objects.create(name=name, position=position, **fields)
    for priority, location in enumerate(candidates):
        RoutingRuleLocation.objects.create(
            rule=rule, location=location, priority=priority
        )
    return rule


def _allocations(order):
    return sorted(
        Allocation.objects.filter(line__order=order).values_list(
            "line__external_id", "location__code", "quantity"
        )
    )


def test_default_first_location_with_stock():
    product = make_product("P-1")
    first = make_location("first", priority=1)
    second = make_location("second", priority=2)
    put_stock(product, first, 1)
    put_stock(product, second, 5)
    order = make_order(make_connector(), [(product, 3)])

    outcome = routing.route_order(order)

    assert outcome.result == routing.ROUTED
    assert order.status == Order.Status.ROUTED
    assert order.location == second
    assert order.routed_at is not None
    assert level(product, second).committed == 3
    assert level(product, first).committed == 0
    decision = order.routing_decision
    assert decision["rule"] == {"id": None, "name": routing.DEFAULT_RULE.name}
    assert decision["reason"] == (
        "second: first candidate by priority with stock for every line"
    )
    assert [c["location"] for c in decision["candidates"]] == ["first", "second"]
    assert decision["candidates"][0]["short"] == ["P-1"]
    assert decision["candidates"][1]["short"] == []


def test_default_orders_by_name_at_equal_priority():
    product = make_product()
    beta = make_location("beta", name="Beta")
    alpha = make_location("alpha", name="Alpha")
    put_stock(product, beta, 5)
    put_stock(product, alpha, 5)
    order = make_order(make_connector(), [(product, 1)])

    routing.route_order(order)

    assert order.location == alpha


def test_default_skips_paused_and_inactive():
    product = make_product()
    paused = make_location("paused", priority=1, paused=True)
    inactive = make_location("inactive", priority=2, active=False)
    open_location = make_location("open", priority=3)
    for location in (paused, inactive, open_location):
        put_stock(product, location, 5)
    order = make_order(make_connector(), [(product, 1)])

    routing.route_order(order)

    assert order.location == open_location
    assert [c["location"] for c in order.routing_decision["candidates"]] == ["open"]


def test_default_needs_every_line_at_one_location():
    first_product = make_product("X")
    second_product = make_product("Y")
    first = make_location("first", priority=1)
    second = make_location("second", priority=2)
    put_stock(first_product, first, 5)
    put_stock(second_product, second, 5)
    order = make_order(make_connector(), [(first_product, 1), (second_product, 1)])

    outcome = routing.route_order(order)

    assert outcome.result == routing.NO_STOCK
    assert order.status == Order.Status.NEEDS_ATTENTION
    assert Allocation.objects.count() == 0
    exception = OrderException.objects.get(order=order)
    assert exception.kind == OrderException.Kind.NO_STOCK
    assert exception.resolved_at is None
    assert exception.message == (
        "No routing rule can serve the order: Default: first location with "
        "stock: no single candidate has every line"
    )


def test_tiktok_default_uses_its_locations():
    product = make_product()
    tiktok = make_connector(Connector.Kind.TIKTOK_SHOP)
    unlinked = make_location("unlinked", priority=1)
    linked = make_location("linked", priority=2)
    link(linked, tiktok)
    put_stock(product, unlinked, 5)
    put_stock(product, linked, 5)
    order = make_order(tiktok, [(product, 1)])

    routing.route_order(order)

    assert order.location == linked


def test_no_stock_then_stock_arrives_resolves_exception(
    django_capture_on_commit_callbacks,
):
    product = make_product("Z-1")
    location = make_location("hub")
    order = make_order(make_connector(), [(product, 2)])
    routing.route_order(order)
    assert order.status == Order.Status.NEEDS_ATTENTION

    with django_capture_on_commit_callbacks(execute=True):
        stock.adjust(
            product,
            location,
            on_hand_change=2,
            reason=StockMovement.Reason.ADJUSTMENT,
        )

    order.refresh_from_db()
    assert order.status == Order.Status.ROUTED
    assert order.location == location
    exception = OrderException.objects.get(order=order)
    assert exception.resolved_at is not None


def test_failure_again_updates_one_exception():
    product = make_product()
    make_location()
    order = make_order(make_connector(), [(product, 2)])

    routing.route_order(order)
    routing.route_order(order)

    assert OrderException.objects.filter(order=order).count() == 1


def test_skips_fulfilled_by_channel():
    product = make_product()
    put_stock(product, make_location(), 5)
    order = make_order(
        make_connector(),
        [(product, 1)],
        fulfilled_by_channel=True,
        status=Order.Status.FULFILLED_BY_CHANNEL,
    )

    outcome = routing.route_order(order)

    assert outcome.result == routing.SKIPPED
    assert outcome.reason == "fulfilled by the channel"
    assert Allocation.objects.count() == 0
    assert order.status == Order.Status.FULFILLED_BY_CHANNEL


def test_skips_cancelled():
    product = make_product()
    put_stock(product, make_location(), 5)
    order = make_order(make_connector(), [(product, 1)], status=Order.Status.CANCELLED)

    outcome = routing.route_order(order)

    assert outcome.reason == "cancelled"
    assert Allocation.objects.count() == 0


def test_skips_order_on_hold_until_later():
    product = make_product()
    put_stock(product, make_location(), 5)
    order = make_order(
        make_connector(),
        [(product, 1)],
        hold_until=timezone.now() + timedelta(minutes=30),
    )

    outcome = routing.route_order(order)

    assert outcome.result == routing.SKIPPED
    assert outcome.reason.startswith("on hold until ")
    assert order.status == Order.Status.NEW
    assert Allocation.objects.count() == 0


def test_skips_order_held_by_channel():
    product = make_product()
    put_stock(product, make_location(), 5)
    order = make_order(make_connector(), [(product, 1)], status=Order.Status.ON_HOLD)

    outcome = routing.route_order(order)

    assert outcome.reason == "held by the channel"
    assert Allocation.objects.count() == 0


def test_skips_unmatched_line():
    product = make_product()
    put_stock(product, make_location(), 5)
    order = make_order(make_connector(), [(product, 1), (None, 1)])

    outcome = routing.route_order(order)

    assert outcome.result == routing.SKIPPED
    assert outcome.reason.startswith("lines match no product: ")
    assert Allocation.objects.count() == 0
    assert order.status == Order.Status.NEW


def test_cancelled_line_is_not_routed():
    product = make_product()
    location = make_location()
    put_stock(product, location, 5)
    order = make_order(make_connector(), [(product, 1), (None, 4)])
    order.lines.filter(product=None).update(status=OrderLine.Status.CANCELLED)

    routing.route_order(order)

    assert order.status == Order.Status.ROUTED
    assert level(product, location).committed == 1


def test_skips_already_routed():
    product = make_product()
    location = make_location()
    put_stock(product, location, 5)
    order = make_order(make_connector(), [(product, 1)])
    routing.route_order(order)

    outcome = routing.route_order(order)

    assert outcome.result == routing.SKIPPED
    assert level(product, location).committed == 1


def test_rule_filters_by_connector_country_tag_and_sku():
    product = make_product("RULE-SKU")
    thg = make_connector()
    other = make_connector()
    general = make_location("general", priority=1)
    special = make_location("special", priority=2)
    put_stock(product, general, 5)
    put_stock(product, special, 5)
    _rule(
        "Special",
        special,
        connector=thg,
        countries="gb, IE",
        tags="vip",
        skus="RULE-SKU",
    )
    _rule("Everything", general, position=1)
    matching = make_order(thg, [(product, 1)], ship_country_code="GB", tags="new, VIP")
    wrong_connector = make_order(
        other, [(product, 1)], ship_country_code="GB", tags="vip"
    )
    wrong_country = make_order(thg, [(product, 1)], ship_country_code="US", tags="vip")
    wrong_tag = make_order(thg, [(product, 1)], ship_country_code="GB", tags="new")

    routing.route_orders([matching, wrong_connector, wrong_country, wrong_tag])

    locations = dict(
        Order.objects.filter(
            pk__in=[matching.pk, wrong_connector.pk, wrong_country.pk, wrong_tag.pk]
        ).values_list("pk", "location__code")
    )
    assert locations == {
        matching.pk: "special",
        wrong_connector.pk: "general",
        wrong_country.pk: "general",
        wrong_tag.pk: "general",
    }
    wrong_country.refresh_from_db()
    assert wrong_country.routing_decision["rules_tried"] == [
        {
            "rule": "Special",
            "result": "not matched",
            "why": "ship-to country US not listed",
        }
    ]


def test_rule_skus_filter_mismatch():
    product = make_product("OTHER")
    location = make_location()
    put_stock(product, location, 5)
    _rule("Only ABC", location, skus="ABC\nDEF")

    outcome = routing.route_order(make_order(make_connector(), [(product, 1)]))

    assert outcome.result == routing.NO_STOCK
    assert outcome.decision["rules_tried"][0]["why"] == "no line with a listed SKU"


def test_next_rule_tried_after_shortfall():
    product = make_product("N-1")
    empty = make_location("empty")
    full = make_location("full")
    put_stock(product, full, 5)
    _rule("First", empty, position=0)
    _rule("Second", full, position=1)
    order = make_order(make_connector(), [(product, 2)])

    routing.route_order(order)

    assert order.location == full
    decision = order.routing_decision
    assert decision["rule"]["name"] == "Second"
    assert decision["rules_tried"][0]["rule"] == "First"
    assert decision["rules_tried"][0]["why"] == (
        "N-1 2 needed, at most 0 free at one candidate"
    )


def test_rule_candidates_follow_rule_priority():
    product = make_product()
    low = make_location("low", priority=1)
    high = make_location("high", priority=2)
    put_stock(product, low, 5)
    put_stock(product, high, 5)
    _rule("Prefer high", high, low)
    order = make_order(make_connector(), [(product, 1)])

    routing.route_order(order)

    assert order.location == high


def test_rule_paused_candidate_excluded():
    product = make_product()
    paused = make_location("paused", paused=True)
    backup = make_location("backup")
    put_stock(product, paused, 5)
    put_stock(product, backup, 5)
    _rule("Rule", paused, backup)
    order = make_order(make_connector(), [(product, 1)])

    routing.route_order(order)

    assert order.location == backup
    assert order.routing_decision["excluded"] == [
        {"location": "paused", "why": "paused"}
    ]


def test_split_across_locations():
    product = make_product("SPLIT")
    first = make_location("first", priority=1)
    second = make_location("second", priority=2)
    put_stock(product, first, 3)
    put_stock(product, second, 2)
    _rule("Split", allow_split=True)
    order = make_order(make_connector(), [(product, 5)])

    routing.route_order(order)

    assert order.status == Order.Status.ROUTED
    assert order.location == first
    line = order.lines.get().external_id
    assert _allocations(order) == [(line, "first", 3), (line, "second", 2)]
    assert order.routing_decision["reason"] == (
        "no single candidate had every line; split over first, second in priority order"
    )


def test_split_shortfall_over_all_candidates():
    product = make_product("SHORT")
    put_stock(product, make_location(), 3)
    put_stock(product, make_location(), 1)
    _rule("Split", allow_split=True)

    outcome = routing.route_order(make_order(make_connector(), [(product, 5)]))

    assert outcome.result == routing.NO_STOCK
    assert "SHORT 5 needed, 4 free over all candidates" in outcome.reason
    assert Allocation.objects.count() == 0


def test_split_prefers_single_location():
    product = make_product()
    first = make_location("first", priority=1)
    second = make_location("second", priority=2)
    put_stock(product, first, 3)
    put_stock(product, second, 5)
    _rule("Split", allow_split=True)
    order = make_order(make_connector(), [(product, 5)])

    routing.route_order(order)

    assert _allocations(order) == [(order.lines.get().external_id, "second", 5)]


def test_closest_location_wins():
    product = make_product()
    london = make_location("london", priority=2, postal_code="SW1A 1AA")
    manchester = make_location("manchester", priority=1, postal_code="M1 1AE")
    put_stock(product, london, 5)
    put_stock(product, manchester, 5)
    _rule("Closest", closest_wins=True)
    order = make_order(
        make_connector(),
        [(product, 1)],
        ship_country_code="GB",
        ship_postal_code="ec1a1bb",
    )

    routing.route_order(order)

    assert order.location == london
    decision = order.routing_decision
    assert decision["order_by"] == "distance"
    assert [c["location"] for c in decision["candidates"]] == ["london"]
    assert decision["candidates"][0]["distance_km"] < 5
    assert decision["not_tried"] == 1
    assert decision["reason"].startswith("london: closest candidate (")


def test_closest_skips_nearest_without_stock():
    product = make_product("NEAR")
    london = make_location("london", priority=1, postal_code="SW1A 1AA")
    leeds = make_location("leeds", priority=3, postal_code="LS1 1UR")
    manchester = make_location("manchester", priority=2, postal_code="M1 1AE")
    put_stock(product, london, 0)
    put_stock(product, leeds, 5)
    put_stock(product, manchester, 5)
    _rule("Closest", closest_wins=True)
    order = make_order(
        make_connector(),
        [(product, 1)],
        ship_country_code="GB",
        ship_postal_code="SW1A 2AA",
    )

    routing.route_order(order)

    assert order.location == manchester
    tried = order.routing_decision["candidates"]
    assert [c["location"] for c in tried] == ["london", "manchester"]
    assert tried[0]["short"] == ["NEAR"]


def test_closest_without_geocoded_ship_to_uses_priority():
    product = make_product()
    london = make_location("london", priority=2, postal_code="SW1A 1AA")
    manchester = make_location("manchester", priority=1, postal_code="M1 1AE")
    put_stock(product, london, 5)
    put_stock(product, manchester, 5)
    _rule("Closest", closest_wins=True)
    order = make_order(make_connector(), [(product, 1)], ship_country_code="FR")

    routing.route_order(order)

    assert order.location == manchester
    assert "distance_km" not in order.routing_decision["candidates"][0]
    assert order.routing_decision["note"] == (
        "ship-to address not geocoded; candidates tried by priority"
    )


def test_unchecked_stock_commits_what_exists():
    product = make_product()
    scarce = make_product()
    location = make_location("dropship")
    put_stock(product, location, 5)
    _rule("Unchecked", location, check_stock=False)
    order = make_order(make_connector(), [(product, 2), (scarce, 1)])

    routing.route_order(order)

    assert order.status == Order.Status.ROUTED
    assert order.location == location
    assert level(product, location).committed == 2
    assert order.routing_decision["uncommitted_lines"] == [
        order.lines.get(product=scarce).external_id
    ]


def test_inactive_rules_ignored():
    product = make_product()
    location = make_location()
    put_stock(product, location, 5)
    _rule("Off", make_location(), active=False)
    order = make_order(make_connector(), [(product, 1)])

    routing.route_order(order)

    assert order.location == location
    assert order.routing_decision["rule"]["id"] is None


def test_route_orders_counts_and_oldest_first():
    product = make_product()
    location = make_location()
    put_stock(product, location, 1)
    connector = make_connector()
    now = timezone.now()
    newer = make_order(connector, [(product, 1)], placed_at=now)
    older = make_order(connector, [(product, 1)], placed_at=now - timedelta(hours=1))
    held = make_order(connector, [(product, 1)], hold_until=now + timedelta(hours=1))

    summary = routing.route_orders(Order.objects.all())

    assert summary.as_dict() == {"routed": 1, "no_stock": 1, "skipped": 1}
    older.refresh_from_db()
    newer.refresh_from_db()
    held.refresh_from_db()
    assert older.status == Order.Status.ROUTED
    assert newer.status == Order.Status.NEEDS_ATTENTION
    assert held.status == Order.Status.NEW


def test_route_orders_batches_share_stock():
    product = make_product()
    location = make_location()
    put_stock(product, location, 3)
    connector = make_connector()
    orders = [make_order(connector, [(product, 1)]) for _ in range(5)]

    summary = routing.route_orders(orders, batch_size=2)

    assert summary.as_dict() == {"routed": 3, "no_stock": 2, "skipped": 0}
    assert level(product, location).committed == 3


def test_route_pending_picks_hold_ended_and_waiting():
    product = make_product()
    location = make_location()
    connector = make_connector()
    now = timezone.now()
    hold_ended = make_order(connector, [(product, 1)], hold_until=now - timedelta(1))
    waiting = make_order(connector, [(product, 1)])
    routing.route_order(waiting)
    still_held = make_order(connector, [(product, 1)], hold_until=now + timedelta(1))
    put_stock(product, location, 5)

    summary = routing.route_pending()

    assert summary.routed == 2
    assert {o.order_id for o in summary.outcomes} == {hold_ended.pk, waiting.pk}
    still_held.refresh_from_db()
    assert still_held.status == Order.Status.NEW


def test_reroute_releases_and_routes_again():
    product = make_product()
    first = make_location("first", priority=1)
    second = make_location("second", priority=2)
    put_stock(product, first, 5)
    put_stock(product, second, 5)
    order = make_order(make_connector(), [(product, 2)])
    routing.route_order(order)
    first.paused = True
    first.save()

    summary = routing.reroute_orders([order])

    order.refresh_from_db()
    assert summary.routed == 1
    assert order.location == second
    assert level(product, first).committed == 0
    assert level(product, second).committed == 2
    assert _allocations(order) == [(order.lines.get().external_id, "second", 2)]
    reasons = list(
        StockMovement.objects.order_by("pk").values_list("reason", "location__code")
    )
    assert reasons == [
        ("commit", "first"),
        ("release", "first"),
        ("commit", "second"),
    ]


def test_reroute_without_stock_keeps_nothing_committed():
    product = make_product()
    location = make_location()
    put_stock(product, location, 5)
    order = make_order(make_connector(), [(product, 2)])
    routing.route_order(order)
    location.paused = True
    location.save()

    summary = routing.reroute_orders(Order.objects.filter(pk=order.pk))

    order.refresh_from_db()
    assert summary.no_stock == 1
    assert order.status == Order.Status.NEEDS_ATTENTION
    assert level(product, location).committed == 0


def test_reroute_skips_cancelled_and_keeps_allocations():
    product = make_product()
    location = make_location()
    put_stock(product, location, 5)
    order = make_order(make_connector(), [(product, 2)])
    routing.route_order(order)
    Order.objects.filter(pk=order.pk).update(status=Order.Status.CANCELLED)

    summary = routing.reroute_orders([order])

    assert summary.skipped == 1
    assert level(product, location).committed == 2


def test_partially_fulfilled_reroute_keeps_status():
    product = make_product()
    location = make_location()
    put_stock(product, location, 5)
    order = make_order(make_connector(), [(product, 3)])
    routing.route_order(order)
    order.lines.update(quantity_fulfilled=1)
    Order.objects.filter(pk=order.pk).update(status=Order.Status.PARTIALLY_FULFILLED)
    stock.release_order(order)

    routing.reroute_orders([order])

    order.refresh_from_db()
    assert order.status == Order.Status.PARTIALLY_FULFILLED
    assert level(product, location).committed == 2


def test_ensure_routing_schedule_is_idempotent():
    from django_q.models import Schedule

    routing.ensure_routing_schedule()
    routing.ensure_routing_schedule(minutes=10)

    schedule = Schedule.objects.get()
    assert schedule.func == "orders.routing.route_pending"
    assert schedule.minutes == 10


def test_release_routes_waiting_order(django_capture_on_commit_callbacks):
    product = make_product()
    location = make_location()
    put_stock(product, location, 2)
    connector = make_connector()
    first = make_order(connector, [(product, 2)])
    waiting = make_order(connector, [(product, 2)])
    routing.route_orders([first, waiting])

    with django_capture_on_commit_callbacks(execute=True):
        stock.release_order(first, reference="cancelled")

    waiting.refresh_from_db()
    assert waiting.status == Order.Status.ROUTED
    assert level(product, location).committed == 2


def test_route_waiting_for_other_products_ignored():
    product = make_product()
    other = make_product()
    put_stock(product, make_location(), 5)
    order = make_order(make_connector(), [(other, 1)])
    routing.route_order(order)

    summary = routing.route_waiting_for_products([product.pk])

    assert summary.outcomes == []


def test_route_pending_for_one_connector():
    product = make_product()
    put_stock(product, make_location(), 5)
    mine = make_connector()
    other = make_connector()
    routed = make_order(mine, [(product, 1)])
    left = make_order(other, [(product, 1)])

    summary = routing.route_pending(connector=mine)

    assert [outcome.order_id for outcome in summary.outcomes] == [routed.pk]
    left.refresh_from_db()
    assert left.status == Order.Status.NEW
