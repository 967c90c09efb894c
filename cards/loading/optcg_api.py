"""One Piece sets and cards as the OPTCG API sends them: `allSets/` and `sets/{OP-01}/`
arrays, set ids with a dash (OP-01), parallels marked by `card_image_id` (OP01-001_p1)."""

import re
from collections.abc import Collection

from cards.loading.records import CARDS, SETS, CardRow, Format, Row, SetRow, known, limit
from cards.models import Card, CardSet, Game


def set_code(set_id: str) -> str:
    """OPTCG writes set ids with a dash (OP-01, ST-01, PRB-01); card codes do not (OP01)."""
    return re.sub(r"^([A-Za-z]+)-(\d+)$", r"\1\2", set_id)


def parse_set(row: Row) -> SetRow:
    code = set_code(row.text("set_id", required=True))
    row.check_length("set_id", code, limit(CardSet, "code"))
    return SetRow(
        code=code,
        values=known(name=row.text("set_name", limit(CardSet, "name"), required=True)),
    )


def parse_card(row: Row) -> CardRow:
    number = row.text("card_set_id", limit(Card, "number"), required=True)
    code, dash, _ = number.partition("-")
    if number and not (dash and code):
        row.problems.append(f"card_set_id {number!r} does not start with a set code")
    # card_image_id is the code itself for the base print and "OP01-001_p1" for a parallel.
    image_id = row.text("card_image_id")
    variant = ""
    if image_id and image_id != number:
        base, underscore, variant = image_id.rpartition("_")
        if not underscore or base != number or not variant:
            row.problems.append(
                f"card_image_id {image_id!r} is neither {number!r} nor {number!r} + '_<variant>'"
            )
        row.check_length("card_image_id variant", variant, limit(Card, "variant"))
    printed_set = set_code(row.text("set_id"))
    set_name = row.text("set_name", limit(CardSet, "name"))
    values = known(
        name=row.text("card_name", limit(Card, "name"), required=True),
        rarity=row.text("rarity", limit(Card, "rarity")),
        category=row.text("card_type", limit(Card, "category")),
        color=row.text("card_color", limit(Card, "color")),
        image_url=row.url("card_image", limit(Card, "image_url")),
    )
    # The row's set_id is the product it was printed in: a reprint lists a later product.
    if printed_set == code:
        values["printed_in"] = ""
    elif printed_set and set_name:
        values["printed_in"] = set_name
    return CardRow(
        set_code=code,
        number=number,
        variant=variant,
        values=values,
        new_set_name=set_name if printed_set == code else "",
    )


def is_card(keys: Collection[str]) -> bool:
    return "card_set_id" in keys


def is_set(keys: Collection[str]) -> bool:
    return {"set_id", "set_name"} <= set(keys) and not is_card(keys)


FORMATS = [
    Format("optcg-api-sets", Game.ONEPIECE, SETS, parse_set, detect=is_set),
    Format("optcg-api-cards", Game.ONEPIECE, CARDS, parse_card, detect=is_card),
]
