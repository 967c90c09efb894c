"""eBay Browse: what sellers ask for a card right now, per grade.

eBay's sold prices are closed to us, so what this source stores are asks: per card and
bucket (ungraded, PSA 10, BGS 9.5 ...) the count, lowest, median and highest asking price
of matching fixed-price listings, outliers dropped, labelled "asks" wherever shown.

Outliers are dropped with Tukey's fences — prices outside [Q1 − 1.5·IQR, Q3 + 1.5·IQR] —
once a bucket has at least MIN_PRICES_FOR_FENCES listings; smaller buckets are kept whole
because their quartiles say nothing. The price is the item price without shipping.

Quota: eBay allows a few thousand Browse calls a day and answers 429 once they are spent.
That is a daily quota, not a burst limit, so a 429 is never retried: it raises
QuotaExhausted with the next midnight in Pacific time, when eBay resets the count, and the
sync leaves eBay alone until then. Application tokens (1,000 mints a day) are cached in
the shared cache until shortly before they expire.
"""

import datetime as dt
import json
import logging
import re
import statistics
from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from django.utils import timezone

from cards.models import Card, Game
from prices import keys
from prices.sources.base import FetchResult, PriceClient
from prices.sources.tokens import CachedToken, TokenRefused
from prices.writing import Observation
from tcgtracker.lib.http import (
    BudgetExhausted,
    CircuitOpen,
    PermanentError,
    QuotaExhausted,
    SourceConfig,
    SourceError,
    SourceHttp,
    TransientError,
)

logger = logging.getLogger(__name__)

TOKEN_PATH = "/identity/v1/oauth2/token"
SEARCH_PATH = "/buy/browse/v1/item_summary/search"
SCOPE = "https://api.ebay.com/oauth/api_scope"
PAGE_SIZE = 200
DEFAULT_MAX_PAGES = 1
# Refresh a token this long before eBay says it expires (at most a tenth of its life).

CONDITION_GRADED = "2750"
CONDITION_UNGRADED = "4000"
QUOTA_RESET_ZONE = ZoneInfo("America/Los_Angeles")
TOO_MANY_REQUESTS_ERROR_ID = 2001
CURRENCY = "USD"
MIN_PRICES_FOR_FENCES = 4

# Words every built search excludes: listings that are not the real card.
QUERY_EXCLUSIONS = ["-proxy", "-custom", "-digital"]

# Titles that are not one copy of the card: lots, proxies, pick-your-card listings
# (whose price is that of the cheapest choice), empty boxes.
NOISE_RE = re.compile(
    r"\b(?:lots?|bundle|proxy|proxies|custom|orica|replica|fake|digital|playset|mystery"
    r"|empty|you pick|u pick|pick your|choose your|x[2-9]\d?|[2-9]\d?x)\b",
    re.IGNORECASE,
)
# An English card's listings in another language are a different market.
FOREIGN_RE = re.compile(
    r"\b(?:japanese|japan|jpn|korean|chinese|german|french|italian|spanish|portuguese)\b",
    re.IGNORECASE,
)
GRADE_RE = re.compile(
    r"\b(?P<grader>PSA|BGS|BECKETT|CGC|SGC|TAG|ACE)"
    # What graders print between their name and the grade: "PSA GEM MT 10".
    r"(?:\s*(?:GEM\s*-?\s*(?:MINT|MT)|MINT|MT|NM-MT|NM|PRISTINE|PERFECT|BLACK\s+LABEL)\b)*"
    r"\s*-?\s*(?P<grade>10(?:\.0)?|[1-9](?:\.[05])?)(?!\.?\d)",
    re.IGNORECASE,
)
BLACK_LABEL_RE = re.compile(r"\bblack\s+label\b", re.IGNORECASE)
PRISTINE_RE = re.compile(r"\bpristine\b", re.IGNORECASE)
QUERY_WORD_RE = re.compile(r"[\w'/.-]+")


@dataclass(frozen=True)
class AskStats:
    """Asking prices of one bucket in cents, after outliers are dropped."""

    count: int
    low: int
    median: int
    high: int


class EbayClient(PriceClient):
    name = "ebay"
    label = "eBay"
    qualifier = "asks"

    def __init__(self, config: SourceConfig | None = None, http: SourceHttp | None = None):
        super().__init__(config)
        # A 429 is the daily quota: retrying it only burns time.
        self.http = http or SourceHttp(self.config, retry_on_429=False)
        self.max_pages = max(1, int(self.config.options.get("max_pages", DEFAULT_MAX_PAGES)))
        self._tokens = CachedToken(self.name, self.config.credentials.get("client_id", ""), 7200)

    def can_price(self, card: Card) -> bool:
        return bool(card.name.strip() or card.ebay_query.strip())

    def fetch(self, cards: list[Card]) -> FetchResult:
        result = FetchResult()
        observed_at = timezone.now().replace(minute=0, second=0, microsecond=0)
        cards = [card for card in cards if self.can_price(card)]
        if cards:
            self._token()  # refused credentials fail the batch once, not card by card
        for card in cards:
            try:
                items = self.search(card)
            except (QuotaExhausted, CircuitOpen, BudgetExhausted, TokenRefused):
                raise  # the source is unavailable: the rest of the batch would fail too
            except SourceError as exc:
                result.errors.append(f"card {card.pk}: eBay search failed: {exc}")
                continue
            buckets, rejected = bucket_listings(card, items)
            result.rejected.extend(f"card {card.pk}: {message}" for message in rejected)
            for price_key, prices in sorted(buckets.items()):
                stats = ask_stats(prices)
                result.observations.append(
                    Observation(
                        card_id=card.pk,
                        source=self.name,
                        price_key=price_key,
                        market=stats.median,
                        low=stats.low,
                        high=stats.high,
                        sample_size=stats.count,
                        currency=CURRENCY,
                        observed_at=observed_at,
                    )
                )
            result.checked.add(card.pk)
        return result

    # Search

    def search(self, card: Card) -> list[dict]:
        """The card's listings, up to max_pages pages of PAGE_SIZE, each item once."""
        params = self.search_params(card)
        items: dict[str, dict] = {}
        for page in range(self.max_pages):
            data = self._get(SEARCH_PATH, {**params, "offset": page * PAGE_SIZE})
            if not isinstance(data, dict):
                raise PermanentError("eBay sent a search result that is not an object")
            summaries = data.get("itemSummaries") or []
            if not isinstance(summaries, list):
                raise PermanentError("eBay sent itemSummaries that are not a list")
            for item in summaries:
                if isinstance(item, dict):
                    items.setdefault(str(item.get("itemId") or id(item)), item)
            # Offsets are computed rather than following `next`, so a token is never
            # sent to a host named in a response.
            if not data.get("next") or not summaries:
                break
        return list(items.values())

    def search_params(self, card: Card) -> dict[str, str | int]:
        options = self.config.options
        sealed = card.kind == Card.Kind.SEALED
        filters = ["buyingOptions:{FIXED_PRICE}", f"priceCurrency:{CURRENCY}"]
        if options.get("item_location_country"):
            filters.append(f"itemLocationCountry:{options['item_location_country']}")
        if not sealed:
            filters.append(f"conditionIds:{{{CONDITION_GRADED}|{CONDITION_UNGRADED}}}")
        params: dict[str, str | int] = {
            "q": search_query(card),
            "filter": ",".join(filters),
            "limit": PAGE_SIZE,
        }
        category = options.get("category_sealed" if sealed else "category_single")
        if category:
            params["category_ids"] = category
        return params

    def _get(self, path: str, params: dict) -> object:
        """GET with the application token; a 401 mints a new token and tries once more."""
        for attempt in range(2):
            headers = {
                "Authorization": f"Bearer {self._token(fresh=attempt > 0)}",
                "X-EBAY-C-MARKETPLACE-ID": self.config.options.get("marketplace") or "EBAY_US",
            }
            try:
                return self.http.get_json(path, params=params, headers=headers)
            except PermanentError as exc:
                if _is_quota_error(exc):
                    raise quota_exhausted() from exc
                if getattr(exc, "status", None) == 401 and attempt == 0:
                    logger.info("eBay refused the cached token; minting a new one")
                    continue
                raise
            except TransientError as exc:
                if _is_quota_error(exc):
                    raise quota_exhausted() from exc
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    # Token

    def _token(self, *, fresh: bool = False) -> str:
        return self._tokens.current(self._mint_token, self.http, fresh=fresh)

    def _mint_token(self) -> str:
        credentials = self.config.credentials
        try:
            data = self.http.post_json(
                TOKEN_PATH,
                data={"grant_type": "client_credentials", "scope": SCOPE},
                auth=(credentials["client_id"], credentials["client_secret"]),
            )
        except PermanentError as exc:
            if _is_quota_error(exc):
                raise quota_exhausted() from exc
            status = getattr(exc, "status", None)
            raise TokenRefused(f"eBay refused an application token (HTTP {status})") from exc
        except TransientError as exc:
            if _is_quota_error(exc):  # token mints have a daily quota of their own
                raise quota_exhausted() from exc
            raise
        return self._tokens.store(data, "eBay")


def _is_quota_error(exc: SourceError) -> bool:
    """eBay's spent quota: HTTP 429, or its errorId 2001 "Too many requests" (which eBay
    may also send with another status)."""
    if getattr(exc, "status", None) == 429:
        return True
    try:
        body = json.loads(getattr(exc, "body", "") or "null")
    except ValueError:
        return False
    errors = body.get("errors") if isinstance(body, dict) else None
    return any(
        isinstance(error, dict) and str(error.get("errorId")) == str(TOO_MANY_REQUESTS_ERROR_ID)
        for error in errors or []
    )


def quota_exhausted(now: dt.datetime | None = None) -> QuotaExhausted:
    retry_at = next_quota_reset(now)
    return QuotaExhausted(
        f"eBay's daily call quota is spent; it resets at {retry_at:%Y-%m-%d %H:%M} UTC",
        retry_at=retry_at,
    )


def next_quota_reset(now: dt.datetime | None = None) -> dt.datetime:
    """eBay resets call counts at midnight Pacific time; the next one, in UTC."""
    local = (now or timezone.now()).astimezone(QUOTA_RESET_ZONE)
    midnight = dt.datetime.combine(
        local.date() + dt.timedelta(days=1), dt.time(0), tzinfo=QUOTA_RESET_ZONE
    )
    return midnight.astimezone(dt.UTC)


# Building the search


def search_query(card: Card) -> str:
    """The card's override, or its name, number, variant and set, minus obvious noise."""
    if card.ebay_query.strip():
        return card.ebay_query.strip()
    parts = [card.name]
    exclusions = list(QUERY_EXCLUSIONS)
    if card.kind == Card.Kind.SINGLE:
        parts.append(_number_term(card))
        variant = card.variant.strip()
        if re.fullmatch(r"p\d+", variant):
            parts.append("parallel")
        elif variant:
            parts.append(variant)
        elif card.game == Game.ONEPIECE:
            exclusions.append("-parallel")
    parts.append(card.card_set.name)
    words, seen = [], set()
    for word in QUERY_WORD_RE.findall(" ".join(parts)):
        word = word.strip(".")
        if word and word.lower() not in seen:
            seen.add(word.lower())
            words.append(word)
    return " ".join([*words, *exclusions])


def _number_term(card: Card) -> str:
    """Pokémon numbers as printed (4/102); promo and One Piece codes as they are."""
    total = card.card_set.printed_total
    if card.game == Game.POKEMON and card.number.isdigit() and total:
        return f"{int(card.number)}/{total}"
    return card.number


# Reading the listings


def bucket_listings(card: Card, items: list[dict]) -> tuple[dict[str, list[int]], list[str]]:
    """Asking prices in cents per price key, and the prices that were not prices.

    Listings that are not one copy of this card (lots, proxies, other languages), in
    another currency, or graded with no readable grade in the title are left out.
    """
    buckets: dict[str, list[int]] = defaultdict(list)
    rejected: list[str] = []
    english = card.card_set.language == "en"
    # A noise word in the product's own name ("Booster Bundle") is no noise.
    own_words = f"{card.name} {card.ebay_query}".lower()
    for item in items:
        title = str(item.get("title") or "")
        if any(match[0].lower() not in own_words for match in NOISE_RE.finditer(title)):
            continue
        if english and FOREIGN_RE.search(title):
            continue
        price_key = listing_price_key(card, item)
        if price_key is None:
            continue
        price = item.get("price")
        if not isinstance(price, dict) or price.get("value") is None:
            rejected.append(f"eBay item {item.get('itemId')}: no price")
            continue
        if price.get("currency") != CURRENCY:
            continue
        try:
            cents = ask_cents(price.get("value"))
        except ValueError as exc:
            rejected.append(f"eBay item {item.get('itemId')}: {exc}")
            continue
        buckets[price_key].append(cents)
    return dict(buckets), rejected


def listing_price_key(card: Card, item: dict) -> str | None:
    if card.kind == Card.Kind.SEALED:
        return keys.UNGRADED
    condition = str(item.get("conditionId") or "")
    grade = title_grade(str(item.get("title") or ""))
    if condition == CONDITION_UNGRADED:
        # A raw listing naming a grade is mislisted or a "PSA 10 candidate": neither
        # is a fair raw ask.
        return keys.UNGRADED if grade is None else None
    if condition == CONDITION_GRADED:
        return grade
    return None


def title_grade(title: str) -> str | None:
    """The grade a title names (PSA 10, BGS 9.5, BGS 10 black label), or None when it
    names none or several different ones."""
    found = set()
    for match in GRADE_RE.finditer(title):
        grader = match["grader"].upper()
        grader = "BGS" if grader == "BECKETT" else grader
        grade = keys.normalise_grade(match["grade"])
        label = ""
        if grade == "10":
            if BLACK_LABEL_RE.search(title):
                label = "black label"
            elif PRISTINE_RE.search(title):
                label = "pristine"
        found.add(keys.graded(grader, grade, label))
    return found.pop() if len(found) == 1 else None


def ask_cents(value: object) -> int:
    """eBay's price value (a decimal string) in cents; ValueError when it is no price."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"price {value!r} is not a number")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"price {value!r} is not a number") from None
    if not amount.is_finite() or amount <= 0:
        raise ValueError(f"price {value!r} is not a positive amount")
    return int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def drop_outliers(prices: list[int]) -> list[int]:
    """Prices inside Tukey's fences (1.5 interquartile ranges beyond the quartiles)."""
    if len(prices) < MIN_PRICES_FOR_FENCES:
        return list(prices)
    q1, _, q3 = statistics.quantiles(prices, n=4, method="inclusive")
    spread = q3 - q1
    low, high = q1 - 1.5 * spread, q3 + 1.5 * spread
    return [price for price in prices if low <= price <= high]


def ask_stats(prices: list[int]) -> AskStats:
    kept = sorted(drop_outliers(prices))
    middle = len(kept) // 2
    # An even count's median is the mean of the middle two; half a cent rounds up.
    median = kept[middle] if len(kept) % 2 else (kept[middle - 1] + kept[middle] + 1) // 2
    return AskStats(count=len(kept), low=kept[0], median=median, high=kept[-1])
