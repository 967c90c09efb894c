"""A card's headline price: the one figure a list shows beside each card and sorts by, the
watchlist values a card at, and the movers rank a card by.

It is a raw copy's market price, from the best-ranked source that has one:

1. a real source before the demo simulation (the demo only when nothing else prices a
   raw copy);
2. "ungraded" (PriceCharting's loose) or Near Mint first, then the other conditions,
   best first;
3. then the sources in order of trust: PriceCharting (sales), TCGplayer, JustTCG, eBay
   (asks, not sales);
4. "ungraded" before Near Mint from one source, then the newest figure.

Only USD prices count, so that a list's figures can be compared and summed.

The same choice is written twice: in Python (choose(), over a card's summaries already
read) and in SQL (ordering(): chosen_summaries() for the cards of a query, and
refresh_card_headlines(), which keeps every card's choice in CardHeadline for lists sorted
by price: annotate()). tests/prices/test_headline.py holds them to the same answers.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from django.db import connection, transaction
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.functions import RowNumber

from cards.models import Card
from prices import keys
from prices.models import CardHeadline, PriceSummary, Source
from tcgtracker.lib.sql import CompiledQuery, ids_in

CURRENCY = "USD"
HEADLINE_KEYS = [keys.UNGRADED, *keys.CONDITIONS]
SOURCE_PREFERENCE = [Source.PRICECHARTING, Source.TCGPLAYER, Source.JUSTTCG, Source.EBAY]
SOURCE_RANKING = [*SOURCE_PREFERENCE, Source.DEMO]
SOURCE_RANK = {source: rank for rank, source in enumerate(SOURCE_RANKING)}
# Ungraded and Near Mint are one tier: the source decides between them.
KEY_TIER = {keys.UNGRADED: 0, **{key: rank for rank, key in enumerate(keys.CONDITIONS)}}
# More card ids than this are read through one array parameter (_candidates()).
MANY_IDS = 50
# The annotations annotate() adds to a card queryset.
MARKET = "headline_market"
CHANGE_7D = "headline_change_7d"


def preference(summary) -> tuple:
    """Sort key of a card's candidate prices, best first (the module docstring's order)."""
    observed = getattr(summary, "observed_at", None)
    return (
        summary.source == Source.DEMO,
        KEY_TIER.get(summary.price_key, len(KEY_TIER)),
        SOURCE_RANK.get(summary.source, len(SOURCE_RANK)),
        summary.price_key != keys.UNGRADED,
        -observed.timestamp() if observed else 0,
        getattr(summary, "pk", 0) or 0,
    )


def source_preference(summary) -> tuple:
    """Sort key of one key's prices from several sources: the most trusted, the newest."""
    observed = getattr(summary, "observed_at", None)
    return (
        SOURCE_RANK.get(summary.source, len(SOURCE_RANK)),
        -observed.timestamp() if observed else 0,
        getattr(summary, "pk", 0) or 0,
    )


def choose(candidates: Iterable[PriceSummary]) -> PriceSummary | None:
    """The headline among one card's summaries (any keys, sources and currencies)."""
    eligible = [
        summary
        for summary in candidates
        if summary.price_key in KEY_TIER and summary.currency == CURRENCY
    ]
    return min(eligible, key=preference, default=None)


def headline_prices(card_ids: Iterable[int]) -> dict[int, PriceSummary]:
    """Each card's headline summary (with its changes), in one query; cards without a raw
    price are left out."""
    by_card: dict[int, list[PriceSummary]] = defaultdict(list)
    for summary in _candidates(card_ids).defer("updated_at"):
        by_card[summary.card_id].append(summary)
    return {card_id: price for card_id, rows in by_card.items() if (price := choose(rows))}


class HeadlineFigures(NamedTuple):
    """The columns of a headline summary that a list of cards shows (and choose() ranks
    by), as a tuple: a page of 120 summaries read as models took longer in Python than
    their query took in the database."""

    pk: int
    card_id: int
    source: str
    price_key: str
    currency: str
    market: int
    change_7d: float | None
    observed_at: datetime

    @property
    def is_simulated(self) -> bool:
        return self.source == Source.DEMO


# _candidates() of a list's cards (a search page's 24, a set page's 120) on PostgreSQL,
# as HeadlineFigures' columns: one array parameter, so one shape whatever the number of
# cards, compiled once (writing its SQL took longer than the database took to answer it,
# even for 24 cards, whose placeholders would cost the database a little less).
_CANDIDATE_FIGURES = CompiledQuery(
    lambda ids: PriceSummary.objects.filter(
        card_id__in=ids_in(ids), currency=CURRENCY, price_key__in=HEADLINE_KEYS
    ).values_list(*HeadlineFigures._fields),
    ids=list,
)


def headline_figures(card_ids: Iterable[int]) -> dict[int, HeadlineFigures]:
    """headline_prices() as HeadlineFigures: the same choice, for a list to show."""
    ids = list(set(card_ids))
    if connection.vendor == "postgresql":
        # The driver's values are the queryset's: integers, text, a float, an aware
        # datetime (no converter on PostgreSQL).
        rows = _CANDIDATE_FIGURES.fetch(ids=ids)
    else:
        rows = _candidates(ids).values_list(*HeadlineFigures._fields)
    by_card: dict[int, list[HeadlineFigures]] = defaultdict(list)
    make = tuple.__new__  # HeadlineFigures' own __new__ is a Python call per row
    for columns in rows:
        by_card[columns[1]].append(make(HeadlineFigures, columns))
    # Every candidate is eligible (the query asks for USD and the headline keys only):
    # a card's one candidate is its choice.
    return {
        card_id: price
        for card_id, found in by_card.items()
        if (price := found[0] if len(found) == 1 else choose(found))
    }


def _candidates(card_ids: Iterable[int]) -> QuerySet:
    """The cards' summaries that may be their headline price. Many ids go as one array
    parameter (tcgtracker.lib.sql.ids_in): past the driver's cache of parsed statements
    (50 parameters), a set page's 120 placeholders took longer to build and parse than
    the array costs the database; a search page's 24 cost less than the array."""
    ids = list(set(card_ids))
    return PriceSummary.objects.filter(
        card_id__in=ids_in(ids) if len(ids) > MANY_IDS else ids,
        currency=CURRENCY,
        price_key__in=HEADLINE_KEYS,
    )


def key_prices(card_ids: Iterable[int], key: str) -> dict[int, PriceSummary]:
    """Each card's price for one exact key (e.g. "PSA 10") from the most trusted source
    that has it, in one query."""
    by_card: dict[int, list[PriceSummary]] = defaultdict(list)
    summaries = PriceSummary.objects.filter(
        card_id__in=set(card_ids), currency=CURRENCY, price_key=key
    )
    for summary in summaries.defer("updated_at"):
        by_card[summary.card_id].append(summary)
    return {card_id: min(rows, key=source_preference) for card_id, rows in by_card.items()}


def ordering() -> list:
    """The order of preference() as SQL ORDER BY expressions over PriceSummary rows; any
    other key (a grade) ranks after every raw one."""
    demo_last = Case(
        When(source=Source.DEMO, then=Value(1)), default=Value(0), output_field=IntegerField()
    )
    key_tier = Case(
        *(When(price_key=key, then=Value(tier)) for key, tier in KEY_TIER.items()),
        default=Value(len(KEY_TIER)),
        output_field=IntegerField(),
    )
    source_rank = Case(
        *(When(source=source, then=Value(rank)) for source, rank in SOURCE_RANK.items()),
        default=Value(len(SOURCE_RANK)),
        output_field=IntegerField(),
    )
    ungraded_first = Case(
        When(price_key=keys.UNGRADED, then=Value(0)), default=Value(1), output_field=IntegerField()
    )
    return [
        demo_last.asc(),
        key_tier.asc(),
        source_rank.asc(),
        ungraded_first.asc(),
        F("observed_at").desc(),
        F("pk").asc(),
    ]


def annotate(cards: QuerySet) -> QuerySet:
    """Cards with their headline market (cents) and 7-day change as aliases MARKET and
    CHANGE_7D, for sorting a list: as last refreshed (CardHeadline), one join, where a
    subquery per card chose 25,000 prices to sort the catalog (half a second). An alias
    the query does not use costs nothing."""
    return cards.alias(**{MARKET: F("headline__market"), CHANGE_7D: F("headline__change_7d")})


def refresh_card_headlines() -> None:
    """Choose every card's headline again and keep it (CardHeadline): one statement that
    ranks the summaries (ordering()) and writes only the rows that changed, one that drops
    the cards left without a raw price. Run with the movers' rankings."""
    table = CardHeadline._meta.db_table
    chosen = (
        PriceSummary.objects.filter(currency=CURRENCY, price_key__in=HEADLINE_KEYS)
        .annotate(rank=Window(RowNumber(), partition_by=[F("card_id")], order_by=ordering()))
        .filter(rank=1)
        .values_list("card_id", "market", "change_7d")
    )
    sql, params = chosen.query.sql_with_params()
    differs = "IS DISTINCT FROM" if connection.vendor == "postgresql" else "IS NOT"
    with transaction.atomic(), connection.cursor() as cursor:
        # "WHERE true": without a WHERE of its own, SQLite would read ON CONFLICT as part
        # of the SELECT.
        cursor.execute(
            f"INSERT INTO {table} (card_id, market, change_7d) "
            f"SELECT * FROM ({sql}) chosen WHERE true "
            "ON CONFLICT (card_id) DO UPDATE SET "
            "market = excluded.market, change_7d = excluded.change_7d "
            f"WHERE {table}.market <> excluded.market "
            f"OR {table}.change_7d {differs} excluded.change_7d",
            params,
        )
        CardHeadline.objects.filter(
            ~Exists(
                PriceSummary.objects.filter(
                    card_id=OuterRef("card_id"), currency=CURRENCY, price_key__in=HEADLINE_KEYS
                )
            )
        ).delete()


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


def chosen_summaries(cards: QuerySet) -> QuerySet:
    """The ids of the headline summaries of `cards`, ranked in one pass over their raw
    summaries (a window function): for many cards at once, where a subquery per card
    would cost more."""
    return (
        PriceSummary.objects.filter(
            card__in=cards.values("pk"), currency=CURRENCY, price_key__in=HEADLINE_KEYS
        )
        .annotate(
            headline_rank=Window(RowNumber(), partition_by=[F("card_id")], order_by=ordering())
        )
        .filter(headline_rank=1)
        .values("pk")
    )


def set_values(card_sets) -> dict[int, SetValue]:
    """The value of each of these sets (ids or a queryset) with a card, in two queries."""
    cards = Card.objects.filter(card_set__in=card_sets)
    counts = dict(
        cards.values("card_set_id")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("card_set_id", "n")
    )
    sums = (
        PriceSummary.objects.filter(pk__in=chosen_summaries(cards))
        .values("card__card_set_id")
        .annotate(
            priced=Count("pk"),
            total=Sum("market"),
            simulated=Count("pk", filter=Q(source=Source.DEMO)),
        )
        .order_by()
    )
    found = {row["card__card_set_id"]: row for row in sums}
    return {
        set_id: SetValue(
            count,
            found.get(set_id, {}).get("priced", 0),
            found.get(set_id, {}).get("total") or 0,
            found.get(set_id, {}).get("simulated", 0),
        )
        for set_id, count in counts.items()
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
