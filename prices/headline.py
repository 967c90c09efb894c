"""A card's headline price: the one figure a list shows beside each card and sorts by.

It is a raw copy's market price, chosen as the watchlist values a card: the first of
HEADLINE_KEYS that any source prices ("ungraded" — PriceCharting's loose —, then Near
Mint, then the other conditions, best first), from the most trusted source that has it
(SOURCE_RANKING: sales before asks, the demo simulation last), the newest figure on a tie.
Only USD prices count, so that a list's figures can be compared and summed.

The same choice is written twice: in Python (choose(), over a card's summaries already
read) and in SQL (annotate(), a subquery per card, for sorting a list or summing a set
in the database). tests/prices/test_headline.py holds the two to the same answers.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import (
    Case,
    Count,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)

from cards.models import Card
from prices import keys
from prices.models import PriceSummary, Source
from prices.movers import SOURCE_PREFERENCE

CURRENCY = "USD"
HEADLINE_KEYS = [keys.UNGRADED, *keys.CONDITIONS]
SOURCE_RANKING = [*SOURCE_PREFERENCE, Source.DEMO]
SOURCE_RANK = {source: rank for rank, source in enumerate(SOURCE_RANKING)}
KEY_RANK = {key: rank for rank, key in enumerate(HEADLINE_KEYS)}
# The annotations annotate() adds to a card queryset.
MARKET = "headline_market"
CHANGE_7D = "headline_change_7d"


def preference(summary) -> tuple:
    """Sort key of a card's candidate prices, best first."""
    observed = getattr(summary, "observed_at", None)
    return (
        KEY_RANK.get(summary.price_key, len(KEY_RANK)),
        SOURCE_RANK.get(summary.source, len(SOURCE_RANK)),
        -observed.timestamp() if observed else 0,
        getattr(summary, "pk", 0) or 0,
    )


def choose(candidates: Iterable[PriceSummary]) -> PriceSummary | None:
    """The headline among one card's summaries (any keys, sources and currencies)."""
    eligible = [
        summary
        for summary in candidates
        if summary.price_key in KEY_RANK and summary.currency == CURRENCY
    ]
    return min(eligible, key=preference, default=None)


def headline_prices(card_ids: Iterable[int]) -> dict[int, PriceSummary]:
    """Each card's headline summary (with its changes), in one query; cards without a raw
    price are left out."""
    by_card: dict[int, list[PriceSummary]] = defaultdict(list)
    summaries = PriceSummary.objects.filter(
        card_id__in=set(card_ids), currency=CURRENCY, price_key__in=HEADLINE_KEYS
    )
    for summary in summaries.defer("updated_at"):
        by_card[summary.card_id].append(summary)
    return {card_id: price for card_id, rows in by_card.items() if (price := choose(rows))}


def key_prices(card_ids: Iterable[int], key: str) -> dict[int, PriceSummary]:
    """Each card's price for one exact key (e.g. "PSA 10") from the most trusted source
    that has it, in one query."""
    by_card: dict[int, list[PriceSummary]] = defaultdict(list)
    summaries = PriceSummary.objects.filter(
        card_id__in=set(card_ids), currency=CURRENCY, price_key=key
    )
    for summary in summaries.defer("updated_at"):
        by_card[summary.card_id].append(summary)
    return {
        card_id: min(rows, key=lambda s: preference(s)[1:]) for card_id, rows in by_card.items()
    }


def _ordering() -> list:
    key_rank = Case(
        *(When(price_key=key, then=Value(rank)) for key, rank in KEY_RANK.items()),
        default=Value(len(KEY_RANK)),
        output_field=IntegerField(),
    )
    source_rank = Case(
        *(When(source=source, then=Value(rank)) for source, rank in SOURCE_RANK.items()),
        default=Value(len(SOURCE_RANK)),
        output_field=IntegerField(),
    )
    return [key_rank.asc(), source_rank.asc(), F("observed_at").desc(), F("pk").asc()]


def subquery(field: str, card_ref: str = "pk") -> Subquery:
    """One field of the headline summary of the card `card_ref` names in the outer query."""
    chosen = (
        PriceSummary.objects.filter(
            card_id=OuterRef(card_ref), currency=CURRENCY, price_key__in=HEADLINE_KEYS
        )
        .order_by(*_ordering())
        .values(field)[:1]
    )
    return Subquery(chosen)


def annotate(cards: QuerySet) -> QuerySet:
    """Cards with their headline market (cents) and 7-day change as aliases MARKET and
    CHANGE_7D, for ordering and aggregating; an alias the query does not use costs
    nothing."""
    return cards.alias(**{MARKET: subquery("market"), CHANGE_7D: subquery("change_7d")})


@dataclass(frozen=True)
class SetValue:
    """A set's "master set" value: one copy of each of its cards at its headline price."""

    cards: int
    priced: int
    total: int  # cents, the priced cards' sum
    simulated: int  # how many of the priced cards have only a simulated price

    @property
    def unpriced(self) -> int:
        return self.cards - self.priced


def set_values(card_sets) -> dict[int, SetValue]:
    """The value of each of these sets (ids or a queryset), in one query; a set without
    cards is left out."""
    rows = (
        annotate(Card.objects.filter(card_set__in=card_sets))
        .alias(headline_source=subquery("source"))
        .values("card_set_id")
        .annotate(
            card_count=Count("pk"),
            priced=Count(MARKET),
            total=Sum(MARKET),
            simulated=Count("pk", filter=Q(headline_source=Source.DEMO)),
        )
        .order_by()
    )
    return {
        row["card_set_id"]: SetValue(
            row["card_count"], row["priced"], row["total"] or 0, row["simulated"]
        )
        for row in rows
    }


def most_valuable(cards: QuerySet, limit: int) -> list[tuple[Card, PriceSummary]]:
    """The `limit` cards of `cards` with the highest headline prices, dearest first, with
    those prices: two queries."""
    top = list(
        annotate(cards)
        .filter(**{f"{MARKET}__isnull": False})
        .order_by(F(MARKET).desc(), "pk")[:limit]
    )
    prices = headline_prices(card.pk for card in top)
    return [(card, prices[card.pk]) for card in top if card.pk in prices]
