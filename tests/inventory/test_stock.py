import pytest
from django.utils import timezone

from inventory import stock
from inventory.models import InventoryChange, StockLevel, StockMovement
from orders.models import (
    Allocation,
    Fulfillment,
    FulfillmentLine,
    Return,
    ReturnLine,
)

from .factories import (
    level,
    make_connector,
    make_location,
    make_order,
    make_product,
    put_stock,
)

pytestmark = pytest.mark.django_db

ADJUSTMENT = StockMovement.Reason.ADJUSTMENT


def test_adjust_creates_missing_level():
    product = make_product("A-1")
    location = make_location("main")

    result = stock.adjust(
        product, location, on_hand_change=7, reason=ADJUSTMENT, note="delivery"
    )

    assert result.on_hand == 7
    assert result.committed == 0
    movement = StockMovement.objects.get()
    assert movement.on_hand_change == 7
    assert movement.committed_change == 0
    assert movement.reason == ADJUSTMENT
    assert movement.note == "delivery"


def test_adjust_removes_units():
    product = make_product()
    location = make_location()
    put_stock(product, location, 10, committed=2)

    result = stock.adjust(product, location, on_hand_change=-8, reason=ADJUSTMENT)

    assert result.on_hand == 2
    assert StockMovement.objects.get().on_hand_change == -8


def test_adjust_below_committed_rejected():
    product = make_product("A-2")
    location = make_location("north", name="North")
    put_stock(product, location, 10, committed=4)

    with pytest.raises(stock.InvalidStockChange) as caught:
        stock.adjust(product, location, on_hand_change=-7, reason=ADJUSTMENT)

    message = str(caught.value)
    assert "A-2 at North" in message
    assert "would be 3, below the 4 units committed" in message
    assert "Remove at most 6" in message
    assert level(product, location).on_hand == 10
    assert StockMovement.objects.count() == 0


def test_adjust_below_zero_rejected():
    product = make_product("A-3")
    location = make_location("south", name="South")

    with pytest.raises(stock.InvalidStockChange) as caught:
        stock.adjust(product, location, on_hand_change=-1, reason=ADJUSTMENT)

    assert "would be -1, below zero" in str(caught.value)
    assert not StockLevel.objects.filter(product=product).exists()
    assert StockMovement.objects.count() == 0


def test_adjust_marks_product_for_every_connector():
    first = make_connector()
    second = make_connector()
    product = make_product()
    location = make_location()

    stock.adjust(product, location, on_hand_change=1, reason=ADJUSTMENT)

    marked = set(InventoryChange.objects.values_list("connector_id", "product_id"))
    assert marked == {(first.pk, product.pk), (second.pk, product.pk)}


def test_set_on_hand_writes_difference():
    product = make_product()
    location = make_location()
    put_stock(product, location, 4)

    result = stock.set_on_hand(
        product, location, 9, reason=StockMovement.Reason.IMPORT, reference="file.csv"
    )

    assert result.on_hand == 9
    movement = StockMovement.objects.get()
    assert movement.on_hand_change == 5
    assert movement.reference == "file.csv"


def test_set_on_hand_unchanged_writes_no_movement():
    product = make_product()
    location = make_location()
    put_stock(product, location, 4)

    stock.set_on_hand(product, location, 4, reason=StockMovement.Reason.IMPORT)

    assert StockMovement.objects.count() == 0


def test_set_on_hand_below_committed_rejected():
    product = make_product("C-1")
    location = make_location("hub", name="Hub")
    put_stock(product, location, 5, committed=3)

    with pytest.raises(stock.InvalidStockChange) as caught:
        stock.set_on_hand(product, location, 2, reason=StockMovement.Reason.IMPORT)

    assert "C-1 at Hub: on hand 2 is below the 3 units committed" in str(caught.value)
    assert level(product, location).on_hand == 5


def test_set_on_hand_many_all_or_nothing():
    good = make_product("G-1")
    bad = make_product("B-1")
    location = make_location("hub", name="Hub")
    put_stock(bad, location, 5, committed=5)

    with pytest.raises(stock.InvalidStockChange) as caught:
        stock.set_on_hand_many(
            [
                stock.StockCount(good.pk, location.pk, 8),
                stock.StockCount(bad.pk, location.pk, 1),
            ],
            reason=StockMovement.Reason.IMPORT,
        )

    assert caught.value.problems == [
        "B-1 at Hub: on hand 1 is below the 5 units committed to orders. Count "
        "again, or release or reroute those orders first."
    ]
    assert not StockLevel.objects.filter(product=good).exists()
    assert StockMovement.objects.count() == 0


def test_set_on_hand_many_rejects_repeated_pair():
    product = make_product()
    location = make_location()

    with pytest.raises(stock.InvalidStockChange) as caught:
        stock.set_on_hand_many(
            [
                stock.StockCount(product.pk, location.pk, 1),
                stock.StockCount(product.pk, location.pk, 2),
            ],
            reason=StockMovement.Reason.IMPORT,
        )

    assert "counted twice" in str(caught.value)
    assert StockLevel.objects.count() == 0


def test_set_on_hand_many_counts_changes():
    first = make_product()
    second = make_product()
    location = make_location()
    put_stock(first, location, 3)

    result = stock.set_on_hand_many(
        [
            stock.StockCount(first.pk, location.pk, 3),
            stock.StockCount(second.pk, location.pk, 6),
        ],
        reason=StockMovement.Reason.SNAPSHOT,
    )

    assert result == stock.CountResult(changed=1, unchanged=1)
    assert level(second, location).on_hand == 6


def test_commit_lines_creates_allocations():
    product = make_product()
    location = make_location()
    put_stock(product, location, 5)
    order = make_order(make_connector(), [(product, 3)])
    line = order.lines.get()

    allocations = stock.commit_lines([(line, location, 3)], reference="manual")

    assert [(a.line_id, a.location_id, a.quantity) for a in allocations] == [
        (line.pk, location.pk, 3)
    ]
    assert level(product, location).committed == 3
    movement = StockMovement.objects.get()
    assert movement.reason == StockMovement.Reason.COMMIT
    assert movement.committed_change == 3


def test_commit_lines_collects_every_shortfall():
    first = make_product("S-1")
    second = make_product("S-2")
    location = make_location("hub", name="Hub")
    put_stock(first, location, 1)
    put_stock(second, location, 2, committed=2)
    order = make_order(make_connector(), [(first, 3), (second, 1)])
    line1, line2 = order.lines.order_by("pk")

    with pytest.raises(stock.InsufficientStock) as caught:
        stock.commit_lines([(line1, location, 3), (line2, location, 1)])

    assert [str(s) for s in caught.value.shortfalls] == [
        "S-1 at Hub: 3 requested, 1 available",
        "S-2 at Hub: 1 requested, 0 available",
    ]
    assert Allocation.objects.count() == 0
    assert level(first, location).committed == 0


def test_release_order_frees_committed():
    product = make_product()
    location = make_location()
    put_stock(product, location, 5)
    order = make_order(make_connector(), [(product, 3)])
    stock.commit_lines([(order.lines.get(), location, 3)])

    released = stock.release_order(order, reference="cancelled")

    assert released == 3
    assert level(product, location).committed == 0
    assert Allocation.objects.count() == 0
    movement = StockMovement.objects.filter(reason=StockMovement.Reason.RELEASE).get()
    assert movement.committed_change == -3
    assert movement.reference == "cancelled"


def test_release_lines_only_given_lines():
    product = make_product()
    location = make_location()
    put_stock(product, location, 10)
    order = make_order(make_connector(), [(product, 3), (product, 2)])
    line1, line2 = order.lines.order_by("pk")
    stock.commit_lines([(line1, location, 3), (line2, location, 2)])

    released = stock.release_lines([line2])

    assert released == 2
    assert level(product, location).committed == 3
    assert list(Allocation.objects.values_list("line_id", flat=True)) == [line1.pk]


def test_release_without_allocations_is_zero():
    order = make_order(make_connector(), [(make_product(), 1)])

    assert stock.release_order(order) == 0
    assert StockMovement.objects.count() == 0


def _fulfillment(order, location, quantities):
    fulfillment = Fulfillment.objects.create(
        order=order,
        location=location,
        carrier="DPD",
        tracking_number="T1",
        shipped_at=timezone.now(),
    )
    for line, quantity in quantities:
        FulfillmentLine.objects.create(
            fulfillment=fulfillment, line=line, quantity=quantity
        )
    return fulfillment


def test_consume_for_fulfillment_takes_allocated_units():
    product = make_product()
    location = make_location()
    put_stock(product, location, 5)
    order = make_order(make_connector(), [(product, 3)])
    line = order.lines.get()
    stock.commit_lines([(line, location, 3)])
    fulfillment = _fulfillment(order, location, [(line, 2)])

    stock.consume_for_fulfillment(fulfillment)

    current = level(product, location)
    assert current.on_hand == 3
    assert current.committed == 1
    line.refresh_from_db()
    assert line.quantity_fulfilled == 2
    assert Allocation.objects.get().quantity == 1
    movement = StockMovement.objects.get(reason=StockMovement.Reason.FULFILLMENT)
    assert movement.on_hand_change == -2
    assert movement.committed_change == -2
    assert movement.reference == fulfillment.reference


def test_consume_full_line_deletes_allocation():
    product = make_product()
    location = make_location()
    put_stock(product, location, 5)
    order = make_order(make_connector(), [(product, 3)])
    line = order.lines.get()
    stock.commit_lines([(line, location, 3)])

    stock.consume_for_fulfillment(_fulfillment(order, location, [(line, 3)]))

    assert Allocation.objects.count() == 0
    assert level(product, location).committed == 0
    assert level(product, location).on_hand == 2


def test_consume_from_other_location_releases_allocation():
    product = make_product()
    routed = make_location()
    shipped = make_location()
    put_stock(product, routed, 5)
    put_stock(product, shipped, 4)
    order = make_order(make_connector(), [(product, 2)])
    line = order.lines.get()
    stock.commit_lines([(line, routed, 2)])

    stock.consume_for_fulfillment(_fulfillment(order, shipped, [(line, 2)]))

    assert level(product, shipped).on_hand == 2
    assert level(product, routed).committed == 0
    assert level(product, routed).on_hand == 5
    assert Allocation.objects.count() == 0


def test_consume_above_open_rejected():
    product = make_product("F-1")
    location = make_location()
    put_stock(product, location, 5)
    order = make_order(make_connector(), [(product, 2)])
    line = order.lines.get()
    stock.commit_lines([(line, location, 2)])

    with pytest.raises(stock.OverFulfillment) as caught:
        stock.consume_for_fulfillment(_fulfillment(order, location, [(line, 3)]))

    assert "3 shipped but only 2 open (2 ordered, 0 already shipped)" in str(
        caught.value
    )
    line.refresh_from_db()
    assert line.quantity_fulfilled == 0
    assert level(product, location).on_hand == 5
    assert level(product, location).committed == 2


def test_consume_without_free_stock_rejected():
    product = make_product("F-2")
    location = make_location("hub", name="Hub")
    put_stock(product, location, 1)
    order = make_order(make_connector(), [(product, 2)])
    line = order.lines.get()

    with pytest.raises(stock.InsufficientStock) as caught:
        stock.consume_for_fulfillment(_fulfillment(order, location, [(line, 2)]))

    assert str(caught.value.shortfalls[0]) == "F-2 at Hub: 2 requested, 1 available"
    assert level(product, location).on_hand == 1


def _return_line(order, condition, received):
    return_request = Return.objects.create(
        order=order, direction=Return.Direction.INBOUND, location=None
    )
    return ReturnLine.objects.create(
        return_request=return_request,
        line=order.lines.get(),
        quantity=received,
        quantity_received=received,
        condition=condition,
    )


def test_restock_good_units():
    product = make_product()
    location = make_location()
    order = make_order(make_connector(), [(product, 2)])
    return_line = _return_line(order, ReturnLine.Condition.GOOD, 2)

    restocked = stock.restock_return_line(return_line, location=location)

    assert restocked == 2
    assert level(product, location).on_hand == 2
    return_line.refresh_from_db()
    assert return_line.quantity_restocked == 2
    movement = StockMovement.objects.get()
    assert movement.reason == StockMovement.Reason.RETURN_RECEIPT


def test_restock_twice_restocks_once():
    product = make_product()
    location = make_location()
    order = make_order(make_connector(), [(product, 2)])
    return_line = _return_line(order, ReturnLine.Condition.GOOD, 2)
    stock.restock_return_line(return_line, location=location)

    again = stock.restock_return_line(return_line, quantity=2, location=location)

    assert again == 0
    assert level(product, location).on_hand == 2


def test_restock_damaged_units_skipped():
    product = make_product()
    location = make_location()
    order = make_order(make_connector(), [(product, 2)])
    return_line = _return_line(order, ReturnLine.Condition.DAMAGED, 2)

    restocked = stock.restock_return_line(return_line, location=location)

    assert restocked == 0
    assert not StockLevel.objects.filter(product=product).exists()
    assert StockMovement.objects.count() == 0


def test_restock_without_location_rejected():
    order = make_order(make_connector(), [(make_product(), 1)])
    return_line = _return_line(order, ReturnLine.Condition.GOOD, 1)

    with pytest.raises(stock.StockError) as caught:
        stock.restock_return_line(return_line)

    assert "has no receiving location" in str(caught.value)


def test_committed_differences_found_and_repaired():
    product = make_product("R-1")
    location = make_location()
    put_stock(product, location, 5)
    order = make_order(make_connector(), [(product, 2)])
    stock.commit_lines([(order.lines.get(), location, 2)])
    StockLevel.objects.filter(product=product).update(committed=4)

    differences = stock.committed_differences()
    fixed = stock.repair_committed(differences)

    assert [(d.sku, d.recorded, d.expected) for d in differences] == [("R-1", 4, 2)]
    assert fixed == 1
    assert level(product, location).committed == 2
    repair = StockMovement.objects.get(reason=StockMovement.Reason.REPAIR)
    assert repair.committed_change == -2


def test_stock_arrival_queues_routing(django_capture_on_commit_callbacks):
    product = make_product()
    location = make_location()

    with django_capture_on_commit_callbacks() as callbacks:
        stock.adjust(product, location, on_hand_change=3, reason=ADJUSTMENT)

    assert len(callbacks) == 1


def test_stock_removal_queues_nothing(django_capture_on_commit_callbacks):
    product = make_product()
    location = make_location()
    put_stock(product, location, 5)

    with django_capture_on_commit_callbacks() as callbacks:
        stock.adjust(product, location, on_hand_change=-3, reason=ADJUSTMENT)

    assert callbacks == []
