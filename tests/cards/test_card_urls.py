import pytest
from django.test import override_settings
from django.urls import set_script_prefix

from cards.models import card_urls
from tests.factories import make_card

pytestmark = pytest.mark.django_db


def test_a_list_of_cards_links_each_to_its_own_page():
    cards = [
        make_card(name="Charizard ex"),
        make_card(name="Flabébé"),
        make_card(name="!!!"),  # nothing to slugify: the page's "card" slug
        make_card(name="Monkey.D.Luffy"),
    ]
    assert card_urls(cards) == [card.get_absolute_url() for card in cards]
    assert card_urls(cards)[2].endswith("/card/")


@override_settings(FORCE_SCRIPT_NAME="/tracker/")
def test_the_links_keep_the_sites_script_prefix():
    card = make_card(name="Pikachu")
    set_script_prefix("/tracker/")
    try:
        assert card_urls([card]) == [card.get_absolute_url()]
        assert card_urls([card])[0].startswith("/tracker/cards/")
    finally:
        set_script_prefix("/")
