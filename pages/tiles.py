"""The grid of card tiles that search results and a set's page show, written in Python.

A set page shows 120 tiles; through the template language each tile took some twenty
variable lookups, tags and filters, and the grid was most of the page's time. One f-string
per tile writes the same markup (templates/pages/_card_grid.html calls grid()):
every value from the catalog or a price is escaped here, as the template's autoescaping
did, and the figures go through the template filters' own functions.

What many tiles share is written once: a set's name and a rarity escaped once per grid,
and a price's figures remembered for the process (_figures(): a pure function of five
values; money and percent formatting were a third of a tile's time).
"""

import functools
from collections.abc import Iterable
from html import escape
from urllib.parse import quote

from django.utils.safestring import SafeString, mark_safe

from cards.models import Card
from prices import keys
from prices.templatetags.prices import money, percent_change

NO_PRICE = '<span class="card-tile-no-price">No price yet</span>'
SIMULATED = '\n<span class="tag tag-simulated">Simulated</span>'
SEALED = '<span class="tag">Sealed</span>'


def grid(tiles: Iterable[tuple], add_card_url: str | None = None, here: str = "") -> SafeString:
    """The <ul> of tiles, each (card, its page's address, its headline price or None) as
    pages.views.with_headlines() gives them. With `add_card_url` (a signed-in visitor),
    each tile links to adding its card to a collection, coming back to `here` (the page's
    path and query)."""
    add_url = escape(add_card_url) if add_card_url else ""
    next_path = escape(quote(here)) if add_card_url else ""
    shared = _Shared()
    items = "\n".join(
        [_tile(card, url, price, add_url, next_path, shared) for card, url, price in tiles]
    )
    return mark_safe(f'<ul class="card-grid">\n{items}\n</ul>')


class _Shared(dict):
    """Text many tiles of one grid show (their set's name, a rarity), each escaped once."""

    def __missing__(self, text: str) -> str:
        self[text] = escaped = escape(text)
        return escaped


def _tile(card, url: str, price, add_url: str, next_path: str, shared: _Shared) -> str:
    name = escape(card.name)
    set_name = shared[card.card_set.name]
    number = escape(card.display_number)
    if card.image_url:
        image = (
            f'<img src="{escape(card.image_url)}" alt="{name}, {set_name} {number}"'
            ' loading="lazy" width="245" height="342">'
        )
    else:
        image = (
            '<span class="card-image-missing" role="img"'
            f' aria-label="No image for {name}">{escape(card.name[:1])}</span>'
        )
    tag_list = []
    if card.rarity:
        tag_list.append(f'<span class="tag">{shared[card.rarity]}</span>')
    if card.variant:
        tag_list.append(f'<span class="tag tag-variant">{shared[card.variant_label]}</span>')
    if card.kind == Card.Kind.SEALED:
        tag_list.append(SEALED)
    tags = "\n".join(tag_list)
    add = ""
    if add_url:
        add = (
            f'\n<a class="tile-add" href="{add_url}?card={card.pk}&amp;next={next_path}"'
            f' hx-get="{add_url}?card={card.pk}" hx-target="this" hx-swap="outerHTML"'
            f' aria-label="Add {name}, {set_name} {number}, to a collection">Add to collection</a>'
        )
    if price:
        price_html = _figures(
            price.market, price.currency, price.price_key, price.change_7d, price.is_simulated
        )
    else:
        price_html = NO_PRICE
    return (
        '<li class="card-tile">\n'
        f'<a href="{escape(url)}">\n{image}\n<span class="card-tile-name">{name}</span>\n</a>\n'
        f'<span class="card-tile-meta">{set_name} · {number}</span>\n'
        f'<span class="card-tile-price">\n{price_html}\n</span>\n'
        f'<span class="card-tile-tags">\n{tags}\n</span>{add}\n'
        "</li>"
    )


@functools.lru_cache(maxsize=4096)
def _figures(
    market: int, currency: str, price_key: str, change_7d: float | None, simulated: bool
) -> str:
    """A tile's price: its market price, its key unless ungraded, its 7-day change."""
    key = ""
    if price_key != keys.UNGRADED:
        key = f' <span class="card-tile-price-key">{escape(price_key)}</span>'
    return (
        f"<strong>{escape(money(market, currency))}</strong>{key}\n"
        f'{percent_change(change_7d)}<span class="visually-hidden"> over 7 days</span>'
        f"{SIMULATED if simulated else ''}"
    )
