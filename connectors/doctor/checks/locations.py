"""Checks of where orders are routed: channel warehouse ids, locations
without a THG warehouse id, and addresses that cannot be geocoded."""

from datetime import timedelta

from django.db.models import Q

from connectors.models import Connector
from inventory.models import ExternalLocation, Location
from orders.models import Order, RoutingRule

from ..findings import EXAMPLES, Finding, Severity, counted
from .channel import thg_handshake_ok, tiktok_callable

THG_LOCATIONS = "thg_locations"
TIKTOK_WAREHOUSES = "tiktok_warehouses"

THG_WRONG_LOCATION = "A THG order routed to the wrong location"
TIKTOK_WRONG_LOCATION = "A TikTok order routed to the wrong location"
#: How far back routed orders are counted as evidence.
RECENT_DAYS = 30


def _rules_for(connector: Connector):
    return list(
        RoutingRule.objects.filter(active=True)
        .filter(Q(connector__isnull=True) | Q(connector=connector))
        .prefetch_related("candidates")
        .order_by("position", "pk")
    )


def _routable(connector: Connector) -> tuple[dict[int, Location], set[int], bool]:
    """Return the locations this connector's orders can be routed to.

    Also returns the ids of those a closest-wins rule measures, and whether
    active rules exist that all belong to other connectors (so none covers
    this one). Mirrors :mod:`orders.routing`: a rule without candidates uses
    every routable location (for TikTok Shop, the linked ones), and with no
    active rule at all the default rule does the same.
    """
    routable = {
        location.pk: location
        for location in Location.objects.filter(active=True, paused=False)
    }
    if connector.is_thg:
        default = set(routable)
    else:
        default = set(
            ExternalLocation.objects.filter(connector=connector).values_list(
                "location_id", flat=True
            )
        ) & set(routable)
    rules = _rules_for(connector)
    uncovered = not rules and RoutingRule.objects.filter(active=True).exists()
    if not rules:
        return {pk: routable[pk] for pk in default}, set(), uncovered
    ids, measured = set(), set()
    for rule in rules:
        candidates = {row.location_id for row in rule.candidates.all()} or default
        candidates &= set(routable)
        ids |= candidates
        if rule.closest_wins:
            measured |= candidates
    return {pk: routable[pk] for pk in ids}, measured, False


def _address_problem(location: Location) -> str:
    if not (location.postal_code or location.city):
        return "no postal code or city"
    if not location.coordinates_source:
        return "address not geocoded"
    return ""


def _describe(location: Location) -> dict:
    return {
        "location": location.code,
        "postal_code": location.postal_code or None,
        "city": location.city or None,
        "coordinates": location.coordinates_source or "none",
    }


def _no_rule_finding(check, title, connector) -> Finding:
    return Finding(
        check=check,
        code="no_routing_rule",
        severity=Severity.WARNING,
        title=title,
        message=f"Every active routing rule names another connector, so no rule "
        f"covers {connector.name}'s orders and they wait with 'no stock' "
        "exceptions.",
        next_step="Add a routing rule for this connector, or one without a connector.",
        evidence={"active_rules": RoutingRule.objects.filter(active=True).count()},
    )


def check_thg_locations(ctx) -> list[Finding]:
    """Check THG warehouse ids against THG's list, and the locations that THG
    orders can be routed to."""
    from connectors.thg import mapping

    connector = ctx.connector
    findings = []
    try:
        pairs = mapping.parse_location_pairs(connector.thg_locations)
    except ValueError as exc:
        pairs = []
        findings.append(
            Finding(
                check=THG_LOCATIONS,
                code="thg_pairs_invalid",
                severity=Severity.ERROR,
                title=THG_WRONG_LOCATION,
                message=f"The connector's THG locations cannot be read: {exc}",
                next_step="Correct 'THG locations' on the connector: one name:id "
                "pair per line, as THG support gave them.",
                evidence={"thg_locations": connector.thg_locations},
            )
        )
    links = {
        link.external_id: link
        for link in ExternalLocation.objects.filter(connector=connector).select_related(
            "location"
        )
    }
    findings.extend(_thg_warehouse_ids(ctx, pairs, links))
    findings.extend(_thg_routable_locations(ctx, links))
    return findings


def _thg_warehouse_ids(ctx, pairs, links) -> list[Finding]:
    findings = []
    pair_names = {external_id: name for name, external_id in pairs}
    ids = set(pair_names) | set(links)
    listed = None
    if thg_handshake_ok(ctx):
        answer = ctx.thg_warehouses()
        if answer.ok:
            listed = {str(item["id"]): item.get("name", "") for item in answer.value}
        else:
            findings.append(
                Finding(
                    check=THG_LOCATIONS,
                    code="thg_warehouses_unavailable",
                    severity=Severity.WARNING,
                    title=THG_WRONG_LOCATION,
                    message="THG's warehouse list could not be read, so the "
                    f"warehouse ids were not checked: {answer.error_text}",
                    next_step="Run the doctor again later.",
                    evidence={"answer": answer.error_text},
                )
            )

    def where(external_id):
        link = links.get(external_id)
        return link.location.code if link else pair_names.get(external_id)

    if listed is not None:
        unlisted = sorted(ids - set(listed))
        source = "GET /v1/warehouses now"
    else:
        unlisted = sorted(
            external_id
            for external_id, link in links.items()
            if link.listed_by_channel is False
        )
        source = "the last locations sync"
    if unlisted:
        findings.append(
            Finding(
                check=THG_LOCATIONS,
                code="thg_warehouse_unlisted",
                severity=Severity.ERROR,
                title=THG_WRONG_LOCATION,
                message="THG does not list "
                f"{counted(len(unlisted), 'warehouse id')} of the connector "
                f"(per {source}): dispatches from those locations "
                "name a warehouse THG does not know.",
                next_step="Check the name:id pairs with THG support, correct "
                "'THG locations' on the connector, and run the admin action "
                "'Pull locations from THG'.",
                evidence={
                    "unlisted": [
                        {"id": external_id, "location": where(external_id)}
                        for external_id in unlisted
                    ],
                    "thg_lists": sorted(listed) if listed is not None else None,
                },
            )
        )
    not_linked = sorted(set(pair_names) - set(links))
    if not_linked:
        findings.append(
            Finding(
                check=THG_LOCATIONS,
                code="thg_pair_not_linked",
                severity=Severity.WARNING,
                title=THG_WRONG_LOCATION,
                message=f"{counted(len(not_linked), 'name:id pair')} without a "
                "hub location yet: no stock counts there, and no order can ship "
                "from there.",
                next_step="Run the admin action 'Pull locations from THG', which "
                "creates or links a location for each pair.",
                evidence={
                    "pairs": [f"{pair_names[i]}:{i}" for i in not_linked],
                },
            )
        )
    return findings


def _thg_routable_locations(ctx, links) -> list[Finding]:
    connector = ctx.connector
    routable, measured, uncovered = _routable(connector)
    if uncovered:
        return [_no_rule_finding(THG_LOCATIONS, THG_WRONG_LOCATION, connector)]
    linked_ids = {link.location_id for link in links.values()}
    manual = [
        location for pk, location in sorted(routable.items()) if pk not in linked_ids
    ]
    findings = []
    if manual and connector.fulfillments_enabled:
        since = ctx.now - timedelta(days=RECENT_DAYS)
        routed = Order.objects.filter(
            connector=connector,
            location__in=manual,
            placed_at__gte=since,
        )
        findings.append(
            Finding(
                check=THG_LOCATIONS,
                code="thg_manual_location",
                severity=Severity.WARNING,
                title=THG_WRONG_LOCATION,
                message="THG orders can be routed to "
                f"{counted(len(manual), 'location')} made by hand, with no THG "
                f"warehouse id on {connector.name}, and "
                f"{counted(routed.count(), 'order')} of the last {RECENT_DAYS} "
                "days went there. A fulfillment from such a location "
                "is rejected, because the dispatch to THG needs a THG warehouse id.",
                next_step="Add each location to 'THG locations' as a name:id pair "
                "and run 'Pull locations from THG', or give the THG routing rules "
                "candidate locations that have THG ids.",
                evidence={
                    "locations": [_describe(location) for location in manual],
                    "orders_routed_there": list(
                        routed.order_by("-placed_at").values_list(
                            "reference", flat=True
                        )[:EXAMPLES]
                    ),
                },
            )
        )
    findings.extend(
        _address_findings(THG_LOCATIONS, THG_WRONG_LOCATION, manual, measured, routable)
    )
    return findings


def _address_findings(check, title, manual, measured, routable) -> list[Finding]:
    """Report locations whose address routing cannot measure distances from."""
    relevant = {location.pk: location for location in manual}
    relevant.update({pk: routable[pk] for pk in measured if pk in routable})
    problems = []
    for pk in sorted(relevant):
        location = relevant[pk]
        problem = _address_problem(location)
        if problem:
            problems.append({**_describe(location), "problem": problem})
    if not problems:
        return []
    return [
        Finding(
            check=check,
            code="location_address",
            severity=Severity.WARNING,
            title=title,
            message=f"Orders can be routed to {counted(len(problems), 'location')} "
            "without a usable address. A closest-location rule cannot measure "
            "the distance to such a location, and tries it last.",
            next_step="Enter each location's postal address (Inventory → "
            "Locations); its coordinates come from the postal code. Where the "
            "code cannot be geocoded, type a latitude and longitude, or run "
            "python manage.py geocode_locations.",
            evidence={"locations": problems},
        )
    ]


def check_tiktok_warehouses(ctx) -> list[Finding]:
    """Find TikTok sales warehouses that no hub location is mapped to, and
    linked warehouse ids that TikTok does not list."""
    connector = ctx.connector
    if not tiktok_callable(connector):
        return []
    answer = ctx.tiktok_warehouses()
    if not answer.ok:
        return []  # The credentials check reports the failed call.
    links = {
        link.external_id: link
        for link in ExternalLocation.objects.filter(connector=connector).select_related(
            "location"
        )
    }

    findings = [
        *_tiktok_unmapped(connector, answer.value, links),
        *_tiktok_unlisted(connector, answer.value, links),
    ]
    routable, measured, uncovered = _routable(connector)
    if uncovered:
        findings.append(
            _no_rule_finding(TIKTOK_WAREHOUSES, TIKTOK_WRONG_LOCATION, connector)
        )
    else:
        findings.extend(
            _address_findings(
                TIKTOK_WAREHOUSES, TIKTOK_WRONG_LOCATION, [], measured, routable
            )
        )
    return findings


def _tiktok_unmapped(connector, warehouses, links) -> list[Finding]:
    unmapped = [
        warehouse
        for warehouse in warehouses
        if warehouse.is_sales_warehouse and warehouse.id not in links
    ]
    if not unmapped:
        return []
    return [
        Finding(
            check=TIKTOK_WAREHOUSES,
            code="tiktok_warehouse_unmapped",
            severity=Severity.WARNING,
            title=TIKTOK_WRONG_LOCATION,
            message=f"{counted(len(unmapped), 'TikTok sales warehouse')} without "
            "a hub location: no stock is pushed there, and orders for them "
            "cannot be routed to the location that stocks the goods.",
            next_step="On the hub location that ships for each warehouse, add a "
            f"connector link to {connector.name} with the TikTok warehouse id "
            "(Inventory → Locations).",
            evidence={
                "warehouses": [
                    {"id": warehouse.id, "name": warehouse.name}
                    for warehouse in unmapped
                ],
                "mapped": sorted(links),
            },
        )
    ]


def _tiktok_unlisted(connector, warehouses, links) -> list[Finding]:
    listed = {warehouse.id for warehouse in warehouses}
    unlisted = sorted(set(links) - listed)
    if not unlisted:
        return []
    return [
        Finding(
            check=TIKTOK_WAREHOUSES,
            code="tiktok_warehouse_unlisted",
            severity=Severity.ERROR,
            title=TIKTOK_WRONG_LOCATION,
            message="TikTok's warehouse list lacks "
            f"{counted(len(unlisted), 'warehouse id')} linked on "
            f"{connector.name}: stock pushed there is rejected.",
            next_step="Correct the TikTok warehouse id on each location's "
            "connector link, or remove the link.",
            evidence={
                "unlisted": [
                    {"id": external_id, "location": links[external_id].location.code}
                    for external_id in unlisted
                ],
                "tiktok_lists": sorted(listed),
            },
        )
    ]
