"""Collection valuation: each item's value from the latest-price summaries.

An item is valued at the price key that matches it (its condition or grade, or the
collection's raw basis), from the collection's source or the best available one. When
that key has no price, the closest key that has one is used instead, and the item says
so ("valued at Ungraded — no Near Mint price"). An item no key prices is listed as
unpriced and left out of the totals, never counted as zero.

"Best available" ranks sources by trust, as the movers do: PriceCharting (sales),
TCGplayer, JustTCG, eBay (asks), and the demo simulation only when nothing else prices
the card; the newest figure breaks a tie.

A whole collection is valued in two queries (its items, their cards' summaries) whatever
its size; value_collections() totals many collections in two queries as well.

A collection's page values every item (the totals and the sort cover them all) but shows
one page of rows, so value_collection() keeps what it found in the cache — per item the
few figures the totals and the sort read, and the price chosen — until the collection's
items or their prices change (collections_app.receivers forgets it then). A page served
from the cache reads only the items of the rows it shows (load_items()): a 500-item
collection's page costs about what a 50-item one does.
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import Protocol

from django.core.cache import cache

from collections_app.models import Collection, CollectionItem
from prices import headline, keys
from prices.headline import SOURCE_RANK
from prices.models import PriceSummary, Source

CURRENCY = headline.CURRENCY
# A backstop only: a cached valuation is forgotten when its items or their prices change.
CACHE_SECONDS = 6 * 60 * 60
# Fields no collection page shows, left unread: at hundreds of items, parsing them (JSON,
# timestamps) is a good part of the page's time.
UNSHOWN_CATALOG_FIELDS = (
    "updated_at",
    "card__search_document",
    "card__curated_fields",
    "card__created",
    "card__updated",
    "card__card_set__curated_fields",
    "card__card_set__created",
    "card__card_set__updated",
)
# Price's fields, in its order.
SUMMARY_FIELDS = ("card_id", "source", "price_key", "currency", "market", "observed_at")
# What valuing an item reads of it.
VALUED_ITEM_FIELDS = ("card_id", *CollectionItem.VALUE_FIELDS)


class PriceLike(Protocol):
    """A price of one card: a PriceSummary, or a day's price point when backfilling."""

    source: str
    price_key: str
    market: int


@dataclass(frozen=True, slots=True)
class Price:
    """A card's latest price from one source for one key: the fields of a PriceSummary
    that valuation reads, without the cost of a model instance per summary."""

    card_id: int
    source: str
    price_key: str
    currency: str
    market: int
    observed_at: dt.datetime

    @property
    def is_simulated(self) -> bool:
        return self.source == Source.DEMO


def wanted_key(item: CollectionItem, collection: Collection) -> str:
    """The price key that values an item on its collection's basis."""
    if item.is_graded or not collection.basis_key:
        return item.price_key
    return collection.basis_key


def fallback_keys(key: str) -> list[str]:
    """Price keys to try for an item, closest first, starting with the key itself.

    Raw: the condition, then "ungraded" (a raw copy of any condition), then the other
    conditions nearest first, the worse one first on a tie (not to overvalue). Graded:
    only along the grade ladder — the grade (without its label) from the same grader,
    from any grader ("ANY 9", then the other graders' 9), then the nearest lower grade
    the same way, and so on down. Never a raw price: a slab is not worth a raw copy, and
    valuing it so shows a loss that is not there. With nothing on the ladder priced, the
    item is unpriced and listed as such.
    """
    if key == keys.UNGRADED:
        return list(headline.HEADLINE_KEYS)
    if key in keys.CONDITIONS:
        index = keys.CONDITIONS.index(key)
        others = sorted(
            (c for c in keys.CONDITIONS if c != key),
            key=lambda c: (abs(keys.CONDITIONS.index(c) - index), -keys.CONDITIONS.index(c)),
        )
        return [key, keys.UNGRADED, *others]
    match = keys.GRADE_RE.match(key)
    if not match:
        return [key]
    grader, grade = match["grader"], Decimal(match["grade"])
    graders = list(dict.fromkeys([grader, "ANY", *keys.GRADERS]))
    chain = [key]
    lower = [grade - Decimal("0.5") * step for step in range(int(grade * 2) - 1)]
    for value in lower:
        for who in graders:
            candidate = keys.graded(who, value)
            if candidate not in chain:
                chain.append(candidate)
    return chain


def choose_price(
    candidates: Iterable[PriceLike], wanted: str, basis_source: str = ""
) -> PriceLike | None:
    """The price that values an item wanting `wanted`, from one card's prices."""
    by_key: dict[str, list[PriceLike]] = defaultdict(list)
    for price in candidates:
        if basis_source and price.source != basis_source:
            continue
        by_key[price.price_key].append(price)
    for key in fallback_keys(wanted):
        if prices := by_key.get(key):
            return min(prices, key=_preference)
    return None


def _preference(price: PriceLike):
    observed = getattr(price, "observed_at", None)
    return (
        SOURCE_RANK.get(price.source, len(SOURCE_RANK)),
        -observed.timestamp() if observed else 0,
    )


def _grade(key: str) -> Decimal:
    """A graded key's grade; 0 for a raw key."""
    match = keys.GRADE_RE.match(key)
    return Decimal(match["grade"]) if match else Decimal(0)


def name_key(item) -> tuple:
    """An item's place in the table sorted by card name."""
    card = item.card
    return (card.name.lower(), card.card_set.name.lower(), card.sort_number, item.pk)


def set_key(item) -> tuple:
    """An item's place in the table sorted by set: by release, then number."""
    card = item.card
    released = card.card_set.release_date
    return (released is None, released or dt.date.min, card.card_set.code,
            card.sort_number, card.number, item.pk)  # fmt: skip


@dataclass(frozen=True, slots=True)
class ItemFacts:
    """What the totals and the sort read of an item: a cached valuation keeps these
    rather than the item, whose model instance (with its card and set) is read only for
    the rows a page shows (load_items)."""

    pk: int
    card_id: int
    quantity: int
    cost: int | None
    name_key: tuple
    set_key: tuple


@dataclass
class ItemValuation:
    """One item's value. Its figures are computed once: a page reads them many times."""

    item: "CollectionItem | ItemFacts"
    wanted_key: str
    price: Price | None
    basis_source: str = ""

    @property
    def name_key(self) -> tuple:
        return self.item.name_key if isinstance(self.item, ItemFacts) else name_key(self.item)

    @property
    def set_key(self) -> tuple:
        return self.item.set_key if isinstance(self.item, ItemFacts) else set_key(self.item)

    @property
    def is_priced(self) -> bool:
        return self.price is not None

    @property
    def unit_value(self) -> int | None:
        return self.price.market if self.price else None

    @cached_property
    def value(self) -> int | None:
        return self.price.market * self.item.quantity if self.price else None

    @cached_property
    def cost(self) -> int | None:
        return self.item.cost

    @cached_property
    def gain(self) -> int | None:
        if self.value is None or self.cost is None:
            return None
        return self.value - self.cost

    @cached_property
    def gain_percent(self) -> float | None:
        if self.gain is None or not self.cost:
            return None
        return self.gain / self.cost * 100

    @property
    def is_fallback(self) -> bool:
        return self.price is not None and self.price.price_key != self.wanted_key

    @property
    def is_simulated(self) -> bool:
        return self.price is not None and self.price.source == Source.DEMO

    @property
    def note(self) -> str:
        """Why the item is valued as it is, when that is not simply its own price."""
        wanted = keys.label(self.wanted_key)
        if self.price is None:
            source = f"{Source(self.basis_source).label} " if self.basis_source else ""
            if keys.sort_key(self.wanted_key).is_graded:
                return f"Unpriced — no {source}price for {wanted} or a lower grade"
            if self.basis_source:
                return f"Unpriced — no {source}price for this card"
            return "Unpriced — no price for this card yet"
        if self.is_fallback:
            used = keys.label(self.price.price_key)
            if _grade(self.price.price_key) < _grade(self.wanted_key):
                return f"valued at {used}, the nearest lower grade priced — no {wanted} price"
            return f"valued at {used} — no {wanted} price"
        return ""


@dataclass
class CollectionValuation:
    collection: Collection
    items: list[ItemValuation] = field(default_factory=list)
    currency: str = CURRENCY

    @property
    def priced(self) -> list[ItemValuation]:
        return [row for row in self.items if row.is_priced]

    @property
    def unpriced(self) -> list[ItemValuation]:
        return [row for row in self.items if not row.is_priced]

    @property
    def copies(self) -> int:
        return sum(row.item.quantity for row in self.items)

    @property
    def value(self) -> int:
        """Cents: the priced items' value (unpriced items are listed, not counted)."""
        return sum(row.value for row in self.priced)

    @property
    def cost(self) -> int:
        """Cents paid for the items with a purchase price."""
        return sum(row.cost for row in self.items if row.cost is not None)

    @property
    def compared(self) -> list[ItemValuation]:
        """Items with both a value and a cost: the ones gain/loss is measured on."""
        return [row for row in self.items if row.gain is not None]

    @property
    def gain(self) -> int | None:
        compared = self.compared
        if not compared:
            return None
        return sum(row.gain for row in compared)

    @property
    def gain_percent(self) -> float | None:
        cost = sum(row.cost for row in self.compared)
        if self.gain is None or not cost:
            return None
        return self.gain / cost * 100

    @property
    def fallbacks(self) -> int:
        return sum(row.is_fallback for row in self.items)

    @property
    def simulated(self) -> bool:
        return any(row.is_simulated for row in self.items)


def summaries_by_card(card_ids: Iterable[int]) -> dict[int, list[Price]]:
    """Every USD summary of these cards, in one query."""
    prices: dict[int, list[Price]] = defaultdict(list)
    rows = PriceSummary.objects.filter(card_id__in=set(card_ids), currency=CURRENCY)
    for row in rows.values_list(*SUMMARY_FIELDS):
        price = Price(*row)
        prices[price.card_id].append(price)
    return prices


def raw_prices(card_ids: Iterable[int]) -> dict[int, PriceSummary]:
    """Each card's representative raw price, as the watchlists show it: its headline price
    (prices.headline), with its changes. One query."""
    return headline.headline_prices(card_ids)


def value_items(
    collection: Collection,
    items: list[CollectionItem],
    prices: dict[int, list[Price]] | None = None,
) -> CollectionValuation:
    """Value these items of a collection (one query for the prices, unless given)."""
    if prices is None:
        prices = summaries_by_card(item.card_id for item in items)
    valuation = CollectionValuation(collection)
    for item in items:
        wanted = wanted_key(item, collection)
        price = choose_price(prices.get(item.card_id, []), wanted, collection.basis_source)
        valuation.items.append(ItemValuation(item, wanted, price, collection.basis_source))
    return valuation


def value_collection(collection: Collection) -> CollectionValuation:
    """The whole collection: from the cache, or in two queries (and then cached). Rows
    from the cache hold ItemFacts: load_items() before showing them."""
    basis = (collection.basis_key, collection.basis_source)
    cached = cache.get(_cache_key(collection.pk))
    if cached is not None and cached[0] == basis:
        valuation = CollectionValuation(collection)
        valuation.items = [
            ItemValuation(
                ItemFacts(*facts), wanted, Price(*price) if price else None, collection.basis_source
            )
            for facts, wanted, price in cached[1]
        ]
        return valuation
    items = list(collection.items.select_related("card__card_set").defer(*UNSHOWN_CATALOG_FIELDS))
    valuation = value_items(collection, items)
    rows = [
        (
            (item.pk, item.card_id, item.quantity, item.cost, name_key(item), set_key(item)),
            row.wanted_key,
            (
                row.price.card_id,
                row.price.source,
                row.price.price_key,
                row.price.currency,
                row.price.market,
                row.price.observed_at,
            )
            if row.price
            else None,
        )
        for row in valuation.items
        for item in [row.item]
    ]
    cache.set(_cache_key(collection.pk), (basis, rows), CACHE_SECONDS)
    return valuation


def load_items(rows: list[ItemValuation]) -> list[ItemValuation]:
    """These rows with their items (card and set too) in place of cached facts, in one
    query; a row whose item is gone meanwhile is left out."""
    wanted = [row.item.pk for row in rows if isinstance(row.item, ItemFacts)]
    if not wanted:
        return rows
    items = CollectionItem.objects.select_related("card__card_set").defer(*UNSHOWN_CATALOG_FIELDS)
    found = items.in_bulk(wanted)
    loaded = []
    for row in rows:
        if isinstance(row.item, ItemFacts):
            if row.item.pk not in found:
                continue
            row.item = found[row.item.pk]
        loaded.append(row)
    return loaded


def _cache_key(collection_id: int) -> str:
    return f"collections:valuation:v1:{collection_id}"


def forget_valuations(collection_ids: Iterable[int]) -> None:
    """Drop the cached valuations of these collections (their items or prices changed)."""
    cache.delete_many([_cache_key(pk) for pk in set(collection_ids)])


def value_collections(collections: list[Collection]) -> dict[int, CollectionValuation]:
    """Several collections (a user's list), in two queries whatever their sizes."""
    by_collection: dict[int, list[CollectionItem]] = defaultdict(list)
    items = CollectionItem.objects.filter(collection__in=collections).only(
        "collection_id", *VALUED_ITEM_FIELDS
    )
    for item in items:
        by_collection[item.collection_id].append(item)
    prices = summaries_by_card(item.card_id for rows in by_collection.values() for item in rows)
    return {
        collection.pk: value_items(collection, by_collection[collection.pk], prices)
        for collection in collections
    }
