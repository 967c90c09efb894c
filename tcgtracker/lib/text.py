"""Text that arrives from outside — query strings, paths, form fields — read one way
everywhere: pages (tcgtracker.middleware) and the JSON API (api.params) alike.
"""

import re

# C0 control characters: PostgreSQL text cannot hold NUL, and none of the others means
# anything in a search, a code or an id. (Form fields with free text — notes — are read by
# Django forms, which refuse NUL themselves and keep line breaks.)
CONTROL_CHARACTER_RANGE = r"\x00-\x1f"
_CONTROL_CHARACTERS_RE = re.compile(f"[{CONTROL_CHARACTER_RANGE}]")

# The largest id a database key column (a signed 64-bit integer) holds.
MAX_ID = 2**63 - 1


def has_control_characters(value: str) -> bool:
    return _CONTROL_CHARACTERS_RE.search(value) is not None


def parse_id(raw, *, maximum: int = MAX_ID) -> int | None:
    """A database id typed or linked by someone: ASCII digits only, 1 to `maximum`; else
    None. ("²" passes str.isdigit() but not int(); a 30-digit number fits no column.)"""
    if raw is None:
        return None
    text = str(raw).strip()
    if not text.isascii() or not text.isdigit() or len(text.lstrip("0")) > len(str(maximum)):
        return None
    value = int(text)
    return value if 1 <= value <= maximum else None


def checks_control_characters(view):
    """Marks a view that reads its query parameters strictly itself and answers their
    control characters in its own format (the JSON API), so the pages' middleware
    (tcgtracker.middleware.ControlCharactersMiddleware) leaves it alone."""
    view.checks_control_characters = True
    return view
