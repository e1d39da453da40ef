import threading

import pytest
from django.db import connection

from connectors.thg.sandbox import orders, services
from connectors.thg.sandbox.errors import APIError
from connectors.thg.sandbox.models import SandboxDispatch, SandboxOrderLine

from .conftest import CLIENT_ID, CLIENT_SECRET, LISTINGS, REALM, two_line_order


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_dispatches_never_overship():
    account = services.ensure_account(REALM, CLIENT_ID, CLIENT_SECRET, active=True)
    services.set_warehouses(account, [("WH-LEEDS-01", "Leeds")])
    services.add_listings(account, LISTINGS)
    order = two_line_order(account)
    barrier = threading.Barrier(4)
    outcomes = []

    def post(reference):
        barrier.wait()
        try:
            _, status = orders.dispatch(
                account,
                order.order_id,
                {
                    "dispatch_reference": reference,
                    "warehouse_id": "WH-LEEDS-01",
                    "carrier": "DPD",
                    "lines": [{"line_id": "1", "quantity": 2}],
                },
            )
            outcomes.append(status)
        except APIError as error:
            outcomes.append(error.status)
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(f"FUL-{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == [201, 400, 400, 400]
    assert SandboxDispatch.objects.count() == 1
    line = SandboxOrderLine.objects.get(order=order, line_id="1")
    assert line.dispatched_quantity == 2
