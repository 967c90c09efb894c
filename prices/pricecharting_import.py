"""The PriceCharting CSV price guide: streamed, matched to cards, written in batches.

    import_price_guide(path_or_lines, ...) -> JobRun     # a local file, an upload, a stream
    import_category("pokemon-cards", ...) -> JobRun      # download from PriceCharting first

Staff's review of the rows left waiting, and re-matching them, is prices.guide_review.

The file is read one line at a time and never held whole (the Pokémon guide has about
88,000 rows). Columns are read by header name; the delimiter (comma or tab) is told by the
header line. Each physical line is one row: a stray quote can spoil only its own line.

Every row ends up in exactly one place: price points of the card it matched (through
prices.writing, so a second import of the same file writes nothing), an UnmatchedRow for
staff (no card, or several possible cards), or the run's rejections with its line number
(wrong column count, a price that is not a dollar amount, a negative price). Matching runs
in memory against an index built once (prices.matching); writes go out in batches.

Most of a day's guide repeats the day before's, and most of its rows wait for staff
(products the catalog does not hold): a line that repeats, byte for byte, the line a
waiting row was read from, and would be matched against the same catalog by the same
rules, would give that same row again, so it is counted as that row and neither parsed nor
matched nor written (UnmatchedRow.line_digest).
"""

import contextlib
import csv
import datetime as dt
import functools
import gc
import hashlib
import json
import logging
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import orjson
from django.db import connection, transaction
from django.db.models import BigIntegerField, Case, CharField, IntegerField, Value, When
from django.utils import timezone

from cards.models import Card
from jobs import runs
from jobs.models import JobRun
from prices.matching import (
    AMBIGUOUS,
    REASONS,
    VIA_PRICECHARTING_ID,
    CatalogIndex,
    Product,
    clean_tcg_id,
)
from prices.models import Source, UnmatchedRow
from prices.sources.pricecharting import (
    FIELD_KEYS,
    PRICE_GUIDE_CATEGORIES,
    SOURCE,
    PriceChartingClient,
    count,
    day_start,
    is_sealed,
    observed_today,
    price_fields,
)
from prices.writing import (
    MAX_CENTS,
    SET_BASED_CHUNK_SIZE,
    BatchWriter,
    Observation,
    WriteResult,
    announce_changes,
)
from tcgtracker.lib.http import SourceConfig, SourceError, scrub
from tcgtracker.lib.sql import ids_in

logger = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("id", "console-name", "product-name")
PROGRESS_EVERY = 5000
# Written when this many are waiting: a row adds at most one per price field, so a write
# never spills a few observations into a transaction of their own.
OBSERVATIONS_PER_WRITE = SET_BASED_CHUNK_SIZE - len(FIELD_KEYS)
# Rows between two looks at whether the writing threads have run out of work: then the
# prices read so far go at once, if there are at least STARVED_BATCH_MIN of them (a guide's
# unmatched rows, read last, add none; a guide that matches one row in a hundred would
# otherwise send a handful of prices at a time, a transaction each).
STARVED_CHECK_EVERY = 1000
STARVED_BATCH_MIN = 1000
UNMATCHED_PER_WRITE = 1000
UNMATCHED_ROWS_PER_QUERY = 500
UPDATES_PER_QUERY = 500

# Characters no price guide has in a cell (NUL among them, which PostgreSQL refuses in text).
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Why rows were rejected, for the match report.
BAD_LINE, BAD_COLUMNS, NO_ID, LONG_ID, BAD_PRICE, CONTROL = (
    "unreadable",
    "columns",
    "no-id",
    "long-id",
    "price",
    "control",
)
REJECTIONS = {
    BAD_LINE: "unreadable line",
    BAD_COLUMNS: "wrong number of columns",
    NO_ID: "no product id",
    LONG_ID: "a product id longer than a card keeps",
    BAD_PRICE: "a price that is not a dollar amount",
    CONTROL: "control characters in the line",
}
TOP_CONSOLES = 20
# A matched row's id is kept on its card (PriceCharting's are a few digits).
MAX_ID_LENGTH = Card._meta.get_field("pricecharting_id").max_length

DOLLARS_RE = re.compile(r"(-)?\$?\s*(-)?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d*))?")
# What nearly every cell of a guide is: a dollar sign, the dollars (with or without
# thousands separators) and two digits of cents.
COMMON_DOLLARS_RE = re.compile(r"\$(\d{1,3}(?:,\d{3})+|\d+)\.(\d\d)")
US_DATE_RE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
ISO_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")


class GuideFormatError(ValueError):
    """The file as a whole cannot be read as a price guide (no header, missing columns)."""


# --- Reading -----------------------------------------------------------------------------


def parse_dollars(text: str) -> int | None:
    """A price-guide cell in cents: "$1,234.56 " → 123456; blank or "$0.00" → None.
    ValueError for anything else, negative amounts included."""
    text = text.strip()
    if not text:
        return None
    # The common shapes first, by one plain pattern: "$12.34", "$1,234.56".
    common = COMMON_DOLLARS_RE.fullmatch(text)
    if common is not None:
        whole = common[1]
        cents = int(whole.replace(",", "") if "," in whole else whole) * 100 + int(common[2])
        if cents > MAX_CENTS:
            raise ValueError(f"implausibly high price: {text!r}")
        return cents or None
    match = DOLLARS_RE.fullmatch(text)
    if not match:
        raise ValueError(f"not a dollar amount: {text!r}")
    if match[1] or match[2]:
        raise ValueError(f"negative price: {text!r}")
    # In integers (an import reads hundreds of thousands of these): digits past the cents
    # must be zeros.
    fraction = match[4] or ""
    if len(fraction.rstrip("0")) > 2:
        raise ValueError(f"not a whole number of cents: {text!r}")
    cents = int(match[3].replace(",", "")) * 100 + int((fraction + "00")[:2])
    if cents > MAX_CENTS:
        raise ValueError(f"implausibly high price: {text!r}")
    return cents or None


def parse_release_date(text: str) -> dt.date | None:
    """YYYY-MM-DD or M/D/YYYY; blank is None; ValueError otherwise."""
    text = text.strip()
    if not text:
        return None
    us = US_DATE_RE.fullmatch(text)
    try:
        if us:
            return dt.date(int(us[3]), int(us[1]), int(us[2]))
        if ISO_DATE_RE.fullmatch(text):
            return dt.date.fromisoformat(text)
    except ValueError:
        pass
    raise ValueError(f"not a date: {text!r}")


def line_digest(line: str, key: bytes) -> int:
    """A line of the guide (without its line ending) digested with `key` (what it is
    matched against: CatalogIndex.fingerprint), as a signed 64-bit integer."""
    hasher = _keyed_hasher(key).copy()  # the key's block hashed once, not once a line
    hasher.update(line.encode())
    return int.from_bytes(hasher.digest(), "big", signed=True)


@functools.lru_cache(maxsize=4)
def _keyed_hasher(key: bytes):
    return hashlib.blake2b(digest_size=8, key=key[:64])


@dataclass
class GuideRow:
    """One data line of the guide: a product and its prices, or why it was rejected."""

    line: int
    product: Product | None = None
    prices: dict[str, int] = field(default_factory=dict)  # price key → cents
    sample_size: int | None = None
    release_date: dt.date | None = None
    error: str = ""
    error_code: str = ""  # one of REJECTIONS
    warnings: list[str] = field(default_factory=list)
    # When the prices were observed, if not the import's day (rows re-matched later).
    observed_at: dt.datetime | None = None
    digest: int | None = None  # line_digest() of its line, when read with a key

    def reject(self, code: str, error: str) -> "GuideRow":
        self.error_code, self.error, self.prices = code, error, {}
        return self


def read_guide(
    lines: Iterable[str], repeats: dict[int, "Repeat"] | None = None, key: bytes | None = None
) -> Iterator["GuideRow | Repeat"]:
    """Rows of a price guide, from its lines (with or without line endings).

    With a `key`, each row carries its line's digest; a line whose digest is in `repeats`
    (waiting rows by their line_digest), and which holds that row's product id, is not
    parsed: the Repeat is yielded in its place. The caller may empty `repeats` at any
    time."""
    lines = iter(lines)
    header_line = next(lines, "").lstrip("\ufeff").rstrip("\r\n")
    if not header_line.strip():
        raise GuideFormatError("the file is empty or its first line is blank (no header)")
    if header_line.lstrip().startswith("<"):
        raise GuideFormatError("this is an HTML page, not a price guide")
    delimiter = "\t" if "\t" in header_line else ","
    header = [name.strip().lower() for name in _split(header_line, delimiter)]
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        raise GuideFormatError(
            f"the header has no {', '.join(missing)} column"
            f"{'s' if len(missing) > 1 else ''} (found: {', '.join(header[:30])})"
        )
    column = {name: position for position, name in reversed(list(enumerate(header)))}
    width = len(header)
    # Where each cell of a row is, looked up once; an absent optional column reads as "".
    id_at, console_at, name_at = (column[name] for name in REQUIRED_COLUMNS)
    tcg_at, genre_at, volume_at, release_at = (
        column.get(name, width) for name in ("tcg-id", "genre", "sales-volume", "release-date")
    )

    # Where each price of a row is, for a sealed product and for a card: looked up once.
    price_columns = {
        sealed: [
            (name, price_key, column[name])
            for name, price_key in price_fields(sealed).items()
            if name in column
        ]
        for sealed in (False, True)
    }
    # Cells that repeat from row to row, read once each.
    sealed_genres: dict[str, bool] = {}
    sample_sizes: dict[str, int | None] = {}
    release_dates: dict[str, tuple[dt.date | None, str]] = {}  # the cell → (date, warning)

    for number, line in enumerate(lines, start=2):
        line = line.rstrip("\r\n")
        if not line.strip():
            continue
        digest = None
        if key is not None:
            digest = line_digest(line, key)
            if repeats:
                repeat = repeats.get(digest)
                if repeat is not None and repeat.external_id in line:
                    yield repeat
                    continue
        row = GuideRow(line=number, digest=digest)
        control = CONTROL_RE.search(line)
        if control:
            yield row.reject(CONTROL, f"control character {control[0]!r} in the line")
            continue
        try:
            values = _split(line, delimiter)
        except csv.Error as exc:
            yield row.reject(BAD_LINE, f"unreadable line: {exc}")
            continue
        if len(values) != width:
            hint = " (an unquoted comma in a value?)" if len(values) > width else ""
            yield row.reject(BAD_COLUMNS, f"expected {width} columns, found {len(values)}{hint}")
            continue
        values.append("")  # the cell of every absent column
        product = Product(
            id=values[id_at].strip(),
            console_name=values[console_at].strip(),
            product_name=values[name_at].strip(),
            tcg_id=clean_tcg_id(values[tcg_at]),
            genre=values[genre_at].strip(),
        )
        if not product.id:
            yield row.reject(NO_ID, "no id")
            continue
        if len(product.id) > MAX_ID_LENGTH:
            yield row.reject(
                LONG_ID, f"a product id of {len(product.id)} characters (at most {MAX_ID_LENGTH})"
            )
            continue
        row.product = product
        sealed = sealed_genres.get(product.genre)
        if sealed is None:
            sealed = sealed_genres[product.genre] = is_sealed(product.genre)
        prices = row.prices
        for name, price_key, position in price_columns[sealed]:
            value = values[position]
            if not value or value.isspace():
                continue
            try:
                cents = parse_dollars(value)
            except ValueError as exc:
                row.reject(BAD_PRICE, f"{name}: {exc}")
                break
            if cents is not None:
                prices[price_key] = cents
        if row.error:
            yield row
            continue
        volume = values[volume_at]
        sample_size = sample_sizes.get(volume, False)
        if sample_size is False:
            sample_size = sample_sizes[volume] = count(volume)
        row.sample_size = sample_size
        release = values[release_at]
        known = release_dates.get(release)
        if known is None:
            try:
                known = release_dates[release] = (parse_release_date(release), "")
            except ValueError as exc:
                known = release_dates[release] = (None, f"release-date: {exc} (ignored)")
        row.release_date, warning = known
        if warning:
            row.warnings.append(warning)
        yield row


def _split(line: str, delimiter: str) -> list[str]:
    # Without a quote or a line break inside, the csv module would split on the
    # delimiter and nothing else.
    if '"' in line or "\r" in line or "\n" in line:
        return next(csv.reader((line,), delimiter=delimiter))
    return line.split(delimiter)


def file_lines(path: Path) -> Iterator[str]:
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as handle:
        yield from handle


def count_lines(path: Path) -> int:
    """Cheap: bytes, not text. Used for the progress bar only."""
    lines = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            lines += chunk.count(b"\n")
    return lines


def decoded(lines: Iterable[str | bytes]) -> Iterator[str]:
    """Text lines from an iterable of str or bytes lines (an uploaded file gives bytes)."""
    first = True
    for line in lines:
        if isinstance(line, bytes):
            line = line.decode("utf-8-sig" if first else "utf-8", errors="replace")
        first = False
        yield line


# --- Importing ---------------------------------------------------------------------------


@dataclass
class ImportCounts:
    rows: int = 0
    matched: int = 0
    unmatched: int = 0
    ambiguous: int = 0
    rejected_rows: int = 0
    ids_stored: int = 0
    resolved: int = 0
    written: WriteResult = field(default_factory=WriteResult)
    # Why rows did not match (prices.matching.REASONS) or were rejected (REJECTIONS).
    reasons: Counter = field(default_factory=Counter)
    rejections: Counter = field(default_factory=Counter)
    # console-name → [unmatched, ambiguous]
    consoles: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))

    def report(self) -> dict:
        """The match report a job run keeps (JobRun.report) and the command prints."""
        consoles = sorted(
            self.consoles.items(), key=lambda item: (-sum(item[1]), item[0].casefold())
        )
        return {
            "rows": self.rows,
            "matched": self.matched,
            "ambiguous": self.ambiguous,
            "unmatched": self.unmatched,
            "rejected": self.rejected_rows,
            "reasons": [
                [REASONS.get(code, code), number] for code, number in self.reasons.most_common()
            ],
            "rejections": [
                [REJECTIONS.get(code, code), number]
                for code, number in self.rejections.most_common()
            ],
            "consoles": [
                [console, unmatched, ambiguous]
                for console, (unmatched, ambiguous) in consoles[:TOP_CONSOLES]
            ],
            "consoles_total": len(consoles),
        }


def report_lines(report: dict) -> list[str]:
    """A match report as lines of text, for the command's output."""
    if not report:
        return []
    lines = [
        f"Rows: {report['rows']:,} — {report['matched']:,} matched, "
        f"{report['ambiguous']:,} ambiguous, {report['unmatched']:,} unmatched, "
        f"{report['rejected']:,} rejected."
    ]
    if report["reasons"]:
        lines.append("Not matched, by reason:")
        lines += [f"  {number:>8,}  {reason}" for reason, number in report["reasons"]]
    if report["rejections"]:
        lines.append("Rejected, by reason:")
        lines += [f"  {number:>8,}  {reason}" for reason, number in report["rejections"]]
    if report["consoles"]:
        shown, total = len(report["consoles"]), report["consoles_total"]
        more = f" (of {total:,})" if total > shown else ""
        lines.append(f"Consoles with most rows waiting for review{more}: unmatched / ambiguous")
        lines += [
            f"  {unmatched:>8,} / {ambiguous:<6,}  {console}"
            for console, unmatched, ambiguous in report["consoles"]
        ]
    return lines


class StoredRow(NamedTuple):
    pk: int
    external_id: str
    # What the row says: (status, detail, prices, sample size, set_name, product_name,
    # number, tcgplayer_id, genre, candidate ids); a row read again with the same
    # signature is not rewritten.
    signature: tuple
    resolved: bool
    code: str = ""  # prices.matching.REASONS
    digest: int | None = None  # UnmatchedRow.line_digest


SIGNATURE_FIELDS = (
    "reason",
    "detail",
    "prices",
    "sample_size",
    "set_name",
    "product_name",
    "number",
    "tcgplayer_id",
    "genre",
)
# The columns a waiting row is written with, in the order _upsert_unmatched gives them,
# with their PostgreSQL types.
UNMATCHED_COLUMNS = (
    ("source", "text"),
    ("external_id", "text"),
    ("reason", "text"),
    ("detail", "text"),
    ("prices", "jsonb"),
    ("sample_size", "integer"),
    ("set_name", "text"),
    ("product_name", "text"),
    ("number", "text"),
    ("tcgplayer_id", "text"),
    ("genre", "text"),
    ("observed_at", "timestamptz"),
    ("code", "text"),
    ("line_digest", "bigint"),
    ("job_run_id", "bigint"),
    ("created_at", "timestamptz"),
    ("updated_at", "timestamptz"),
)


class Repeat(NamedTuple):
    """A waiting row as read_guide tells a line repeating its own: what counting it takes."""

    external_id: str
    status: str
    code: str
    console_name: str


class StoredRows:
    """The stored waiting rows, read once by one light query: by external id each row's id
    and whether it is resolved (`ids`), and the rows waiting by their line's digest
    (`repeats`). What a row says (its StoredRow, to compare with the row read again) is
    read only for the rows asked for, a batch at a time (`read`): an import reads its
    waiting rows' lines again, and most of them repeat."""

    def __init__(self, **filters):
        self.ids: dict[str, tuple[int, bool]] = {}
        self.repeats: dict[int, Repeat] = {}
        rows = UnmatchedRow.objects.filter(source=SOURCE, **filters).values_list(
            "external_id", "pk", "resolved_at", "line_digest", "reason", "code", "set_name"
        )
        # Read through the cursor: Django's converters per row and column cost more than
        # the query (60,000 rows wait in the Pokémon guide).
        sql, params = rows.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            found = cursor.fetchall()
        ids, repeats, make = self.ids, self.repeats, tuple.__new__
        for external_id, pk, resolved_at, digest, status, code, console_name in found:
            ids[external_id] = (pk, resolved_at is not None)
            if digest is not None and resolved_at is None:
                repeats[digest] = make(Repeat, (external_id, status, code, console_name))

    def read(self, external_ids: list[str]) -> dict[str, StoredRow]:
        """The StoredRow of each of these that is stored, by external id: two queries."""
        ids = self.ids
        # By their ids, known since the light query: integers are cheaper to send and to
        # look up than the external ids.
        wanted = [ids[external_id][0] for external_id in external_ids if external_id in ids]
        if not wanted:
            return {}
        rows = UnmatchedRow.objects.filter(pk__in=ids_in(wanted))
        candidates: dict[int, list[int]] = defaultdict(list)
        through = UnmatchedRow.candidates.through
        links = through.objects.filter(unmatchedrow_id__in=ids_in(wanted)).values_list(
            "unmatchedrow_id", "card_id"
        )
        for row_id, card_id in links:
            candidates[row_id].append(card_id)
        sql, params = rows.values_list(*_STORED_COLUMNS).query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            found = cursor.fetchall()
        stored = {}
        for pk, external_id, reason, detail, prices, *fields, code, digest, resolved_at in found:
            if isinstance(prices, str):
                # By orjson: the standard library's decoder took most of an import's reading.
                prices = orjson.loads(prices)
            signature = (reason, detail, prices, *fields, tuple(sorted(candidates.get(pk, ()))))
            stored[external_id] = StoredRow(
                pk, external_id, signature, resolved_at is not None, code, digest
            )
        return stored


# What StoredRows.read() reads of a row, in order.
_STORED_COLUMNS = ("pk", "external_id", *SIGNATURE_FIELDS, "code", "line_digest", "resolved_at")


_UNMATCHED_UPDATES = ", ".join(
    f"{name} = excluded.{name}"
    for name, _ in UNMATCHED_COLUMNS
    if name not in ("source", "external_id", "created_at")
)
_UPSERT_UNMATCHED_SQL = (
    f"INSERT INTO {UnmatchedRow._meta.db_table} "
    f"({', '.join(name for name, _ in UNMATCHED_COLUMNS)}, matched_card_id, resolved_at) "
    "{rows} ON CONFLICT (source, external_id) DO UPDATE SET "
    f"{_UNMATCHED_UPDATES}, matched_card_id = NULL, resolved_at = NULL "
    "RETURNING external_id, id"
)
_WAITING = "guide_waiting_rows"
# A session-local scratch table of waiting rows, emptied at every commit.
_WAITING_SCRATCH_SQL = f"""
CREATE TEMP TABLE IF NOT EXISTS {_WAITING} (
    {", ".join(f"{name} {sql_type}" for name, sql_type in UNMATCHED_COLUMNS)}
) ON COMMIT DELETE ROWS;
DELETE FROM {_WAITING};
"""


_REDIGEST_SQL = f"""
UPDATE {UnmatchedRow._meta.db_table} u SET line_digest = v.digest, code = v.code
FROM unnest(%s::bigint[], %s::bigint[], %s::text[]) AS v (id, digest, code)
WHERE u.id = v.id
"""


def _copies() -> bool:
    """Whether the waiting rows go in by COPY: PostgreSQL with psycopg 3."""
    if connection.vendor != "postgresql":
        return False
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    return is_psycopg3


def _upsert_unmatched_copied(cursor, values: list[tuple]) -> list[tuple[str, int]]:
    """(external id, row id) of the waiting rows written: COPYed into a scratch table and
    upserted from it in one statement. (As query parameters, the arrays of a few thousand
    rows cost more to build in Python than the statement takes to run.)"""
    cursor.execute(_WAITING_SCRATCH_SQL)
    columns = ", ".join(name for name, _ in UNMATCHED_COLUMNS)
    with cursor.cursor.copy(f"COPY {_WAITING} ({columns}) FROM STDIN") as copy:
        write = copy.write_row
        for row in values:
            write(row)
    cursor.execute(
        _UPSERT_UNMATCHED_SQL.format(
            rows=f"SELECT *, NULL::bigint, NULL::timestamptz FROM {_WAITING}"
        )
    )
    return cursor.fetchall()


def _upsert_unmatched(cursor, values: list[tuple]) -> list[tuple[str, int]]:
    """(external id, row id) of the waiting rows written, their values as parameters."""
    row_sql = f"({', '.join(['%s'] * len(UNMATCHED_COLUMNS))}, NULL, NULL)"
    cursor.execute(
        _UPSERT_UNMATCHED_SQL.format(rows=f"VALUES {', '.join([row_sql] * len(values))}"),
        [value for row in values for value in row],
    )
    return cursor.fetchall()


@contextlib.contextmanager
def fewer_collections(threshold: int = 100_000):
    """The garbage collector run less often: an import makes several objects a row (the
    row, its prices, its observations) and keeps few, and with the default thresholds
    collected a thousand times a file (0.9 s in all, the longest over 0.1 s), each time
    holding the interpreter lock its writer threads wait on; with these, four times (0.1
    s). Objects freed by their reference counts, as nearly all here are, are freed at once
    all the same."""
    thresholds = gc.get_threshold()
    gc.set_threshold(max(threshold, thresholds[0]), *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)


_make = tuple.__new__
_CURRENCY = Observation._field_defaults["currency"]


class GuideImport:
    """One run over one guide (or over stored rows matched again). Holds the match index
    and the batches waiting to be written."""

    def __init__(
        self,
        run: JobRun,
        *,
        name,
        observed_at,
        game,
        dry_run,
        progress,
        save_run,
        stored=None,
        progress_every=None,
    ):
        self.run = run
        self.name = name
        self.observed_at = observed_at
        self.dry_run = dry_run
        self.progress = progress
        self.save_run = save_run
        self.progress_every = progress_every or PROGRESS_EVERY
        self.counts = ImportCounts()
        self.errors: list[str] = []
        self.warnings: list[str] = []
        # Prices are written in the background while the next rows are read and matched
        # (its threads get ready while the catalog and the waiting rows are read).
        self.prices = BatchWriter(background=True)
        self.counts.written = self.prices.result
        try:
            self.index = CatalogIndex.load(game)
            self.stored = StoredRows() if stored is None else stored
        except BaseException:
            with contextlib.suppress(Exception):  # the failure to report is the one above
                self.prices.close()
            raise
        # Waiting rows by the digest of the line each was read from (read_guide skips a
        # line repeating one), while the index is as loaded: emptied once it is not.
        self.repeats = self.stored.repeats
        self.observations: list[Observation] = []
        # product id → (signature, observed_at, code, line digest, whether read from a
        # line) of the rows waiting to be written, unless they stand so already
        self.unmatched: dict[str, tuple[tuple, dt.datetime, str, int | None, bool]] = {}
        # (id, line digest, code) of stored rows read again as they stand from another line
        self.redigested: list[tuple[int, int | None, str]] = []
        # Those of the prices read since the last batch was sent, written once its prices
        # are.
        self.new_ids: list[tuple[int, str]] = []  # (card id, PriceCharting id)
        self.resolutions: list[tuple[int, int]] = []  # (UnmatchedRow id, card id)

    def feed(self, rows: Iterable[GuideRow]) -> None:
        try:
            for row in rows:
                self.counts.rows += 1
                self.handle(row)
                if len(self.observations) >= OBSERVATIONS_PER_WRITE or (
                    self.counts.rows % STARVED_CHECK_EVERY == 0
                    and len(self.observations) >= STARVED_BATCH_MIN
                    and self.prices.starved()
                ):
                    self.write_prices()
                if len(self.unmatched) >= UNMATCHED_PER_WRITE:
                    self.write_unmatched()
                if len(self.redigested) >= UPDATES_PER_QUERY * 10:
                    self.write_digests()
                if self.counts.rows % self.progress_every == 0:
                    self.report_progress()
            self.write_prices()
            self.write_unmatched()
            self.write_digests()
            self.prices.wait()
        except BaseException:
            # Reading or writing failed halfway: what was sent is still waited for and
            # counted, and the first failure is the one the run reports.
            with contextlib.suppress(Exception):
                self.prices.close()
            raise
        self.prices.close()

    def handle(self, row: "GuideRow | Repeat") -> None:
        if row.__class__ is Repeat:
            # A waiting row as it stands, its line repeated: counted, nothing written.
            self._count_waiting(row.status, row.code, row.console_name)
            return
        counts = self.counts
        if row.error:
            counts.rejected_rows += 1
            counts.rejections[row.error_code] += 1
            self._note(self.errors, row.line, row.error)
            return
        for warning in row.warnings:
            self._note(self.warnings, row.line, warning)
        product = row.product
        observed_at = row.observed_at or self.observed_at
        match = self.index.match(product)
        if not match.matched:
            self._count_waiting(match.status, match.code, product.console_name)
            signature = (
                match.status,
                match.reason[:300],
                row.prices,
                row.sample_size,
                product.console_name[:200],
                product.product_name[:300],
                product.number[:32],
                product.tcg_id[:32],
                product.genre[:64],
                match.candidates,
            )
            # Matched against the index as loaded, the row is told by its line next time;
            # unless the line warned of something, which is then said again each time.
            digest = None if self.index.changed or row.warnings else row.digest
            from_line = row.observed_at is None
            self.unmatched[product.id] = (signature, observed_at, match.code, digest, from_line)
            return
        counts.matched += 1
        card_id = match.card_id
        # A file's longer ids are rejected as it is read; a row waiting since before that
        # (matched again by staff) writes its prices without giving the card its id.
        if match.via != VIA_PRICECHARTING_ID and len(product.id) <= MAX_ID_LENGTH:
            self.index.assign(card_id, product.id)
            self.new_ids.append((card_id, product.id))
            if self.index.changed:
                # Rows matched from here on could differ from their waiting rows.
                self.repeats.clear()
        known = self.stored.ids.get(product.id)
        if known and not known[1]:
            self.resolutions.append((known[0], card_id))
            self.stored.ids[product.id] = (known[0], True)
        self.unmatched.pop(product.id, None)
        # Made without Observation's own __new__ (keywords, a Python call per price):
        # its fields in order.
        sample_size = row.sample_size
        self.observations.extend(
            _make(
                Observation,
                (
                    card_id,
                    SOURCE,
                    price_key,
                    cents,
                    observed_at,
                    _CURRENCY,
                    None,
                    None,
                    sample_size,
                ),
            )
            for price_key, cents in row.prices.items()
        )

    def _count_waiting(self, status: str, code: str, console_name: str) -> None:
        counts = self.counts
        waiting = counts.consoles[console_name]
        if status == AMBIGUOUS:
            counts.ambiguous += 1
            waiting[1] += 1
        else:
            counts.unmatched += 1
            waiting[0] += 1
        counts.reasons[code] += 1

    def _note(self, messages: list[str], line: int, text: str) -> None:
        if len(messages) < JobRun.MAX_ERRORS:
            where = f"{self.name}:{line}" if line else self.name
            messages.append(f"{where}: {text}"[:500])

    # Writing, in batches

    def write_prices(self) -> None:
        """Send the prices read since the last batch to be written (in the background:
        BatchWriter). The PriceCharting ids stored and the waiting rows resolved by a
        batch's rows are written once its prices are: no row is resolved, no card given
        its id, for prices that failed to be written."""
        if not (self.observations or self.new_ids or self.resolutions):
            return
        after = functools.partial(self._after_prices, self.new_ids, self.resolutions)
        self.prices.submit(self.observations, then=after)
        self.observations, self.new_ids, self.resolutions = [], [], []

    def _after_prices(
        self, new_ids: list[tuple[int, str]], resolutions: list[tuple[int, int]]
    ) -> None:
        self._store_ids(new_ids)
        self._resolve(resolutions)

    def _store_ids(self, new_ids: list[tuple[int, str]]) -> None:
        for start in range(0, len(new_ids), UPDATES_PER_QUERY):
            batch = dict(new_ids[start : start + UPDATES_PER_QUERY])
            # Only where still blank: an id set meanwhile (by staff) is never overwritten.
            self.counts.ids_stored += Card.objects.filter(pk__in=batch, pricecharting_id="").update(
                pricecharting_id=Case(
                    *[When(pk=card_id, then=Value(pid)) for card_id, pid in batch.items()],
                    output_field=CharField(),
                )
            )

    def _resolve(self, resolutions: list[tuple[int, int]]) -> None:
        now = timezone.now()
        for start in range(0, len(resolutions), UPDATES_PER_QUERY):
            batch = dict(resolutions[start : start + UPDATES_PER_QUERY])
            self.counts.resolved += UnmatchedRow.objects.filter(
                pk__in=batch, resolved_at__isnull=True
            ).update(
                resolved_at=now,
                matched_card=Case(
                    *[When(pk=pk, then=Value(card_id)) for pk, card_id in batch.items()],
                    output_field=IntegerField(),
                ),
            )

    def write_unmatched(self) -> None:
        """Upsert the waiting rows that do not stand so already (no model instances) and
        replace their candidates."""
        if not self.unmatched:
            return
        pending, self.unmatched = self.unmatched, {}
        stored = self.stored.read(list(pending))
        rows = []
        for product_id, (signature, observed_at, code, digest, from_line) in pending.items():
            known = stored.get(product_id)
            if known and not known.resolved and known.signature == signature:
                # As it stands (its prices too, so their date stays): not rewritten. Read
                # from a line that differs (in a column it does not keep), it keeps this
                # line's digest, so that the line is skipped when it repeats.
                if from_line and (known.digest, known.code) != (digest, code):
                    self.redigested.append((known.pk, digest, code))
                continue
            rows.append((product_id[:64], signature, observed_at, code, digest))
        if not rows:
            return
        values = self._unmatched_values(rows)
        ids: dict[str, int] = {}
        with transaction.atomic(), connection.cursor() as cursor:
            if _copies():
                ids.update(_upsert_unmatched_copied(cursor, values))
            else:
                for start in range(0, len(values), UNMATCHED_ROWS_PER_QUERY):
                    batch = values[start : start + UNMATCHED_ROWS_PER_QUERY]
                    ids.update(_upsert_unmatched(cursor, batch))
            through = UnmatchedRow.candidates.through
            through.objects.filter(unmatchedrow_id__in=ids_in(list(ids.values()))).delete()
            through.objects.bulk_create(
                [
                    through(unmatchedrow_id=ids[external_id], card_id=card_id)
                    for external_id, signature, *_ in rows
                    for card_id in signature[-1]
                ],
                batch_size=1000,
            )
        for external_id, *_ in rows:
            self.stored.ids[external_id] = (ids[external_id], False)

    def _unmatched_values(self, rows: list[tuple]) -> list[tuple]:
        """The waiting rows' values, in the order of UNMATCHED_COLUMNS."""
        ops = connection.ops
        run_id = self.run.pk
        now = ops.adapt_datetimefield_value(timezone.now())
        moments: dict[dt.datetime, object] = {}
        values = []
        for external_id, signature, observed_at, code, digest in rows:
            moment = moments.get(observed_at)
            if moment is None:
                moment = moments[observed_at] = ops.adapt_datetimefield_value(observed_at)
            reason, detail, prices, *fields, _candidates = signature
            values.append(
                (SOURCE, external_id, reason, detail, json.dumps(prices), *fields)
                + (moment, code, digest, run_id, now, now)
            )
        return values

    def write_digests(self) -> None:
        """The new line digests (and reason codes) of rows read again as they stand."""
        if not self.redigested:
            return
        rows, self.redigested = self.redigested, []
        if connection.vendor == "postgresql":
            # As arrays: all of a file's rows get theirs after an upgrade, 60,000 in the
            # Pokémon guide, which a CASE per row would take seconds to build.
            with connection.cursor() as cursor:
                cursor.execute(_REDIGEST_SQL, [list(column) for column in zip(*rows, strict=True)])
            return
        for start in range(0, len(rows), UPDATES_PER_QUERY):
            batch = rows[start : start + UPDATES_PER_QUERY]
            UnmatchedRow.objects.filter(pk__in=[pk for pk, _, _ in batch]).update(
                line_digest=Case(
                    *[When(pk=pk, then=Value(digest)) for pk, digest, _ in batch],
                    output_field=BigIntegerField(),
                ),
                code=Case(
                    *[When(pk=pk, then=Value(code)) for pk, _, code in batch],
                    output_field=CharField(),
                ),
            )

    # The run's record

    def report_progress(self) -> None:
        run, counts = self.run, self.counts
        run.progress_done = counts.rows
        run.fetched = counts.rows
        run.written = counts.written.written
        run.unchanged = counts.written.unchanged
        run.rejected = counts.rejected_rows + counts.written.rejected
        self.save_run(
            run, ["progress_done", "progress_total", "fetched", "written", "unchanged", "rejected"]
        )
        if self.progress:
            self.progress(run)

    def finish(self) -> None:
        run, counts = self.run, self.counts
        run.progress_total = counts.rows
        self.report_progress()
        errors = self.errors + counts.written.errors
        run.errors = (errors + self.warnings)[: JobRun.MAX_ERRORS]
        run.report = counts.report()
        run.description = self.summary()[:200]
        run.status = JobRun.Status.PARTIAL if run.rejected else JobRun.Status.SUCCEEDED
        run.finished_at = timezone.now()
        self.save_run(run, None)

    def summary(self) -> str:
        c = self.counts
        text = (
            f"{self.name}: {c.rows} rows, {c.matched} matched, {c.unmatched} unmatched, "
            f"{c.ambiguous} ambiguous, {c.rejected_rows} rejected"
        )
        return text + (" (dry run: nothing written)" if self.dry_run else "")


def import_price_guide(
    source: str | Path | Iterable[str | bytes],
    *,
    job_run: JobRun | None = None,
    observed_on: dt.date | None = None,
    dry_run: bool = False,
    progress: Callable[[JobRun], None] | None = None,
    game: str | None = None,
    name: str | None = None,
    secrets: list[str] | None = None,
) -> JobRun:
    """Import a price guide from a local file path or an iterable of lines (str or bytes).

    Returns the finished JobRun: succeeded, partial (some rows rejected) or failed (the
    file could not be read or downloaded; the error is on the run). Unexpected errors
    mark the run failed and are raised. A dry run matches and counts inside a
    transaction that is rolled back; its run is not saved unless one was passed in.
    """
    if secrets is None:
        secrets = SourceConfig.from_settings(SOURCE).secrets
    if isinstance(source, str | Path):
        path = Path(source)
        name = name or path.name
        lines: Iterable[str] = file_lines(path)
        total = max(count_lines(path) - 1, 0) if path.is_file() else None
    else:
        name = name or "price guide"
        lines = decoded(source)
        total = None
    observed_at = day_start(observed_on) if observed_on else observed_today()

    save = job_run is not None or not dry_run

    def save_run(run: JobRun, fields: list[str] | None) -> None:
        if save:
            run.save(update_fields=fields)

    run = job_run or JobRun(kind=JobRun.Kind.PRICE_IMPORT, source=Source.PRICECHARTING)
    run.kind, run.source = JobRun.Kind.PRICE_IMPORT, Source.PRICECHARTING
    run.status = JobRun.Status.RUNNING
    run.description = f"{name}{' (dry run)' if dry_run else ''}"[:200]
    run.progress_total = total
    run.observed_on = observed_at.date()
    if save:
        runs.interrupt_stale(kind=run.kind, source=run.source)
        run.save()
    with runs.running(run) if save else contextlib.nullcontext():
        _import(run, lines, name, observed_at, game, dry_run, progress, save_run, secrets)
    return run


def _import(run, lines, name, observed_at, game, dry_run, progress, save_run, secrets) -> None:
    importer = None
    try:
        with (
            fewer_collections(),
            transaction.atomic() if dry_run else contextlib.nullcontext(),
        ):
            importer = GuideImport(
                run,
                name=name,
                observed_at=observed_at,
                game=game,
                dry_run=dry_run,
                progress=progress,
                save_run=save_run,
            )
            importer.feed(read_guide(lines, importer.repeats, importer.index.fingerprint))
            if dry_run:
                transaction.set_rollback(True)
        importer.finish()
    except (GuideFormatError, SourceError, OSError, UnicodeError) as exc:
        fail_run(run, f"{name}: {exc}", secrets, importer, save_run)
    except Exception as exc:
        fail_run(run, f"{name}: unexpected error: {exc!r}", secrets, importer, save_run)
        raise
    finally:
        # Once for the whole file (alerts checked, movers ranked), also for what a run
        # that failed halfway did write.
        if importer is not None and not dry_run:
            announce_changes(importer.counts.written.changed_card_ids)


def fail_run(run: JobRun, message: str, secrets, importer, save_run) -> None:
    message = scrub(message, secrets)
    logger.warning("PriceCharting import failed: %s", message)
    if importer is not None:
        counts = importer.counts
        run.fetched = counts.rows
        run.progress_done = counts.rows
        run.written = counts.written.written
        run.unchanged = counts.written.unchanged
        run.rejected = counts.rejected_rows + counts.written.rejected
        run.errors = (importer.errors + counts.written.errors)[: JobRun.MAX_ERRORS - 1]
        run.report = counts.report()
    run.errors = [*run.errors[: JobRun.MAX_ERRORS - 1], message[:500]]
    run.status = JobRun.Status.FAILED
    run.finished_at = timezone.now()
    save_run(run, None)


def import_category(
    category: str,
    *,
    url: str | None = None,
    client: PriceChartingClient | None = None,
    **options,
) -> JobRun:
    """Download PriceCharting's price guide for a category (or from `url`) and import it
    while it streams in."""
    client = client or PriceChartingClient()
    game = PRICE_GUIDE_CATEGORIES.get(category) if category else None
    name = options.pop("name", None) or f"{category or 'price guide'} (download)"
    return import_price_guide(
        client.price_guide_lines(category, url=url),
        name=name,
        game=game,
        secrets=client.config.secrets,
        **options,
    )
