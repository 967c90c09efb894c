"""The top of the card page: breadcrumbs, the card's image, its name and facts.

Written with format_html rather than template tags: a dozen conditional facts, each a
few variable lookups and filters in the template engine, were a tenth of the signed-in
card page's time. Each value is escaped as the template's autoescaping escaped it.
"""

from typing import NamedTuple
from urllib.parse import quote

from django.template.defaultfilters import date as format_date
from django.utils.safestring import SafeString

from tcgtracker.lib.html import format_html, format_html_join
from tcgtracker.lib.urls import reversed_once


class CardIntro(NamedTuple):
    title: SafeString  # the page's <title>, before the site's name
    breadcrumbs: SafeString
    image: SafeString
    facts: SafeString  # the heading, the subtitle and the facts list


def card_intro(card, set_url: str) -> CardIntro:
    card_set = card.card_set
    game = card_set.get_game_display()
    number = card.display_number
    variant = card.variant_label if card.variant else ""
    breadcrumbs = format_html(
        '<nav class="breadcrumbs" aria-label="Breadcrumbs">\n'
        '  <a href="{}?game={}">{} sets</a> ›\n'
        '  <a href="{}">{}</a> › {}\n'
        "</nav>",
        reversed_once("cards:set_list"),
        card_set.game,
        game,
        set_url,
        card_set.name,
        card.name,
    )
    if card.image_url:
        image = format_html(
            '<img src="{}" alt="{}, {} {}" width="367" height="512">',
            card.image_url,
            card.name,
            card_set.name,
            number,
        )
    else:
        image = format_html(
            '<span class="card-image-missing large" role="img" aria-label="No image for {}">'
            "{}</span>",
            card.name,
            card.name[:1],
        )
    heading = format_html(
        '<h1>{}{}</h1>\n    <p class="subtitle"><a href="{}">{}</a> · {}</p>',
        card.name,
        format_html(' <span class="tag tag-variant">{}</span>', variant) if variant else "",
        set_url,
        card_set.name,
        number,
    )
    facts = [
        ("Game", game),
        (
            "Set",
            format_html(
                '<a href="{}">{}</a> (<code>{}</code>)', set_url, card_set.name, card_set.code
            ),
        ),
        ("Number", number),
    ]
    if card.rarity:
        rarity_search = (
            f"{reversed_once('cards:search')}?q=rarity%3A%22{quote(card.rarity, safe='/')}%22"
        )
        facts.append(("Rarity", format_html('<a href="{}">{}</a>', rarity_search, card.rarity)))
    if variant:
        facts.append(("Variant", variant))
    if card.printed_in:
        facts.append(("Printed in", card.printed_in))
    if card.category:
        facts.append(("Type", card.category))
    if card.color:
        facts.append(("Color", card.color))
    facts.append(("Kind", card.get_kind_display()))
    if card_set.release_date:
        facts.append(("Released", format_date(card_set.release_date, "j M Y")))
    return CardIntro(
        format_html("{} {} — {}", card.name, number, card_set.name),
        breadcrumbs,
        image,
        format_html(
            '{}\n    <dl class="facts">\n{}\n    </dl>',
            heading,
            format_html_join("\n", "      <dt>{}</dt><dd>{}</dd>", facts),
        ),
    )
