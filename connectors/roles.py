"""The staff roles: Django groups with the permissions each role needs.

Support works on orders, the catalog, mappings, locations and stock: it may
fulfil, create returns, check exceptions again, route again and import
mapping files, and it can view the connectors and their status, but not their
settings or credentials. Ops may do everything Support does, and also set up
connectors, see their credentials, run syncs, backfills and resyncs, and
edit the django-q2 schedules. Deleting orders, products, locations or
connectors is left to superusers.

:func:`setup_roles` creates or updates the groups. A data migration runs it
when the database is created, and ``manage.py setup_roles`` runs it again
whenever this list changes.
"""

import logging
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)

SUPPORT = "Support"
OPS = "Ops"


def _perms(app_label: str, model: str, *actions: str) -> list[str]:
    return [f"{app_label}.{action}_{model}" for action in actions]


SUPPORT_PERMISSIONS = [
    # Orders: view and edit, fulfil, create returns, check again, route again.
    *_perms("orders", "order", "view", "change"),
    "orders.route_order",
    *_perms("orders", "orderline", "view", "change"),
    *_perms("orders", "allocation", "view"),
    *_perms("orders", "fulfillment", "view", "add"),
    *_perms("orders", "fulfillmentline", "view", "add"),
    *_perms("orders", "return", "view", "add", "change"),
    *_perms("orders", "returnline", "view", "add", "change"),
    *_perms("orders", "orderexception", "view", "change"),
    *_perms("orders", "routingrule", "view"),
    *_perms("orders", "routingrulelocation", "view"),
    # Catalog: products, Channel Options and mappings. Importing a mapping
    # file needs add and change on both Channel Options and mappings.
    *_perms("catalog", "product", "view", "change"),
    *_perms("catalog", "channellisting", "view", "add", "change"),
    *_perms("catalog", "identifiermapping", "view", "add", "change"),
    *_perms("catalog", "importjob", "view"),
    # Locations and stock: stock changes go through "Adjust stock", which
    # records each one in the ledger.
    *_perms("inventory", "location", "view", "change"),
    *_perms("inventory", "externallocation", "view", "add", "change"),
    *_perms("inventory", "stocklevel", "view", "add", "change"),
    *_perms("inventory", "stockmovement", "view"),
    *_perms("inventory", "inventorysnapshot", "view"),
    # Connectors: the list and the status, never settings or credentials.
    *_perms("connectors", "connector", "view"),
    *_perms("connectors", "syncrun", "view"),
    *_perms("connectors", "syncstate", "view"),
    *_perms("connectors", "inboundevent", "view"),
    *_perms("connectors", "outboxmessage", "view"),
    *_perms("connectors", "doctorreport", "view"),
    *_perms("tiktok", "carriermapping", "view"),
    *_perms("tiktok", "shippedpackage", "view"),
    # The task lists that "Route again" and "Check again" link to.
    *_perms("django_q", "success", "view"),
    *_perms("django_q", "failure", "view"),
]

OPS_PERMISSIONS = [
    *SUPPORT_PERMISSIONS,
    # Connectors, their settings and credentials, and the sync actions.
    *_perms("connectors", "connector", "add", "change"),
    "connectors.view_credentials",
    "connectors.run_sync",
    *_perms("connectors", "syncstate", "change"),
    *_perms("connectors", "inboundevent", "change"),
    *_perms("connectors", "outboxmessage", "change"),
    *_perms("tiktok", "carriermapping", "add", "change", "delete"),
    # Schedules, and the queue behind them.
    *_perms("django_q", "schedule", "view", "add", "change"),
    *_perms("django_q", "ormq", "view"),
    # Routing rules, new locations and warehouse API integrations.
    *_perms("orders", "routingrule", "add", "change", "delete"),
    *_perms("orders", "routingrulelocation", "add", "change", "delete"),
    *_perms("inventory", "location", "add"),
    *_perms("inventory", "externallocation", "delete"),
    *_perms("inventory", "warehouseintegration", "view", "add", "change"),
    *_perms("catalog", "product", "add"),
]

ROLES = {SUPPORT: SUPPORT_PERMISSIONS, OPS: OPS_PERMISSIONS}


@dataclass
class RoleResult:
    """The outcome of :func:`setup_roles` for one group."""

    name: str
    created: bool
    permissions: int
    missing: list[str] = field(default_factory=list)


def setup_roles(apps=None) -> list[RoleResult]:
    """Create or update each role's group so it has exactly its permissions.

    Safe to run any number of times. ``apps`` is the app registry, or a
    migration's historical one. A permission whose model does not exist yet
    is left out and listed in the result's ``missing``.
    """
    if apps is None:
        from django.apps import apps
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")

    results = []
    for name, permission_labels in ROLES.items():
        labels = sorted(set(permission_labels))
        found = {}
        for permission in Permission.objects.filter(
            codename__in={label.split(".", 1)[1] for label in labels}
        ).select_related("content_type"):
            label = f"{permission.content_type.app_label}.{permission.codename}"
            found[label] = permission
        group, created = Group.objects.get_or_create(name=name)
        group.permissions.set([found[label] for label in labels if label in found])
        missing = [label for label in labels if label not in found]
        if missing:
            logger.warning(
                "Role %s: %d permissions not found: %s",
                name,
                len(missing),
                ", ".join(missing),
            )
        results.append(RoleResult(name, created, len(labels) - len(missing), missing))
    return results
