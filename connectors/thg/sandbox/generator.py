"""Seeded, realistic marketplace data: UK customers, addresses and lines.

The functions here only build values from a ``random.Random``; they never
touch the database, so the same seed and listings give the same orders.
"""

import random
from dataclasses import dataclass
from decimal import Decimal

from .formats import gtin14, money, with_check_digit

#: Real UK towns with their county and a postcode in the town centre.
TOWNS = (
    ("Leeds", "West Yorkshire", "LS1 4AP"),
    ("Manchester", "Greater Manchester", "M1 1AE"),
    ("Birmingham", "West Midlands", "B1 1BB"),
    ("Bristol", "City of Bristol", "BS1 4DJ"),
    ("Liverpool", "Merseyside", "L1 8JQ"),
    ("Sheffield", "South Yorkshire", "S1 2HE"),
    ("Newcastle upon Tyne", "Tyne and Wear", "NE1 7RU"),
    ("Nottingham", "Nottinghamshire", "NG1 5FS"),
    ("Leicester", "Leicestershire", "LE1 5YA"),
    ("York", "North Yorkshire", "YO1 7HH"),
    ("Harrogate", "North Yorkshire", "HG1 1BL"),
    ("Hull", "East Riding of Yorkshire", "HU1 2AA"),
    ("Derby", "Derbyshire", "DE1 2FS"),
    ("Coventry", "West Midlands", "CV1 5RR"),
    ("Chester", "Cheshire", "CH1 2HN"),
    ("Durham", "County Durham", "DH1 3NJ"),
    ("Lincoln", "Lincolnshire", "LN2 1PZ"),
    ("Norwich", "Norfolk", "NR2 1NH"),
    ("Cambridge", "Cambridgeshire", "CB2 3QZ"),
    ("Oxford", "Oxfordshire", "OX1 1DP"),
    ("Reading", "Berkshire", "RG1 1JX"),
    ("Brighton", "East Sussex", "BN1 1GE"),
    ("Southampton", "Hampshire", "SO14 7DY"),
    ("Bath", "Somerset", "BA1 1LZ"),
    ("Exeter", "Devon", "EX1 1HB"),
    ("Plymouth", "Devon", "PL1 1EA"),
    ("Cardiff", "South Glamorgan", "CF10 1EP"),
    ("Swansea", "West Glamorgan", "SA1 3SN"),
    ("Edinburgh", "City of Edinburgh", "EH1 1YZ"),
    ("Glasgow", "Glasgow City", "G1 1XQ"),
    ("Aberdeen", "Aberdeen City", "AB10 1YP"),
    ("Inverness", "Highland", "IV1 1QY"),
    ("Belfast", "County Antrim", "BT1 5GS"),
)
FIRST_NAMES = (
    "Oliver", "Amelia", "George", "Isla", "Harry", "Ava", "Noah", "Mia",
    "Jack", "Ivy", "Leo", "Freya", "Arthur", "Lily", "Muhammad", "Florence",
    "Oscar", "Grace", "Charlie", "Sophie", "Alfie", "Evie", "Thomas", "Poppy",
    "James", "Emily", "William", "Ruby", "Henry", "Chloe", "Rhys", "Niamh",
    "Callum", "Eilidh", "Priya", "Aisha",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson",
    "Davies", "Patel", "Robinson", "Wright", "Thompson", "Evans", "Walker",
    "White", "Roberts", "Green", "Hall", "Wood", "Jackson", "Clarke", "Hughes",
    "Edwards", "Turner", "Hill", "Moore", "Cooper", "Ward", "Morris", "King",
    "Khan", "Campbell", "MacDonald", "Murphy", "O'Neill", "Kaur",
)  # fmt: skip
STREETS = (
    "High Street", "Station Road", "Church Lane", "Victoria Road",
    "Park Avenue", "Mill Lane", "King Street", "Queen Street", "The Green",
    "Albert Road", "Manor Road", "London Road", "Green Lane", "Springfield Road",
    "Grange Road", "Kingsway", "York Road", "Windsor Close", "Chapel Street",
    "Westfield Avenue",
)  # fmt: skip
RETURN_REASONS = (
    "Changed mind",
    "Wrong size",
    "Arrived damaged",
    "Not as described",
    "Better price elsewhere",
)
#: Typical marketplace price points, used when a listing has no price.
PRICE_POINTS = (
    "4.99", "6.50", "7.99", "9.99", "12.99", "14.99", "17.50", "19.99",
    "24.99", "29.99", "34.99", "39.99", "49.99",
)  # fmt: skip
SHIPPING = Decimal("3.99")
FREE_SHIPPING_FROM = Decimal("40.00")
#: Prefix of the GTINs generated for products no listing has.
UNKNOWN_GTIN_PREFIX = "50"


@dataclass(frozen=True)
class ListingChoice:
    """The listing fields an order line copies."""

    upc: str
    title: str
    sku: str
    unit_price: Decimal


@dataclass(frozen=True)
class GeneratedLine:
    line_id: str
    upc: str
    sku: str
    title: str
    quantity: int
    unit_price: Decimal


def price_for(upc: str) -> Decimal:
    """Return a stable price point for a UPC, for listings given without one."""
    return Decimal(PRICE_POINTS[int(gtin14(upc)) % len(PRICE_POINTS)])


def unknown_upc(rng: random.Random, known: set[str]) -> str:
    """Return a 13-digit GTIN with a valid check digit that no listing has."""
    while True:
        body = UNKNOWN_GTIN_PREFIX + "".join(str(rng.randrange(10)) for _ in range(10))
        upc = with_check_digit(body)
        if gtin14(upc) not in known:
            return upc


def customer(rng: random.Random) -> tuple[dict, dict]:
    """Return a customer and their UK shipping address as API objects."""
    first = rng.choice(FIRST_NAMES)
    last = rng.choice(LAST_NAMES)
    name = f"{first} {last}"
    local_part = f"{first}.{last}".lower().replace("'", "")
    email = f"{local_part}{rng.randint(1, 99)}@example.test"
    town, county, postcode = rng.choice(TOWNS)
    line2 = f"Flat {rng.randint(1, 24)}" if rng.random() < 0.2 else ""
    address = {
        "name": name,
        "line1": f"{rng.randint(1, 220)} {rng.choice(STREETS)}",
        "line2": line2,
        "city": town,
        "county": county,
        "postcode": postcode,
        "country_code": "GB",
    }
    return {"name": name, "email": email}, address


def order_lines(
    rng: random.Random,
    listings: list[ListingChoice],
    known_gtins: set[str],
    unknown_upc_share: float,
) -> list[GeneratedLine]:
    """Return one to four lines for distinct listings, quantities 1 to 3.

    Each line has the chance ``unknown_upc_share`` of carrying a valid GTIN
    that no listing has, as when THG lists a product the merchant never
    mapped.
    """
    count = rng.randint(1, min(4, len(listings)))
    lines = []
    for number, listing in enumerate(rng.sample(listings, count), start=1):
        quantity = rng.randint(1, 3)
        if rng.random() < unknown_upc_share:
            listing = ListingChoice(
                upc=unknown_upc(rng, known_gtins),
                title=f"{listing.title} (new variant)",
                sku="",
                unit_price=listing.unit_price,
            )
        lines.append(
            GeneratedLine(
                line_id=str(number),
                upc=listing.upc,
                sku=listing.sku,
                title=listing.title,
                quantity=quantity,
                unit_price=listing.unit_price,
            )
        )
    return lines


def totals(subtotal: Decimal) -> dict:
    """Return the totals object: shipping is free from 40.00."""
    shipping = Decimal("0.00") if subtotal >= FREE_SHIPPING_FROM else SHIPPING
    return {
        "subtotal": money(subtotal),
        "shipping": money(shipping),
        "total": money(subtotal + shipping),
    }


def return_line_choice(
    rng: random.Random, returnable: list[tuple[str, str, int]]
) -> tuple[str, str, int, str]:
    """Pick a line to return from ``(line_id, upc, returnable quantity)``.

    Returns the line id, UPC, a quantity from 1 to the returnable quantity
    and a reason.
    """
    line_id, upc, available = rng.choice(returnable)
    return line_id, upc, rng.randint(1, available), rng.choice(RETURN_REASONS)
