"""A page of a large search result is read keys first (cards.search.page_rows): the same
cards in the same order as one query would give, for every sort and page. (The API's
offsets: tests/api/test_cards.py.)"""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cards import search
from cards.models import Card
from tests.factories import make_card, make_set, record_prices

pytestmark = pytest.mark.django_db

SORTS = ["", "name", "newest", "popularity", "price-high", "price-low", "rising", "falling"]


def priced_catalog():
    """Eleven cards in two sets, some priced (with ties), one with a price of another
    source only."""
    sets = [make_set(code="pga"), make_set(code="pgb")]
    for number in range(1, 12):
        card = make_card(
            card_set=sets[number % 2], number=str(number), name=f"Card {12 - number % 4}"
        )
        if number % 3:
            record_prices(card, {"ungraded": 100 * (number % 5) + 50})
    record_prices(Card.objects.get(number="9"), {"ungraded": 700}, source="demo")


@pytest.fixture
def catalog():
    priced_catalog()


def tile_names(html: str) -> list[str]:
    return re.findall(r'<span class="card-tile-name">([^<]+)</span>', html)


def pages(client, query: str) -> list[list[str]]:
    return [
        tile_names(client.get(f"/cards/?{query}&page={page}").content.decode())
        for page in (1, 2, 3)
    ]


@pytest.mark.parametrize("words", ["", "q=card"])  # a browse; a search (by relevance)
@pytest.mark.parametrize("sort", SORTS)
def test_search_pages_read_keys_first_hold_the_cards_one_query_gives(
    client, catalog, settings, monkeypatch, sort, words
):
    settings.SEARCH_PAGE_SIZE = 4
    query = f"{words}&sort={sort}"
    in_one_query = pages(client, query)
    monkeypatch.setattr(search, "KEYS_FIRST_ABOVE", 3)
    keys_first = pages(client, query)

    assert keys_first == in_one_query
    assert sum(len(page) for page in keys_first) == 11


@pytest.mark.parametrize("sort", ["price-high", "price-low", "rising", "falling"])
def test_a_price_sorted_page_read_in_two_parts_holds_what_one_query_gives(catalog, sort):
    # The cards with the value sorted on, then those without: every window of the result.
    from prices import headline

    ordered = search.order_cards(Card.objects.all(), sort, has_text=False, prices=headline.annotate)
    assert search._nulls_last_lead(ordered) is not None
    everything = list(ordered.values_list("pk", flat=True))
    assert len(everything) == 11
    for start in range(12):
        for stop in range(start, 13):
            assert search._page_keys(ordered, start, stop) == everything[start:stop]


def test_a_page_of_cards_with_the_value_takes_one_keys_query(catalog):
    from prices import headline

    ordered = search.order_cards(
        Card.objects.all(), "price-high", has_text=False, prices=headline.annotate
    )
    with CaptureQueriesContext(connection) as context:
        keys = search._page_keys(ordered, 0, 3)

    assert len(keys) == 3
    (keys_sql,) = (query["sql"] for query in context.captured_queries)
    assert "IS NOT NULL" in keys_sql


def test_an_order_led_by_anything_else_is_read_in_one_keys_query(catalog):
    for ordered in [Card.objects.order_by("name", "pk"), Card.objects.order_by()]:
        with CaptureQueriesContext(connection) as context:
            search._page_keys(ordered, 0, 3)
        assert len(context.captured_queries) == 1
        assert search._nulls_last_lead(ordered) is None


def test_a_large_result_sorts_keys_only_then_reads_the_page_by_key(catalog, monkeypatch):
    monkeypatch.setattr(search, "KEYS_FIRST_ABOVE", 3)
    ordered = Card.objects.order_by("name", "pk")

    with CaptureQueriesContext(connection) as context:
        rows = search.page_rows(ordered, 2, 6, total=11)
        codes = {card.card_set.code for card in rows}  # the sets read with the page

    keys_sql, rows_sql = (query["sql"] for query in context.captured_queries)
    assert "ORDER BY" in keys_sql
    assert keys_sql.split(" FROM ")[0].count(",") == 0  # the key alone
    assert "ORDER BY" not in rows_sql and "cards_cardset" in rows_sql
    assert rows == list(ordered[2:6])
    assert codes <= {"pga", "pgb"}


def test_a_small_result_is_read_in_one_query(catalog):
    ordered = Card.objects.order_by("name", "pk")

    with CaptureQueriesContext(connection) as context:
        rows = search.page_rows(ordered, 0, 4, total=11)
        codes = {card.card_set.code for card in rows}  # the sets read with the page

    assert len(context.captured_queries) == 1
    assert codes <= {"pga", "pgb"}
    assert rows == list(ordered[:4])


def test_a_page_past_the_end_of_a_large_result_is_empty(catalog, monkeypatch):
    monkeypatch.setattr(search, "KEYS_FIRST_ABOVE", 3)

    rows = search.page_rows(Card.objects.order_by("pk"), 20, 24, total=11)

    assert rows == []
