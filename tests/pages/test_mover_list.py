"""The short lists of cards with a price (pages.mover_list: movers, a set's most valuable
cards, the home page's watchlist), written in Python: the markup the templates wrote
before, every value escaped."""

import pytest
from django.template import Context, Engine
from django.utils.safestring import mark_safe

from cards.models import Card
from pages.mover_list import mover_list
from prices import headline
from prices.models import PriceSummary
from tests.factories import make_card, make_set, record_prices
from tests.pages.test_tiles import ESCAPED, HOSTILE, squeeze

pytestmark = pytest.mark.django_db

# templates/pages/_mover_list.html and _mover_row.html as they were before
# pages.mover_list wrote the list (some lines broken where only whitespace was).
TEMPLATE_LIST = """{% load prices %}
<ol class="mover-list">
  {% for row in rows %}
    {% if pairs %}{% with card=row.0 price=row.1 %}{% include "row" %}{% endwith %}
    {% else %}{% with card=row.card price=row %}{% include "row" %}{% endwith %}{% endif %}
  {% empty %}
    <li class="mover-empty">{{ empty }}</li>
  {% endfor %}
</ol>"""
TEMPLATE_ROW = """{% load prices %}<li class="mover">
  <a class="mover-card" href="{{ card.get_absolute_url }}">
    {% if card.image_url %}<img class="mover-thumb" src="{{ card.image_url }}" alt=""
      data-initial="{{ card.name|first }}" width="36" height="50" loading="lazy">{% else %}
      <span class="mover-thumb mover-thumb-missing" aria-hidden="true">{{ card.name|first }}</span>
      {% endif %}
    <span class="mover-name">
      <strong>{{ card.name }}</strong>
      <span class="mover-meta">{{ card.card_set.name }} · {{ card.display_number }}{% if card.variant %} · {{ card.variant_label }}{% endif %}{% if price %} · {{ price.price_key|price_key_label }}{% if price.is_simulated %} <span class="tag tag-simulated">Simulated</span>{% elif price.source|source_qualifier %} <span class="tag tag-qualifier">{{ price.source|source_qualifier }}</span>{% endif %}{% endif %}</span>
    </span>
  </a>
  <span class="mover-figures">
    {% if price %}
      <span class="mover-price">{{ price.market|money:price.currency }}</span>
      {{ price.period_change|percent_change }}
    {% else %}
      <span class="mover-price muted">No price</span>
    {% endif %}
  </span>
</li>"""  # noqa: E501 (the meta line, as it was: its whitespace shows)


def template_list(rows, pairs, empty) -> str:
    engine = Engine(
        loaders=[("django.template.loaders.locmem.Loader", {"row": TEMPLATE_ROW})],
        libraries={"prices": "prices.templatetags.prices"},
    )
    context = Context({"rows": rows, "pairs": pairs, "empty": empty})
    return engine.from_string(TEMPLATE_LIST).render(context)


def priced_cards(prefix=""):
    """Cards with and without image, variant and price; prices real, asked and simulated."""
    card_set = make_set(code="mvl1", name=f"{prefix}Mover Set", printed_total=102)
    cards = [
        make_card(
            card_set=card_set,
            number="4",
            name=f"{prefix}Charizard",
            image_url=f"https://images.example.com/{prefix}4.png",
        ),
        make_card(card_set=card_set, number="OP01-001", name=f"{prefix}Luffy", variant="p1"),
        make_card(card_set=card_set, number="7", name=f"{prefix}Eevee", variant="Reverse Holo"),
        make_card(card_set=card_set, number="8", name=f"{prefix}Unpriced"),
    ]
    record_prices(cards[0], {"ungraded": 123456})
    record_prices(cards[1], {"NM": 999}, source="ebay")
    record_prices(cards[2], {"LP": 250}, source="demo")
    prices = headline.headline_prices(card.pk for card in cards)
    for price in prices.values():
        price.period_change = 12.34 if price.market > 500 else None
    return [(card, prices.get(card.pk)) for card in Card.objects.filter(card_set=card_set)]


@pytest.mark.parametrize("prefix", ["", HOSTILE])
def test_pairs_read_as_the_templates_wrote_them(prefix):
    rows = priced_cards(prefix)

    assert squeeze(mover_list(rows, True)) == squeeze(template_list(rows, True, ""))


def test_summaries_with_their_cards_read_as_the_templates_wrote_them():
    summaries = [price for _, price in priced_cards(HOSTILE) if price]
    summaries = list(
        PriceSummary.objects.select_related("card__card_set").filter(
            pk__in=[s.pk for s in summaries]
        )
    )
    for summary in summaries:
        summary.period_change = -3.21

    assert squeeze(mover_list(summaries, False)) == squeeze(template_list(summaries, False, ""))


@pytest.mark.parametrize("empty", [mark_safe("No card rose in price."), HOSTILE, ""])
def test_an_empty_list_says_so_as_the_template_did(empty):
    assert squeeze(mover_list([], False, empty)) == squeeze(template_list([], False, empty))


def test_a_set_pages_most_valuable_cards_read_as_they_always_have(client):
    card_set = make_set(code="mvl2", name="Valuable Set", printed_total=102)
    charizard = make_card(
        card_set=card_set,
        number="4",
        name="Charizard",
        image_url="https://images.example.com/4.png",
    )
    record_prices(charizard, {"ungraded": 123456})
    luffy = make_card(card_set=card_set, number="OP01-001", name="Luffy", variant="p1")
    record_prices(luffy, {"NM": 999}, source="ebay")

    html = client.get(card_set.get_absolute_url()).content.decode()

    section = squeeze(html.split('id="most-valuable-heading"')[1].split("</section>")[0])
    assert section == squeeze(
        f""">Most valuable</h2>
        <ol class="mover-list">
        <li class="mover"> <a class="mover-card" href="/cards/{charizard.pk}/charizard/">
        <img class="mover-thumb" src="https://images.example.com/4.png" alt="" data-initial="C"
         width="36" height="50" loading="lazy">
        <span class="mover-name"> <strong>Charizard</strong>
        <span class="mover-meta">Valuable Set · 4/102 · Ungraded</span> </span> </a>
        <span class="mover-figures"> <span class="mover-price">$1,234.56</span>
        <span class="change change-none" title="Not enough history">—</span> </span> </li>
        <li class="mover"> <a class="mover-card" href="/cards/{luffy.pk}/luffy/">
        <span class="mover-thumb mover-thumb-missing" aria-hidden="true">L</span>
        <span class="mover-name"> <strong>Luffy</strong>
        <span class="mover-meta">Valuable Set · OP01-001 · Parallel 1 · Near Mint (NM)
        <span class="tag tag-qualifier">asks</span></span> </span> </a>
        <span class="mover-figures"> <span class="mover-price">$9.99</span>
        <span class="change change-none" title="Not enough history">—</span> </span> </li>
        </ol>"""
    )


def test_every_value_of_a_row_is_escaped():
    rows = priced_cards(HOSTILE)

    written = mover_list(rows, True, HOSTILE)

    assert "<script>" not in written
    assert f"<strong>{ESCAPED}Charizard</strong>" in written
    assert f'src="https://images.example.com/{ESCAPED}4.png"' in written
    assert 'data-initial="&lt;"' in written
    assert f'<span class="mover-meta">{ESCAPED}Mover Set · 4/102 · Ungraded</span>' in written
    assert f'<li class="mover-empty">{ESCAPED}</li>' in mover_list([], True, HOSTILE)
