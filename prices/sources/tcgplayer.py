"""TCGplayer (legacy API): market, low and high price per product and printing.

TCGplayer no longer admits new developers, so this source is off unless an operator
still holds a public and private key. One product carries every printing of a card
(Normal, Holofoil, Reverse Holofoil, 1st Edition ...), one pricing row each; the row
matching the catalog card's variant is the card's price. The market price is TCGplayer's
figure for Near Mint copies, so it is stored under "NM".

The printing names are TCGplayer's, and JustTCG reports the same ones, so both clients
pick their row with choose_printing() below.
"""

import json
import logging
import re
from collections import defaultdict
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.utils import timezone

from cards.models import Card
from prices.sources.base import FetchResult, PriceClient
from prices.sources.tokens import CachedToken, TokenRefused
from prices.writing import Observation
from tcgtracker.lib.http import PermanentError, SourceConfig, SourceHttp

logger = logging.getLogger(__name__)

TOKEN_PATH = "/token"
PRICING_PATH = "/pricing/product/{ids}"
MAX_IDS_PER_CALL = 100
PRICE_KEY = "NM"
CURRENCY = "USD"
# TCGplayer tokens live about two weeks; refresh this long before they expire.

PARALLEL_RE = re.compile(r"p\d+")
# The base print's printing, most likely first: "Unlimited" is how TCGplayer names the
# base print of early sets that also had a 1st Edition.
BASE_PRINTINGS = ["normal", "holofoil", "foil", "unlimited", "unlimited holofoil"]


def choose_printing(variant: str, printings: Iterable[str]) -> str | None:
    """The printing (as the source spells it) that prices a catalog variant.

    Blank variant: the base print, never a Reverse Holofoil or 1st Edition row.
    "Reverse Holo" → the Reverse Holofoil row; "1st Edition" → a 1st Edition row.
    One Piece parallels (p1, p2 ...) are products of their own: their only printing
    is theirs, whatever it is called. None when nothing fits.
    """
    available: dict[str, str] = {}
    for printing in printings:
        if isinstance(printing, str) and printing.strip():
            available.setdefault(_normalise_printing(printing), printing)
    if not available:
        return None
    wanted = _normalise_printing(variant)
    if wanted in available:
        return available[wanted]
    parallel = bool(PARALLEL_RE.fullmatch(wanted))
    if parallel and len(available) == 1:
        return next(iter(available.values()))
    if not wanted or parallel:
        candidates = [
            name for name in available if "reverse" not in name and "1st edition" not in name
        ]
    elif "reverse" in wanted:
        candidates = [name for name in available if "reverse" in name]
    elif "1st edition" in wanted:
        candidates = [name for name in available if name.startswith("1st edition")]
    else:
        return None
    if not candidates:
        return None
    return available[min(candidates, key=_printing_rank)]


def _normalise_printing(name: str) -> str:
    name = " ".join(name.lower().replace("first edition", "1st edition").split())
    return re.sub(r"\bholo\b", "holofoil", name)


def _printing_rank(name: str) -> tuple[int, str]:
    rest = re.sub(r"^(?:1st edition|reverse)\s*", "", name)
    if not rest:
        return (-1, name)
    return (BASE_PRINTINGS.index(rest) if rest in BASE_PRINTINGS else len(BASE_PRINTINGS), name)


def _json_or_none(text: str) -> object:
    try:
        return json.loads(text or "null")
    except ValueError:
        return None


def dollars_to_cents(value: object) -> int | None:
    """A dollar amount from JSON in cents; None for no data (null or 0).

    ValueError for what is not a price: text, negative or non-finite amounts.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"{value!r} is not a price")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a price") from None
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"{value!r} is not a price")
    if amount == 0:
        return None  # sources send 0 for "no price", never for a free card
    return int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


class TcgplayerClient(PriceClient):
    name = "tcgplayer"
    label = "TCGplayer"

    def __init__(self, config: SourceConfig | None = None, http: SourceHttp | None = None):
        super().__init__(config)
        self.http = http or SourceHttp(self.config)
        self._tokens = CachedToken(self.name, self.config.credentials.get("public_key", ""), 3600)

    def can_price(self, card: Card) -> bool:
        return card.tcgplayer_id.strip().isdigit()

    def fetch(self, cards: list[Card]) -> FetchResult:
        result = FetchResult()
        observed_at = timezone.now().replace(minute=0, second=0, microsecond=0)
        # Printings of one card (base, Reverse Holo) share a product id.
        by_product: dict[str, list[Card]] = defaultdict(list)
        for card in cards:
            if self.can_price(card):
                by_product[str(int(card.tcgplayer_id))].append(card)
        if not by_product:
            return result
        self._token()  # a refused key fails the batch once, not card by card
        product_ids = list(by_product)
        for start in range(0, len(product_ids), MAX_IDS_PER_CALL):
            # One call answers up to a whole batch, so a failed call fails the batch:
            # the sync records it once and decides whether to go on.
            chunk = product_ids[start : start + MAX_IDS_PER_CALL]
            rows, errors = self._pricing(chunk)
            if errors:
                # TCGplayer's own answer for these ids (unknown products, say): asking
                # again at once will not change it.
                chunk_cards = [card.pk for product_id in chunk for card in by_product[product_id]]
                result.errors.append(f"TCGplayer for cards {chunk_cards}: {errors}")
            for product_id in chunk:
                for card in by_product[product_id]:
                    self._read_card(card, rows.get(product_id, []), observed_at, result)
        return result

    def _read_card(self, card: Card, rows: list[dict], observed_at, result: FetchResult) -> None:
        result.checked.add(card.pk)
        if not rows:
            return  # no prices for this product
        by_printing = {str(row.get("subTypeName") or ""): row for row in rows}
        printing = choose_printing(card.variant, by_printing)
        if printing is None:
            result.errors.append(
                f"card {card.pk}: no TCGplayer printing for variant {card.variant or 'base'!r} "
                f"among {sorted(by_printing)}"
            )
            return
        row = by_printing[printing]
        try:
            market = dollars_to_cents(row.get("marketPrice"))
            low = dollars_to_cents(row.get("lowPrice"))
            high = dollars_to_cents(row.get("highPrice"))
        except ValueError as exc:
            result.rejected.append(f"card {card.pk}: TCGplayer {printing}: {exc}")
            return
        if market is None:
            return
        result.observations.append(
            Observation(
                card_id=card.pk,
                source=self.name,
                price_key=PRICE_KEY,
                market=market,
                low=low,
                high=high,
                currency=CURRENCY,
                observed_at=observed_at,
            )
        )

    def _pricing(self, product_ids: list[str]) -> tuple[dict[str, list[dict]], str]:
        """Pricing rows by product id (as a string), and TCGplayer's errors, if any."""
        path = PRICING_PATH.format(ids=",".join(product_ids))
        data = None
        for attempt in range(2):
            headers = {"Authorization": f"bearer {self._token(fresh=attempt > 0)}"}
            try:
                data = self.http.get_json(path, headers=headers)
                break
            except PermanentError as exc:
                status = getattr(exc, "status", None)
                if status == 401 and attempt == 0:
                    logger.info("TCGplayer refused the cached token; minting a new one")
                    continue
                # TCGplayer says "none of these" as a 404 with its usual envelope.
                data = _json_or_none(getattr(exc, "body", ""))
                if status != 404 or not isinstance(data, dict) or "success" not in data:
                    raise
                break
        if not isinstance(data, dict):
            raise PermanentError("TCGplayer sent pricing that is not an object")
        errors = ""
        if data.get("success") is not True:
            reasons = data.get("errors") or ["no reason given"]
            errors = "; ".join(str(reason) for reason in reasons)[:300]
        rows: dict[str, list[dict]] = defaultdict(list)
        for row in data.get("results") or []:
            if isinstance(row, dict) and row.get("productId") is not None:
                rows[str(row["productId"])].append(row)
        return rows, errors

    # Token

    def _token(self, *, fresh: bool = False) -> str:
        return self._tokens.current(self._mint_token, self.http, fresh=fresh)

    def _mint_token(self) -> str:
        credentials = self.config.credentials
        try:
            data = self.http.post_json(
                TOKEN_PATH,
                data={
                    "grant_type": "client_credentials",
                    "client_id": credentials["public_key"],
                    "client_secret": credentials["private_key"],
                },
            )
        except PermanentError as exc:
            status = getattr(exc, "status", None)
            raise TokenRefused(f"TCGplayer refused a bearer token (HTTP {status})") from exc
        return self._tokens.store(data, "TCGplayer")
