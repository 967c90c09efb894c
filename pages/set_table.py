"""A set page's price table (?view=table), written in Python.

Its 120 rows went through the template language at some fifteen variables, tags and
filters each: the table view took three times the grid's time. Each row is one f-string
here, every value from the catalog or a price escaped as the template's autoescaping did,
the figures through the template filters' own functions.
"""

from html import escape

from django.utils.safestring import SafeString, mark_safe

from prices import keys
from prices.templatetags.prices import money, percent_change

SIMULATED = ' <span class="tag tag-simulated">Simulated</span>'
NONE = "—"


def price_table(set_name: str, grade: str, rows) -> SafeString:
    """The table of `rows`: (card, its page's address, its headline price or None, its
    `grade` price or None) as pages.views.set_detail gives them."""
    grade = escape(grade)
    body = "\n".join([_row(*row) for row in rows])
    return mark_safe(
        '<div class="table-wrap">\n'
        '  <table class="data-table set-price-table">\n'
        f'    <caption class="visually-hidden">{escape(set_name)}: each card\'s ungraded and'
        f" {grade} price and 7-day change</caption>\n"
        "    <thead><tr>\n"
        '      <th scope="col">No.</th><th scope="col">Card</th><th scope="col">Rarity</th>\n'
        '      <th scope="col" class="num">Ungraded</th>'
        f'<th scope="col" class="num">{grade}</th><th scope="col" class="num">7d</th>\n'
        "    </tr></thead>\n"
        f"    <tbody>\n{body}\n    </tbody>\n"
        "  </table>\n"
        "</div>"
    )


def _row(card, url: str, price, graded) -> str:
    variant = ""
    if card.variant:
        variant = f' <span class="tag tag-variant">{escape(card.variant_label)}</span>'
    if price:
        key = ""
        if price.price_key != keys.UNGRADED:
            key = f' <span class="price-key-note">{escape(price.price_key)}</span>'
        market = (
            f"{escape(money(price.market, price.currency))}{key}"
            f"{SIMULATED if price.is_simulated else ''}"
        )
        change = percent_change(price.change_7d)
    else:
        market = change = NONE
    if graded:
        graded_market = (
            f"{escape(money(graded.market, graded.currency))}"
            f"{SIMULATED if graded.is_simulated else ''}"
        )
    else:
        graded_market = NONE
    return (
        "      <tr>\n"
        f"        <td>{escape(card.display_number)}</td>\n"
        f'        <th scope="row"><a href="{escape(url)}">{escape(card.name)}</a>{variant}</th>\n'
        f"        <td>{escape(card.rarity) if card.rarity else NONE}</td>\n"
        f'        <td class="num">{market}</td>\n'
        f'        <td class="num">{graded_market}</td>\n'
        f'        <td class="num">{change}</td>\n'
        "      </tr>"
    )
