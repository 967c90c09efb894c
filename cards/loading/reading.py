"""Reading a catalog file: its format told by the CSV header or the JSON keys, each record
parsed by that format, and every unreadable or duplicate record rejected with its line."""

import codecs
import csv
import io
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cards.loading.formats import FORMATS
from cards.loading.records import SETS, CardRow, Format, Row, SetRow, json_type
from cards.loading.reports import FileReport, Rejection


class FileProblem(Exception):
    """The file as a whole cannot be loaded; the message completes "<file>: ..."."""


# A record as read: (position, the record, or a reason it cannot be read as one).
Record = tuple[int, Mapping[str, object] | None, str | None]


@dataclass
class Source:
    """A file's (or an API response's) rows, parsed and ready to be compared and written."""

    report: FileReport
    format: Format | None = None
    unit: str = "line"
    rows: list[tuple[int, SetRow | CardRow]] = field(default_factory=list)

    def reject(self, position: int, reason: str) -> None:
        self.report.rejections.append(Rejection(self.report.name, position, reason, self.unit))
        counts = self.report.sets if self.format.target == SETS else self.report.cards
        counts.rejected += 1


def csv_format(header: Sequence[str]) -> Format:
    """The one format whose columns the header has; extra columns are ignored."""
    matches = [fmt for fmt in FORMATS.values() if fmt.fits_header(header)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        names = " and ".join(fmt.name for fmt in matches)
        raise FileProblem(f"header fits more than one catalog format ({names})")
    shown = ",".join(header)
    shown = shown if len(shown) <= 80 else shown[:77] + "..."
    known = " | ".join(",".join(fmt.columns) for fmt in FORMATS.values() if fmt.columns)
    raise FileProblem(f"header ({shown}) matches no catalog format; known headers: {known}")


def json_format(item: Mapping[str, object]) -> Format | None:
    return next((fmt for fmt in FORMATS.values() if fmt.fits_object(set(item))), None)


def read_file(path: Path) -> Source:
    report = FileReport(path.name)
    try:
        text = read_text(path)
        if text.lstrip().startswith(("[", "{")):
            fmt, records = json_records(text)
            unit = "item"
        else:
            fmt, records = csv_records(text)
            unit = "line"
    except FileProblem as problem:
        report.error = str(problem)
        return Source(report)
    report.format = fmt.name
    return parse(fmt, report, unit, records)


def read_text(path: Path) -> str:
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


def csv_records(text: str) -> tuple[Format, list[Record]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    records: list[Record] = []
    try:
        header = [column.strip().lower() for column in next(reader)]
        repeated = sorted({column for column in header if header.count(column) > 1})
        if repeated:
            raise FileProblem(f"header repeats column {', '.join(repeated)}")
        fmt = csv_format(header)
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


def json_records(text: str) -> tuple[Format, list[Record]]:
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
    fmt = json_format(first)
    if fmt is None:
        keys = ", ".join(sorted(first)[:12])
        raise FileProblem(
            f"JSON objects with keys ({keys}) match no catalog format; expected Pokémon TCG "
            "API sets or cards, or OPTCG API sets or cards"
        )
    return fmt, list(json_items(data))


def json_items(items: Iterable[object]) -> Iterator[Record]:
    for position, item in enumerate(items, 1):
        if isinstance(item, Mapping):
            yield position, item, None
        else:
            yield position, None, f"is {json_type(item)}, not a JSON object"


def parse(fmt: Format, report: FileReport, unit: str, records: Iterable[Record]) -> Source:
    source = Source(report, fmt, unit)
    seen: dict[object, int] = {}
    for position, record, unreadable in records:
        if record is None:
            source.reject(position, unreadable)
            continue
        row_reader = Row(record)
        row = fmt.parse(row_reader)
        if row_reader.problems:
            source.reject(position, "; ".join(row_reader.problems))
        elif row.key in seen:
            source.reject(position, f"duplicate of {unit} {seen[row.key]} ({row.describe()})")
        else:
            seen[row.key] = position
            source.rows.append((position, row))
    return source
