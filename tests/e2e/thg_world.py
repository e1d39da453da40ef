"""A small THG world for end-to-end tests: a catalog, two locations with
stock, a THG connector and its sandbox account on the live server."""

from dataclasses import dataclass
from decimal import Decimal

from catalog import gtin
from catalog.models import ChannelListing, Product
from connectors.models import Connector
from connectors.thg.sandbox import services as sandbox
from connectors.thg.sandbox.generator import GeneratedLine
from connectors.thg.sandbox.orders import create_order
from inventory import stock
from inventory.models import ExternalLocation, Location, StockLevel, StockMovement

BLUE = "5012345678900"
RED = "5012345678917"
TEE = "5012345678924"
BUYER = {"name": "A. Buyer", "email": "buyer@example.test"}
ADDRESS = {
    "name": "A. Buyer",
    "line1": "1 High Street",
    "line2": "",
    "city": "Leeds",
    "county": "West Yorkshire",
    "postcode": "LS1 4AP",
    "country_code": "GB",
}
SECRET = "e2e-client-secret-value"
PASSWORD = "e2e-inbound-password-value"


@dataclass
class World:
    base_url: str
    connector: Connector
    account: object
    products: dict
    leeds: Location
    manchester: Location

    def order(self, *lines, created_at=None):
        """Place an order on the sandbox: lines are (line_id, upc, quantity)."""
        return create_order(
            self.account,
            customer=BUYER,
            address=ADDRESS,
            created_at=created_at,
            lines=[
                GeneratedLine(
                    line_id=line_id,
                    upc=upc,
                    sku="",
                    title=upc,
                    quantity=quantity,
                    unit_price=Decimal("9.99"),
                )
                for line_id, upc, quantity in lines
            ],
        )

    def level(self, sku, location):
        return StockLevel.objects.get(product=self.products[sku], location=location)

    def events_url(self):
        return f"{self.base_url}/integrations/thg/{self.connector.key}/events"


def build_world(live_server_url, *, active=True, stock_levels=None, name="THG E2E"):
    base = f"{live_server_url}/sandbox/thg"
    connector = Connector.objects.create(
        kind=Connector.Kind.THG,
        name=name,
        status=Connector.Status.CONNECTED if active else Connector.Status.DRAFT,
        identifier_strategy=Connector.IdentifierStrategy.CHANNEL_SKU,
        thg_realm="e2e",
        thg_client_id="hub",
        thg_client_secret=SECRET,
        thg_locations="Leeds:WH-LEEDS-01\nManchester:WH-MCR-02",
        inbound_username="thg-e2e",
        api_url=base,
        auth_url=base,
    )
    connector.set_inbound_password(PASSWORD)
    connector.save()
    products = {}
    for sku, upc in [("MUG-BLUE", BLUE), ("MUG-RED", RED), ("TEE", TEE)]:
        product = Product.objects.create(sku=sku, name=sku, upc=gtin.normalize(upc))
        ChannelListing.objects.create(
            product=product, connector=connector, channel_sku=gtin.normalize(upc)
        )
        products[sku] = product
    leeds = Location.objects.create(name="Leeds", code="leeds", priority=1)
    manchester = Location.objects.create(name="Manchester", code="mcr", priority=2)
    for location, external_id in [(leeds, "WH-LEEDS-01"), (manchester, "WH-MCR-02")]:
        ExternalLocation.objects.create(
            connector=connector, location=location, external_id=external_id
        )
    levels = stock_levels or {"MUG-BLUE": (1, 10), "MUG-RED": (5, 0), "TEE": (0, 4)}
    for sku, (at_leeds, at_manchester) in levels.items():
        for location, quantity in [(leeds, at_leeds), (manchester, at_manchester)]:
            stock.set_on_hand(
                products[sku], location, quantity, reason=StockMovement.Reason.IMPORT
            )
    account = sandbox.ensure_account("e2e", "hub", SECRET, active=active)
    sandbox.set_warehouses(
        account, [("WH-LEEDS-01", "Leeds"), ("WH-MCR-02", "Manchester")]
    )
    sandbox.add_listings(account, [(BLUE, "Blue mug"), (RED, "Red mug"), (TEE, "Tee")])
    return World(live_server_url, connector, account, products, leeds, manchester)
