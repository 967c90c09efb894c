"""Our own collection CSV (collections_app.exporting writes it; docs/collection-csv.md)."""

from cards.models import Game
from collections_app.exporting import OWN_COLUMNS
from collections_app.importing.rows import (
    CardLookup,
    FileFormat,
    ParsedRow,
    item_data,
    required,
    text_fields,
)
from collections_app.importing.values import (
    parse_condition,
    parse_date,
    parse_grade_label,
    parse_grade_value,
    parse_grader,
    parse_money,
    parse_quantity,
    quoted,
)
from collections_app.models import CollectionImport
from tcgtracker.lib.text import parse_id


def parse_row(line: int, cell) -> ParsedRow:
    raw_id = cell("card_id").strip()
    game = cell("game").strip().lower()
    lookup = CardLookup(
        games=(game,) if game else (),
        set_code=cell("set_code").strip(),
        set_name=cell("set_name").strip(),
        number=cell("number").strip(),
        variant=cell("variant").strip(),
        name=cell("name").strip(),
        card_id=parse_id(raw_id),
        exact_variant=True,
    )
    row = ParsedRow(line, lookup)
    if game and game not in Game.values:
        row.errors.append(f"game {quoted(game)} is not one of {', '.join(Game.values)}")
    if not lookup.set_code or not lookup.number:
        row.errors.append("set_code and number name the card; one of them is blank")
    quantity = row.value(parse_quantity, cell("quantity"))
    grading = None
    condition = ""
    if cell("grader").strip() or cell("grade").strip():
        grader = row.value(parse_grader, cell("grader"))
        grade = row.value(parse_grade_value, cell("grade")) if cell("grade").strip() else None
        label = row.value(parse_grade_label, cell("grade_label"))
        if grade is None and cell("grader").strip():
            row.errors.append("a graded item needs a grade")
        if cell("condition").strip():
            row.errors.append("an item has a condition or a grade, not both")
        grading = (grader, grade, label)
    elif cell("condition").strip():
        condition = row.value(parse_condition, cell("condition"))
        condition = condition[0] if condition else ""
        if cell("grade_label").strip():
            row.errors.append("only graded items have a grade label")
    else:
        row.errors.append("no condition, and no grader and grade")
    price = row.value(parse_money, cell("purchase_price"))
    day = row.value(parse_date, cell("purchase_date"))
    acquired, notes = text_fields(row, cell("acquired_from"), cell("notes"))
    row.data = item_data(
        quantity=quantity,
        grading=grading,
        condition=condition,
        purchase_price=price,
        purchase_date=day,
        acquired_from=acquired,
        notes=notes,
    )
    return row


FORMAT = FileFormat(
    CollectionImport.Format.OWN,
    CollectionImport.Format.OWN.label,
    OWN_COLUMNS,
    required("game", "set_code", "number", "quantity"),
    parse_row,
)
