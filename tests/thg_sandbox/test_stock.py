from connectors.thg.sandbox.models import SandboxListing, SandboxStockUpdate

from .conftest import error_of


def _listing(upc):
    return SandboxListing.objects.get(upc=upc)


def test_stock_per_item_results(api, account):
    response = api.put(
        "/stock",
        {
            "items": [
                {"upc": "5012345678900", "quantity": 7},
                {"upc": "5000000000005", "quantity": 3},
            ]
        },
    )

    assert response.status_code == 200
    assert response.json() == {
        "results": [
            {"upc": "5012345678900", "status": "ACCEPTED"},
            {
                "upc": "5000000000005",
                "status": "REJECTED",
                "error": {
                    "code": "UnknownProduct",
                    "detail": "No listing has this UPC",
                },
            },
        ]
    }
    assert _listing("5012345678900").last_quantity == 7
    assert _listing("5012345678900").pushed_at is not None
    update = SandboxStockUpdate.objects.get()
    assert update.status_code == 200
    assert update.accepted_count == 1
    assert update.rejected_count == 1
    assert update.items == [
        {"upc": "5012345678900", "quantity": 7},
        {"upc": "5000000000005", "quantity": 3},
    ]
    assert update.results == response.json()["results"]


def test_stock_upc_forms_compare_equal(api, account):
    response = api.put(
        "/stock",
        {
            "items": [
                {"upc": "0036000291452", "quantity": 4},
                {"upc": "05012345678917", "quantity": 9},
            ]
        },
    )

    assert response.json()["results"] == [
        {"upc": "0036000291452", "status": "ACCEPTED"},
        {"upc": "05012345678917", "status": "ACCEPTED"},
    ]
    assert _listing("036000291452").last_quantity == 4
    assert _listing("5012345678917").last_quantity == 9


def test_stock_quantity_zero_and_max_accepted(api, account):
    response = api.put(
        "/stock",
        {
            "items": [
                {"upc": "5012345678900", "quantity": 0},
                {"upc": "5012345678917", "quantity": 99999},
            ]
        },
    )

    assert response.status_code == 200
    assert _listing("5012345678900").last_quantity == 0
    assert _listing("5012345678917").last_quantity == 99999


def test_stock_quantity_over_max_400(api, account):
    items = [{"upc": "5012345678900", "quantity": 1} for _ in range(3)]
    items.append({"upc": "5012345678917", "quantity": 100000})

    response = api.put("/stock", {"items": items})

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "ValidationException"
    assert error["source"] == {"pointer": "/items/3/quantity"}
    assert "0 to 99999" in error["detail"]
    assert _listing("5012345678900").last_quantity is None
    assert SandboxStockUpdate.objects.get().status_code == 400


def test_stock_negative_quantity_400(api, account):
    response = api.put("/stock", {"items": [{"upc": "5012345678900", "quantity": -1}]})

    assert response.status_code == 400
    assert error_of(response)["source"] == {"pointer": "/items/0/quantity"}
    assert _listing("5012345678900").last_quantity is None


def test_stock_fractional_quantity_400(api, account):
    response = api.put("/stock", {"items": [{"upc": "5012345678900", "quantity": 1.5}]})

    assert response.status_code == 400
    assert error_of(response)["source"] == {"pointer": "/items/0/quantity"}


def test_stock_500_items_allowed(api, account):
    items = [{"upc": "5012345678900", "quantity": n} for n in range(500)]

    response = api.put("/stock", {"items": items})

    assert response.status_code == 200
    assert len(response.json()["results"]) == 500
    assert _listing("5012345678900").last_quantity == 499


def test_stock_over_500_items_400(api, account):
    items = [{"upc": "5012345678900", "quantity": 1} for _ in range(501)]

    response = api.put("/stock", {"items": items})

    assert response.status_code == 400
    error = error_of(response)
    assert error["source"] == {"pointer": "/items"}
    assert "501" in error["detail"]
    assert _listing("5012345678900").last_quantity is None


def test_stock_bad_upc_400(api, account):
    response = api.put("/stock", {"items": [{"upc": "ABC", "quantity": 1}]})

    assert response.status_code == 400
    assert error_of(response)["source"] == {"pointer": "/items/0/upc"}


def test_stock_numeric_upc_400(api, account):
    response = api.put("/stock", {"items": [{"upc": 5012345678900, "quantity": 1}]})

    assert response.status_code == 400
    assert error_of(response)["source"] == {"pointer": "/items/0/upc"}


def test_stock_empty_items_400(api, account):
    response = api.put("/stock", {"items": []})

    assert response.status_code == 400
    assert error_of(response)["source"] == {"pointer": "/items"}


def test_stock_invalid_json_400(api, account):
    response = api.client.put(
        "/sandbox/thg/v1/stock",
        "items=1",
        content_type="application/json",
        headers={"Authorization": f"Bearer {api.token}"},
    )

    assert response.status_code == 400
    assert error_of(response)["code"] == "ValidationException"
    assert SandboxStockUpdate.objects.get().status_code == 400


def test_stock_post_405(api, account):
    response = api.post("/stock", {"items": [{"upc": "5012345678900", "quantity": 1}]})

    assert response.status_code == 405
    assert SandboxStockUpdate.objects.count() == 0
    assert _listing("5012345678900").last_quantity is None
