"""What every collection file format shares at the level of one value: the limits an
item has, the errors an import raises, decoding an upload, and reading quantities,
conditions, grades, money, dates and flags as people and other trackers write them.
Each parser raises ValueError with a message fit to show beside the row."""

import datetime as dt
import re
import unicodedata
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from cards.models import Game
from collections_app.models import CollectionItem
from prices import keys
from prices.matching import fold
from prices.pricecharting_import import parse_release_date

# Rows written per query.
BATCH_SIZE = 2000
MAX_QUANTITY = 100_000
# What the item form accepts ($10M a copy), so an imported item can be edited as it is.
MAX_PURCHASE_CENTS = 1_000_000_000
NOTES_MAX_LENGTH = 10_000
EARLIEST_PURCHASE = dt.date(1996, 1, 1)
QUOTED_VALUE_LENGTH = 40


def max_upload_bytes() -> int:
    return settings.COLLECTION_IMPORT_MAX_BYTES


class ImportFileError(ValueError):
    """The file as a whole cannot be imported (not text, unknown header, no rows)."""


class CommitRefused(Exception):
    """Why an import cannot be committed (now or ever); nothing was written."""


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
