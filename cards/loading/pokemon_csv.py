"""Pokémon sets and cards in our CSV (cards/catalog/pokemon_*.csv): the Pokémon TCG data
repository's fields, flattened."""

from cards.loading import pokemon
from cards.loading.records import CARDS, SETS, CardRow, Format, Row, header, limit
from cards.models import Card, CardSet, Game

SET_KEYS = {
    "code": "id",
    "name": "name",
    "series": "series",
    "printed_total": "printed_total",
    "total": "total",
    "ptcgo_code": "ptcgo_code",
    "release_date": "release_date",
}
CARD_KEYS = {
    "name": "name",
    "rarity": "rarity",
    "category": "supertype",
    "image_url": "image_small",
    "tcgplayer_url": "tcgplayer_url",
}


def parse_card(row: Row) -> CardRow:
    return CardRow(
        set_code=row.text("set_id", limit(CardSet, "code"), required=True),
        number=row.text("number", limit(Card, "number"), required=True),
        variant="",
        values=pokemon.card_values(row, CARD_KEYS),
    )


FORMATS = [
    Format(
        "pokemon-sets-csv",
        Game.POKEMON,
        SETS,
        pokemon.set_parser(SET_KEYS),
        header("id,name,series,printed_total,total,ptcgo_code,release_date"),
    ),
    Format(
        "pokemon-cards-csv",
        Game.POKEMON,
        CARDS,
        parse_card,
        header("id,set_id,number,name,rarity,supertype,image_small,tcgplayer_url"),
    ),
]
