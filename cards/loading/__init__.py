"""Catalog loading: sets and cards from CSV files and catalog-API JSON.

    load_files(paths) -> LoadReport                       # what `manage.py load_catalog` runs
    load_records(format_name, records, source) -> FileReport   # JSON already parsed (sync jobs)

A file's format is told by its CSV header or its JSON keys, never by its name. Each format
lives in its own module — pokemon_csv, pokemontcg_api, onepiece_csv, optcg_api — built
from the shape they share (records: how a format is detected, how a record is read and
its problems collected); reading turns a file into parsed rows, writing compares them
with the database. Sets files load before cards files, whatever order they are given in.

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

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from django.db import transaction

from cards.loading.formats import FORMATS
from cards.loading.reading import json_items, parse, read_file
from cards.loading.records import CARDS, SETS
from cards.loading.reports import Counts, FileReport, LoadReport, Rejection
from cards.loading.writing import load

__all__ = [
    "CATALOG_DIR",
    "FORMATS",
    "Counts",
    "FileReport",
    "LoadReport",
    "Rejection",
    "demo_catalog_paths",
    "load_files",
    "load_records",
]

CATALOG_DIR = Path(__file__).resolve().parent.parent / "catalog"


def demo_catalog_paths() -> list[Path]:
    """The demo catalog shipped in cards/catalog/, sets files first."""
    names = ("pokemon_sets", "onepiece_sets", "pokemon_cards", "onepiece_cards")
    return [CATALOG_DIR / f"{name}.csv" for name in names]


def load_files(
    paths: Iterable[str | Path],
    *,
    dry_run: bool = False,
    skip_bad_rows: bool = False,
    progress: Callable[[FileReport], None] | None = None,
) -> LoadReport:
    """Load catalog files; progress, if given, is called with each file's report."""
    sources = [read_file(Path(path)) for path in paths]
    # Unreadable files are reported first; cards need their sets, so sets load first.
    order = {None: 0, SETS: 1, CARDS: 2}
    sources.sort(key=lambda source: order[source.format.target if source.format else None])
    report = LoadReport(dry_run=dry_run, skip_bad_rows=skip_bad_rows)
    with _rolled_back_if(dry_run):
        for source in sources:
            if source.format is not None:
                load(source, skip_bad_rows=skip_bad_rows, dry_run=dry_run)
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
    source = parse(fmt, FileReport(source_name, format=fmt.name), "item", json_items(records))
    with _rolled_back_if(dry_run):
        load(source, skip_bad_rows=skip_bad_rows, dry_run=dry_run)
    return source.report


@contextmanager
def _rolled_back_if(dry_run: bool) -> Iterator[None]:
    if not dry_run:
        yield
        return
    with transaction.atomic():
        yield
        transaction.set_rollback(True)
