"""Addresses reversed once per process (tcgtracker.lib.urls)."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.template import engines
from django.templatetags.static import static
from django.test import override_settings
from django.urls import NoReverseMatch, reverse, set_script_prefix

from cards.models import Card
from tcgtracker.lib.urls import reversed_once, reversed_with_id, static_once
from tests.factories import make_card, make_set

pytestmark = pytest.mark.django_db


def test_it_gives_what_reverse_gives():
    assert reversed_once("alerts:create") == reverse("alerts:create")
    assert reversed_once("cards:set_detail", "pokemon", "base1") == reverse(
        "cards:set_detail", args=["pokemon", "base1"]
    )
    for pk in (1, 42, 2147480000, 9_000_000_000):
        assert reversed_with_id("prices:card_grading", pk) == reverse(
            "prices:card_grading", args=[pk]
        )


@pytest.mark.parametrize("code", ["base1", "sv 3.5", "op-01", "ü&x"])
def test_a_sets_address_is_what_reverse_gives_for_each_set(code):
    card_set = make_set(code=code)
    expected = reverse("cards:set_detail", args=[card_set.game, code])
    assert card_set.get_absolute_url() == expected
    assert card_set.get_absolute_url() == expected  # the kept copy


def test_a_route_without_one_integer_id_is_refused():
    with pytest.raises((ImproperlyConfigured, NoReverseMatch)):
        reversed_with_id("alerts:list", 1)


def test_the_addresses_follow_a_changed_script_prefix():
    before = reversed_once("alerts:list")
    with override_settings(FORCE_SCRIPT_NAME="/tracker/"):
        set_script_prefix("/tracker/")
        try:
            assert reversed_once("alerts:list") == "/tracker" + before
            assert reversed_with_id("prices:card_grading", 7).startswith("/tracker/")
        finally:
            set_script_prefix("/")
    assert reversed_once("alerts:list") == before


def test_a_cards_address_is_its_reversed_route():
    card = make_card(name="Mr. Mime & <Friends>")
    assert card.get_absolute_url() == reverse("cards:detail", args=[card.pk, card.slug])
    assert card.get_absolute_url().endswith(f"/{card.pk}/mr-mime-friends/")
    with pytest.raises(NoReverseMatch):
        Card(name="Unsaved").get_absolute_url()


def test_the_template_filters_give_what_url_and_static_give():
    source = (
        '{% load addresses %}{{ "collections:add_card"|address }} {{ "js/charts.js"|static_once }}'
    )
    html = engines["django"].from_string(source).render({})
    assert html == f"{reverse('collections:add_card')} {static('js/charts.js')}"
    with override_settings(STATIC_URL="/assets/"):
        assert static_once("js/charts.js") == "/assets/js/charts.js"
