"""The shape every catalog format shares: how it is detected (a CSV header's columns or
a JSON object's keys), how one record (a CSV row or a JSON object) is read into typed
values with every problem collected, and what a format makes of it: a set or a card row.
Each format module (pokemon_csv, pokemontcg_api, onepiece_csv, optcg_api) declares its
Formats with these."""

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import date

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from cards.models import CardSet

SETS, CARDS = "sets", "cards"
# PositiveIntegerField's upper bound on PostgreSQL; larger values would fail at write time.
MAX_INTEGER = 2_147_483_647

_URL_VALIDATOR = URLValidator(schemes=["http", "https"])
_DATE = re.compile(r"([0-9]{4})([-/])([0-9]{1,2})\2([0-9]{1,2})")


def limit(model, field_name: str) -> int:
    return model._meta.get_field(field_name).max_length


class Row:
    """Reads one CSV row or JSON object into typed values, collecting every problem: a
    format reads what it needs, and a row with problems is rejected with all of them."""

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
                self.problems.append(f"{parent} should be an object, not {json_type(value)}")
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
            self.problems.append(f"{key} should be text, not {json_type(value)}")
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


def json_type(value: object) -> str:
    names = {dict: "an object", list: "an array", bool: "true/false", float: "a number"}
    return next((name for kind, name in names.items() if isinstance(value, kind)), "text")


def pricecharting_name(row: Row) -> str:
    """Our CSV files may name each set as PriceCharting does (its console-name)."""
    return row.text("pricecharting_name", limit(CardSet, "pricecharting_name"))


def known(**values: object) -> dict[str, object]:
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


@dataclass(frozen=True)
class Format:
    """A catalog format: told by its CSV header (every column in `columns`, extras
    ignored) or, for JSON, by the keys of its objects (`detect`); `parse` turns one record
    into a row, leaving any problem on the Row."""

    name: str
    game: str
    target: str  # SETS or CARDS
    parse: Callable[[Row], SetRow | CardRow]
    columns: tuple[str, ...] = ()  # the header of a CSV format; empty for JSON formats
    detect: Callable[[Collection[str]], bool] | None = None  # JSON formats: by object keys

    def fits_header(self, header: Collection[str]) -> bool:
        return bool(self.columns) and set(self.columns) <= set(header)

    def fits_object(self, keys: Collection[str]) -> bool:
        return self.detect is not None and self.detect(keys)


def header(line: str) -> tuple[str, ...]:
    return tuple(line.split(","))
