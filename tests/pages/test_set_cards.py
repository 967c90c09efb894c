"""A set page's set, card count and pages of cards, read through queries compiled once
(pages.set_cards): the same as the querysets they replace."""

import pytest
from django.core.paginator import Paginator
from django.http import Http404

from cards.models import CARD_ROW_COLUMNS, CardSet, Game
from cards.search import order_cards
from pages.set_cards import SET_SORTS, SetCards, set_by_code
from prices import headline
from tests.factories import make_card, make_set, record_prices

pytestmark = pytest.mark.django_db


def test_a_set_is_found_by_its_code_in_any_case_within_its_game():
    card_set = make_set(code="sv3pt5")
    make_set(code="sv3pt5", game=Game.ONEPIECE)

    assert set_by_code(Game.POKEMON, "SV3pt5") == card_set
    assert set_by_code(Game.POKEMON, "sv3pt5").name == card_set.name
    with pytest.raises(Http404):
        set_by_code(Game.POKEMON, "sv3pt")
    with pytest.raises(Http404):
        set_by_code("mtg", "sv3pt5")


def test_a_code_is_matched_as_it_is_not_as_a_pattern():
    make_set(code="ab_1")
    for pattern in ("ab%", "a__1", "ab\\_1", "%"):
        with pytest.raises(Http404):
            set_by_code(Game.POKEMON, pattern)
    assert set_by_code(Game.POKEMON, "AB_1").code == "ab_1"


def test_two_sets_whose_codes_differ_only_in_case_are_refused_as_get_refused_them():
    make_set(code="dup1")
    make_set(code="DUP1")
    with pytest.raises(CardSet.MultipleObjectsReturned):
        set_by_code(Game.POKEMON, "Dup1")


@pytest.mark.parametrize("sort", list(SET_SORTS))
def test_each_page_holds_the_cards_the_sorted_queryset_held(sort):
    card_set = make_set(code="pages1", printed_total=9)
    for number in (3, 1, 7, 2, 9, 5, 8):
        card = make_card(card_set=card_set, number=str(number), name=f"Card {10 - number}")
        if number % 3:
            record_prices(card, {"ungraded": 100 * number})
    make_card(number="4")  # another set's
    queryset = order_cards(
        card_set.cards.all(), sort, has_text=False, prices=headline.annotate
    ).values_list(*CARD_ROW_COLUMNS)
    expected = Paginator(queryset, 3)

    paginator = Paginator(SetCards(card_set, sort), 3)

    assert paginator.count == expected.count == 7
    for number in expected.page_range:
        rows = paginator.page(number).object_list
        assert [tuple(row[:-1]) for row in rows] == list(expected.page(number).object_list)
        assert all(row.card_set is card_set for row in rows)
    assert rows[-1].display_number == f"{rows[-1].number}/9"


def test_a_set_without_cards_counts_none_and_has_one_empty_page():
    page = Paginator(SetCards(make_set(), "number"), 3).get_page(1)
    assert page.paginator.count == 0
    assert list(page.object_list) == []
