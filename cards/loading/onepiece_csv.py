"""One Piece sets and cards in our CSV (cards/catalog/onepiece_*.csv): one row per print,
its variant (p1, p2 ... for parallels) and the product it was printed in."""

from cards.loading.records import (
    CARDS,
    SETS,
    CardRow,
    Format,
    Row,
    SetRow,
    header,
    known,
    limit,
    pricecharting_name,
)
from cards.models import Card, CardSet, Game


def parse_set(row: Row) -> SetRow:
    return SetRow(
        code=row.text("code", limit(CardSet, "code"), required=True),
        values=known(
            name=row.text("name", limit(CardSet, "name"), required=True),
            release_date=row.date("release_date"),
            pricecharting_name=pricecharting_name(row),
        ),
    )


def parse_card(row: Row) -> CardRow:
    return CardRow(
        set_code=row.text("set_code", limit(CardSet, "code"), required=True),
        number=row.text("code", limit(Card, "number"), required=True),
        variant=row.text("variant", limit(Card, "variant")),
        values=known(
            name=row.text("name", limit(Card, "name"), required=True),
            rarity=row.text("rarity", limit(Card, "rarity")),
            category=row.text("card_type", limit(Card, "category")),
            color=row.text("color", limit(Card, "color")),
            image_url=row.url("image_url", limit(Card, "image_url")),
        ),
        product_name=row.text("set_name", limit(Card, "printed_in")),
    )


FORMATS = [
    Format("onepiece-sets-csv", Game.ONEPIECE, SETS, parse_set, header("code,name,release_date")),
    Format(
        "onepiece-cards-csv",
        Game.ONEPIECE,
        CARDS,
        parse_card,
        header("code,variant,set_code,set_name,name,rarity,card_type,color,image_url"),
    ),
]
