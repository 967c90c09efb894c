"""Prices where you browse: search tiles, set pages and the sets list show each card's
headline price with its 7-day change, sort by it, and total a set's value."""

import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cards.models import Game
from tests.factories import make_card, make_collection, make_item, make_set, record_prices

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()


def tile_names(html: str) -> list[str]:
    return re.findall(r'<span class="card-tile-name">([^<]+)</span>', html)


def priced_set(code="prc1"):
    card_set = make_set(code=code, name="Priced Set")
    cards = {}
    for number, (name, cents) in enumerate(
        [("Cheap", 50), ("Dear", 90000), ("Middle", 1200), ("Unpriced", None)], start=1
    ):
        cards[name] = make_card(card_set=card_set, number=str(number), name=name)
        if cents is not None:
            record_prices(cards[name], {"ungraded": cents})
    return card_set, cards


def query_count(client, url) -> int:
    cache.clear()  # what a set's value costs when it is not cached
    with CaptureQueriesContext(connection) as context:
        assert client.get(url).status_code == 200
    return len(context.captured_queries)


def test_search_tiles_show_the_headline_price_its_change_and_the_simulated_mark(client):
    card = make_card(name="Charizard")
    record_prices(card, {"ungraded": 12345, "PSA 10": 999999})
    demo_card = make_card(name="Charmander", number="46")
    record_prices(demo_card, {"ungraded": 250}, source="demo")
    make_card(name="Charmeleon", number="24")

    html = client.get("/cards/?q=char").content.decode()

    assert "$123.45" in html
    assert "$9,999.99" not in html
    assert "$2.50" in html
    assert html.count("tag-simulated") == 1
    assert "No price yet" in html


@pytest.mark.parametrize(
    ("sort", "order"),
    [
        ("price-high", ["Dear", "Middle", "Cheap", "Unpriced"]),
        ("price-low", ["Cheap", "Middle", "Dear", "Unpriced"]),
    ],
)
def test_search_and_set_pages_sort_by_price_with_unpriced_cards_last(client, sort, order):
    card_set, _ = priced_set()

    assert tile_names(client.get(f"/cards/?set=prc1&sort={sort}").content.decode()) == order
    assert (
        tile_names(client.get(f"{card_set.get_absolute_url()}?sort={sort}").content.decode())
        == order
    )


def test_sorting_by_7_day_change_puts_the_largest_rise_or_fall_first(client):
    card_set = make_set(code="chg1")
    from tests.pages.test_price_pages import write_history

    for number, (name, step) in enumerate([("Up", 50), ("Down", -50), ("Flat", 0)], start=1):
        card = make_card(card_set=card_set, number=str(number), name=name)
        write_history(card, 10, start=5000, step=step)

    rising = tile_names(client.get("/cards/?set=chg1&sort=rising").content.decode())
    falling = tile_names(client.get(f"{card_set.get_absolute_url()}?sort=falling").content.decode())

    assert rising == ["Up", "Flat", "Down"]
    assert falling == ["Down", "Flat", "Up"]


def test_search_query_count_does_not_grow_with_priced_results(client):
    card_set, _ = priced_set("prc2")
    url = "/cards/?set=prc2&sort=price-high"
    few = query_count(client, url)
    for number in range(10, 30):
        record_prices(make_card(card_set=card_set, number=str(number)), {"ungraded": number})
    assert query_count(client, url) == few


@pytest.mark.parametrize("view", ["grid", "table"])
def test_set_page_query_count_does_not_grow_with_priced_cards(client, view):
    card_set, _ = priced_set("prc3")
    url = f"{card_set.get_absolute_url()}?view={view}&sort=price-high"
    few = query_count(client, url)
    for number in range(10, 30):
        card = make_card(card_set=card_set, number=str(number))
        record_prices(card, {"ungraded": number, "PSA 10": number * 10})
    assert query_count(client, url) == few


def test_set_page_shows_the_master_set_value_and_its_most_valuable_cards(client):
    card_set, _ = priced_set("prc4")

    html = client.get(card_set.get_absolute_url()).content.decode()

    assert "Set value" in html
    assert "$912.50" in html  # 900.00 + 12.00 + 0.50
    assert "3 of 4 cards priced, the other 1 not counted" in html
    most_valuable = html.split('id="most-valuable-heading"')[1].split("</section>")[0]
    assert (
        most_valuable.index("Dear") < most_valuable.index("Middle") < most_valuable.index("Cheap")
    )
    assert "Unpriced" not in most_valuable


def test_a_set_page_answered_from_its_cached_summary_reads_as_the_first_did(client):
    card_set, _ = priced_set("prc6")
    record_prices(make_card(card_set=card_set, number="9", name="Demo"), {"NM": 5}, source="demo")
    first = client.get(card_set.get_absolute_url()).content.decode()

    with CaptureQueriesContext(connection) as context:
        again = client.get(card_set.get_absolute_url()).content.decode()

    assert again.split("<main")[1] == first.split("<main")[1]  # the CSRF token aside
    assert not any("COUNT" in query["sql"] and "SUM" in query["sql"] for query in context)
    assert '<h2 id="most-valuable-heading">Most valuable</h2>' in again
    assert "Demo prices are a simulation" in again  # the demo price is among the five


def test_a_set_without_prices_shows_no_value_and_no_most_valuable_list(client):
    card_set = make_set(code="prc7")
    make_card(card_set=card_set, name="Unpriced")

    html = client.get(card_set.get_absolute_url()).content.decode()

    assert "Set value" not in html and "most-valuable" not in html
    assert "Demo prices are a simulation" not in html


def test_set_page_price_table_has_number_name_rarity_ungraded_psa_10_and_7_day_change(client):
    card_set = make_set(code="tbl1")
    card = make_card(card_set=card_set, number="4", name="Charizard", rarity="Rare Holo")
    record_prices(card, {"ungraded": 30000, "PSA 10": 1500000, "PSA 9": 400000})
    record_prices(
        make_card(card_set=card_set, number="5", name="Blastoise"), {"NM": 900}, source="demo"
    )

    html = client.get(f"{card_set.get_absolute_url()}?view=table").content.decode()

    table = html.split('<table class="data-table set-price-table">')[1].split("</table>")[0]
    headers = re.findall(r'<th scope="col"[^>]*>([^<]+)</th>', table)
    assert headers == ["No.", "Card", "Rarity", "Ungraded", "PSA 10", "7d"]
    assert "$300.00" in table and "$15,000.00" in table and "$4,000.00" not in table
    assert "Rare Holo" in table
    assert "$9.00" in table and "NM" in table and "tag-simulated" in table


def test_set_page_price_table_escapes_what_the_catalog_holds_and_dashes_what_is_unpriced(
    client,
):
    card_set = make_set(code="tbl2", name='Team <Rocket> & "Friends"')
    make_card(
        card_set=card_set,
        number="7",
        name="<script>alert(1)</script>",
        rarity="",
        variant="reverse holo",
    )

    html = client.get(f"{card_set.get_absolute_url()}?view=table").content.decode()

    table = html.split('<table class="data-table set-price-table">')[1].split("</table>")[0]
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in table
    assert "Team &lt;Rocket&gt; &amp; &quot;Friends&quot;: each card" in table
    assert '<span class="tag tag-variant">' in table
    row = table.split("<tbody>")[1]
    # No rarity, no price, no graded price, no change: a dash each.
    assert row.count("<td>—</td>") == 1 and row.count('<td class="num">—</td>') == 3


def test_set_page_keeps_its_sort_and_view_across_pages(client, settings):
    settings.SET_PAGE_SIZE = 2
    card_set, _ = priced_set("prc5")

    html = client.get(f"{card_set.get_absolute_url()}?view=table&sort=price-low").content.decode()

    assert 'href="?sort=price-low&amp;view=table&amp;page=2"' in html


@pytest.mark.parametrize(
    "params", ["sort=price-high%20", "sort=relevance", "view=<x>", "sort=newest&view=", "page=-1"]
)
def test_set_page_falls_back_to_its_defaults_on_unknown_choices(client, params):
    card_set, _ = priced_set("prc6")
    response = client.get(f"{card_set.get_absolute_url()}?{params}")
    assert response.status_code == 200
    assert tile_names(response.content.decode()) == ["Cheap", "Dear", "Middle", "Unpriced"]


def test_sets_list_shows_each_sets_value_and_to_a_collector_the_cards_they_have(client):
    card_set, cards = priced_set("prc7")
    make_set(code="empty7", name="Empty Set")
    user_collection = make_collection()
    make_item(user_collection, cards["Dear"])
    make_item(user_collection, cards["Dear"], condition="LP")
    make_item(user_collection, cards["Cheap"])
    make_item(make_collection(), cards["Middle"])  # someone else's

    anonymous = client.get(f"/sets/?game={Game.POKEMON}").content.decode()
    assert "$912.50" in anonymous
    assert "3 of 4 priced" in anonymous
    assert "You have" not in anonymous

    client.force_login(user_collection.user)
    html = client.get(f"/sets/?game={Game.POKEMON}").content.decode()
    row = html.split("Priced Set")[1].split("</tr>")[0]
    assert "2 of 4" in row
    assert "$912.50" in row


def test_home_shows_each_recent_sets_value(client):
    priced_set("home1")

    html = client.get("/").content.decode()

    assert "Set value $912.50" in html


def test_home_query_count_does_not_grow_with_sets(client):
    priced_set("home2")
    few = query_count(client, "/")
    for n in range(4):
        priced_set(f"home3{n}")
    assert query_count(client, "/") == few


def test_sets_list_query_count_does_not_grow_with_sets_or_holdings(client):
    collection = make_collection()
    client.force_login(collection.user)
    _, cards = priced_set("cnt1")
    make_item(collection, cards["Dear"])
    few = query_count(client, f"/sets/?game={Game.POKEMON}")
    for n in range(4):
        _, more = priced_set(f"cnt2{n}")
        make_item(collection, more["Cheap"])
    assert query_count(client, f"/sets/?game={Game.POKEMON}") == few
