"""The grid of card tiles that search results and a set's page show, written in Python.

A set page shows 120 tiles; through the template language each tile took some twenty
variable lookups, tags and filters, and the grid was most of the page's time. One format
string per tile writes the same markup (templates/pages/_card_grid.html calls grid()):
every value from the catalog or a price is escaped here, as the template's autoescaping
did, and the figures go through the template filters' own functions.
"""

from collections.abc import Iterable
from html import escape
from urllib.parse import quote

from django.utils.safestring import SafeString, mark_safe

from cards.models import Card
from prices.templatetags.prices import money, percent_change

IMAGE = (
    '<img src="{src}" alt="{name}, {set_name} {number}" loading="lazy" width="245" height="342">'
)
NO_IMAGE = (
    '<span class="card-image-missing" role="img" aria-label="No image for {name}">{initial}</span>'
)
PRICE = (
    "<strong>{market}</strong>{key}\n"
    '{change}<span class="visually-hidden"> over 7 days</span>{simulated}'
)
PRICE_KEY = ' <span class="card-tile-price-key">{key}</span>'
SIMULATED = '\n<span class="tag tag-simulated">Simulated</span>'
NO_PRICE = '<span class="card-tile-no-price">No price yet</span>'
RARITY = '<span class="tag">{rarity}</span>'
VARIANT = '<span class="tag tag-variant">{variant}</span>'
SEALED = '<span class="tag">Sealed</span>'
ADD = (
    '\n<a class="tile-add" href="{add_url}?card={pk}&amp;next={here}"'
    ' hx-get="{add_url}?card={pk}" hx-target="this" hx-swap="outerHTML"'
    ' aria-label="Add {name}, {set_name} {number}, to a collection">Add to collection</a>'
)
TILE = (
    '<li class="card-tile">\n'
    '<a href="{url}">\n{image}\n<span class="card-tile-name">{name}</span>\n</a>\n'
    '<span class="card-tile-meta">{set_name} · {number}</span>\n'
    '<span class="card-tile-price">\n{price}\n</span>\n'
    '<span class="card-tile-tags">\n{tags}\n</span>{add}\n'
    "</li>"
)


def grid(tiles: Iterable[tuple], add_card_url: str | None = None, here: str = "") -> SafeString:
    """The <ul> of tiles, each (card, its page's address, its headline price or None) as
    pages.views.with_headlines() gives them. With `add_card_url` (a signed-in visitor),
    each tile links to adding its card to a collection, coming back to `here` (the page's
    path and query)."""
    next_path = escape(quote(here)) if add_card_url else ""
    add_url = escape(add_card_url) if add_card_url else ""
    items = "\n".join(_tile(card, url, price, add_url, next_path) for card, url, price in tiles)
    return mark_safe(f'<ul class="card-grid">\n{items}\n</ul>')


def _tile(card, url: str, price, add_url: str, next_path: str) -> str:
    name = escape(card.name)
    set_name = escape(card.card_set.name)
    number = escape(card.display_number)
    if card.image_url:
        image = IMAGE.format(
            src=escape(card.image_url), name=name, set_name=set_name, number=number
        )
    else:
        image = NO_IMAGE.format(name=name, initial=escape(card.name[:1]))
    tags = []
    if card.rarity:
        tags.append(RARITY.format(rarity=escape(card.rarity)))
    if card.variant:
        tags.append(VARIANT.format(variant=escape(card.variant_label)))
    if card.kind == Card.Kind.SEALED:
        tags.append(SEALED)
    add = ""
    if add_url:
        add = ADD.format(
            add_url=add_url, pk=card.pk, here=next_path, name=name, set_name=set_name, number=number
        )
    return TILE.format(
        url=escape(url),
        image=image,
        name=name,
        set_name=set_name,
        number=number,
        price=_price(price),
        tags="\n".join(tags),
        add=add,
    )


def _price(price) -> str:
    if not price:
        return NO_PRICE
    key = "" if price.price_key == "ungraded" else PRICE_KEY.format(key=escape(price.price_key))
    return PRICE.format(
        market=escape(money(price.market, price.currency)),
        key=key,
        change=percent_change(price.change_7d),
        simulated=SIMULATED if price.is_simulated else "",
    )
