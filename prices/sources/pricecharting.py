"""PriceCharting: ungraded and graded prices per card, from the JSON API and the CSV guide.

The API answers one product per call (`/api/product?id=`), prices in integer pennies,
errors mostly as HTTP 200 with `{"status": "error"}`. The token travels as the query
parameter `t`: it never reaches a log line, an error message or the database (SourceHttp
scrubs every message it raises, and the messages built here are scrubbed again).

FIELD_KEYS is the one table from PriceCharting's fields to our price keys; the price-guide
import (prices.pricecharting_import) reads the same table.
"""

import codecs
import datetime as dt
import logging
from collections.abc import Iterator
from urllib.parse import urlsplit

import requests
import urllib3
from django.core.cache import cache
from django.utils import timezone

from cards.models import Card
from prices import keys
from prices.matching import MATCHED, CatalogIndex, Product, fold
from prices.sources.base import FetchResult, PriceClient
from prices.writing import Observation
from tcgtracker.lib.http import (
    NotConfigured,
    PermanentError,
    SourceConfig,
    SourceHttp,
    TransientError,
    scrub,
)

logger = logging.getLogger(__name__)

SOURCE = "pricecharting"
# PriceCharting field → price key. retail-* (dealer buy/sell guides) and gamestop-*
# (always empty for cards) are deliberately absent.
FIELD_KEYS = {
    "loose-price": keys.UNGRADED,
    "cib-price": keys.graded("ANY", "7"),
    "new-price": keys.graded("ANY", "8"),
    "graded-price": keys.graded("ANY", "9"),
    "box-only-price": keys.graded("ANY", "9.5"),
    "manual-only-price": keys.graded("PSA", "10"),
    "bgs-10-price": keys.graded("BGS", "10"),
    "condition-17-price": keys.graded("CGC", "10"),
    "condition-18-price": keys.graded("SGC", "10"),
}
# Sealed products carry only a loose price: anything else in their row is not a grade.
SEALED_FIELDS = ("loose-price",)
SEALED_GENRE = "Sealed Product"

PRICE_GUIDE_PATH = "/price-guide/download-custom"
PRICE_GUIDE_CATEGORIES = {"pokemon-cards": "pokemon", "one-piece-cards": "onepiece"}
# PriceCharting allows one price-guide download per category every ten minutes.
PRICE_GUIDE_INTERVAL = 600
GUIDE_CHUNK_BYTES = 64 * 1024


def observed_today() -> dt.datetime:
    """PriceCharting prices change once a day: every price of a day is observed at its
    midnight UTC, so a second sync the same day writes nothing new."""
    return day_start(timezone.now().astimezone(dt.UTC).date())


def day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)


def is_sealed(genre: str, card: Card | None = None) -> bool:
    return fold(genre) == fold(SEALED_GENRE) or (card is not None and card.kind == Card.Kind.SEALED)


def price_fields(sealed: bool) -> dict[str, str]:
    if sealed:
        return {field: FIELD_KEYS[field] for field in SEALED_FIELDS}
    return FIELD_KEYS


def pennies(value) -> int | None:
    """An API price: integer pennies; 0 or absent is no data. ValueError for anything
    that is not a price (negative, fractional, text, a boolean)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"not a whole number of pennies: {value!r}")
    if value < 0:
        raise ValueError(f"negative price: {value!r}")
    return value or None


def count(value) -> int | None:
    """sales-volume arrives as a string ("2206"); anything unreadable is no count."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    text = str(value or "").strip().replace(",", "")
    return int(text) if text.isdigit() else None


class PriceChartingClient(PriceClient):
    name = SOURCE
    label = "PriceCharting"

    def __init__(self, config: SourceConfig | None = None, *, http: SourceHttp | None = None):
        super().__init__(config)
        self._http = http

    @property
    def http(self) -> SourceHttp:
        if self._http is None:
            self._http = SourceHttp(self.config)
        return self._http

    @property
    def token(self) -> str:
        token = self.config.credentials.get("token", "")
        if not token:
            raise NotConfigured("PriceCharting has no token configured (PRICECHARTING_TOKEN).")
        return token

    def _scrub(self, text: str) -> str:
        return scrub(text, self.config.secrets)

    def can_price(self, card: Card) -> bool:
        return bool(card.pricecharting_id.strip())

    def fetch(self, cards: list[Card]) -> FetchResult:
        """One /api/product call per card. A card the API has no answer for is an error of
        that card; TransientError, CircuitOpen and BudgetExhausted stop the batch."""
        result = FetchResult()
        observed_at = observed_today()
        token = self.token
        for card in cards:
            product_id = card.pricecharting_id.strip()
            try:
                data = self.http.get_json("/api/product", params={"t": token, "id": product_id})
            except TransientError:
                raise
            except PermanentError as exc:
                result.errors.append(self._scrub(f"{describe(card)}: {explain(exc)}"))
                continue
            problem = response_problem(data)
            if problem:
                result.errors.append(self._scrub(f"{describe(card)}: {problem}"))
                continue
            if str(data.get("id", "")).strip() != product_id:
                result.errors.append(
                    self._scrub(
                        f"{describe(card)}: asked for product {product_id}, "
                        f"PriceCharting answered with {data.get('id')!r}"
                    )
                )
                continue
            self._read_product(card, data, observed_at, result)
            result.checked.add(card.pk)
        return result

    def _read_product(self, card, data: dict, observed_at, result: FetchResult) -> None:
        sample_size = count(data.get("sales-volume"))
        for field, price_key in price_fields(is_sealed(str(data.get("genre") or ""), card)).items():
            try:
                cents = pennies(data.get(field))
            except ValueError as exc:
                result.rejected.append(self._scrub(f"{describe(card)} {field}: {exc}"))
                continue
            if cents is None:
                continue
            result.observations.append(
                Observation(
                    card_id=card.pk,
                    source=SOURCE,
                    price_key=price_key,
                    market=cents,
                    observed_at=observed_at,
                    sample_size=sample_size,
                )
            )

    def search(self, query: str) -> list[dict]:
        """/api/products: up to 20 products best matching the text."""
        data = self.http.get_json("/api/products", params={"t": self.token, "q": query})
        problem = response_problem(data)
        if problem:
            raise PermanentError(self._scrub(f"PriceCharting search {query!r}: {problem}"))
        products = data.get("products")
        if not isinstance(products, list):
            raise PermanentError(f"PriceCharting search {query!r}: no product list in the answer")
        return [product for product in products if isinstance(product, dict)]

    def find_product(self, card: Card) -> str | None:
        """The PriceCharting id of this card, only when exactly one product of a search
        matches it by the matching rules (prices.matching); None otherwise."""
        try:
            found = self.search(search_text(card))
        except PermanentError as exc:
            logger.warning("PriceCharting search for card %s: %s", card.pk, self._scrub(str(exc)))
            return None
        products = [Product.from_api(data) for data in found]
        products = [product for product in products if product.id]
        if not products:
            return None
        index = CatalogIndex.for_products(products, game=card.card_set.game)
        ids = {
            product.id
            for product in products
            if (match := index.match(product)).status == MATCHED and match.card_id == card.pk
        }
        return ids.pop() if len(ids) == 1 else None

    def price_guide_lines(
        self, category: str | None = None, url: str | None = None
    ) -> Iterator[str]:
        """The CSV price guide, streamed line by line (lines keep their endings).

        `url` may be a path on the PriceCharting base URL or an absolute URL; the token is
        only sent to PriceCharting's own host. Nothing is requested until the first line
        is read, so a caller's error handling covers the download too.
        """
        if url is None:
            if category not in PRICE_GUIDE_CATEGORIES:
                raise ValueError(f"unknown price-guide category {category!r}")
            url = f"{PRICE_GUIDE_PATH}?category={category}"
        params = {"t": self.token} if self._is_own_url(url) else None
        self._claim_download(category or url)
        response = self.http.request("GET", url, params=params, stream=True)
        error = None
        try:
            yield from text_lines(response.iter_content(chunk_size=GUIDE_CHUNK_BYTES))
        except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:
            # Raised outside this block so the unscrubbed URL does not ride along.
            error = TransientError(
                self._scrub(f"The PriceCharting price guide download broke off: {exc}")
            )
        finally:
            response.close()
        if error is not None:
            raise error

    def _is_own_url(self, url: str) -> bool:
        parts = urlsplit(url)
        if not parts.scheme:
            return True
        base = urlsplit(self.config.base_url)
        return (parts.scheme, parts.netloc) == (base.scheme, base.netloc)

    def _claim_download(self, what: str) -> None:
        interval = self.config.options.get("price_guide_interval", PRICE_GUIDE_INTERVAL)
        if interval and not cache.add(f"pricecharting-guide:{what}", True, interval):
            raise TransientError(
                f"The PriceCharting price guide {what} was downloaded less than "
                f"{interval // 60} minutes ago; PriceCharting allows one download per "
                f"{interval // 60} minutes."
            )


def response_problem(data) -> str:
    """What is wrong with an API answer, or "" when it is a product or a search result."""
    if not isinstance(data, dict):
        return f"PriceCharting answered with {type(data).__name__}, not an object"
    status = data.get("status")
    if status == "error":
        return f"PriceCharting error: {data.get('error-message') or 'no message'}"
    if status not in (None, "success"):
        return f"PriceCharting answered with status {status!r}"
    return ""


def explain(error: PermanentError) -> str:
    """An error in a line staff can read: an HTML page (a Cloudflare challenge, a login
    page) is said to be one rather than quoted."""
    body = getattr(error, "body", "") or ""
    if body.lstrip("\ufeff \t\r\n").startswith("<"):
        status = getattr(error, "status", None)
        return f"PriceCharting sent an HTML page (HTTP {status}), not data: blocked or down?"
    return str(error)


def describe(card: Card) -> str:
    return f"card {card.pk} ({card})"


def search_text(card: Card) -> str:
    card_set = card.card_set
    set_name = card_set.pricecharting_name or card_set.name
    return f"{card.name} {card.number} {set_name}"


def text_lines(chunks) -> Iterator[str]:
    """Lines of UTF-8 text (a byte-order mark dropped) from byte chunks, each with its
    ending, without holding more than one chunk and one line in memory."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
    pending = ""
    for chunk in chunks:
        if not chunk:
            continue
        pending += decoder.decode(chunk)
        lines = pending.split("\n")
        pending = lines.pop()
        for line in lines:
            yield line + "\n"
    pending += decoder.decode(b"", final=True)
    if pending:
        yield pending
