"""CSV imports into a collection: decode, detect the format, validate, match, commit.

An upload becomes a CollectionImport holding the decoded text. The read job
(`read_import`, queued by the upload) parses every line, validates the item's fields
once, matches the card, and stores one ImportRow per line — matched, ambiguous (with
the candidate cards) or rejected (with the reason) — in one transaction, so a preview
never shows half a file. The user resolves or drops rows; `commit_import` then writes
every accepted row in one transaction, or nothing.

Formats are told apart by the header row, one module each: our own (own_csv; written by
collections_app.exporting, described in docs/collection-csv.md), Collectr's export
(collectr) and TCGplayer's collection export (tcgplayer), over the shape they share
(rows: detection, a row reader, a row's problems; values: the value parsers).

Matching (matching) is set-based and never guesses; reading (reading) is the job that
builds the preview; committing (committing) writes it.
"""

from collections_app.importing.collectr import COLLECTR_COLUMNS
from collections_app.importing.committing import (
    CommitResult,
    accepted_rows,
    blocking_rows,
    choose_card,
    commit_import,
    discard_import,
)
from collections_app.importing.formats import FORMATS, PROGRESS_EVERY, detect_format, parse_file
from collections_app.importing.matching import match_rows
from collections_app.importing.reading import read_import
from collections_app.importing.tcgplayer import TCGPLAYER_COLUMNS
from collections_app.importing.values import (
    BATCH_SIZE,
    EARLIEST_PURCHASE,
    MAX_PURCHASE_CENTS,
    NOTES_MAX_LENGTH,
    CommitRefused,
    ImportFileError,
    decode_upload,
    max_upload_bytes,
    parse_condition,
    parse_date,
    parse_grading,
    parse_money,
)

__all__ = [
    "BATCH_SIZE",
    "PROGRESS_EVERY",
    "COLLECTR_COLUMNS",
    "EARLIEST_PURCHASE",
    "FORMATS",
    "MAX_PURCHASE_CENTS",
    "NOTES_MAX_LENGTH",
    "TCGPLAYER_COLUMNS",
    "CommitRefused",
    "CommitResult",
    "ImportFileError",
    "accepted_rows",
    "blocking_rows",
    "choose_card",
    "commit_import",
    "decode_upload",
    "detect_format",
    "discard_import",
    "match_rows",
    "max_upload_bytes",
    "parse_condition",
    "parse_date",
    "parse_file",
    "parse_grading",
    "parse_money",
    "read_import",
]
