"""Reading query parameters strictly: anything unusable is a 400 naming the parameter.

A blank value counts as absent, as it does in the site's own forms.
"""

from api.http import bad_parameter
from tcgtracker.lib.text import has_control_characters

MAX_TEXT_LENGTH = 200
# Far past any catalog, far below what a database's OFFSET can hold.
MAX_OFFSET = 1_000_000


def text(request, name: str, *, max_length: int = MAX_TEXT_LENGTH) -> str:
    value = request.GET.get(name, "").strip()
    if len(value) > max_length:
        raise bad_parameter(name, f"{name} is longer than {max_length} characters.")
    if has_control_characters(value):
        raise bad_parameter(name, f"{name} contains control characters.")
    return value


def choice(request, name: str, choices, default: str = "") -> str:
    value = text(request, name)
    if not value:
        return default
    if value not in choices:
        options = ", ".join(choices)
        raise bad_parameter(name, f"Unknown {name} {value!r}: use one of {options}.")
    return value


def integer(request, name: str, *, default: int, minimum: int, maximum: int) -> int:
    value = text(request, name)
    if not value:
        return default
    if not value.isascii() or not value.isdigit():
        raise bad_parameter(
            name, f"{name} must be a whole number from {minimum} to {maximum}, not {value!r}."
        )
    number = int(value)
    if not minimum <= number <= maximum:
        raise bad_parameter(name, f"{name} must be from {minimum} to {maximum}, not {number}.")
    return number


def page(request, *, default_limit: int = 20, max_limit: int = 100) -> tuple[int, int]:
    """(limit, offset)."""
    limit = integer(request, "limit", default=default_limit, minimum=1, maximum=max_limit)
    offset = integer(request, "offset", default=0, minimum=0, maximum=MAX_OFFSET)
    return limit, offset
