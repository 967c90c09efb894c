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

No request ranks. The rankings (ids only) are kept in MoverRanking rows: every write that
changes prices queues one refresh (queue_refresh(); writes close together share it), the
movers-refresh schedule redoes them every few minutes (prices that turn stale drop out,
watches count), and a request reads its game's row (one query, or the cache) and then the
ranked rows by id. A refresh reads each game's representative prices once, all three
periods' changes together, and ranks them in Python: two queries per game, whatever the
number of cards.
"""

import datetime as dt
import heapq
from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import Count, F, QuerySet, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from cards.models import Card, Game
from prices import headline
from prices.models import MoverRanking, PriceSummary

PERIODS = {"24h": "change_1d", "7d": "change_7d", "30d": "change_30d"}
PERIOD_LABELS = {"24h": "24 hours", "7d": "7 days", "30d": "30 days"}
DEFAULT_PERIOD = "7d"
MIN_PRICE_CENTS = 100
FRESH_FOR = dt.timedelta(days=3)
CACHE_SECONDS = 300
# How many of each list a ranking keeps: the most any page or API call shows.
RANKED = 50
# Set while a refresh is queued, so that a burst of writes queues one.
QUEUED_KEY = "prices:movers:refresh-queued"
QUEUED_SECONDS = 600


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


def _ranked(rows: list[tuple], change: int, gainers: bool, limit: int) -> list[int]:
    """Summary ids by their change (index `change` of the row), largest move first; ties
    go to the dearer price, then the older summary."""
    if gainers:
        moved = (row for row in rows if row[change] is not None and row[change] > 0)
        return [
            row[0] for row in heapq.nsmallest(limit, moved, key=lambda r: (-r[change], -r[1], r[0]))
        ]
    moved = (row for row in rows if row[change] is not None and row[change] < 0)
    return [row[0] for row in heapq.nsmallest(limit, moved, key=lambda r: (r[change], -r[1], r[0]))]


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


def refresh_rankings(now: dt.datetime | None = None) -> None:
    """Rank every game's movers for every period and store them (see the docstring);
    choose every card's headline again for the lists sorted by price (CardHeadline)."""
    headline.refresh_card_headlines()
    now = now or timezone.now()
    fields = list(PERIODS.values())
    rows = []
    for game in Game.values:
        fresh = list(
            PriceSummary.objects.filter(
                pk__in=representative_prices(game, now), market__gte=MIN_PRICE_CENTS
            ).values_list("pk", "market", *fields)
        )
        watched = _most_watched_ids(game, RANKED, now)
        for period, field_name in PERIODS.items():
            change = 2 + fields.index(field_name)
            rows.append(
                MoverRanking(
                    game=game,
                    period=period,
                    gainers=_ranked(fresh, change, True, RANKED),
                    losers=_ranked(fresh, change, False, RANKED),
                    most_watched=[list(pair) for pair in watched],
                    computed_at=now,
                )
            )
    MoverRanking.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["game", "period"],
        update_fields=["gainers", "losers", "most_watched", "computed_at"],
    )
    cache.delete_many([_cache_key(row.game, row.period) for row in rows])


def queue_refresh() -> None:
    """Rank again, in a task; a refresh already queued and not yet started covers this
    one too. Price writes commit before they say so (prices_changed), so the task sees
    them; a caller inside a longer transaction is caught up by the schedule."""
    from django_q.tasks import async_task

    if cache.add(QUEUED_KEY, True, QUEUED_SECONDS):
        async_task("prices.tasks.refresh_movers", task_name="refresh movers")


def run_queued_refresh() -> None:
    """The queued task: takes the mark down first, so a write during the refresh queues
    the next one."""
    cache.delete(QUEUED_KEY)
    refresh_rankings()


def _cache_key(game: str, period: str) -> str:
    return f"prices:movers:v3:{game}:{period}"


def stored_ranking(game: str, period: str) -> dict:
    """The stored ranking's ids (cached until the next refresh stores another); empty
    lists before any price was ranked."""
    key = _cache_key(game, period)
    ranking = cache.get(key)
    if ranking is None:
        ranking = (
            MoverRanking.objects.filter(game=game, period=period)
            .values("gainers", "losers", "most_watched", "computed_at")
            .first()
        ) or {"gainers": [], "losers": [], "most_watched": [], "computed_at": None}
        cache.set(key, ranking, CACHE_SECONDS)
    return ranking


def movers(game: str, period: str, limit: int = 10, most_watched: bool = True) -> Movers:
    """Gainers (largest rise first), losers (largest fall first) and the most watched cards,
    from the stored ranking; the rows themselves are read fresh by id, in one or two quick
    queries.

    "Most watched" ranks the game's cards by how many collectors watch them (ties: the
    catalog's popularity, then the oldest card); it is not per period, but shows each
    card's change over the period, or no price when the card has no fresh one.
    """
    change = PERIODS[period]
    stored = stored_ranking(game, period)
    ranking = {
        "gainers": stored["gainers"][:limit],
        "losers": stored["losers"][:limit],
        "most_watched": [tuple(pair) for pair in stored["most_watched"][:limit]]
        if most_watched
        else [],
    }

    summary_ids = {*ranking["gainers"], *ranking["losers"]}
    summary_ids |= {pk for _, pk in ranking["most_watched"] if pk is not None}
    summaries = PriceSummary.objects.select_related("card__card_set").in_bulk(summary_ids)
    for summary in summaries.values():
        summary.period_change = getattr(summary, change)
    cards = {summary.card_id: summary.card for summary in summaries.values()}
    missing = {card_id for card_id, _ in ranking["most_watched"]} - cards.keys()
    if missing:
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
