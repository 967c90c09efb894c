"""What the endpoints read: each a fixed number of queries, whatever the page size."""

import datetime as dt
import functools
from collections import defaultdict
from dataclasses import dataclass
from typing import NamedTuple

from django.db import connection
from django.db.models import Count, F

from cards.models import Card, CardSet
from cards.search import ParsedQuery, filter_cards, order_cards, page_rows
from prices import headline, history, keys
from prices.models import PriceSummary
from tcgtracker.lib.sql import CompiledQuery

# The most results a page of the API holds (api.views.MAX_LIMIT): the shapes kept.
MAX_PAGE = 100


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
        # Counted before the order's annotations (relevance, headline prices), which change
        # nothing in the count's SQL but cost its compiler time to strip.
        total = cards.count()
        cards = order_cards(cards, sort, has_text=bool(parsed.text_terms), prices=headline.annotate)
        if offset >= total:
            return Page(total, [])
        return Page(total, page_rows(cards, offset, offset + limit, total=total))

    page = run(fuzzy=False)
    if not page.total and parsed.text_terms and connection.vendor == "postgresql":
        return run(fuzzy=True)
    return page


# A price key's place in the table, kept: a page of prices sorts the same few keys.
key_order = functools.lru_cache(maxsize=1024)(keys.sort_key)


def in_table_order(summaries) -> list[PriceSummary]:
    """By source, then raw before graded: the card page's price table order."""
    return sorted(
        summaries,
        key=lambda s: (
            history.SOURCE_ORDER.get(s.source, len(history.SOURCE_ORDER)),
            key_order(s.price_key),
        ),
    )


class Price(NamedTuple):
    """A current price as the API shows it: the fields of a PriceSummary that the answer
    and the headline's choice read, without the model (a card search reads 40 or more)."""

    pk: int
    card_id: int
    source: str
    price_key: str
    currency: str
    market: int
    low: int | None
    high: int | None
    sample_size: int | None
    observed_at: dt.datetime
    change_1d: float | None
    change_7d: float | None
    change_30d: float | None
    all_time_high: int | None
    all_time_low: int | None


@functools.lru_cache(maxsize=MAX_PAGE)
def _prices_query(cards: int) -> CompiledQuery:
    """The query of the prices of `cards` cards (each count its own shape: one
    placeholder per card)."""
    return CompiledQuery(
        lambda **ids: PriceSummary.objects.filter(card_id__in=list(ids.values())).values_list(
            *Price._fields
        ),
        **{f"card{n}": int for n in range(cards)},
    )


def prices_by_card(card_ids) -> dict[int, list[Price]]:
    """Every card's current prices, in one query."""
    ids = list(dict.fromkeys(card_ids))
    if not ids:
        return {}
    query = _prices_query(len(ids))
    rows = query.objects(**{f"card{n}": pk for n, pk in enumerate(ids)})
    found = defaultdict(list)
    make = tuple.__new__  # Price's own __new__ is a Python call per row
    for row in rows:
        found[row[1]].append(make(Price, row))
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
    one query, as the card page's chart has it (prices.history.history_lines)."""
    lines = history.history_lines(card_id, period, now, source=source, price_key=price_key)
    return [Series(s, k, c, points) for (s, k, c), points in lines.items()]


# Asked before every card's history and statistics: compiled once.
CARD_EXISTS = CompiledQuery(lambda card_id: Card.objects.filter(pk=card_id), card_id=int)


def card_exists(card_id: int) -> bool:
    """Card.objects.filter(pk=card_id).exists(), its SQL compiled once."""
    return CARD_EXISTS.exists(card_id=card_id)


def card_with_set(card_id: int) -> Card | None:
    return Card.objects.select_related("card_set").filter(pk=card_id).first()
