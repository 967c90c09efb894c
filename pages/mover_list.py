"""The short lists of cards with a price and its change (movers, the most valuable of a
set, the home page's watchlist), written in Python.

Through the template language a row took an include, a dozen lookups, filters and a
reverse() for the card's address: the five most valuable cards cost a set page more than
the rest of its header. One f-string per row writes the same markup
(templates/pages/_mover_list.html calls mover_list()), every value escaped as the
template's autoescaping did.
"""

from html import escape

from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

from cards.models import card_urls
from prices import history, keys
from prices.templatetags.prices import money, percent_change


def mover_list(rows, pairs: bool, empty: str = "") -> SafeString:
    """The <ol> of rows: (card, its price or None) pairs with `pairs`, else price
    summaries with their .card; each price with its .period_change. `empty` is said when
    there are no rows (escaped unless it is safe already, as a template's literal is)."""
    pairs_of = list(rows) if pairs else [(summary.card, summary) for summary in rows]
    urls = card_urls([card for card, _ in pairs_of])
    items = "\n".join(
        _row(card, url, price) for (card, price), url in zip(pairs_of, urls, strict=True)
    )
    if not pairs_of:
        items = f'<li class="mover-empty">{conditional_escape(empty)}</li>'
    return mark_safe(f'<ol class="mover-list">\n{items}\n</ol>')


def _row(card, url: str, price) -> str:
    name = escape(card.name)
    initial = escape(card.name[:1])
    if card.image_url:
        thumb = (
            f'<img class="mover-thumb" src="{escape(card.image_url)}" alt=""'
            f' data-initial="{initial}" width="36" height="50" loading="lazy">'
        )
    else:
        thumb = f'<span class="mover-thumb mover-thumb-missing" aria-hidden="true">{initial}</span>'
    meta = f"{escape(card.card_set.name)} · {escape(card.display_number)}"
    if card.variant:
        meta += f" · {escape(card.variant_label)}"
    if price:
        meta += f" · {escape(keys.label(price.price_key))}"
        qualifier = history.source_qualifier(price.source)
        if price.is_simulated:
            meta += ' <span class="tag tag-simulated">Simulated</span>'
        elif qualifier:
            meta += f' <span class="tag tag-qualifier">{escape(qualifier)}</span>'
        figures = (
            f'<span class="mover-price">{escape(money(price.market, price.currency))}</span>\n'
            f"{percent_change(price.period_change)}"
        )
    else:
        figures = '<span class="mover-price muted">No price</span>'
    return (
        '<li class="mover">\n'
        f'<a class="mover-card" href="{escape(url)}">\n{thumb}\n'
        f'<span class="mover-name">\n<strong>{name}</strong>\n'
        f'<span class="mover-meta">{meta}</span>\n</span>\n</a>\n'
        f'<span class="mover-figures">\n{figures}\n</span>\n'
        "</li>"
    )
