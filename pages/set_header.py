"""A set page's breadcrumbs and header (its facts, its value, a search within it), written
in Python: through the template language they took a sixth of the page's rendering (two
reverse() calls, a date filter, twenty lookups). Every value from the catalog is escaped
here, as the template's autoescaping did; the date and the money go through the template
filters' own functions.
"""

from html import escape
from urllib.parse import quote

from django.template.defaultfilters import date
from django.utils.safestring import SafeString, mark_safe

from prices.templatetags.prices import money
from tcgtracker.lib.urls import reversed_once


def set_header(card_set, count: int, set_value) -> SafeString:
    """The breadcrumbs and the <header> of `card_set`, which has `count` cards in the
    catalog and is worth `set_value` (prices.headline.SetValue, or None)."""
    name = escape(card_set.name)
    facts = []
    if card_set.series:
        facts.append(f"<div><dt>Series</dt><dd>{escape(card_set.series)}</dd></div>")
    if card_set.release_date:
        released = escape(date(card_set.release_date, "j M Y"))
        facts.append(f"<div><dt>Released</dt><dd>{released}</dd></div>")
    if card_set.printed_total:
        facts.append(f"<div><dt>Printed total</dt><dd>{card_set.printed_total}</dd></div>")
    if card_set.total:
        facts.append(f"<div><dt>Cards in set</dt><dd>{card_set.total}</dd></div>")
    facts.append(f"<div><dt>In catalog</dt><dd>{count}</dd></div>")
    if set_value and set_value.priced:
        simulated = (
            ' <span class="tag tag-simulated">Simulated</span>' if set_value.simulated else ""
        )
        unpriced = ""
        if set_value.unpriced:
            unpriced = (
                f"; {set_value.priced} of {set_value.cards} cards priced,"
                f" the other {set_value.unpriced} not counted"
            )
        facts.append(
            f'<div class="set-value"><dt>Set value</dt><dd><strong>'
            f"{escape(money(set_value.total))}</strong>{simulated}\n"
            f'<span class="set-value-note">one of each card{unpriced}</span></dd></div>'
        )
    facts_html = "\n".join(facts)
    set_list = escape(reversed_once("cards:set_list"))
    search = escape(reversed_once("cards:search"))
    return mark_safe(
        '<nav class="breadcrumbs" aria-label="Breadcrumbs">'
        f'<a href="{set_list}?game={escape(card_set.game)}">'
        f"{escape(card_set.get_game_display())} sets</a> › {name}</nav>\n"
        '<header class="page-header">\n'
        f"<h1>{name} <code>{escape(card_set.code)}</code></h1>\n"
        f'<dl class="facts-inline">\n{facts_html}\n</dl>\n'
        f'<p><a href="{search}?set={escape(quote(card_set.code, safe="/"))}">'
        "Search within this set →</a></p>\n"
        "</header>"
    )
