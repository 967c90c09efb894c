"""Pokémon sets and cards as the Pokémon TCG API (and its data repository) sends them:
`/sets` and `/cards` objects, camelCase keys, nested `images` and `tcgplayer`."""

from collections.abc import Collection

from cards.loading import pokemon
from cards.loading.records import CARDS, SETS, CardRow, Format, Row, limit
from cards.models import Card, CardSet, Game

SET_KEYS = {
    "code": "id",
    "name": "name",
    "series": "series",
    "printed_total": "printedTotal",
    "total": "total",
    "ptcgo_code": "ptcgoCode",
    "release_date": "releaseDate",
}
CARD_KEYS = {
    "name": "name",
    "rarity": "rarity",
    "category": "supertype",
    "image_url": "images.small",
    "tcgplayer_url": "tcgplayer.url",
}


def parse_card(row: Row) -> CardRow:
    card_id = row.text("id")
    set_code = row.text("set.id", limit(CardSet, "code"))
    # The data repository's per-set card files have no "set": ids are "{set id}-{number}".
    if not set_code:
        set_code, dash, _ = card_id.rpartition("-")
        if not dash or not set_code:
            row.problems.append(
                f"set.id is missing and id {card_id!r} does not start with a set id"
                if card_id
                else "set.id and id are both missing"
            )
        row.check_length("set id (from id)", set_code, limit(CardSet, "code"))
    return CardRow(
        set_code=set_code,
        number=row.text("number", limit(Card, "number"), required=True),
        variant="",
        values=pokemon.card_values(row, CARD_KEYS),
    )


def is_card(keys: Collection[str]) -> bool:
    return "id" in keys and bool(set(keys) & {"supertype", "number"})


def is_set(keys: Collection[str]) -> bool:
    set_keys = {"series", "printedTotal", "total", "releaseDate", "ptcgoCode"}
    return "id" in keys and bool(set(keys) & set_keys) and not is_card(keys)


FORMATS = [
    Format("pokemontcg-api-sets", Game.POKEMON, SETS, pokemon.set_parser(SET_KEYS), detect=is_set),
    Format("pokemontcg-api-cards", Game.POKEMON, CARDS, parse_card, detect=is_card),
]
