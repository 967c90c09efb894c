"""Movers: the cards whose price rose or fell most over a period, per game, and the cards
collectors watch most.

A card has many summaries (one per source and price key); a mover list shows each card
once, by one representative price chosen in the database: its headline price, the one
every list shows (prices.headline: a real source before the demo, ungraded or Near Mint
before other conditions, the most trusted source), or for a card with only graded prices
its best-ranked grade.

Only prices observed in the last few days count (a source that stopped answering does
not leave stale movers behind), and gainers and losers only at prices of at least
MIN_PRICE_CENTS: below a dollar a few cents are a large percentage and nothing else.

Each list is one query whatever the number of cards; the ranking is cached for a few
minutes (see movers()).
"""

import datetime as dt
from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import Count, F, QuerySet, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from cards.models import Card
from prices import headline
from prices.models import PriceSummary

PERIODS = {"24h": "change_1d", "7d": "change_7d", "30d": "change_30d"}
PERIOD_LABELS = {"24h": "24 hours", "7d": "7 days", "30d": "30 days"}
DEFAULT_PERIOD = "7d"
MIN_PRICE_CENTS = 100
FRESH_FOR = dt.timedelta(days=3)
CACHE_SECONDS = 300


@dataclass
class Movers:
    gainers: list[PriceSummary]
    losers: list[PriceSummary]
    most_watched: list[tuple[Card, PriceSummary | None]]

    @property
    def simulated(self) -> bool:
        rows = [*self.gainers, *self.losers, *(s for _, s in self.most_watched if s)]
        return any(summary.is_simulated for summary in rows)


def representative_prices(game: str, now: dt.datetime | None = None) -> QuerySet:
    """One fresh summary per card of the game, by the preference in the module docstring."""
    now = now or timezone.now()
    return (
        PriceSummary.objects.filter(card__card_set__game=game, observed_at__gte=now - FRESH_FOR)
        .annotate(
            preference=Window(
                RowNumber(),
                partition_by=[F("card_id")],
                order_by=headline.ordering(),
            )
        )
        .filter(preference=1)
        .values("pk")
    )


def _ranked_ids(game: str, change: str, limit: int, gainers: bool, now) -> list[int]:
    direction = {f"{change}__gt": 0} if gainers else {f"{change}__lt": 0}
    order = F(change).desc() if gainers else F(change).asc()
    return list(
        PriceSummary.objects.filter(
            pk__in=representative_prices(game, now), market__gte=MIN_PRICE_CENTS, **direction
        )
        .order_by(order, "-market", "pk")
        .values_list("pk", flat=True)[:limit]
    )


def _most_watched_ids(game: str, limit: int, now) -> list[tuple[int, int | None]]:
    card_ids = list(
        Card.objects.filter(card_set__game=game)
        .annotate(watchers=Count("watches"))
        .filter(watchers__gt=0)
        .order_by("-watchers", "-popularity", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    if not card_ids:
        return []
    prices = dict(
        PriceSummary.objects.filter(
            pk__in=representative_prices(game, now).filter(card_id__in=card_ids)
        ).values_list("card_id", "pk")
    )
    return [(card_id, prices.get(card_id)) for card_id in card_ids]


def movers(game: str, period: str, limit: int = 10, most_watched: bool = True, now=None) -> Movers:
    """Gainers (largest rise first), losers (largest fall first) and the most watched cards.

    Ranking reads every fresh summary of the game (hundreds of milliseconds at 25,000
    cards), so the ranking — ids only — is cached for CACHE_SECONDS; the rows themselves
    are read fresh by id, in one or two quick queries.

    "Most watched" ranks the game's cards by how many collectors watch them (ties: the
    catalog's popularity, then the oldest card); it is not per period, but shows each
    card's change over the period, or no price when the card has no fresh one.
    """
    change = PERIODS[period]
    key = f"prices:movers:v2:{game}:{period}:{limit}:{int(most_watched)}"
    now = now or timezone.now()
    cached = cache.get(key)
    # The age is checked against the clock here as well as by the cache's own expiry, so
    # the ranking is never older than CACHE_SECONDS whatever the cache backend does.
    if cached is not None and now - cached["computed_at"] < dt.timedelta(seconds=CACHE_SECONDS):
        ranking = cached
    else:
        ranking = {
            "computed_at": now,
            "gainers": _ranked_ids(game, change, limit, True, now),
            "losers": _ranked_ids(game, change, limit, False, now),
            "most_watched": _most_watched_ids(game, limit, now) if most_watched else [],
        }
        cache.set(key, ranking, CACHE_SECONDS)

    summary_ids = {*ranking["gainers"], *ranking["losers"]}
    summary_ids |= {pk for _, pk in ranking["most_watched"] if pk is not None}
    summaries = PriceSummary.objects.select_related("card__card_set").in_bulk(summary_ids)
    for summary in summaries.values():
        summary.period_change = getattr(summary, change)
    cards = {summary.card_id: summary.card for summary in summaries.values()}
    missing = {card_id for card_id, _ in ranking["most_watched"]} - cards.keys()
    cards.update(Card.objects.select_related("card_set").in_bulk(missing))

    def rows(ids):
        return [summaries[pk] for pk in ids if pk in summaries]

    return Movers(
        gainers=rows(ranking["gainers"]),
        losers=rows(ranking["losers"]),
        most_watched=[
            (cards[card_id], summaries.get(pk) if pk is not None else None)
            for card_id, pk in ranking["most_watched"]
            if card_id in cards
        ],
    )
