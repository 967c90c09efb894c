"""What the endpoints read: each a fixed number of queries, whatever the page size."""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.db import connection
from django.db.models import Avg, Count, F
from django.db.models.functions import Trunc

from cards.models import Card, CardSet
from cards.search import ParsedQuery, filter_cards, order_cards
from prices import history, keys
from prices.models import PricePoint, PriceSummary


@dataclass
class Page:
    total: int
    rows: list


def search_cards(
    parsed: ParsedQuery,
    *,
    game: str,
    set_code: str,
    rarity: str,
    sort: str,
    limit: int,
    offset: int,
) -> Page:
    """The search page's search, by offset: the same filters and order, and the same
    fuzzy retry on PostgreSQL when the exact words find nothing."""

    def run(fuzzy: bool) -> Page:
        cards = filter_cards(
            Card.objects.select_related("card_set"),
            parsed,
            game=game,
            set_code=set_code,
            rarity=rarity,
            fuzzy=fuzzy,
        )
        cards = order_cards(cards, sort, has_text=bool(parsed.text_terms))
        total = cards.count()
        rows = list(cards[offset : offset + limit]) if offset < total else []
        return Page(total, rows)

    page = run(fuzzy=False)
    if not page.total and parsed.text_terms and connection.vendor == "postgresql":
        return run(fuzzy=True)
    return page


def in_table_order(summaries) -> list[PriceSummary]:
    """By source, then raw before graded: the card page's price table order."""
    return sorted(
        summaries,
        key=lambda s: (
            history.SOURCE_ORDER.get(s.source, len(history.SOURCE_ORDER)),
            keys.sort_key(s.price_key),
        ),
    )


def prices_by_card(card_ids) -> dict[int, list[PriceSummary]]:
    """Every card's current prices, in one query."""
    found = defaultdict(list)
    for summary in PriceSummary.objects.filter(card_id__in=list(card_ids)):
        found[summary.card_id].append(summary)
    return {card_id: in_table_order(rows) for card_id, rows in found.items()}


def sets(game: str, limit: int, offset: int) -> Page:
    found = CardSet.objects.all()
    if game:
        found = found.filter(game=game)
    total = found.count()
    rows = (
        found.annotate(card_count=Count("cards")).order_by(
            "game", F("release_date").desc(nulls_last=True), "code"
        )[offset : offset + limit]
        if offset < total
        else []
    )
    return Page(total, list(rows))


@dataclass
class Series:
    source: str
    price_key: str
    currency: str
    points: list[tuple[dt.datetime, int]]


def history_series(
    card_id: int, period: str, *, source: str, price_key: str, now: dt.datetime
) -> list[Series]:
    """One card's history for a period, one series per (source, price key, currency), in
    one query: every point for the short periods, a daily or weekly average for the long
    ones, as the card page's chart (prices.history) has them."""
    spec = history.PERIODS[period]
    points = PricePoint.objects.filter(card_id=card_id)
    if spec.span is not None:
        points = points.filter(observed_at__gte=now - spec.span)
    if source:
        points = points.filter(source=source)
    if price_key:
        points = points.filter(price_key=price_key)
    if spec.bucket:
        rows = (
            points.annotate(moment=Trunc("observed_at", spec.bucket))
            .values_list("source", "price_key", "currency", "moment")
            .annotate(market=Avg("market"))
            .order_by("source", "price_key", "currency", "moment")
        )
    else:
        rows = points.order_by("source", "price_key", "currency", "observed_at").values_list(
            "source", "price_key", "currency", "observed_at", "market"
        )
    lines: dict[tuple[str, str, str], list] = {}
    for row_source, row_key, currency, moment, market in rows:
        lines.setdefault((row_source, row_key, currency), []).append((moment, round(market)))
    ordered = sorted(
        lines,
        key=lambda line: (
            history.SOURCE_ORDER.get(line[0], len(history.SOURCE_ORDER)),
            keys.sort_key(line[1]),
            line[2],
        ),
    )
    return [Series(s, k, c, lines[(s, k, c)]) for s, k, c in ordered]


def card_exists(card_id: int) -> bool:
    return Card.objects.filter(pk=card_id).exists()


def card_with_set(card_id: int) -> Card | None:
    return Card.objects.select_related("card_set").filter(pk=card_id).first()
