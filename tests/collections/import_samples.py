"""A small realistic catalog and sample files in each import format, shared by the import
tests: Pokémon Base Set and 151, One Piece Romance Dawn, with the variants that make
matching interesting (1st Edition, Reverse Holo, One Piece parallels)."""

import csv
import io
from dataclasses import dataclass

from cards.models import Card, CardSet, Game
from collections_app.importing import COLLECTR_COLUMNS, TCGPLAYER_COLUMNS
from tests.factories import make_card, make_set


@dataclass
class Catalog:
    base: CardSet
    sv151: CardSet
    op01: CardSet
    charizard: Card
    charizard_1st: Card
    blastoise: Card
    bulbasaur: Card
    bulbasaur_reverse: Card
    mew_ex: Card
    zoro: Card
    zoro_parallel: Card
    shanks: Card
    shanks_parallel: Card


def make_catalog() -> Catalog:
    base = make_set(
        game=Game.POKEMON,
        code="base1",
        name="Base",
        series="Base",
        printed_total=102,
        total=102,
        ptcgo_code="BS",
    )
    sv151 = make_set(
        game=Game.POKEMON,
        code="sv3pt5",
        name="151",
        series="Scarlet & Violet",
        printed_total=165,
        total=207,
        ptcgo_code="MEW",
    )
    op01 = make_set(
        game=Game.ONEPIECE,
        code="OP01",
        name="Romance Dawn",
        series="",
        printed_total=None,
        total=None,
    )
    return Catalog(
        base=base,
        sv151=sv151,
        op01=op01,
        charizard=make_card(
            card_set=base, number="4", name="Charizard", rarity="Rare Holo", tcgplayer_id="42382"
        ),
        charizard_1st=make_card(
            card_set=base, number="4", name="Charizard", variant="1st Edition", rarity="Rare Holo"
        ),
        blastoise=make_card(card_set=base, number="2", name="Blastoise", tcgplayer_id="42380"),
        bulbasaur=make_card(card_set=sv151, number="1", name="Bulbasaur"),
        bulbasaur_reverse=make_card(
            card_set=sv151, number="1", name="Bulbasaur", variant="Reverse Holo"
        ),
        mew_ex=make_card(card_set=sv151, number="151", name="Mew ex", tcgplayer_id="517045"),
        zoro=make_card(card_set=op01, number="OP01-001", name="Roronoa Zoro", rarity="L"),
        zoro_parallel=make_card(
            card_set=op01, number="OP01-001", name="Roronoa Zoro", variant="p1", rarity="L"
        ),
        shanks=make_card(card_set=op01, number="OP01-120", name="Shanks", rarity="SEC"),
        shanks_parallel=make_card(
            card_set=op01, number="OP01-120", name="Shanks", variant="p1", rarity="SEC"
        ),
    )


def to_csv(columns: list[str], rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({column: row.get(column, "") for column in columns})
    return out.getvalue()


def collectr_row(**fields) -> dict:
    row = {
        "Portfolio Name": "Main binder",
        "Category": "Pokemon",
        "Rarity": "Rare Holo",
        "Variance": "Holofoil",
        "Grade": "Ungraded",
        "Card Condition": "Near Mint",
        "Average Cost Paid": "0.00",
        "Quantity": "1",
        "Market Price": "412.35",
        "Price Override": "",
        "Watchlist": "false",
        "Date Added": "2024-03-05",
        "Notes": "",
    }
    row.update(fields)
    return row


COLLECTR_FILE = to_csv(
    COLLECTR_COLUMNS,
    [
        collectr_row(
            **{
                "Set": "Base Set",
                "Product Name": "Charizard",
                "Card Number": "4/102",
                "Grade": "PSA 10",
                "Card Condition": "",
                "Average Cost Paid": "$1,234.56",
                "Date Added": "03/05/2024",
                "Notes": "Graded 2021",
            }
        ),
        collectr_row(
            **{
                "Set": "Scarlet & Violet 151",
                "Product Name": "Mew ex",
                "Card Number": "151/165",
                "Rarity": "Double Rare",
                "Quantity": "3",
                "Average Cost Paid": "12.5",
            }
        ),
        collectr_row(
            **{
                "Set": "Scarlet & Violet 151",
                "Product Name": "Bulbasaur",
                "Card Number": "001/165",
                "Rarity": "Common",
                "Variance": "Reverse Holofoil",
                "Card Condition": "Lightly Played",
                "Date Added": "",
            }
        ),
        collectr_row(
            **{
                "Category": "One Piece Card Game",
                "Set": "Romance Dawn",
                "Product Name": "Shanks (Alternate Art)",
                "Card Number": "OP01-120",
                "Rarity": "Secret Rare",
                "Variance": "Alternate Art",
                "Grade": "BGS 9.5",
                "Card Condition": "",
            }
        ),
        collectr_row(
            **{
                "Category": "One Piece Card Game",
                "Set": "Romance Dawn",
                "Product Name": "Roronoa Zoro",
                "Card Number": "OP01-001",
                "Variance": "Normal",
                "Watchlist": "true",
                "Quantity": "0",
            }
        ),
    ],
)


def tcgplayer_row(**fields) -> dict:
    row = {
        "Quantity": "1",
        "Language": "English",
        "Rarity": "Holo Rare",
        "SKU": "",
        "Price": "399.99",
    }
    row.update(fields)
    return row


TCGPLAYER_FILE = to_csv(
    TCGPLAYER_COLUMNS,
    [
        # Matched on Product ID although the set name is TCGplayer's own.
        tcgplayer_row(
            **{
                "Quantity": "2",
                "Name": "Charizard",
                "Simple Name": "Charizard",
                "Set": "Base Set",
                "Card Number": "4/102",
                "Set Code": "BS",
                "Printing": "Holofoil",
                "Condition": "Near Mint Holofoil",
                "Product ID": "42382",
                "SKU": "1234567",
            }
        ),
        # No product id: set code, number and printing.
        tcgplayer_row(
            **{
                "Name": "Charizard",
                "Simple Name": "Charizard",
                "Set": "Base Set",
                "Card Number": "4/102",
                "Set Code": "BS",
                "Printing": "1st Edition",
                "Condition": "Lightly Played 1st Edition",
            }
        ),
        tcgplayer_row(
            **{
                "Name": "Bulbasaur",
                "Simple Name": "Bulbasaur",
                "Set": "SV: Scarlet & Violet 151",
                "Card Number": "001/165",
                "Set Code": "SV3PT5",
                "Printing": "Reverse Holofoil",
                "Condition": "Moderately Played Reverse Holofoil",
                "Rarity": "Common",
            }
        ),
        tcgplayer_row(
            **{
                "Quantity": "4",
                "Name": "Shanks",
                "Simple Name": "Shanks",
                "Set": "Romance Dawn",
                "Card Number": "OP01-120",
                "Set Code": "OP01",
                "Printing": "Normal",
                "Condition": "Damaged",
                "Rarity": "Secret Rare",
            }
        ),
    ],
)


def record_backfills(monkeypatch) -> list[tuple[int, object]]:
    """Record the calls to collections_app.snapshots.queue_backfill instead of running
    them (the snapshot tests cover what it does)."""
    calls = []

    def record(collection, since):
        calls.append((collection.pk, since))

    monkeypatch.setattr("collections_app.snapshots.queue_backfill", record)
    return calls
