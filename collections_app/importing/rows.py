"""The shape every collection file format shares: how a format is told by its header,
how one row is read (a `cell(name)` reader of its columns) into what it says of its card
(CardLookup) and the item's fields, and how a row's problems are noted (ParsedRow.value)."""

import csv
import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from collections_app.importing.values import NOTES_MAX_LENGTH, limited, quoted
from collections_app.models import CollectionItem


@dataclass(frozen=True)
class FileFormat:
    key: str
    label: str
    columns: list[str]
    required: frozenset[str]
    # (line, cell) -> ParsedRow, where cell(name) reads a column of the row
    parse_row: Callable[[int, Callable[[str], str]], "ParsedRow"]

    def describe(self) -> str:
        return f"{self.label} ({', '.join(self.columns)})"


def column_key(name: str) -> str:
    return " ".join(name.replace("_", " ").split()).lower()


def required(*names: str) -> frozenset[str]:
    return frozenset(column_key(name) for name in names)


def first_record(text: str, delimiter: str) -> list[str]:
    try:
        return next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), [])
    except csv.Error:
        return []


@dataclass
class CardLookup:
    """What a row says about its card, for the index to find it."""

    games: tuple[str, ...] = ()
    set_code: str = ""
    set_name: str = ""
    number: str = ""
    variant: str = ""
    name: str = ""
    language: str = ""
    tcgplayer_id: str = ""
    card_id: int | None = None
    exact_variant: bool = False  # our own format names the variant as the catalog does

    def describe(self) -> str:
        place = self.set_name or self.set_code or "no set"
        number = f" {self.number}" if self.number else ""
        name = f" {quoted(self.name)}" if self.name else ""
        variant = f" ({self.variant})" if self.variant else ""
        return f"{place}{number}{name}{variant}"


@dataclass
class ParsedRow:
    line: int
    lookup: CardLookup
    data: dict = field(default_factory=dict)
    watch_only: bool = False
    errors: list[str] = field(default_factory=list)

    def value(self, parse, *args, **kwargs):
        """parse(*args) or None, noting its ValueError as this row's reason."""
        try:
            return parse(*args, **kwargs)
        except ValueError as error:
            self.errors.append(str(error))
            return None


def item_data(
    *,
    quantity,
    grading,
    condition,
    purchase_price,
    purchase_date,
    acquired_from="",
    notes="",
) -> dict:
    """The fields an item is created with, as stored in ImportRow.data (JSON)."""
    grader, grade, label = grading or ("", None, "")
    return {
        "quantity": quantity,
        "condition": "" if grading else condition,
        "grader": grader,
        "grade": grade,
        "grade_label": label,
        "purchase_price": purchase_price,
        "purchase_date": purchase_date,
        "acquired_from": acquired_from,
        "notes": notes,
    }


def new_item(collection_id: int, card_id: int, data: dict) -> CollectionItem:
    """The item a validated row's data describes."""
    return CollectionItem(
        collection_id=collection_id,
        card_id=card_id,
        quantity=data["quantity"],
        condition=data["condition"],
        grader=data["grader"],
        grade=Decimal(data["grade"]) if data["grade"] is not None else None,
        grade_label=data["grade_label"],
        purchase_price=data["purchase_price"],
        purchase_date=(
            dt.date.fromisoformat(data["purchase_date"]) if data["purchase_date"] else None
        ),
        acquired_from=data["acquired_from"],
        notes=data["notes"],
    )


def text_fields(row: ParsedRow, acquired_from: str, notes: str) -> tuple[str, str]:
    acquired_max = CollectionItem._meta.get_field("acquired_from").max_length
    acquired = row.value(limited, acquired_from.strip(), "where acquired", acquired_max)
    notes = row.value(limited, notes, "notes", NOTES_MAX_LENGTH)
    return acquired or "", notes or ""


class KeyDict(dict):
    """Column names as the parsers spell them ("set_code") to header keys ("set code")."""

    def __missing__(self, name: str) -> str:
        self[name] = key = column_key(name)
        return key
