"""The card page's breadcrumbs, image and facts, written in Python (pages.card_intro),
show what the template showed before."""

import datetime as dt
import re
from pathlib import Path

import pytest
from django.template import engines

from cards.models import Card
from pages.card_intro import card_intro
from tests.factories import make_card, make_set

pytestmark = pytest.mark.django_db

HOSTILE = "<script>alert('x')</script> & \"quoted\""

# What templates/pages/card_detail.html wrote before pages.card_intro.
TEMPLATE = (Path(__file__).parent / "card_intro_before.html").read_text()


def as_before(card) -> str:
    return engines["django"].from_string(TEMPLATE).render({"card": card})


def as_now(card) -> str:
    intro = card_intro(card, card.card_set.get_absolute_url())
    return (
        f"{intro.breadcrumbs}\n"
        '<article class="card-detail">\n'
        '  <div class="card-detail-image">\n'
        f"    {intro.image}\n"
        "  </div>\n"
        '  <div class="card-detail-body">\n'
        f"    {intro.facts}"
    )


def same_markup(html: str) -> str:
    """Line breaks and indentation aside (an empty {% if %} left a blank line)."""
    return re.sub(r"[ \t]*\n\s*", "\n", html).strip()


@pytest.mark.parametrize(
    "fields",
    [
        {"name": "Charizard", "rarity": "Rare Holo", "image_url": "https://img.example/4.png"},
        {"name": "Monkey.D.Luffy", "variant": "p1", "color": "Red", "category": "Leader"},
        {"name": HOSTILE, "rarity": HOSTILE, "variant": HOSTILE, "printed_in": HOSTILE},
        {"name": "", "rarity": "", "image_url": 'https://img.example/"><script>.png'},
        {"name": "Booster Box", "kind": Card.Kind.SEALED, "number": "OP01-BOX"},
    ],
)
def test_the_intro_shows_what_the_template_showed(fields):
    card_set = make_set(name="Base & <Friends>", code="b&1", release_date=dt.date(1999, 1, 9))
    card = make_card(card_set=card_set, **fields)
    card = Card.objects.select_related("card_set").get(pk=card.pk)
    assert same_markup(as_now(card)) == same_markup(as_before(card))


def test_hostile_values_are_escaped_and_the_rarity_link_quoted():
    card = make_card(name=HOSTILE, rarity='Rare "Holo" & <b>', card_set=make_set())
    html = as_now(card)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;quoted&quot;" in html
    assert "?q=rarity%3A%22Rare%20%22Holo%22%20%26%20%3Cb%3E%22" in html


def test_a_set_without_a_release_date_has_no_released_fact():
    card = make_card(card_set=make_set(release_date=None))
    assert "Released" not in as_now(card)
    card.card_set.release_date = dt.date(2023, 3, 31)
    assert "<dt>Released</dt><dd>31 Mar 2023</dd>" in as_now(card)


@pytest.mark.parametrize("name", ["Charizard", HOSTILE, ""])
def test_the_title_is_what_the_template_wrote(name):
    card_set = make_set(name="Base & <Friends>", code="b&1")
    card = make_card(card_set=card_set, name=name, number="4")
    card = Card.objects.select_related("card_set").get(pk=card.pk)
    before = engines["django"].from_string(
        "{{ card.name }} {{ card.display_number }} — {{ card.card_set.name }}"
    )
    assert card_intro(card, "/set/").title == before.render({"card": card})
