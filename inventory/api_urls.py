"""URLs of the warehouse API, mounted at /api/warehouse/."""

from django.urls import path

from . import api

app_name = "warehouse_api"

urlpatterns = [
    path("openapi.json", api.openapi_schema, name="openapi"),
    path("stock-snapshots", api.stock_snapshot, name="stock-snapshots"),
    path("shipments", api.shipments, name="shipments"),
    path("fulfillments", api.fulfillments, name="fulfillments"),
]
