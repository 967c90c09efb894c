"""What the two Pokémon formats share: the Pokémon TCG data's set and card fields, read
under each format's own key names (our CSV's columns, the API's JSON keys)."""

import re
from collections.abc import Callable, Mapping

from cards.loading.records import Row, SetRow, known, limit, pricecharting_name
from cards.models import Card, CardSet

TCGPLAYER_PRODUCT_URL = re.compile(r"https?://(?:www\.)?tcgplayer\.com/product/(\d+)", re.I)


def set_parser(keys: Mapping[str, str]) -> Callable[[Row], SetRow]:
    def parse(row: Row) -> SetRow:
        return SetRow(
            code=row.text(keys["code"], limit(CardSet, "code"), required=True),
            values=known(
                name=row.text(keys["name"], limit(CardSet, "name"), required=True),
                series=row.text(keys["series"], limit(CardSet, "series")),
                printed_total=row.integer(keys["printed_total"]),
                total=row.integer(keys["total"]),
                ptcgo_code=row.text(keys["ptcgo_code"], limit(CardSet, "ptcgo_code")),
                release_date=row.date(keys["release_date"]),
                pricecharting_name=pricecharting_name(row),
            ),
        )

    return parse


def tcgplayer_id(url: str) -> str:
    """The product id in a TCGplayer product URL; other URLs (price redirects) carry none."""
    match = TCGPLAYER_PRODUCT_URL.match(url)
    return match[1] if match and len(match[1]) <= limit(Card, "tcgplayer_id") else ""


def card_values(row: Row, keys: Mapping[str, str]) -> dict[str, object]:
    return known(
        name=row.text(keys["name"], limit(Card, "name"), required=True),
        rarity=row.text(keys["rarity"], limit(Card, "rarity")),
        category=row.text(keys["category"], limit(Card, "category")),
        image_url=row.url(keys["image_url"], limit(Card, "image_url")),
        tcgplayer_id=tcgplayer_id(row.url(keys["tcgplayer_url"])),
    )
