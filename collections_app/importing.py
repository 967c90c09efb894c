"""CSV imports into a collection: decode, detect the format, validate, match, commit.

An upload becomes a CollectionImport holding the decoded text. The read job
(`read_import`, queued by the upload) parses every line, validates the item's fields
once, matches the card, and stores one ImportRow per line — matched, ambiguous (with
the candidate cards) or rejected (with the reason) — in one transaction, so a preview
never shows half a file. The user resolves or drops rows; `commit_import` then writes
every accepted row in one transaction, or nothing.

Formats are told apart by the header row: our own (collections_app.exporting, described
in docs/collection-csv.md), Collectr's export and TCGplayer's collection export.

Matching is set-based: all sets are loaded once, then the cards of every set the file
names (and those carrying its TCGplayer product ids) in one query, and every row is
matched in memory — a 10,000-row file runs no query per row. A wrong match puts the
wrong card in someone's collection, so every doubt is ambiguous and the user chooses.
"""

import csv
import datetime as dt
import io
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from cards.models import Card, CardSet, Game
from collections_app import snapshots
from collections_app.exporting import OWN_COLUMNS, unescape_cell
from collections_app.models import CollectionImport, CollectionItem, ImportRow, Watch
from prices import keys
from prices.matching import PARALLEL_VARIANT_RE, PARALLEL_WORDS, clean_tcg_id, fold, number_key
from prices.matching import words as folded_words
from prices.pricecharting_import import parse_release_date
from tcgtracker.lib.text import parse_id

PROGRESS_EVERY = 500
BATCH_SIZE = 2000
# Past this many TCGplayer ids, load every card carrying one rather than list them in
# the query (SQLite limits a statement's parameters).
MAX_IDS_IN_QUERY = 900
MAX_QUANTITY = 100_000
# What the item form accepts ($10M a copy), so an imported item can be edited as it is.
MAX_PURCHASE_CENTS = 1_000_000_000
NOTES_MAX_LENGTH = 10_000
EARLIEST_PURCHASE = dt.date(1996, 1, 1)
QUOTED_VALUE_LENGTH = 40

Format = CollectionImport.Format
Status = ImportRow.Status


def max_upload_bytes() -> int:
    return settings.COLLECTION_IMPORT_MAX_BYTES


class ImportFileError(ValueError):
    """The file as a whole cannot be imported (not text, unknown header, no rows)."""


class CommitRefused(Exception):
    """Why an import cannot be committed (now or ever); nothing was written."""


# --- Decoding ----------------------------------------------------------------------------


def decode_upload(data: bytes) -> tuple[str, str]:
    """The text of an uploaded file and a note when it was not UTF-8.

    UTF-8 (with or without a byte-order mark) first; UTF-16 when it starts with its
    byte-order mark (spreadsheets' "Unicode text"); otherwise Windows-1252, the usual
    encoding of a CSV saved by Excel on Windows, then Latin-1. Binary files are refused.
    """
    if not data.strip():
        raise ImportFileError("The file is empty.")
    note = ""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise ImportFileError("The file starts like UTF-16 text but is not.") from None
        note = "The file was read as UTF-16 text."
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            if b"\x00" in data:
                raise ImportFileError(
                    "This looks like a binary file (a spreadsheet or an image?), not a CSV. "
                    "Save it as CSV and upload that."
                ) from None
            try:
                text = data.decode("cp1252")
                note = "The file is not UTF-8; it was read as Windows-1252 (Excel's encoding)."
            except UnicodeDecodeError:
                text = data.decode("latin-1")
                note = "The file is not UTF-8; it was read as Latin-1."
    text = text.lstrip("\ufeff")
    controls = sum(
        1 for char in text if unicodedata.category(char) == "Cc" and char not in "\t\r\n"
    )
    if "\x00" in text or controls > len(text) // 100:
        raise ImportFileError(
            "This looks like a binary file (a spreadsheet or an image?), not a CSV. "
            "Save it as CSV and upload that."
        )
    return text, note


# --- Formats -----------------------------------------------------------------------------

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


@dataclass(frozen=True)
class FileFormat:
    key: str
    label: str
    columns: list[str]
    required: frozenset[str]

    def describe(self) -> str:
        return f"{self.label} ({', '.join(self.columns)})"


def _column_key(name: str) -> str:
    return " ".join(name.replace("_", " ").split()).lower()


FORMATS = [
    FileFormat(
        Format.OWN,
        Format.OWN.label,
        OWN_COLUMNS,
        frozenset(_column_key(c) for c in ["game", "set_code", "number", "quantity"]),
    ),
    FileFormat(
        Format.COLLECTR,
        Format.COLLECTR.label,
        COLLECTR_COLUMNS,
        frozenset(
            _column_key(c)
            for c in ["Portfolio Name", "Category", "Set", "Product Name", "Card Number"]
            + ["Variance", "Grade", "Quantity", "Watchlist"]
        ),
    ),
    FileFormat(
        Format.TCGPLAYER,
        Format.TCGPLAYER.label,
        TCGPLAYER_COLUMNS,
        frozenset(
            _column_key(c)
            for c in ["Quantity", "Name", "Set", "Card Number", "Condition", "Product ID"]
        ),
    ),
]
FORMATS_BY_KEY = {spec.key: spec for spec in FORMATS}
DELIMITERS = [",", ";", "\t"]


def _first_record(text: str, delimiter: str) -> list[str]:
    try:
        return next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), [])
    except csv.Error:
        return []


def detect_format(text: str) -> tuple[FileFormat, str]:
    """The format named by the header row, and the delimiter (Excel in some countries
    writes semicolons). ImportFileError naming the formats we know otherwise."""
    best: tuple[int, FileFormat, set[str]] | None = None
    for delimiter in DELIMITERS:
        header = {_column_key(cell) for cell in _first_record(text, delimiter)}
        for spec in FORMATS:
            missing = spec.required - header
            if not missing:
                return spec, delimiter
            found = len(spec.required) - len(missing)
            if found * 2 >= len(spec.required) and (best is None or found > best[0]):
                best = (found, spec, missing)
    if best:
        _, spec, missing = best
        raise ImportFileError(
            f"The header looks like a {spec.label} but has no column "
            f"{', '.join(sorted(missing))}. Expected: {', '.join(spec.columns)}."
        )
    expected = "; ".join(spec.describe() for spec in FORMATS)
    raise ImportFileError(f"The first line is not a header we know. Expected one of: {expected}.")


# --- Reading values ----------------------------------------------------------------------

CONDITION_NAMES = {fold(name): code for code, name in CollectionItem.Condition.choices} | {
    "nm": "NM",
    "lp": "LP",
    "mp": "MP",
    "hp": "HP",
    "dmg": "DMG",
    "damaged": "DMG",
    "mint": "NM",
}
GRADE_RE = re.compile(
    r"(?P<grader>[A-Za-z]+)\s*(?P<grade>\d{1,2}(?:\.\d+)?)(?:\s+(?P<label>pristine|black\s+label))?",
    re.IGNORECASE,
)
UNGRADED_WORDS = {"", "ungraded", "raw", "none", "not graded"}
QUANTITY_RE = re.compile(r"\d+(?:\.0*)?")
MONEY_RE = re.compile(r"\$?\s*(\d{1,3}(?:,\d{3})+|\d*)(?:\.(\d*))?")
TRUE_WORDS = {"true", "yes", "1", "y"}
FALSE_WORDS = {"false", "no", "0", "n", ""}
GAMES = {
    "pokemon": Game.POKEMON,
    "pokemon tcg": Game.POKEMON,
    "pokemon card game": Game.POKEMON,
    "one piece": Game.ONEPIECE,
    "one piece card game": Game.ONEPIECE,
    "one piece tcg": Game.ONEPIECE,
    "onepiece": Game.ONEPIECE,
}
LANGUAGES = {"english": "en", "japanese": "ja", "en": "en", "ja": "ja", "jp": "ja"}


def quoted(value: str) -> str:
    """A value as a reason quotes it: short, so a huge cell does not make a huge reason."""
    if len(value) > QUOTED_VALUE_LENGTH:
        value = value[: QUOTED_VALUE_LENGTH - 1] + "…"
    return f"'{value}'"


def parse_quantity(text: str, *, default: int | None = None) -> int:
    text = text.strip()
    if not text:
        if default is None:
            raise ValueError("quantity is missing")
        return default
    if not QUANTITY_RE.fullmatch(text):
        raise ValueError(f"quantity {quoted(text)} is not a whole number")
    quantity = int(Decimal(text))
    if quantity < 1:
        raise ValueError(f"quantity {text} is less than 1")
    if quantity > MAX_QUANTITY:
        raise ValueError(f"quantity {text} is more than {MAX_QUANTITY:,}")
    return quantity


def parse_condition(text: str) -> tuple[str, str]:
    """A condition code and what followed the condition's name: "Near Mint Holofoil" →
    ("NM", "Holofoil") — TCGplayer writes the printing after the condition."""
    parts = text.split()
    for size in range(len(parts), 0, -1):
        code = CONDITION_NAMES.get(fold(" ".join(parts[:size])))
        if code:
            return code, " ".join(parts[size:])
    raise ValueError(
        f"condition {quoted(text.strip())} is not one of Near Mint, Lightly Played, "
        "Moderately Played, Heavily Played, Damaged"
    )


def parse_grader(text: str) -> str:
    grader = text.strip().upper()
    if grader not in CollectionItem.Grader.values:
        raise ValueError(
            f"grader {quoted(text.strip())} is not one of {', '.join(CollectionItem.Grader.values)}"
        )
    return grader


def parse_grade_value(text: str) -> str:
    try:
        return keys.normalise_grade(text.strip())
    except ValueError:
        raise ValueError(
            f"grade {quoted(text.strip())} is not a grade from 1 to 10 in half steps"
        ) from None


def parse_grade_label(text: str) -> str:
    label = " ".join(text.split()).lower()
    if label not in CollectionItem.GradeLabel.values:
        raise ValueError(f"grade label {quoted(text.strip())} is not Pristine or Black Label")
    return label


def parse_grading(text: str) -> tuple[str, str, str] | None:
    """ "PSA 10", "BGS 9.5", "CGC 10 Pristine", "BGS 10 Black Label" → (grader, grade,
    label); "Ungraded" or blank → None."""
    stripped = " ".join(text.split())
    if stripped.lower() in UNGRADED_WORDS:
        return None
    match = GRADE_RE.fullmatch(stripped)
    if not match:
        raise ValueError(f"grade {quoted(stripped)} is not like PSA 10, BGS 9.5 or CGC 10 Pristine")
    label = match["label"] or ""
    return (
        parse_grader(match["grader"]),
        parse_grade_value(match["grade"]),
        parse_grade_label(label),
    )


def parse_money(text: str, what: str = "purchase price") -> int | None:
    """Dollars to cents: "$1,234.56" → 123456, "12.5" → 1250; blank → None."""
    stripped = text.strip()
    if not stripped:
        return None
    match = MONEY_RE.fullmatch(stripped)
    if stripped.startswith("-") or stripped.startswith("$-") or stripped.startswith("($"):
        raise ValueError(f"{what} {quoted(stripped)} is negative")
    if not match or not (match[1] or match[2]):
        raise ValueError(f"{what} {quoted(stripped)} is not an amount in dollars")
    fraction = match[2] or ""
    if len(fraction.rstrip("0")) > 2:
        raise ValueError(f"{what} {quoted(stripped)} has more than two decimals")
    cents = int(match[1].replace(",", "") or 0) * 100 + int((fraction + "00")[:2])
    if cents > MAX_PURCHASE_CENTS:
        raise ValueError(f"{what} {quoted(stripped)} is more than $10,000,000")
    return cents


def parse_date(text: str, what: str = "purchase date") -> str | None:
    """ISO or US (MM/DD/YYYY) dates → "YYYY-MM-DD"; blank → None."""
    stripped = text.strip()
    # Some exports add a time: "2024-03-05 14:02:11" or "2024-03-05T14:02:11Z".
    stripped = re.split(r"[ T]\d{1,2}:", stripped, maxsplit=1)[0]
    try:
        day = parse_release_date(stripped)
    except ValueError:
        raise ValueError(
            f"{what} {quoted(text.strip())} is not a date (YYYY-MM-DD or MM/DD/YYYY)"
        ) from None
    if day is None:
        return None
    if day < EARLIEST_PURCHASE:
        raise ValueError(f"{what} {day.isoformat()} is before {EARLIEST_PURCHASE.year}")
    if day > timezone.localdate() + dt.timedelta(days=1):
        raise ValueError(f"{what} {day.isoformat()} is in the future")
    return day.isoformat()


def parse_flag(text: str, what: str) -> bool:
    folded = text.strip().lower()
    if folded in TRUE_WORDS:
        return True
    if folded in FALSE_WORDS:
        return False
    raise ValueError(f"{what} {quoted(text.strip())} is not true or false")


def limited(text: str, what: str, limit: int) -> str:
    if len(text) > limit:
        raise ValueError(f"{what} is {len(text):,} characters long; at most {limit:,} fit")
    return text


# --- Rows --------------------------------------------------------------------------------


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


def _text_fields(row: ParsedRow, acquired_from: str, notes: str) -> tuple[str, str]:
    acquired_max = CollectionItem._meta.get_field("acquired_from").max_length
    acquired = row.value(limited, acquired_from.strip(), "where acquired", acquired_max)
    notes = row.value(limited, notes, "notes", NOTES_MAX_LENGTH)
    return acquired or "", notes or ""


def parse_own_row(line: int, cell) -> ParsedRow:
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
    acquired, notes = _text_fields(row, cell("acquired_from"), cell("notes"))
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


def parse_collectr_row(line: int, cell) -> ParsedRow:
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
    _, notes = _text_fields(row, "", cell("notes"))
    row.data = item_data(
        quantity=quantity,
        grading=grading,
        condition=condition,
        purchase_price=price,
        purchase_date=day,
        notes=notes,
    )
    return row


def parse_tcgplayer_row(line: int, cell) -> ParsedRow:
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


PARSERS = {
    Format.OWN: parse_own_row,
    Format.COLLECTR: parse_collectr_row,
    Format.TCGPLAYER: parse_tcgplayer_row,
}


class KeyDict(dict):
    """Column names as the parsers spell them ("set_code") to header keys ("set code")."""

    def __missing__(self, name: str) -> str:
        self[name] = key = _column_key(name)
        return key


def parse_file(
    text: str, progress: Callable[[int, int], None] | None = None
) -> tuple[FileFormat, list[ParsedRow]]:
    """Every data row of the file, validated (not yet matched). `progress(done, total)`
    hears how far it is: once with 0 rows done, then every PROGRESS_EVERY rows."""
    spec, delimiter = detect_format(text)
    parse_row = PARSERS[spec.key]
    unescape = unescape_cell if spec.key == Format.OWN else str
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    records = []
    try:
        header = [_column_key(name) for name in next(reader)]
        previous_end = reader.line_num
        for cells in reader:
            line = previous_end + 1
            previous_end = reader.line_num
            if any(cell.strip() for cell in cells):
                records.append((line, cells))
    except csv.Error as error:
        raise ImportFileError(
            f"Line {reader.line_num} cannot be read as CSV ({error}); nothing was imported."
        ) from None
    if not records:
        raise ImportFileError("The file has a header but no rows to import.")
    positions: dict[str, int] = {}
    for position, name in enumerate(header):
        positions.setdefault(name, position)
    column_keys = KeyDict()

    def reader_of(cells: list[str]) -> Callable[[str], str]:
        def cell(name: str) -> str:
            position = positions.get(column_keys[name])
            if position is None or position >= len(cells):
                return ""
            return unescape(cells[position])

        return cell

    total = len(records)
    if progress:
        progress(0, total)
    rows = []
    for done, (line, cells) in enumerate(records, start=1):
        rows.append(parse_row(line, reader_of(cells)))
        if progress and done % PROGRESS_EVERY == 0 and done < total:
            progress(done, total)
    return spec, rows


# --- Matching ----------------------------------------------------------------------------

# Printings that are the base print in our catalog (blank variant): "Holofoil" Charizard
# is Base Set 4, "Normal" is a non-holo.
BASE_PRINT_WORDS = frozenset({"normal", "unlimited", "holo", "foil", "nonfoil", "regular"})


def variant_words(text: str) -> frozenset[str]:
    found = folded_words(text)
    if "reverse" in found:
        return found - (BASE_PRINT_WORDS - {"holo"})
    return found - BASE_PRINT_WORDS


def variant_fits(card_variant: str, row_variant: str, *, exact: bool) -> bool:
    if exact:
        return card_variant.lower() == row_variant.lower()
    wanted = variant_words(row_variant)
    if PARALLEL_VARIANT_RE.fullmatch(card_variant):
        return bool(wanted) and wanted <= PARALLEL_WORDS
    return variant_words(card_variant) == wanted


def name_fits(card_name: str, row_name: str) -> bool:
    if not row_name:
        return True
    card_words, row_words = folded_words(card_name), folded_words(row_name)
    return card_words <= row_words or row_words <= card_words


def set_lookup_names(name: str) -> list[str]:
    """Folded forms a file's set name may match: "SV: Scarlet & Violet 151" →
    "sv scarlet and violet 151", "scarlet and violet 151"; "Base Set" → "base set", "base"."""
    forms = [fold(name)]
    if ":" in name:
        forms.append(fold(name.split(":", 1)[1]))
    for form in list(forms):
        for prefix in ("pokemon ", "one piece "):
            if form.startswith(prefix):
                forms.append(form.removeprefix(prefix))
    for form in list(forms):
        if form.endswith(" set"):
            forms.append(form.removesuffix(" set"))
    return [form for form in dict.fromkeys(forms) if form]


@dataclass(frozen=True)
class CardInfo:
    id: int
    set_id: int
    number: str
    variant: str
    name: str
    tcgplayer_id: str


@dataclass(frozen=True)
class MatchResult:
    status: str
    card_id: int | None = None
    candidates: tuple[int, ...] = ()
    reason: str = ""


class CardIndex:
    """The sets and cards a file's rows can name, loaded in two queries."""

    def __init__(self, rows: list[ParsedRow]):
        self.sets = {s.pk: s for s in CardSet.objects.all()}
        self.sets_by_code: dict[str, list[int]] = defaultdict(list)
        self.sets_by_name: dict[str, list[int]] = defaultdict(list)
        for card_set in self.sets.values():
            for code in {card_set.code.lower(), card_set.ptcgo_code.lower()} - {""}:
                self.sets_by_code[code].append(card_set.pk)
            names = {fold(card_set.name), fold(f"{card_set.series} {card_set.name}")}
            if card_set.pricecharting_name:
                names |= set(set_lookup_names(card_set.pricecharting_name))
            for name in names - {""}:
                self.sets_by_name[name].append(card_set.pk)
        self.row_sets = [self.sets_for(row.lookup) for row in rows]
        set_ids = {set_id for ids in self.row_sets for set_id in ids}
        tcg_ids = {row.lookup.tcgplayer_id for row in rows if row.lookup.tcgplayer_id}
        wanted = Q(card_set_id__in=set_ids)
        if len(tcg_ids) > MAX_IDS_IN_QUERY:
            wanted |= ~Q(tcgplayer_id="")
        elif tcg_ids:
            wanted |= Q(tcgplayer_id__in=tcg_ids)
        self.cards: dict[int, CardInfo] = {}
        self.by_set_number: dict[tuple[int, str], list[CardInfo]] = defaultdict(list)
        self.by_set: dict[int, list[CardInfo]] = defaultdict(list)
        self.by_tcg_id: dict[str, list[CardInfo]] = defaultdict(list)
        fields = ("pk", "card_set_id", "number", "variant", "name", "tcgplayer_id")
        for values in Card.objects.filter(wanted).values_list(*fields).iterator(2000):
            card = CardInfo(*values)
            self.cards[card.id] = card
            self.by_set_number[(card.set_id, number_key(card.number))].append(card)
            self.by_set[card.set_id].append(card)
            tcg_id = clean_tcg_id(card.tcgplayer_id)
            if tcg_id:
                self.by_tcg_id[tcg_id].append(card)

    def sets_for(self, lookup: CardLookup) -> list[int]:
        found: list[int] = []
        if lookup.set_code:
            found = self.sets_by_code.get(lookup.set_code.lower(), [])
        if not found and lookup.set_name:
            for name in set_lookup_names(lookup.set_name):
                found = self.sets_by_name.get(name, [])
                if found:
                    break
        return [
            set_id
            for set_id in found
            if (not lookup.games or self.sets[set_id].game in lookup.games)
            and (not lookup.language or self.sets[set_id].language == lookup.language)
        ]

    def match(self, position: int, row: ParsedRow) -> MatchResult:
        lookup = row.lookup
        if lookup.tcgplayer_id:
            by_id = self.by_tcg_id.get(lookup.tcgplayer_id, [])
            if by_id:
                return self._by_product_id(lookup, by_id)
        set_ids = self.row_sets[position]
        if not set_ids:
            named = lookup.set_name or lookup.set_code
            return MatchResult(Status.REJECTED, reason=f"no set {quoted(named)} in the catalog")
        number = number_key(lookup.number.split("/")[0])
        cards = [c for set_id in set_ids for c in self.by_set_number.get((set_id, number), ())]
        if not cards:
            named = [
                c
                for set_id in set_ids
                for c in self.by_set[set_id]
                if name_fits(c.name, lookup.name)
            ]
            if lookup.name and named:
                return MatchResult(
                    Status.AMBIGUOUS,
                    candidates=_ids(named),
                    reason=f"no card number {lookup.number} in the set; "
                    f"cards named {quoted(lookup.name)}:",
                )
            return MatchResult(Status.REJECTED, reason=f"no card {lookup.describe()}")
        fitting = [
            c for c in cards if variant_fits(c.variant, lookup.variant, exact=lookup.exact_variant)
        ]
        if not fitting:
            wanted = lookup.variant or "base"
            return MatchResult(
                Status.AMBIGUOUS,
                candidates=_ids(cards),
                reason=f"no {quoted(wanted)} print of this card; choose one of its prints",
            )
        named = [c for c in fitting if name_fits(c.name, lookup.name)]
        if not named:
            names = ", ".join(sorted({c.name for c in fitting}))
            return MatchResult(
                Status.AMBIGUOUS,
                candidates=_ids(fitting),
                reason=f"the card at that number is {names}, not {quoted(lookup.name)}",
            )
        if len(named) > 1 and lookup.card_id in {c.id for c in named}:
            named = [self.cards[lookup.card_id]]
        if len(named) > 1:
            return MatchResult(
                Status.AMBIGUOUS,
                candidates=_ids(named),
                reason=f"{len(named)} cards fit; choose one",
            )
        return MatchResult(Status.MATCHED, card_id=named[0].id)

    def _by_product_id(self, lookup: CardLookup, cards: list[CardInfo]) -> MatchResult:
        fitting = [c for c in cards if variant_fits(c.variant, lookup.variant, exact=False)]
        if len(cards) == 1 or len(fitting) == 1:
            card = cards[0] if len(cards) == 1 else fitting[0]
            number = number_key(lookup.number.split("/")[0])
            if number and number_key(card.number) != number:
                return MatchResult(
                    Status.AMBIGUOUS,
                    candidates=(card.id,),
                    reason=f"TCGplayer product {lookup.tcgplayer_id} is card number "
                    f"{card.number}, not {lookup.number}",
                )
            return MatchResult(Status.MATCHED, card_id=card.id)
        return MatchResult(
            Status.AMBIGUOUS,
            candidates=_ids(fitting or cards),
            reason=f"{len(fitting or cards)} cards carry TCGplayer product {lookup.tcgplayer_id}",
        )


def _ids(cards) -> tuple[int, ...]:
    return tuple(sorted({card.id for card in cards}))


def match_rows(rows: list[ParsedRow]) -> list[MatchResult]:
    index = CardIndex(rows)
    return [index.match(position, row) for position, row in enumerate(rows)]


# --- The read job ------------------------------------------------------------------------


def read_import(import_id: int) -> None:
    """Parse and match an import's file into its preview rows; safe to run twice."""
    claimed = CollectionImport.objects.filter(
        pk=import_id, status=CollectionImport.Status.PENDING
    ).update(status=CollectionImport.Status.READING, progress_done=0, error="")
    if not claimed:
        return
    collection_import = CollectionImport.objects.filter(pk=import_id).first()
    if collection_import is None:
        return
    try:
        _read(collection_import)
    except ImportFileError as error:
        _fail(import_id, str(error))
    except Exception:
        _fail(import_id, "Reading stopped on an unexpected error. Try again, or report it.")
        raise


def _fail(import_id: int, message: str) -> None:
    CollectionImport.objects.filter(pk=import_id, status=CollectionImport.Status.READING).update(
        status=CollectionImport.Status.FAILED, error=message, content=""
    )


def _progress(import_id: int, **fields) -> None:
    CollectionImport.objects.filter(pk=import_id).update(**fields)


def _read(collection_import: CollectionImport) -> None:
    import_id = collection_import.pk

    def progress(done: int, total: int) -> None:
        if done:
            _progress(import_id, progress_done=done)
        else:
            _progress(import_id, progress_total=total)

    spec, parsed = parse_file(collection_import.content, progress)
    results = match_rows(parsed)
    rows = [
        _import_row(collection_import, row, result)
        for row, result in zip(parsed, results, strict=True)
    ]
    links = []
    with transaction.atomic():
        # Discarded while being read: nothing to store.
        still_reading = (
            CollectionImport.objects.select_for_update()
            .filter(pk=import_id, status=CollectionImport.Status.READING)
            .exists()
        )
        if not still_reading:
            return
        ImportRow.objects.filter(collection_import_id=import_id).delete()
        created = ImportRow.objects.bulk_create(rows, batch_size=BATCH_SIZE)
        Link = ImportRow.candidates.through
        for row, result in zip(created, results, strict=True):
            links.extend(
                Link(importrow_id=row.pk, card_id=card_id) for card_id in result.candidates
            )
        Link.objects.bulk_create(links, batch_size=BATCH_SIZE)
        CollectionImport.objects.filter(pk=import_id).update(
            status=CollectionImport.Status.READY, format=spec.key, progress_done=len(rows)
        )


def _import_row(collection_import, row: ParsedRow, result: MatchResult) -> ImportRow:
    description = row.lookup.describe()
    if row.watch_only:
        description = f"Watchlist: {description}"
    if row.errors:
        status, reason = Status.REJECTED, "; ".join(row.errors)
    else:
        status, reason = result.status, result.reason
    if len(reason) > 300:
        reason = reason[:299] + "…"
    return ImportRow(
        collection_import=collection_import,
        line=row.line,
        status=status,
        card_id=result.card_id if status == Status.MATCHED else None,
        reason=reason,
        description=description[:300],
        data=row.data if not row.errors and not row.watch_only else {},
        watch_only=row.watch_only,
    )


# --- Reviewing and committing ------------------------------------------------------------


def discard_import(collection_import: CollectionImport) -> None:
    """Let an import go: its text and rows now; the record itself stays until the purge,
    so the upload still counts against its hour. A read in progress stores nothing."""
    with transaction.atomic():
        CollectionImport.objects.filter(pk=collection_import.pk).exclude(
            status=CollectionImport.Status.COMMITTED
        ).update(status=CollectionImport.Status.DISCARDED, content="")
        ImportRow.objects.filter(collection_import_id=collection_import.pk).delete()


def blocking_rows(collection_import: CollectionImport):
    """Rows that stop a commit: ambiguous or rejected, and not dropped."""
    return collection_import.rows.filter(dropped=False).filter(
        Q(status__in=[Status.AMBIGUOUS, Status.REJECTED]) | Q(status=Status.MATCHED, card=None)
    )


def accepted_rows(collection_import: CollectionImport):
    return collection_import.rows.filter(dropped=False, status=Status.MATCHED, card__isnull=False)


def choose_card(row: ImportRow, card_id: int) -> None:
    """Settle an ambiguous row on one of its candidates; ValueError for another card."""
    if row.status == Status.REJECTED:
        raise ValueError("A rejected row cannot be matched; drop it or fix the file.")
    if not row.candidates.filter(pk=card_id).exists():
        raise ValueError("Choose one of the cards offered for this row.")
    row.card_id = card_id
    row.status = Status.MATCHED
    row.save(update_fields=["card", "status"])


@dataclass
class CommitResult:
    items_created: int
    watches_created: int
    earliest_purchase: dt.date | None


def commit_import(collection_import: CollectionImport) -> CommitResult:
    """Write every accepted row in one transaction, once; CommitRefused otherwise."""
    collection = collection_import.collection
    with transaction.atomic():
        # The file's text is done with once its rows are written (or all of it is undone).
        claimed = CollectionImport.objects.filter(
            pk=collection_import.pk, status=CollectionImport.Status.READY
        ).update(status=CollectionImport.Status.COMMITTED, committed_at=timezone.now(), content="")
        if not claimed:
            current = CollectionImport.objects.filter(pk=collection_import.pk).first()
            if current and current.status == CollectionImport.Status.COMMITTED:
                raise CommitRefused("This file was already imported.")
            raise CommitRefused("This file is not ready to import yet.")
        blocking = blocking_rows(collection_import).count()
        if blocking:
            raise CommitRefused(
                f"{blocking} row{'s still need' if blocking != 1 else ' still needs'} a "
                "choice or to be dropped; nothing was imported."
            )
        accepted = list(
            accepted_rows(collection_import)
            .order_by("line")
            .values_list("card_id", "data", "watch_only")
        )
        if not accepted:
            raise CommitRefused("No rows are left to import.")
        items = [
            new_item(collection.pk, card_id, data)
            for card_id, data, watch_only in accepted
            if not watch_only
        ]
        CollectionItem.objects.bulk_create(items, batch_size=BATCH_SIZE)
        watched = {card_id for card_id, _, watch_only in accepted if watch_only}
        already = set(
            Watch.objects.filter(user_id=collection.user_id).values_list("card_id", flat=True)
        )
        watches = [
            Watch(user_id=collection.user_id, card_id=card_id)
            for card_id in sorted(watched - already)
        ]
        Watch.objects.bulk_create(watches, ignore_conflicts=True)
        CollectionImport.objects.filter(pk=collection_import.pk).update(items_created=len(items))
    dates = [item.purchase_date for item in items if item.purchase_date]
    earliest = min(dates) if dates else None
    if earliest:
        snapshots.queue_backfill(collection, earliest)
    return CommitResult(len(items), len(watches), earliest)
