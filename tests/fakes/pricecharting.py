"""A fake PriceCharting on FakeServer, speaking its wire format and its failure modes.

    fake = FakePriceCharting(fake_server)
    fake.add_product(id="630417", **{"product-name": "Charizard #4", "loose-price": 29662})
    fake.guides["pokemon-cards"] = guide_csv([...])
    client = fake.client()          # a PriceChartingClient pointed at it, no slow retries

What it imitates: ids and sales-volume as strings, prices as integer pennies (0 or absent
for no data), errors as HTTP 200 with {"status": "error", "error-message": ...} (a wrong
token, an unknown id), a Cloudflare-style HTML page with 403 (fake.block()), and the CSV
price guide with dollar strings, served from /price-guide/download-custom.
"""

import csv
import io

from prices.sources.pricecharting import PriceChartingClient
from tcgtracker.lib.http import SourceConfig, SourceHttp
from tests.fakes.server import FakeServer, Reply

TOKEN = "c0ffee" + "5ecret" * 5 + "abcd"  # 40 characters, like a real token

GUIDE_COLUMNS = [
    "id",
    "console-name",
    "product-name",
    "loose-price",
    "cib-price",
    "new-price",
    "graded-price",
    "box-only-price",
    "manual-only-price",
    "bgs-10-price",
    "condition-17-price",
    "condition-18-price",
    "gamestop-price",
    "gamestop-trade-price",
    "retail-loose-buy",
    "retail-loose-sell",
    "retail-cib-buy",
    "retail-cib-sell",
    "retail-new-buy",
    "retail-new-sell",
    "upc",
    "sales-volume",
    "genre",
    "tcg-id",
    "asin",
    "epid",
    "release-date",
]
PRICE_COLUMNS = [name for name in GUIDE_COLUMNS if name.endswith("-price")]

CLOUDFLARE_PAGE = (
    "<!DOCTYPE html><html><head><title>Just a moment...</title></head>"
    "<body><h1>Checking your browser before accessing pricecharting.com</h1></body></html>"
)

# The real example from the API documentation (GET /api/product?id=630417).
CHARIZARD_BASE = {
    "id": "630417",
    "product-name": "Charizard #4",
    "console-name": "Pokemon Base Set",
    "genre": "Pokemon Card",
    "release-date": "1999-01-09",
    "sales-volume": "2206",
    "tcg-id": "42382",
    "loose-price": 29662,
    "cib-price": 72147,
    "new-price": 131250,
    "graded-price": 252280,
    "box-only-price": 468018,
    "manual-only-price": 2964313,
    "bgs-10-price": 3853600,
    "condition-17-price": 718173,
    "condition-18-price": 1778600,
    "retail-loose-buy": 20000,
    "retail-loose-sell": 32000,
    "gamestop-price": 0,
}


class FakePriceCharting:
    def __init__(self, server: FakeServer, token: str = TOKEN):
        self.server = server
        self.token = token
        self.products: dict[str, dict] = {}
        self.guides: dict[str, str] = {}  # category → the CSV text served
        server.route("GET", "/api/product", self._product)
        server.route("GET", "/api/products", self._products)
        server.route("GET", "/price-guide/download-custom", self._guide)

    # Setting up

    def add_product(self, **fields) -> dict:
        """A product as the API sends it; pass hyphenated fields with **{...}."""
        product = {"status": "success", **fields}
        product["id"] = str(product["id"])
        self.products[product["id"]] = product
        return product

    def block(self, path: str = "/api/product", times: int = 1) -> None:
        """The next calls to path get Cloudflare's HTML challenge page with a 403."""
        self.server.script("GET", path, *[Reply(status=403, body=CLOUDFLARE_PAGE)] * times)

    def client(self, token: str | None = None, **http_options) -> PriceChartingClient:
        """A client of this fake (with another token than the fake's when given one)."""
        config = config_for(self.server.url, token or self.token)
        options = {"retries": 0, "backoff_factor": 0, "timeout": (2, 5), **http_options}
        return PriceChartingClient(config, http=SourceHttp(config, **options))

    # Routes

    def _error(self, message: str) -> Reply:
        return Reply(json={"status": "error", "error-message": message})

    def _authorised(self, request) -> bool:
        return request.param("t") == self.token

    def _product(self, request) -> Reply:
        if not self._authorised(request):
            return self._error("Invalid access token")
        product = self.products.get(request.param("id") or "")
        if product is None:
            return self._error("No such product")
        return Reply(json=product)

    def _products(self, request) -> Reply:
        if not self._authorised(request):
            return self._error("Invalid access token")
        words = (request.param("q") or "").lower().replace("#", " ").split()
        if not words:
            return self._error("Missing search query")
        found = []
        for product in self.products.values():
            text = f"{product.get('product-name', '')} {product.get('console-name', '')}"
            haystack = text.lower().replace("#", " ").split()
            if all(word in haystack for word in words):
                found.append({k: v for k, v in product.items() if k != "status"})
        return Reply(json={"status": "success", "products": found[:20]})

    def _guide(self, request) -> Reply:
        if not self._authorised(request):
            return Reply(status=403, body=CLOUDFLARE_PAGE)
        text = self.guides.get(request.param("category") or "")
        if text is None:
            return Reply(status=404, body="<html><body>Not found</body></html>")
        return Reply(body=text.encode(), headers={"Content-Type": "text/csv"})


def config_for(base_url: str, token: str = TOKEN, **options) -> SourceConfig:
    return SourceConfig(
        name="pricecharting",
        enabled=True,
        base_url=base_url,
        credentials={"token": token},
        rate_limit=None,
        batch_size=20,
        options={"price_guide_interval": 0, **options},
    )


def dollars(cents: int | None) -> str:
    """PriceCharting's CSV money: "$1,234.56"; no data is blank."""
    if not cents:
        return ""
    return f"${cents // 100:,}.{cents % 100:02d}"


def guide_row(**fields) -> dict:
    """A guide row from hyphen-less keyword names: guide_row(id=1, console_name=...,
    loose_price=12345) — prices in cents, written as dollar strings."""
    row = {}
    for name, value in fields.items():
        column = name.replace("_", "-")
        if column in PRICE_COLUMNS and isinstance(value, int):
            value = dollars(value)
        row[column] = "" if value is None else str(value)
    return row


def guide_csv(rows: list[dict], columns: list[str] = GUIDE_COLUMNS) -> str:
    """The comma-separated guide as PriceCharting writes it: quoted where needed."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n", extrasaction="raise")
    writer.writeheader()
    for row in rows:
        writer.writerow({column: row.get(column, "") for column in columns})
    return out.getvalue()
