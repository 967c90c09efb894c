"""Our own CSV format for a collection (documented in docs/collection-csv.md).

One line per item, in the order the items were added; importing the file into an empty
collection gives back the same items, field for field. Cards are named both ways: by
what is printed on them (game, set code, number, variant — how another installation
finds them) and by our card id (which settles a choice between prints here).

Spreadsheets run a cell that starts with = + - or @ as a formula, so such text is
written with a leading apostrophe ("'=SUM(A1)"); a text that starts with an apostrophe
the importer would take off ("'=x", "''") gets one more. The importer takes exactly one
apostrophe off such cells, so nothing changes on the way through.
"""

import csv
from collections.abc import Iterator

from django.utils.text import slugify

from collections_app.models import Collection, CollectionItem

OWN_COLUMNS = [
    "card_id",
    "game",
    "set_code",
    "set_name",
    "number",
    "variant",
    "name",
    *CollectionItem.LOT_FIELDS,
]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
ESCAPE = "'"
EXPORT_CHUNK = 2000


def escape_cell(text: str) -> str:
    """Text a spreadsheet will not run as a formula."""
    # An apostrophe the importer would take off is doubled, so it comes back too.
    if text.startswith(FORMULA_STARTS) or unescape_cell(text) != text:
        return ESCAPE + text
    return text


def unescape_cell(text: str) -> str:
    """The text escape_cell was given; cells it did not escape are left alone."""
    if text.startswith(ESCAPE) and text[1:].startswith(FORMULA_STARTS + (ESCAPE,)):
        return text[1:]
    return text


def dollars(cents: int | None) -> str:
    """12345 → "123.45"; None → ""."""
    if cents is None:
        return ""
    return f"{cents // 100}.{cents % 100:02d}"


def item_rows(collection: Collection) -> Iterator[list[str]]:
    items = (
        collection.items.select_related("card__card_set")
        .order_by("pk")
        .iterator(chunk_size=EXPORT_CHUNK)
    )
    for item in items:
        card = item.card
        texts = [
            card.card_set.game,
            card.card_set.code,
            card.card_set.name,
            card.number,
            card.variant,
            card.name,
        ]
        yield [
            str(card.pk),
            *(escape_cell(text) for text in texts),
            str(item.quantity),
            item.condition,
            item.grader,
            format(item.grade.normalize(), "f") if item.grade is not None else "",
            item.grade_label,
            dollars(item.purchase_price),
            item.purchase_date.isoformat() if item.purchase_date else "",
            escape_cell(item.acquired_from),
            escape_cell(item.notes),
        ]


class _Echo:
    """csv.writer's file: hands each written line back instead of storing it."""

    def write(self, value: str) -> str:
        return value


def csv_lines(collection: Collection) -> Iterator[str]:
    """The file, line by line, for a streaming response. It starts with a UTF-8
    byte-order mark so that Excel reads accents right; the importer skips it."""
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(OWN_COLUMNS)
    for row in item_rows(collection):
        yield writer.writerow(row)


def export_filename(collection: Collection) -> str:
    return f"{slugify(collection.name) or 'collection'}.csv"
