"""The collection file formats we read, told apart by their header row; one module each."""

import csv
import io
from collections.abc import Callable

from collections_app.exporting import unescape_cell
from collections_app.importing import collectr, own_csv, tcgplayer
from collections_app.importing.rows import FileFormat, KeyDict, ParsedRow, column_key, first_record
from collections_app.importing.values import ImportFileError
from collections_app.models import CollectionImport

PROGRESS_EVERY = 500
FORMATS = [own_csv.FORMAT, collectr.FORMAT, tcgplayer.FORMAT]
FORMATS_BY_KEY = {spec.key: spec for spec in FORMATS}
# Excel in some countries writes semicolons.
DELIMITERS = [",", ";", "\t"]


def detect_format(text: str) -> tuple[FileFormat, str]:
    """The format named by the header row, and the delimiter (Excel in some countries
    writes semicolons). ImportFileError naming the formats we know otherwise."""
    best: tuple[int, FileFormat, set[str]] | None = None
    for delimiter in DELIMITERS:
        header = {column_key(cell) for cell in first_record(text, delimiter)}
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


def parse_file(
    text: str, progress: Callable[[int, int], None] | None = None
) -> tuple[FileFormat, list[ParsedRow]]:
    """Every data row of the file, validated (not yet matched). `progress(done, total)`
    hears how far it is: once with 0 rows done, then every PROGRESS_EVERY rows."""
    spec, delimiter = detect_format(text)
    unescape = unescape_cell if spec.key == CollectionImport.Format.OWN else str
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    records = []
    try:
        header = [column_key(name) for name in next(reader)]
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
        rows.append(spec.parse_row(line, reader_of(cells)))
        if progress and done % PROGRESS_EVERY == 0 and done < total:
            progress(done, total)
    return spec, rows
