"""Collectr's collection export: one row per card and grade, the portfolio's name, its
own category and set names, "Average Cost Paid" and a watchlist flag."""

from collections_app.importing.rows import (
    CardLookup,
    FileFormat,
    ParsedRow,
    item_data,
    required,
    text_fields,
)
from collections_app.importing.values import (
    GAMES,
    parse_condition,
    parse_date,
    parse_flag,
    parse_grading,
    parse_money,
    parse_quantity,
    quoted,
)
from collections_app.models import CollectionImport
from prices.matching import fold

COLLECTR_COLUMNS = [
    "Portfolio Name",
    "Category",
    "Set",
    "Product Name",
    "Card Number",
    "Rarity",
    "Variance",
    "Grade",
    "Card Condition",
    "Average Cost Paid",
    "Quantity",
    "Market Price",
    "Price Override",
    "Watchlist",
    "Date Added",
    "Notes",
]


def parse_row(line: int, cell) -> ParsedRow:
    category = cell("category").strip()
    game = GAMES.get(fold(category))
    lookup = CardLookup(
        games=(game,) if game else (),
        set_name=cell("set").strip(),
        number=cell("card number").strip(),
        variant=cell("variance").strip(),
        name=cell("product name").strip(),
    )
    row = ParsedRow(line, lookup)
    if category and not game:
        row.errors.append(f"category {quoted(category)} is not Pokémon or One Piece")
    row.watch_only = bool(row.value(parse_flag, cell("watchlist"), "watchlist"))
    if row.watch_only:
        return row
    quantity = row.value(parse_quantity, cell("quantity"), default=1)
    grading = row.value(parse_grading, cell("grade"))
    condition = ""
    if not grading:
        # Collectr leaves the condition blank on cards added without one: Near Mint.
        parsed = row.value(parse_condition, cell("card condition") or "Near Mint")
        condition = parsed[0] if parsed else ""
    # Collectr writes 0.00 for "no cost entered".
    price = row.value(parse_money, cell("average cost paid"), "average cost paid") or None
    # Collectr has no purchase date; the day the card was added is the nearest.
    day = row.value(parse_date, cell("date added"), "date added")
    _, notes = text_fields(row, "", cell("notes"))
    row.data = item_data(
        quantity=quantity,
        grading=grading,
        condition=condition,
        purchase_price=price,
        purchase_date=day,
        notes=notes,
    )
    return row


FORMAT = FileFormat(
    CollectionImport.Format.COLLECTR,
    CollectionImport.Format.COLLECTR.label,
    COLLECTR_COLUMNS,
    required(
        "Portfolio Name",
        "Category",
        "Set",
        "Product Name",
        "Card Number",
        "Variance",
        "Grade",
        "Quantity",
        "Watchlist",
    ),
    parse_row,
)
