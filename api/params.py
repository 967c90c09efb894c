"""Query and path parameters, each declared once as a pydantic type: its validator reads
the value strictly — anything unusable is a 400 naming the parameter (api.ninja_api turns
the validation error into it) — and its constraints are what the OpenAPI document says.

A blank value counts as absent, as it does in the site's own forms: the validator answers
the default for it.
"""

from collections.abc import Sequence
from typing import Annotated

from django.urls import register_converter
from pydantic import BeforeValidator, Field, ValidationInfo, WithJsonSchema
from pydantic_core import PydanticCustomError

from tcgtracker.lib.text import CONTROL_CHARACTER_RANGE, has_control_characters, parse_id

MAX_TEXT_LENGTH = 200
# Far past any catalog, far below what a database's OFFSET can hold.
MAX_OFFSET = 1_000_000
NO_CONTROL_CHARACTERS = f"^[^{CONTROL_CHARACTER_RANGE}]*$"


def invalid(message: str) -> PydanticCustomError:
    # The message goes in as context: the template itself would read braces in it.
    return PydanticCustomError("invalid_parameter", "{message}", {"message": message})


def _read_text(value, info: ValidationInfo, max_length: int) -> str:
    name = info.field_name
    if not isinstance(value, str):
        raise invalid(f"{name} must be text.")
    value = value.strip()
    if len(value) > max_length:
        raise invalid(f"{name} is longer than {max_length} characters.")
    if has_control_characters(value):
        raise invalid(f"{name} contains control characters.")
    return value


def text(max_length: int = MAX_TEXT_LENGTH):
    """Free text: stripped, at most `max_length` characters, no control characters."""

    def read(value, info: ValidationInfo) -> str:
        return _read_text(value, info, max_length)

    # Constraints before the validator, or pydantic leaves the pattern out of the schema.
    return Annotated[
        str,
        Field(max_length=max_length, pattern=NO_CONTROL_CHARACTERS),
        BeforeValidator(read),
    ]


def choice(choices: Sequence[str], default: str = ""):
    """One of `choices`; blank is `default`."""
    options = list(choices)

    def read(value, info: ValidationInfo) -> str:
        value = _read_text(value, info, MAX_TEXT_LENGTH)
        if not value:
            return default
        if value not in options:
            raise invalid(f"Unknown {info.field_name} {value!r}: use one of {', '.join(options)}.")
        return value

    return Annotated[str, Field(json_schema_extra={"enum": options}), BeforeValidator(read)]


def integer(*, default: int, minimum: int, maximum: int):
    """A whole number in ASCII digits from `minimum` to `maximum`; blank is `default`."""

    def read(value, info: ValidationInfo) -> int:
        name = info.field_name
        value = _read_text(value, info, MAX_TEXT_LENGTH) if isinstance(value, str) else value
        if value == "":
            return default
        if not isinstance(value, str) or not value.isascii() or not value.isdigit():
            raise invalid(
                f"{name} must be a whole number from {minimum} to {maximum}, not {value!r}."
            )
        number = int(value)
        if not minimum <= number <= maximum:
            raise invalid(f"{name} must be from {minimum} to {maximum}, not {number}.")
        return number

    return Annotated[int, Field(ge=minimum, le=maximum), BeforeValidator(read)]


def limit(default: int, maximum: int):
    return Annotated[
        integer(default=default, minimum=1, maximum=maximum),
        Field(description=f"How many results (at most {maximum})."),
    ]


Offset = Annotated[
    integer(default=0, minimum=0, maximum=MAX_OFFSET),
    Field(description="How many results to skip."),
]


class DigitsConverter:
    """An id in a path: 1 to 30 ASCII digits (longer is no route at all, a JSON 404). The
    view reads the digits with `object_id`, which tells a real id from 0 or an overflow."""

    regex = "[0-9]{1,30}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value) -> str:
        return str(value)


register_converter(DigitsConverter, "digits")


def object_id(not_found):
    """A path id as a pydantic type: an id no row can have (0, past 64 bits) raises
    `not_found(raw)` — the same 404 as a missing row — rather than a 400."""

    def read(value):
        found = parse_id(value)
        if found is None:
            raise not_found(value)
        return found

    return Annotated[int, BeforeValidator(read), WithJsonSchema({"type": "integer", "minimum": 1})]
