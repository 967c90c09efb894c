"""Catalog loading: sets and cards from CSV files and catalog-API JSON.

    load_files(paths) -> LoadReport                       # what `manage.py load_catalog` runs
    load_records(format_name, records, source) -> FileReport   # JSON already parsed (sync jobs)

A file's format is told by its CSV header or its JSON keys, never by its name; see
FORMATS. Sets files load before cards files, whatever order they are given in.

Each file is one transaction. By default a file with any rejected row writes nothing;
with skip_bad_rows its good rows are written (a crash mid-file still rolls the whole file
back). A dry run does the whole load inside a transaction that is rolled back, so its
counts are exactly what a real run would report, cards of a set loaded earlier in the same
run included.

What a reload may change — the file is authoritative for the fields its format carries,
and only for the values it actually has:
- Fields a format does not carry are never touched: external ids that staff map
  (pricecharting_id, justtcg_id, ebay_query), kind, popularity, language, and for One
  Piece sets the series and totals.
- A blank value means "this source does not know", not "clear it". Sources have gaps (no
  release dates for One Piece starter decks, no rarity for basic Energy) that staff fill
  in the admin, and a reload must not undo that work; clear a value in the admin instead.
  The same holds for tcgplayer_id, which is only ever taken from a TCGplayer product URL.
- Identity fields are exact: a blank variant is the base print.
- printed_in is derived from the product name a One Piece row carries: blank when that
  product is the card's set itself.
- Sets files may carry an optional pricecharting_name column (the set as PriceCharting's
  console-name calls it); the shipped files do, and a staff edit in the admin wins.
- Rows the file does not mention are left alone: loading never deletes.
"""

import codecs
import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone

from cards.models import Card, CardSet, Game

CATALOG_DIR = Path(__file__).resolve().parent / "catalog"
SETS, CARDS = "sets", "cards"
BATCH_SIZE = 500
# PositiveIntegerField's upper bound on PostgreSQL; larger values would fail at write time.
MAX_INTEGER = 2_147_483_647
TCGPLAYER_PRODUCT_URL = re.compile(r"https?://(?:www\.)?tcgplayer\.com/product/(\d+)", re.I)
# Card fields computed by Card.refresh_derived_fields(); a reload compares them too, so a
# stale search document gets repaired.
DERIVED_CARD_FIELDS = ("sort_number", "search_document")


def demo_catalog_paths() -> list[Path]:
    """The demo catalog shipped in cards/catalog/, sets files first."""
    names = ("pokemon_sets", "onepiece_sets", "pokemon_cards", "onepiece_cards")
    return [CATALOG_DIR / f"{name}.csv" for name in names]


# --- Reports -------------------------------------------------------------------------


@dataclass(frozen=True)
class Rejection:
    """A row that was not loaded, or (line None) a file that could not be read at all."""

    file: str
    line: int | None  # CSV: physical line, header = 1. JSON: 1-based item index.
    reason: str
    unit: str = "line"  # "line" for CSV, "item" for JSON

    def __str__(self):
        where = f" {self.unit} {self.line}" if self.line is not None else ""
        return f"{self.file}{where}: {self.reason}"


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0

    def __str__(self):
        return (
            f"{self.created} created, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.rejected} rejected"
        )


@dataclass
class FileReport:
    """What loading one file did, or (written False) would have done."""

    name: str
    format: str | None = None
    sets: Counts = field(default_factory=Counts)
    cards: Counts = field(default_factory=Counts)
    rejections: list[Rejection] = field(default_factory=list)
    error: str | None = None  # set when the file as a whole could not be read
    written: bool = False

    @property
    def summary(self) -> str:
        """One line: "pokemon_cards.csv: cards 309 created, 0 updated, ..."."""
        if self.error:
            return f"{self.name}: {self.error}"
        is_cards_file = self.format is not None and FORMATS[self.format].target == CARDS
        parts = [f"cards {self.cards}"] if is_cards_file else []
        # A cards file mentions sets only when it created some (OPTCG cards can).
        if not is_cards_file or self.sets != Counts():
            parts.append(f"sets {self.sets}")
        return f"{self.name}: {'; '.join(parts)}"


@dataclass
class LoadReport:
    files: list[FileReport] = field(default_factory=list)
    dry_run: bool = False
    skip_bad_rows: bool = False

    @property
    def rejections(self) -> list[Rejection]:
        """Every rejected row, and every file that could not be read (line None)."""
        found = []
        for report in self.files:
            if report.error:
                found.append(Rejection(report.name, None, report.error))
            found.extend(report.rejections)
        return found

    @property
    def unreadable_files(self) -> list[FileReport]:
        return [report for report in self.files if report.error]

    @property
    def ok(self) -> bool:
        """Every file was read, and no row was rejected unless bad rows were to be skipped."""
        if self.unreadable_files:
            return False
        return self.skip_bad_rows or not any(report.rejections for report in self.files)


# --- Entry points ----------------------------------------------------------------------


def load_files(
    paths: Iterable[str | Path],
    *,
    dry_run: bool = False,
    skip_bad_rows: bool = False,
    progress: Callable[[FileReport], None] | None = None,
) -> LoadReport:
    """Load catalog files; progress, if given, is called with each file's report."""
    sources = [_read_file(Path(path)) for path in paths]
    # Unreadable files are reported first; cards need their sets, so sets load first.
    order = {None: 0, SETS: 1, CARDS: 2}
    sources.sort(key=lambda source: order[source.format.target if source.format else None])
    report = LoadReport(dry_run=dry_run, skip_bad_rows=skip_bad_rows)
    with _rolled_back_if(dry_run):
        for source in sources:
            if source.format is not None:
                _load(source, skip_bad_rows=skip_bad_rows, dry_run=dry_run)
            report.files.append(source.report)
            if progress:
                progress(source.report)
    return report


def load_records(
    format_name: str,
    records: Iterable[object],
    source_name: str,
    *,
    dry_run: bool = False,
    skip_bad_rows: bool = False,
) -> FileReport:
    """Load already-parsed records (e.g. one API response's objects) as one file would be.

    format_name is a key of FORMATS, e.g. "pokemontcg-api-cards"; rejections name
    source_name and the record's 1-based position as "item N".
    """
    try:
        fmt = FORMATS[format_name]
    except KeyError:
        raise ValueError(
            f"Unknown catalog format {format_name!r}; known: {', '.join(FORMATS)}"
        ) from None
    source = _parse(fmt, FileReport(source_name, format=fmt.name), "item", _json_items(records))
    with _rolled_back_if(dry_run):
        _load(source, skip_bad_rows=skip_bad_rows, dry_run=dry_run)
    return source.report


@contextmanager
def _rolled_back_if(dry_run: bool) -> Iterator[None]:
    if not dry_run:
        yield
        return
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


# --- Reading one source record ---------------------------------------------------------


def _limit(model, field_name: str) -> int:
    return model._meta.get_field(field_name).max_length


_URL_VALIDATOR = URLValidator(schemes=["http", "https"])
_DATE = re.compile(r"([0-9]{4})([-/])([0-9]{1,2})\2([0-9]{1,2})")


class _Row:
    """Reads one CSV row or JSON object into typed values, collecting every problem."""

    def __init__(self, record: Mapping[str, object]):
        self.record = record
        self.problems: list[str] = []

    def raw(self, key: str) -> object:
        """The value at key; "images.small" looks inside nested JSON objects."""
        value: object = self.record
        parent = ""
        for part in key.split("."):
            if value is None:
                return None
            if not isinstance(value, Mapping):
                self.problems.append(f"{parent} should be an object, not {_json_type(value)}")
                return None
            value = value.get(part)
            parent = f"{parent}.{part}" if parent else part
        return value

    def text(self, key: str, limit: int | None = None, *, required: bool = False) -> str:
        value = self.raw(key)
        if value is None:
            text = ""
        elif isinstance(value, str):
            text = value.strip()
        elif isinstance(value, int) and not isinstance(value, bool):
            text = str(value)
        else:
            self.problems.append(f"{key} should be text, not {_json_type(value)}")
            return ""
        if required and not text:
            self.problems.append(f"{key} is missing")
        self.check_length(key, text, limit)
        return text

    def check_length(self, key: str, text: str, limit: int | None) -> None:
        if limit is not None and len(text) > limit:
            self.problems.append(f"{key} is {len(text)} characters long; at most {limit} fit")

    def integer(self, key: str) -> int | None:
        raw = self.raw(key)
        if raw is None or raw == "":
            return None
        value = raw
        if isinstance(raw, str) and re.fullmatch(r"[0-9]+", raw.strip()):
            value = int(raw.strip())
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_INTEGER:
            return value
        self.problems.append(f"{key} {raw!r} is not a whole number (0 to {MAX_INTEGER})")
        return None

    def date(self, key: str) -> date | None:
        text = self.text(key)
        if not text:
            return None
        match = _DATE.fullmatch(text)
        if match:
            try:
                return date(int(match[1]), int(match[3]), int(match[4]))
            except ValueError:
                pass
        self.problems.append(f"{key} {text!r} is not a date (YYYY-MM-DD or YYYY/MM/DD)")
        return None

    def url(self, key: str, limit: int | None = None) -> str:
        text = self.text(key, limit)
        if text:
            try:
                _URL_VALIDATOR(text)
            except ValidationError:
                self.problems.append(f"{key} {text!r} is not an http(s) URL")
        return text


def _json_type(value: object) -> str:
    names = {dict: "an object", list: "an array", bool: "true/false", float: "a number"}
    return next((name for kind, name in names.items() if isinstance(value, kind)), "text")


def _known(**values: object) -> dict[str, object]:
    """Only the values a source has: a blank never overwrites what is stored."""
    return {name: value for name, value in values.items() if value not in (None, "")}


@dataclass
class SetRow:
    code: str
    values: dict[str, object]

    @property
    def key(self) -> str:
        return self.code

    def describe(self) -> str:
        return f"set {self.code!r}"


@dataclass
class CardRow:
    set_code: str
    number: str
    variant: str
    values: dict[str, object]
    # One Piece CSV: the product this print came in; printed_in unless it is the set.
    product_name: str = ""
    # OPTCG: the row's own set name, so a card can create its set when it is missing.
    new_set_name: str = ""

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.set_code, self.number, self.variant)

    def describe(self) -> str:
        variant = f" variant {self.variant!r}" if self.variant else ""
        return f"card {self.number!r}{variant} of set {self.set_code!r}"


# --- Formats -----------------------------------------------------------------------------


def _pokemon_set(keys: Mapping[str, str]) -> Callable[[_Row], SetRow]:
    def parse(row: _Row) -> SetRow:
        return SetRow(
            code=row.text(keys["code"], _limit(CardSet, "code"), required=True),
            values=_known(
                name=row.text(keys["name"], _limit(CardSet, "name"), required=True),
                series=row.text(keys["series"], _limit(CardSet, "series")),
                printed_total=row.integer(keys["printed_total"]),
                total=row.integer(keys["total"]),
                ptcgo_code=row.text(keys["ptcgo_code"], _limit(CardSet, "ptcgo_code")),
                release_date=row.date(keys["release_date"]),
                pricecharting_name=_pricecharting_name(row),
            ),
        )

    return parse


def _pricecharting_name(row: _Row) -> str:
    """Our CSV files may name each set as PriceCharting does (its console-name)."""
    return row.text("pricecharting_name", _limit(CardSet, "pricecharting_name"))


def _tcgplayer_id(url: str) -> str:
    """The product id in a TCGplayer product URL; other URLs (price redirects) carry none."""
    match = TCGPLAYER_PRODUCT_URL.match(url)
    return match[1] if match and len(match[1]) <= _limit(Card, "tcgplayer_id") else ""


def _pokemon_card_values(row: _Row, keys: Mapping[str, str]) -> dict[str, object]:
    return _known(
        name=row.text(keys["name"], _limit(Card, "name"), required=True),
        rarity=row.text(keys["rarity"], _limit(Card, "rarity")),
        category=row.text(keys["category"], _limit(Card, "category")),
        image_url=row.url(keys["image_url"], _limit(Card, "image_url")),
        tcgplayer_id=_tcgplayer_id(row.url(keys["tcgplayer_url"])),
    )


def _pokemon_card_csv(row: _Row) -> CardRow:
    keys = {
        "name": "name",
        "rarity": "rarity",
        "category": "supertype",
        "image_url": "image_small",
        "tcgplayer_url": "tcgplayer_url",
    }
    return CardRow(
        set_code=row.text("set_id", _limit(CardSet, "code"), required=True),
        number=row.text("number", _limit(Card, "number"), required=True),
        variant="",
        values=_pokemon_card_values(row, keys),
    )


def _pokemon_card_json(row: _Row) -> CardRow:
    keys = {
        "name": "name",
        "rarity": "rarity",
        "category": "supertype",
        "image_url": "images.small",
        "tcgplayer_url": "tcgplayer.url",
    }
    card_id = row.text("id")
    set_code = row.text("set.id", _limit(CardSet, "code"))
    # The data repository's per-set card files have no "set": ids are "{set id}-{number}".
    if not set_code:
        set_code, dash, _ = card_id.rpartition("-")
        if not dash or not set_code:
            row.problems.append(
                f"set.id is missing and id {card_id!r} does not start with a set id"
                if card_id
                else "set.id and id are both missing"
            )
        row.check_length("set id (from id)", set_code, _limit(CardSet, "code"))
    return CardRow(
        set_code=set_code,
        number=row.text("number", _limit(Card, "number"), required=True),
        variant="",
        values=_pokemon_card_values(row, keys),
    )


def _optcg_set_code(set_id: str) -> str:
    """OPTCG writes set ids with a dash (OP-01, ST-01, PRB-01); card codes do not (OP01)."""
    return re.sub(r"^([A-Za-z]+)-(\d+)$", r"\1\2", set_id)


def _onepiece_set_csv(row: _Row) -> SetRow:
    return SetRow(
        code=row.text("code", _limit(CardSet, "code"), required=True),
        values=_known(
            name=row.text("name", _limit(CardSet, "name"), required=True),
            release_date=row.date("release_date"),
            pricecharting_name=_pricecharting_name(row),
        ),
    )


def _optcg_set(row: _Row) -> SetRow:
    code = _optcg_set_code(row.text("set_id", required=True))
    row.check_length("set_id", code, _limit(CardSet, "code"))
    return SetRow(
        code=code,
        values=_known(name=row.text("set_name", _limit(CardSet, "name"), required=True)),
    )


def _onepiece_card_csv(row: _Row) -> CardRow:
    return CardRow(
        set_code=row.text("set_code", _limit(CardSet, "code"), required=True),
        number=row.text("code", _limit(Card, "number"), required=True),
        variant=row.text("variant", _limit(Card, "variant")),
        values=_known(
            name=row.text("name", _limit(Card, "name"), required=True),
            rarity=row.text("rarity", _limit(Card, "rarity")),
            category=row.text("card_type", _limit(Card, "category")),
            color=row.text("color", _limit(Card, "color")),
            image_url=row.url("image_url", _limit(Card, "image_url")),
        ),
        product_name=row.text("set_name", _limit(Card, "printed_in")),
    )


def _optcg_card(row: _Row) -> CardRow:
    number = row.text("card_set_id", _limit(Card, "number"), required=True)
    set_code, dash, _ = number.partition("-")
    if number and not (dash and set_code):
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
        row.check_length("card_image_id variant", variant, _limit(Card, "variant"))
    set_id = _optcg_set_code(row.text("set_id"))
    set_name = row.text("set_name", _limit(CardSet, "name"))
    values = _known(
        name=row.text("card_name", _limit(Card, "name"), required=True),
        rarity=row.text("rarity", _limit(Card, "rarity")),
        category=row.text("card_type", _limit(Card, "category")),
        color=row.text("card_color", _limit(Card, "color")),
        image_url=row.url("card_image", _limit(Card, "image_url")),
    )
    # The row's set_id is the product it was printed in: a reprint lists a later product.
    if set_id == set_code:
        values["printed_in"] = ""
    elif set_id and set_name:
        values["printed_in"] = set_name
    return CardRow(
        set_code=set_code,
        number=number,
        variant=variant,
        values=values,
        new_set_name=set_name if set_id == set_code else "",
    )


@dataclass(frozen=True)
class Format:
    name: str
    game: str
    target: str  # SETS or CARDS
    parse: Callable[[_Row], SetRow | CardRow]
    columns: tuple[str, ...] = ()  # the header of a CSV format; empty for JSON formats


def _header(line: str) -> tuple[str, ...]:
    return tuple(line.split(","))


_POKEMON_SET_CSV_KEYS = {
    "code": "id",
    "name": "name",
    "series": "series",
    "printed_total": "printed_total",
    "total": "total",
    "ptcgo_code": "ptcgo_code",
    "release_date": "release_date",
}
_POKEMON_SET_JSON_KEYS = {
    "code": "id",
    "name": "name",
    "series": "series",
    "printed_total": "printedTotal",
    "total": "total",
    "ptcgo_code": "ptcgoCode",
    "release_date": "releaseDate",
}

FORMATS: dict[str, Format] = {
    fmt.name: fmt
    for fmt in (
        Format(
            "pokemon-sets-csv",
            Game.POKEMON,
            SETS,
            _pokemon_set(_POKEMON_SET_CSV_KEYS),
            _header("id,name,series,printed_total,total,ptcgo_code,release_date"),
        ),
        Format(
            "pokemon-cards-csv",
            Game.POKEMON,
            CARDS,
            _pokemon_card_csv,
            _header("id,set_id,number,name,rarity,supertype,image_small,tcgplayer_url"),
        ),
        Format(
            "onepiece-sets-csv",
            Game.ONEPIECE,
            SETS,
            _onepiece_set_csv,
            _header("code,name,release_date"),
        ),
        Format(
            "onepiece-cards-csv",
            Game.ONEPIECE,
            CARDS,
            _onepiece_card_csv,
            _header("code,variant,set_code,set_name,name,rarity,card_type,color,image_url"),
        ),
        Format("pokemontcg-api-sets", Game.POKEMON, SETS, _pokemon_set(_POKEMON_SET_JSON_KEYS)),
        Format("pokemontcg-api-cards", Game.POKEMON, CARDS, _pokemon_card_json),
        Format("optcg-api-sets", Game.ONEPIECE, SETS, _optcg_set),
        Format("optcg-api-cards", Game.ONEPIECE, CARDS, _optcg_card),
    )
}


def _json_format(item: Mapping[str, object]) -> Format | None:
    keys = set(item)
    if "card_set_id" in keys:
        return FORMATS["optcg-api-cards"]
    if {"set_id", "set_name"} <= keys:
        return FORMATS["optcg-api-sets"]
    if "id" in keys and keys & {"supertype", "number"}:
        return FORMATS["pokemontcg-api-cards"]
    if "id" in keys and keys & {"series", "printedTotal", "total", "releaseDate", "ptcgoCode"}:
        return FORMATS["pokemontcg-api-sets"]
    return None


def _csv_format(header: Sequence[str]) -> Format:
    """The one format whose columns the header has; extra columns are ignored."""
    matches = [fmt for fmt in FORMATS.values() if fmt.columns and set(fmt.columns) <= set(header)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        names = " and ".join(fmt.name for fmt in matches)
        raise FileProblem(f"header fits more than one catalog format ({names})")
    shown = ",".join(header)
    shown = shown if len(shown) <= 80 else shown[:77] + "..."
    known = " | ".join(",".join(fmt.columns) for fmt in FORMATS.values() if fmt.columns)
    raise FileProblem(f"header ({shown}) matches no catalog format; known headers: {known}")


# --- Reading files ---------------------------------------------------------------------


class FileProblem(Exception):
    """The file as a whole cannot be loaded; the message completes "<file>: ..."."""


# A record as read: (position, the record, or a reason it cannot be read as one).
_Record = tuple[int, Mapping[str, object] | None, str | None]


@dataclass
class _Source:
    report: FileReport
    format: Format | None = None
    unit: str = "line"
    rows: list[tuple[int, SetRow | CardRow]] = field(default_factory=list)

    def reject(self, position: int, reason: str) -> None:
        self.report.rejections.append(Rejection(self.report.name, position, reason, self.unit))
        counts = self.report.sets if self.format.target == SETS else self.report.cards
        counts.rejected += 1


def _read_file(path: Path) -> _Source:
    report = FileReport(path.name)
    try:
        text = _read_text(path)
        if text.lstrip().startswith(("[", "{")):
            fmt, records = _json_records(text)
            unit = "item"
        else:
            fmt, records = _csv_records(text)
            unit = "line"
    except FileProblem as problem:
        report.error = str(problem)
        return _Source(report)
    report.format = fmt.name
    return _parse(fmt, report, unit, records)


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FileProblem(f"cannot be read: {exc.strerror or exc}") from None
    data = data.removeprefix(codecs.BOM_UTF8)  # spreadsheet programs like to write one
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise FileProblem(
            f"not valid UTF-8 (byte {data[exc.start]:#04x} on line {line}); save it as UTF-8"
        ) from None
    if not text.strip():
        raise FileProblem("empty file")
    return text


def _csv_records(text: str) -> tuple[Format, list[_Record]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    records: list[_Record] = []
    try:
        header = [column.strip().lower() for column in next(reader)]
        repeated = sorted({column for column in header if header.count(column) > 1})
        if repeated:
            raise FileProblem(f"header repeats column {', '.join(repeated)}")
        fmt = _csv_format(header)
        last_line = reader.line_num
        for values in reader:
            # Report where a row starts; a quoted field may span several physical lines.
            line, last_line = last_line + 1, reader.line_num
            if not any(value.strip() for value in values):
                continue
            if len(values) != len(header):
                reason = f"has {len(values)} fields; the header has {len(header)}"
                records.append((line, None, reason))
            else:
                records.append((line, dict(zip(header, values, strict=True)), None))
    except csv.Error as exc:
        raise FileProblem(f"not readable as CSV at line {reader.line_num}: {exc}") from None
    return fmt, records


def _json_records(text: str) -> tuple[Format, list[_Record]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FileProblem(
            f"not valid JSON (line {exc.lineno} column {exc.colno}: {exc.msg})"
        ) from None
    except RecursionError:
        raise FileProblem("not loadable JSON: nested too deeply") from None
    # The Pokémon TCG API wraps results as {"data": [...]}, or {"data": {...}} for one.
    if isinstance(data, dict) and "data" in data:
        data = data["data"]
        if isinstance(data, dict):
            data = [data]
    if not isinstance(data, list):
        raise FileProblem('JSON is neither an array of objects nor {"data": [...]}')
    first = next((item for item in data if isinstance(item, dict)), None)
    if first is None:
        raise FileProblem("JSON holds no objects to load")
    fmt = _json_format(first)
    if fmt is None:
        keys = ", ".join(sorted(first)[:12])
        raise FileProblem(
            f"JSON objects with keys ({keys}) match no catalog format; expected Pokémon TCG "
            "API sets or cards, or OPTCG API sets or cards"
        )
    return fmt, list(_json_items(data))


def _json_items(items: Iterable[object]) -> Iterator[_Record]:
    for position, item in enumerate(items, 1):
        if isinstance(item, Mapping):
            yield position, item, None
        else:
            yield position, None, f"is {_json_type(item)}, not a JSON object"


def _parse(fmt: Format, report: FileReport, unit: str, records: Iterable[_Record]) -> _Source:
    source = _Source(report, fmt, unit)
    seen: dict[object, int] = {}
    for position, record, unreadable in records:
        if record is None:
            source.reject(position, unreadable)
            continue
        row_reader = _Row(record)
        row = fmt.parse(row_reader)
        if row_reader.problems:
            source.reject(position, "; ".join(row_reader.problems))
        elif row.key in seen:
            source.reject(position, f"duplicate of {unit} {seen[row.key]} ({row.describe()})")
        else:
            seen[row.key] = position
            source.rows.append((position, row))
    return source


# --- Writing -------------------------------------------------------------------------------


def _assign(obj, values: Mapping[str, object]) -> set[str]:
    """Set the values that differ; return the names of the fields that changed.

    Fields staff have edited in the admin (curated_fields) are never overwritten.
    """
    changed = set()
    curated = set(obj.curated_fields or ())
    for name, value in values.items():
        if name in curated:
            continue
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed.add(name)
    return changed


@dataclass
class _Changes:
    """New and changed rows of one model, written with one bulk query per kind."""

    model: type
    new: list = field(default_factory=list)
    changed: list = field(default_factory=list)
    changed_fields: set[str] = field(default_factory=set)

    def update(self, obj, fields: set[str]) -> None:
        self.changed.append(obj)
        self.changed_fields |= fields

    def write(self) -> None:
        if self.new:
            self.model.objects.bulk_create(self.new, batch_size=BATCH_SIZE)
        if self.changed:
            # bulk_update skips save(), so auto_now has to be done by hand.
            now = timezone.now()
            for obj in self.changed:
                obj.updated = now
            fields = sorted(self.changed_fields | {"updated"})
            self.model.objects.bulk_update(self.changed, fields, batch_size=BATCH_SIZE)


def _load(source: _Source, *, skip_bad_rows: bool, dry_run: bool) -> None:
    """Compare the source's rows with the database and write the difference, atomically."""
    report = source.report
    with transaction.atomic():
        plan = _plan_sets(source) if source.format.target == SETS else _plan_cards(source)
        if report.rejections and not skip_bad_rows:
            return
        plan()
    report.written = not dry_run


def _plan_sets(source: _Source) -> Callable[[], None]:
    game, counts = source.format.game, source.report.sets
    codes = {row.code for _, row in source.rows}
    existing = {s.code: s for s in CardSet.objects.filter(game=game, code__in=codes)}
    changes = _Changes(CardSet)
    renamed = []
    for _, row in source.rows:
        card_set = existing.get(row.code)
        if card_set is None:
            changes.new.append(CardSet(game=game, code=row.code, **row.values))
            counts.created += 1
            continue
        fields = _assign(card_set, row.values)
        if not fields:
            counts.unchanged += 1
            continue
        changes.update(card_set, fields)
        counts.updated += 1
        if fields & {"name", "ptcgo_code"}:
            renamed.append(card_set)

    def write() -> None:
        changes.write()
        # A set's name and codes are words its cards are found by.
        for card_set in renamed:
            card_set.refresh_card_search_documents()

    return write


def _plan_cards(source: _Source) -> Callable[[], None]:
    game, report = source.format.game, source.report
    codes = {row.set_code for _, row in source.rows}
    sets = {s.code: s for s in CardSet.objects.filter(game=game, code__in=codes)}
    existing = {
        (card.card_set_id, card.number, card.variant): card
        for card in Card.objects.filter(card_set__in=[s.pk for s in sets.values()])
    }
    new_sets: dict[str, CardSet] = {}
    changes = _Changes(Card)
    for position, row in source.rows:
        card_set = sets.get(row.set_code) or new_sets.get(row.set_code)
        if card_set is None and row.new_set_name:
            card_set = CardSet(game=game, code=row.set_code, name=row.new_set_name)
            new_sets[row.set_code] = card_set
            report.sets.created += 1
        if card_set is None:
            source.reject(position, f"unknown set {row.set_code!r} — load its sets file first")
            continue
        values = dict(row.values)
        if row.product_name:
            values["printed_in"] = "" if row.product_name == card_set.name else row.product_name
        card = existing.get((card_set.pk, row.number, row.variant))
        if card is None:
            card = Card(card_set=card_set, number=row.number, variant=row.variant, **values)
            card.refresh_derived_fields()
            changes.new.append(card)
            report.cards.created += 1
            continue
        card.card_set = card_set  # the instance already fetched: no query per card
        derived_before = [getattr(card, name) for name in DERIVED_CARD_FIELDS]
        fields = _assign(card, values)
        card.refresh_derived_fields()
        derived_after = [getattr(card, name) for name in DERIVED_CARD_FIELDS]
        fields |= {
            name
            for name, before, after in zip(
                DERIVED_CARD_FIELDS, derived_before, derived_after, strict=True
            )
            if before != after
        }
        if fields:
            changes.update(card, fields)
            report.cards.updated += 1
        else:
            report.cards.unchanged += 1

    def write() -> None:
        # Only OPTCG cards create sets, a handful per file: plain saves give them their
        # primary keys on every database before their cards are inserted.
        for card_set in new_sets.values():
            card_set.save()
        changes.write()

    return write
