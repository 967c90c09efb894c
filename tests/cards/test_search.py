import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cards.models import Card, Game
from cards.search import parse_query
from tests.factories import make_card, make_set

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="trigram search is PostgreSQL's"
)


def test_free_text_and_filters_are_separated():
    parsed = parse_query('charizard set:sv3pt5 rarity:"special illustration rare" number:199')
    assert parsed.text_terms == ["charizard"]
    assert parsed.filters == {
        "set": ["sv3pt5"],
        "rarity": ["special illustration rare"],
        "number": ["199"],
    }
    assert parsed.errors == []


def test_an_unknown_filter_is_an_error_not_ignored():
    parsed = parse_query("pikachu colour:yellow")
    assert parsed.errors == [
        'Unknown filter "colour:". Filters you can use: game:, set:, rarity:, number:, '
        "variant:, kind:"
    ]


def test_a_filter_without_value_and_an_unknown_game_are_errors():
    assert parse_query("set:").errors == [
        '"set:" needs a value, for example set:sv3pt5 (the set code).'
    ]
    assert parse_query("game:yugioh").errors == [
        'Unknown game "yugioh": use game:pokemon or game:onepiece.'
    ]


def test_quoted_phrases_are_free_text():
    assert parse_query('"mr. mime" jungle').text_terms == ["mr.", "mime", "jungle"]


@pytest.fixture
def catalog(db):
    base = make_set(game=Game.POKEMON, code="base1", name="Base", printed_total=102)
    mew_set = make_set(game=Game.POKEMON, code="sv3pt5", name="151", printed_total=165)
    romance = make_set(game=Game.ONEPIECE, code="OP01", name="Romance Dawn", printed_total=None)
    return {
        "charizard": make_card(card_set=base, number="4", name="Charizard", rarity="Rare Holo"),
        "blastoise": make_card(card_set=base, number="2", name="Blastoise", rarity="Rare Holo"),
        "charizard_ex": make_card(
            card_set=mew_set, number="199", name="Charizard ex", rarity="Special Illustration Rare"
        ),
        "pikachu": make_card(card_set=mew_set, number="25", name="Pikachu", rarity="Common"),
        "luffy": make_card(card_set=romance, number="OP01-024", name="Monkey.D.Luffy", rarity="SR"),
        "luffy_parallel": make_card(
            card_set=romance, number="OP01-024", variant="p1", name="Monkey.D.Luffy", rarity="SR"
        ),
    }


def names(response):
    return [card.name for card in response.context["page"].object_list]


def test_search_finds_cards_by_name(client, catalog):
    response = client.get("/cards/", {"q": "charizard"})
    assert response.status_code == 200
    assert sorted(names(response)) == ["Charizard", "Charizard ex"]


def test_search_matches_as_you_type_a_prefix(client, catalog):
    assert sorted(names(client.get("/cards/", {"q": "chari"}))) == ["Charizard", "Charizard ex"]


def test_every_word_must_match(client, catalog):
    assert names(client.get("/cards/", {"q": "charizard 151"})) == ["Charizard ex"]


def test_query_syntax_filters_by_set_rarity_and_number(client, catalog):
    response = client.get("/cards/", {"q": 'set:sv3pt5 rarity:"special illustration rare"'})
    assert names(response) == ["Charizard ex"]
    assert names(client.get("/cards/", {"q": "number:199"})) == ["Charizard ex"]
    assert names(client.get("/cards/", {"q": "number:4/102"})) == ["Charizard"]


def test_game_filter_in_syntax_and_form(client, catalog):
    onepiece = ["Monkey.D.Luffy", "Monkey.D.Luffy"]
    assert names(client.get("/cards/", {"q": "game:onepiece"})) == onepiece
    assert names(client.get("/cards/", {"game": "onepiece"})) == onepiece


def test_punctuated_names_and_codes_are_found_by_their_parts(client, catalog):
    assert names(client.get("/cards/", {"q": "luffy"})) == ["Monkey.D.Luffy", "Monkey.D.Luffy"]
    assert len(names(client.get("/cards/", {"q": "OP01-024"}))) == 2
    assert len(names(client.get("/cards/", {"q": "op01 024"}))) == 2


def test_variant_filter_finds_parallels(client, catalog):
    response = client.get("/cards/", {"q": "luffy variant:p1"})
    assert [card.pk for card in response.context["page"].object_list] == [
        catalog["luffy_parallel"].pk
    ]


def test_form_filters_for_set_and_rarity(client, catalog):
    assert names(client.get("/cards/", {"set": "base1", "sort": "number"})) == [
        "Blastoise",
        "Charizard",
    ]
    assert names(client.get("/cards/", {"rarity": "common"})) == ["Pikachu"]


def test_sort_by_name(client, catalog):
    response = client.get("/cards/", {"q": "game:pokemon", "sort": "name"})
    assert names(response) == ["Blastoise", "Charizard", "Charizard ex", "Pikachu"]


def test_syntax_error_is_shown_and_no_results_listed(client, catalog):
    response = client.get("/cards/", {"q": "charizard colour:red"})
    assert response.status_code == 200
    assert names(response) == []
    assert "Unknown filter" in response.content.decode()
    assert "colour:" in response.content.decode()


def test_no_match_shows_an_empty_state(client, catalog):
    response = client.get("/cards/", {"q": "zzzzqqq"})
    assert "No cards match" in response.content.decode()


def test_results_are_paginated(client, catalog, settings):
    settings.SEARCH_PAGE_SIZE = 2
    first = client.get("/cards/", {"q": "game:pokemon", "sort": "name"})
    assert names(first) == ["Blastoise", "Charizard"]
    assert "page 1 of 2" in first.content.decode()
    second = client.get("/cards/", {"q": "game:pokemon", "sort": "name", "page": 2})
    assert names(second) == ["Charizard ex", "Pikachu"]
    assert 'rel="prev"' in second.content.decode()


def test_htmx_request_gets_only_the_results_partial(client, catalog):
    response = client.get("/cards/", {"q": "pikachu"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert "<html" not in html
    assert "Pikachu" in html
    assert response["Vary"] == "HX-Request, Cookie" or "HX-Request" in response["Vary"]


def test_full_page_without_javascript_keeps_a_real_form(client, catalog):
    html = client.get("/cards/", {"q": "pikachu"}).content.decode()
    assert '<form id="search-form"' in html
    assert 'action="/cards/"' in html
    assert 'hx-push-url="true"' in html


@on_postgresql
def test_typos_still_find_the_card_on_postgresql(client, catalog):
    assert "Charizard" in names(client.get("/cards/", {"q": "charzard"}))
    assert "Blastoise" in names(client.get("/cards/", {"q": "blastiose"}))


@on_postgresql
def test_best_match_ranks_the_exact_name_first_on_postgresql(client, catalog):
    assert names(client.get("/cards/", {"q": "charizard"}))[0] == "Charizard"


@pytest.mark.skipif(connection.vendor == "postgresql", reason="the fallback is for SQLite")
def test_typos_get_a_did_you_mean_without_trigram_search(client, catalog):
    html = client.get("/cards/", {"q": "charzard"}).content.decode()
    assert "Did you mean" in html
    assert "Charizard" in html


def test_search_query_count_does_not_grow_with_results(client, db, settings):
    settings.SEARCH_PAGE_SIZE = 50
    card_set = make_set(code="grow1")

    def count_queries():
        with CaptureQueriesContext(connection) as context:
            response = client.get("/cards/", {"q": "pidgey"})
        return len(context.captured_queries), len(response.context["page"].object_list)

    make_card(card_set=card_set, name="Pidgey", number="1")
    count_queries()  # the filter menus are cached after the first search
    few_queries, few_results = count_queries()
    for number in range(2, 30):
        make_card(card_set=make_set(), name="Pidgey", number=str(number))
    many_queries, many_results = count_queries()
    assert (few_results, many_results) == (1, 29)
    assert many_queries == few_queries


def test_cards_created_by_save_are_searchable_by_set_name(db):
    card = make_card(card_set=make_set(name="Obsidian Flames", code="sv3"), name="Charizard ex")
    assert "obsidian flames" in card.search_document
    assert Card.objects.get(pk=card.pk).sort_number == int(card.number)


@on_postgresql
def test_text_search_is_served_by_the_gin_indexes_on_postgresql(db):
    from django.db.models import QuerySet

    from cards.search import filter_cards

    make_card(name="Charizard")
    cards = Card.objects.order_by()
    strict: QuerySet = filter_cards(cards, parse_query("charizard"))
    fuzzy: QuerySet = filter_cards(cards, parse_query("charzard"), fuzzy=True)
    with connection.cursor() as cursor:
        # A tiny table is cheaper to scan whole; forbid that to see which indexes serve.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        strict_plan = strict.explain()
        fuzzy_plan = fuzzy.explain()
    assert "cards_card_document_fts" in strict_plan
    assert "cards_card_name_trgm" in fuzzy_plan
