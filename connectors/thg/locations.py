"""THG warehouses as hub locations: the connector's ``name:id`` pairs."""

from dataclasses import dataclass, field

from django.db import transaction
from django.utils.text import slugify

from inventory.models import ExternalLocation, Location


@dataclass
class PairsOutcome:
    created: int = 0
    updated: int = 0
    #: Ids in the pairs that THG's warehouse list does not have.
    unlisted: list[str] = field(default_factory=list)


def _unique_code(name: str) -> str:
    base = slugify(name)[:40] or "location"
    code = base
    suffix = 2
    while Location.objects.filter(code=code).exists():
        code = f"{base}-{suffix}"
        suffix += 1
    return code


@transaction.atomic
def apply_pairs(connector, pairs, warehouses: list[dict] | None) -> PairsOutcome:
    """Create or update a location and its THG id for each ``(name, id)`` pair.

    A pair whose id is already linked keeps its location (renamed pairs only
    change the THG name); a new id links the location of that name, or a new
    one. With ``warehouses`` given, each id is marked as listed or not.
    """
    outcome = PairsOutcome()
    listed = {str(w["id"]) for w in warehouses} if warehouses is not None else None
    existing = {
        external.external_id: external
        for external in ExternalLocation.objects.filter(
            connector=connector
        ).select_related("location")
    }
    for name, external_id in pairs:
        is_listed = None if listed is None else external_id in listed
        if is_listed is False:
            outcome.unlisted.append(external_id)
        external = existing.get(external_id)
        if external is not None:
            external.external_name = name
            external.listed_by_channel = is_listed
            external.save(update_fields=["external_name", "listed_by_channel"])
            outcome.updated += 1
            continue
        location = Location.objects.filter(name=name).first()
        if location is None:
            location = Location.objects.create(name=name, code=_unique_code(name))
            outcome.created += 1
        else:
            outcome.updated += 1
        ExternalLocation.objects.update_or_create(
            connector=connector,
            location=location,
            defaults={
                "external_id": external_id,
                "external_name": name,
                "listed_by_channel": is_listed,
            },
        )
    return outcome
