"""Each role, in each area, through the admin: one allowed and one refused
action, with the refused action's side effect checked not to happen."""

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.urls import reverse
from django_q.models import Schedule

from catalog.models import Product
from connectors.models import Connector
from connectors.roles import OPS, SUPPORT
from inventory.models import Location
from orders.models import Order
from tests.catalog.factories import order as make_order
from tests.inventory.factories import make_connector, make_location, make_product

from .conftest import form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def thg():
    return make_connector(name="THG main", thg_client_secret="role-test-secret-value")


def _change_url(obj):
    meta = obj._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])


def _delete_url(obj):
    meta = obj._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_delete", args=[obj.pk])


def _action(client, model, action, ids, **extra):
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    return client.post(
        url, {"action": action, "_selected_action": [str(i) for i in ids], **extra}
    )


# Roles themselves.


def test_setup_roles_is_idempotent():
    call_command("setup_roles")
    first = {
        g.name: set(g.permissions.values_list("codename", flat=True))
        for g in Group.objects.all()
    }

    call_command("setup_roles")

    again = {
        g.name: set(g.permissions.values_list("codename", flat=True))
        for g in Group.objects.all()
    }
    assert first == again
    assert Group.objects.filter(name__in=[SUPPORT, OPS]).count() == 2


def test_migration_creates_both_roles():
    support = Group.objects.get(name=SUPPORT)
    ops = Group.objects.get(name=OPS)

    assert support.permissions.filter(codename="add_fulfillment").exists()
    assert ops.permissions.filter(codename="view_credentials").exists()
    assert not support.permissions.filter(codename="view_credentials").exists()
    assert not support.permissions.filter(codename="change_connector").exists()


def test_setup_roles_restores_removed_permission():
    support = Group.objects.get(name=SUPPORT)
    support.permissions.filter(codename="route_order").delete()
    support.permissions.remove(*support.permissions.filter(codename="route_order"))

    call_command("setup_roles")

    assert support.permissions.filter(codename="route_order").exists()


# Orders.


def test_support_opens_fulfil_page(support_client, thg):
    order = make_order(thg)

    response = support_client.get(reverse("admin:orders_order_fulfil", args=[order.pk]))

    assert response.status_code == 200


def test_support_cannot_delete_order(support_client, thg):
    order = make_order(thg)

    response = support_client.post(_delete_url(order), {"post": "yes"})

    assert response.status_code == 403
    assert Order.objects.filter(pk=order.pk).exists()


def test_ops_routes_orders_again(ops_client, thg):
    order = make_order(thg)

    response = _action(ops_client, Order, "route_again", [order.pk])

    assert response.status_code == 302
    messages = [
        str(m)
        for m in ops_client.get(reverse("admin:orders_order_changelist")).context[
            "messages"
        ]
    ]
    assert any("Queued routing again for 1 orders" in m for m in messages)


def test_ops_cannot_delete_order(ops_client, thg):
    order = make_order(thg)

    response = ops_client.post(_delete_url(order), {"post": "yes"})

    assert response.status_code == 403
    assert Order.objects.filter(pk=order.pk).exists()


# Catalog.


def test_support_renames_product(support_client):
    product = make_product("MUG")
    page = support_client.get(_change_url(product))

    response = support_client.post(
        _change_url(product), form_data(page, name="Blue mug")
    )

    assert response.status_code == 302
    product.refresh_from_db()
    assert product.name == "Blue mug"


def test_support_opens_mapping_import(support_client):
    response = support_client.get(reverse("admin:catalog_product_import"))

    assert response.status_code == 200
    assert 'name="import_file"' in response.text


def test_support_cannot_delete_product(support_client):
    product = make_product("MUG")

    response = support_client.post(_delete_url(product), {"post": "yes"})

    assert response.status_code == 403
    assert Product.objects.filter(pk=product.pk).exists()


def test_ops_adds_product(ops_client):
    url = reverse("admin:catalog_product_add")
    page = ops_client.get(url)

    response = ops_client.post(url, form_data(page, sku="NEW-1", name="New one"))

    assert response.status_code == 302
    assert Product.objects.filter(sku="NEW-1").exists()


def test_ops_cannot_delete_product(ops_client):
    product = make_product("MUG")

    response = ops_client.post(_delete_url(product), {"post": "yes"})

    assert response.status_code == 403
    assert Product.objects.filter(pk=product.pk).exists()


# Locations.


def test_support_changes_location_priority(support_client):
    location = make_location("leeds", name="Leeds", priority=5)
    page = support_client.get(_change_url(location))

    response = support_client.post(_change_url(location), form_data(page, priority="7"))

    assert response.status_code == 302
    location.refresh_from_db()
    assert location.priority == 7


def test_support_cannot_add_location(support_client):
    response = support_client.get(reverse("admin:inventory_location_add"))

    assert response.status_code == 403
    assert not Location.objects.exists()


def test_ops_adds_location(ops_client):
    url = reverse("admin:inventory_location_add")
    page = ops_client.get(url)

    response = ops_client.post(url, form_data(page, name="York", code="york"))

    assert response.status_code == 302
    assert Location.objects.filter(code="york").exists()


def test_ops_cannot_delete_location(ops_client):
    location = make_location("leeds")

    response = ops_client.post(_delete_url(location), {"post": "yes"})

    assert response.status_code == 403
    assert Location.objects.filter(pk=location.pk).exists()


# Connectors.


def test_support_sees_connector_status(support_client, thg):
    response = support_client.get(reverse("admin:connectors_connector_changelist"))

    assert response.status_code == 200
    assert "THG main" in response.text
    assert "Draft" in response.text


def test_support_cannot_open_credentials(support_client, thg):
    url = reverse("admin:connectors_connector_connection", args=[thg.pk])

    response = support_client.post(url, {"thg_realm": "changed"})

    assert response.status_code == 403
    thg.refresh_from_db()
    assert thg.thg_realm == ""


def test_support_cannot_change_connector_settings(support_client, thg):
    page = support_client.get(_change_url(thg))

    response = support_client.post(_change_url(thg), {"name": "Renamed"})

    assert "Connection…" not in page.text
    assert response.status_code == 403
    thg.refresh_from_db()
    assert thg.name == "THG main"


def test_support_cannot_run_sync_actions(support_client, thg):
    response = support_client.get(reverse("admin:connectors_connector_changelist"))

    # Every connector action needs connectors.run_sync, so none is offered.
    assert response.context["action_form"] is None
    assert "run_sync_now" not in response.text


def test_ops_opens_credentials(ops_client, thg):
    url = reverse("admin:connectors_connector_connection", args=[thg.pk])

    response = ops_client.get(url)

    assert response.status_code == 200
    assert "role-test-secret-value" not in response.text


def test_ops_cannot_delete_connector(ops_client, thg):
    response = ops_client.post(_delete_url(thg), {"post": "yes"})

    assert response.status_code == 403
    assert Connector.objects.filter(pk=thg.pk).exists()


# Schedules.


def test_support_sees_task_list(support_client):
    response = support_client.get(reverse("admin:django_q_success_changelist"))

    assert response.status_code == 200


def test_support_cannot_open_schedules(support_client):
    Schedule.objects.create(name="nightly", func="orders.tasks.route_pending")

    response = support_client.get(reverse("admin:django_q_schedule_changelist"))

    assert response.status_code == 403


def test_ops_adds_schedule(ops_client):
    url = reverse("admin:django_q_schedule_add")
    page = ops_client.get(url)

    response = ops_client.post(
        url,
        form_data(
            page,
            name="route pending",
            func="orders.tasks.route_pending",
            repeats="-1",
            next_run_0="2030-01-01",
            next_run_1="03:00:00",
        ),
    )

    assert response.status_code == 302
    assert Schedule.objects.filter(name="route pending").exists()


def test_ops_cannot_delete_schedule(ops_client):
    schedule = Schedule.objects.create(
        name="nightly", func="orders.tasks.route_pending"
    )

    response = ops_client.post(_delete_url(schedule), {"post": "yes"})

    assert response.status_code == 403
    assert Schedule.objects.filter(pk=schedule.pk).exists()
