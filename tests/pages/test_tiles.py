"""The grid of card tiles (pages.tiles), written in Python: the markup the template wrote
before, for every kind of tile, anonymous and signed in, with every value escaped."""

import re

import pytest
from django.contrib.auth.models import AnonymousUser
from django.template import engines
from django.test import RequestFactory
from django.utils import timezone

from cards.models import Card
from pages import tiles
from pages.views import with_headlines
from prices.headline import HeadlineFigures
from tests.factories import make_card, make_set, make_user, record_prices
from tests.pages.test_price_pages import write_history

pytestmark = pytest.mark.django_db

HOSTILE = "<script>\"&'"
ESCAPED = "&lt;script&gt;&quot;&amp;&#x27;"

# templates/pages/_card_grid.html as it was before pages.tiles wrote the grid (some lines
# broken where only whitespace was): what the grid must still read as, whitespace aside.
TEMPLATE_GRID = """{% load prices %}
{% if user.is_authenticated %}{% url 'collections:add_card' as add_card_url %}{% endif %}
{% with here=request.get_full_path|urlencode %}
<ul class="card-grid">
  {% for card, url, price in tiles %}
    <li class="card-tile">
      <a href="{{ url }}">
        {% if card.image_url %}
          <img src="{{ card.image_url }}"
               alt="{{ card.name }}, {{ card.card_set.name }} {{ card.display_number }}"
               loading="lazy" width="245" height="342">
        {% else %}
          <span class="card-image-missing" role="img"
                aria-label="No image for {{ card.name }}">{{ card.name|first }}</span>
        {% endif %}
        <span class="card-tile-name">{{ card.name }}</span>
      </a>
      <span class="card-tile-meta">{{ card.card_set.name }} · {{ card.display_number }}</span>
      <span class="card-tile-price">
        {% if price %}
    <strong>{{ price.market|money:price.currency }}</strong>{% if price.price_key != "ungraded" %}
            <span class="card-tile-price-key">{{ price.price_key }}</span>{% endif %}
          {{ price.change_7d|percent_change }}<span class="visually-hidden"> over 7 days</span>
          {% if price.is_simulated %}<span class="tag tag-simulated">Simulated</span>{% endif %}
        {% else %}
          <span class="card-tile-no-price">No price yet</span>
        {% endif %}
      </span>
      <span class="card-tile-tags">
        {% if card.rarity %}<span class="tag">{{ card.rarity }}</span>{% endif %}
        {% if card.variant %}
          <span class="tag tag-variant">{{ card.variant_label }}</span>{% endif %}
        {% if card.kind == "sealed" %}<span class="tag">Sealed</span>{% endif %}
      </span>
      {% if user.is_authenticated %}
        <a class="tile-add" href="{{ add_card_url }}?card={{ card.pk }}&amp;next={{ here }}"
           hx-get="{{ add_card_url }}?card={{ card.pk }}" hx-target="this" hx-swap="outerHTML"
           aria-label="Add {{ card.name }}, {{ card.card_set.name }} {{ card.display_number }},
                       to a collection">Add to collection</a>
      {% endif %}
    </li>
  {% endfor %}
</ul>
{% endwith %}"""


def squeeze(html: str) -> str:
    """Markup with each run of whitespace as one space: what a browser shows the same."""
    return " ".join(html.split())


def the_grid(html: str) -> str:
    return squeeze(re.search(r'<ul class="card-grid">.*?</ul>', html, re.S).group(0))


def every_kind_of_tile(name_prefix=""):
    """A set with a tile of each kind: image, real price and change; no image, simulated
    price of another key, a parallel; sealed, unpriced, no rarity."""
    card_set = make_set(code="tls1", name=f"{name_prefix}Tile Set", printed_total=102)
    charizard = make_card(
        card_set=card_set,
        number="4",
        name=f"{name_prefix}Charizard",
        rarity="Rare Holo",
        image_url="https://images.example.com/tls1/4.png",
    )
    write_history(charizard, 10, start=5000, step=50)
    pikachu = make_card(
        card_set=card_set, number="25", name=f"{name_prefix}Pikachu", rarity="", variant="p1"
    )
    record_prices(pikachu, {"NM": 250}, source="demo")
    box = make_card(
        card_set=card_set, number="BB", name=f"{name_prefix}Booster Box", rarity="", kind="sealed"
    )
    return card_set, charizard, pikachu, box


def expected_tiles(charizard, pikachu, box, add_to=None) -> str:
    """The grid of every_kind_of_tile() sorted by name, as it has always read; with
    `add_to` (the page's path, url-encoded), signed in."""

    def add(card, label):
        if add_to is None:
            return ""
        return (
            f' <a class="tile-add" href="/collections/add/?card={card.pk}&amp;next={add_to}"'
            f' hx-get="/collections/add/?card={card.pk}" hx-target="this" hx-swap="outerHTML"'
            f' aria-label="Add {label}, to a collection">Add to collection</a>'
        )

    return (
        '<ul class="card-grid">'
        f' <li class="card-tile"> <a href="/cards/{box.pk}/booster-box/">'
        ' <span class="card-image-missing" role="img"'
        ' aria-label="No image for Booster Box">B</span>'
        ' <span class="card-tile-name">Booster Box</span> </a>'
        ' <span class="card-tile-meta">Tile Set · BB</span>'
        ' <span class="card-tile-price">'
        ' <span class="card-tile-no-price">No price yet</span> </span>'
        ' <span class="card-tile-tags"> <span class="tag">Sealed</span> </span>'
        f"{add(box, 'Booster Box, Tile Set BB')} </li>"
        f' <li class="card-tile"> <a href="/cards/{charizard.pk}/charizard/">'
        ' <img src="https://images.example.com/tls1/4.png" alt="Charizard, Tile Set 4/102"'
        ' loading="lazy" width="245" height="342">'
        ' <span class="card-tile-name">Charizard</span> </a>'
        ' <span class="card-tile-meta">Tile Set · 4/102</span>'
        ' <span class="card-tile-price"> <strong>$54.50</strong>'
        ' <span class="change change-up"><span aria-hidden="true">▲ </span>+6.9%</span>'
        '<span class="visually-hidden"> over 7 days</span> </span>'
        ' <span class="card-tile-tags"> <span class="tag">Rare Holo</span> </span>'
        f"{add(charizard, 'Charizard, Tile Set 4/102')} </li>"
        f' <li class="card-tile"> <a href="/cards/{pikachu.pk}/pikachu/">'
        ' <span class="card-image-missing" role="img" aria-label="No image for Pikachu">P</span>'
        ' <span class="card-tile-name">Pikachu</span> </a>'
        ' <span class="card-tile-meta">Tile Set · 25/102</span>'
        ' <span class="card-tile-price"> <strong>$2.50</strong>'
        ' <span class="card-tile-price-key">NM</span>'
        ' <span class="change change-none" title="Not enough history">—</span>'
        '<span class="visually-hidden"> over 7 days</span>'
        ' <span class="tag tag-simulated">Simulated</span> </span>'
        ' <span class="card-tile-tags"> <span class="tag tag-variant">Parallel 1</span> </span>'
        f"{add(pikachu, 'Pikachu, Tile Set 25/102')} </li>"
        " </ul>"
    )


def test_a_set_page_shows_each_kind_of_tile_as_it_always_has(client):
    card_set, charizard, pikachu, box = every_kind_of_tile()

    html = client.get(f"{card_set.get_absolute_url()}?sort=name").content.decode()

    assert the_grid(html) == expected_tiles(charizard, pikachu, box)


def test_a_signed_in_visitor_gets_an_add_link_back_to_the_page_on_each_tile(client):
    card_set, charizard, pikachu, box = every_kind_of_tile()
    client.force_login(make_user())

    html = client.get(f"{card_set.get_absolute_url()}?sort=name").content.decode()

    here = "/sets/pokemon/tls1/%3Fsort%3Dname"
    assert the_grid(html) == expected_tiles(charizard, pikachu, box, add_to=here)


def test_search_results_show_the_same_tiles(client):
    _, charizard, pikachu, box = every_kind_of_tile()

    html = client.get("/cards/?set=tls1&sort=name").content.decode()

    assert the_grid(html) == expected_tiles(charizard, pikachu, box)


def test_an_empty_grid_is_an_empty_list():
    assert squeeze(tiles.grid([])) == '<ul class="card-grid"> </ul>'


def template_grid(rows, user, request) -> str:
    template = engines["django"].from_string(TEMPLATE_GRID)
    return template.render({"tiles": rows, "user": user, "request": request})


@pytest.mark.parametrize("signed_in", [False, True])
@pytest.mark.parametrize("prefix", ["", HOSTILE])
def test_the_grid_reads_as_the_template_wrote_it(signed_in, prefix):
    every_kind_of_tile(prefix)
    cards = Card.objects.select_related("card_set").order_by("name")
    rows = with_headlines(cards)
    request = RequestFactory().get("/cards/", {"q": HOSTILE, "page": "2"})
    user = make_user() if signed_in else AnonymousUser()
    add_card_url = "/collections/add/" if signed_in else None

    written = tiles.grid(rows, add_card_url, request.get_full_path())

    assert squeeze(written) == squeeze(template_grid(rows, user, request))


def test_every_value_of_a_tile_is_escaped(client):
    card_set = make_set(code="esc1", name=HOSTILE)
    card = make_card(
        card_set=card_set,
        number=HOSTILE,
        name=HOSTILE,
        rarity=HOSTILE,
        variant=HOSTILE,
        image_url=f"https://images.example.com/{HOSTILE}.png",
    )
    record_prices(card, {"ungraded": 100})
    bare = make_card(card_set=card_set, number="2", name=HOSTILE)
    client.force_login(make_user())

    grid = the_grid(client.get(f"{card_set.get_absolute_url()}?sort=name&x=<b>").content.decode())

    assert "<script>" not in grid and "<b>" not in grid
    assert f'<span class="card-tile-name">{ESCAPED}</span>' in grid
    assert f'alt="{ESCAPED}, {ESCAPED} {ESCAPED}"' in grid
    assert f'src="https://images.example.com/{ESCAPED}.png"' in grid
    assert f'<span class="card-tile-meta">{ESCAPED} · {ESCAPED}</span>' in grid
    assert f'<span class="tag">{ESCAPED}</span>' in grid
    assert f'<span class="tag tag-variant">{ESCAPED}</span>' in grid
    assert f'aria-label="No image for {ESCAPED}">&lt;</span>' in grid
    assert f'aria-label="Add {ESCAPED}, {ESCAPED} 2/100, to a collection"' in grid
    assert f"?card={bare.pk}&amp;next=/sets/pokemon/esc1/%3Fsort%3Dname%26x%3D%253Cb%253E" in grid


def test_prices_shown_again_read_as_the_template_wrote_them_each_with_its_own_figures():
    # A tile's figures are remembered by their values (pages.tiles._figures): a price seen
    # before reads as it did, and one differing in any figure reads as its own.
    card = make_card(name="Eevee")
    shown = HeadlineFigures(
        pk=1,
        card_id=card.pk,
        source="pricecharting",
        price_key="ungraded",
        currency="USD",
        market=123456,
        change_7d=12.46,
        observed_at=timezone.now(),
    )
    variants = [
        shown,
        shown._replace(market=123457),
        shown._replace(change_7d=-0.04),
        shown._replace(change_7d=None),
        shown._replace(price_key="NM"),
        shown._replace(source="demo"),
        shown._replace(currency="EUR"),
    ]
    rows = [(card, f"/cards/{n}/", price) for n, price in enumerate(variants)] * 2

    assert squeeze(tiles.grid(rows)) == squeeze(template_grid(rows, AnonymousUser(), None))
