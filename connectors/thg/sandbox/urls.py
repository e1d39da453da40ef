"""URLs of the THG sandbox, mounted at ``/sandbox/thg/``.

With the hub's THG auth and API base URLs both set to
``<host>/sandbox/thg``, the paths match the THG API contract.
"""

from django.urls import path

from . import support_views, views

app_name = "thg_sandbox"

urlpatterns = [
    path(
        "realms/<str:realm>/protocol/openid-connect/token",
        views.token,
        name="token",
    ),
    path("v1/warehouses", views.warehouses, name="warehouses"),
    path("v1/orders", views.order_list, name="orders"),
    path("v1/orders/<str:order_id>", views.order_detail, name="order"),
    path(
        "v1/orders/<str:order_id>/acknowledgement",
        views.acknowledgement,
        name="acknowledgement",
    ),
    path("v1/orders/<str:order_id>/dispatches", views.dispatches, name="dispatches"),
    path("v1/stock", views.stock_update, name="stock"),
    path("v1/returns", views.return_collection, name="returns"),
    path("v1/returns/<str:return_id>/receipt", views.receipt, name="receipt"),
    path("v1/<path:rest>", views.unknown_path, name="unknown"),
    path("support/", support_views.support_page, name="support"),
    path(
        "support/accounts/<int:account_pk>/<str:action>",
        support_views.support_action,
        name="support-action",
    ),
]
