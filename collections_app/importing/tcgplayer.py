"""TCGplayer's collection export: set names and codes, printings, conditions and the
TCGplayer product id (a direct key to our cards)."""

from collections_app.importing.rows import CardLookup, FileFormat, ParsedRow, item_data, required
from collections_app.importing.values import LANGUAGES, parse_condition, parse_quantity
from collections_app.models import CollectionImport
from prices.matching import clean_tcg_id, fold

TCGPLAYER_COLUMNS = [
    "Quantity",
    "Name",
    "Simple Name",
    "Set",
    "Card Number",
    "Set Code",
    "Printing",
    "Condition",
    "Language",
    "Rarity",
    "Product ID",
    "SKU",
    "Price",
]


def parse_row(line: int, cell) -> ParsedRow:
    parsed = None
    row = ParsedRow(line, CardLookup())
    if cell("condition").strip():
        parsed = row.value(parse_condition, cell("condition"))
    else:
        row.errors.append("condition is missing")
    printing = cell("printing").strip() or (parsed[1] if parsed else "")
    language = cell("language").strip()
    row.lookup = CardLookup(
        set_code=cell("set code").strip(),
        set_name=cell("set").strip(),
        number=cell("card number").strip(),
        variant=printing,
        name=(cell("name") or cell("simple name")).strip(),
        language=LANGUAGES.get(fold(language), fold(language)),
        tcgplayer_id=clean_tcg_id(cell("product id")),
    )
    quantity = row.value(parse_quantity, cell("quantity"), default=1)
    # TCGplayer's Price column is the market price on the day of the export, not what
    # was paid: it is not a purchase price.
    row.data = item_data(
        quantity=quantity,
        grading=None,
        condition=parsed[0] if parsed else "",
        purchase_price=None,
        purchase_date=None,
    )
    return row


FORMAT = FileFormat(
    CollectionImport.Format.TCGPLAYER,
    CollectionImport.Format.TCGPLAYER.label,
    TCGPLAYER_COLUMNS,
    required("Quantity", "Name", "Set", "Card Number", "Condition", "Product ID"),
    parse_row,
)
