"""Price keys: what a price is of — a raw condition or a grade.

Canonical strings, stored on every price point and summary:

    ungraded                  any raw copy (PriceCharting's "loose")
    NM, LP, MP, HP, DMG       raw condition (TCGplayer / JustTCG scale)
    PSA 10, BGS 9.5, CGC 10   grader and grade
    ANY 9                     a grade from any grader (PriceCharting below 10)
    BGS 10 black label        grade with a label (pristine, black label)
"""

import functools
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

UNGRADED = "ungraded"
CONDITIONS = ["NM", "LP", "MP", "HP", "DMG"]
CONDITION_NAMES = {
    "NM": "Near Mint",
    "LP": "Lightly Played",
    "MP": "Moderately Played",
    "HP": "Heavily Played",
    "DMG": "Damaged",
}
GRADERS = ["PSA", "BGS", "CGC", "SGC", "TAG", "ACE", "ANY"]
LABELS = ["pristine", "black label"]

GRADE_RE = re.compile(
    r"^(?P<grader>[A-Z]+) (?P<grade>\d{1,2}(?:\.5)?)(?: (?P<label>pristine|black label))?$"
)


@dataclass(frozen=True, order=True)
class PriceKey:
    """Parsed form of a price key string, ordered raw first, then by grade."""

    sort_group: int
    sort_value: Decimal
    key: str

    @property
    def is_graded(self) -> bool:
        return self.sort_group == 2

    @property
    def label(self) -> str:
        if self.key == UNGRADED:
            return "Ungraded"
        if self.key in CONDITION_NAMES:
            return f"{CONDITION_NAMES[self.key]} ({self.key})"
        if self.key.startswith("ANY "):
            return f"Grade {self.key[4:]} (any grader)"
        return self.key.replace("black label", "Black Label").replace("pristine", "Pristine")


def graded(grader: str, grade: str | Decimal, label: str = "") -> str:
    """The key for a grade: graded("PSA", "10") == "PSA 10"."""
    key = f"{grader.upper()} {normalise_grade(grade)}"
    return f"{key} {label.lower()}" if label else key


def normalise_grade(grade: str | Decimal) -> str:
    try:
        value = Decimal(str(grade)).normalize()
    except InvalidOperation:
        raise ValueError(f"not a grade: {grade!r}") from None
    # NaN cannot even be compared (Decimal raises InvalidOperation); Infinity is no grade.
    if not value.is_finite():
        raise ValueError(f"not a grade: {grade!r}")
    if value < 1 or value > 10 or value * 2 != (value * 2).to_integral_value():
        raise ValueError(f"grades run from 1 to 10 in half steps, not {grade!r}")
    return format(value, "f")


@functools.lru_cache(maxsize=1024)
def parse(key: str) -> PriceKey:
    """Validate a key string; ValueError for anything that is not canonical."""
    if key == UNGRADED:
        return PriceKey(0, Decimal(0), key)
    if key in CONDITIONS:
        return PriceKey(1, Decimal(CONDITIONS.index(key)), key)
    match = GRADE_RE.match(key)
    if not match or match["grader"] not in GRADERS:
        raise ValueError(f"not a price key: {key!r}")
    grade = normalise_grade(match["grade"])
    if grade != match["grade"]:
        raise ValueError(f"not a canonical grade in {key!r}")
    # Higher grades first; a label outranks the plain grade.
    rank = -Decimal(grade) - (Decimal("0.1") if match["label"] else 0)
    return PriceKey(2, rank, key)


def is_valid(key: str) -> bool:
    try:
        parse(key)
    except ValueError:
        return False
    return True


def label(key: str) -> str:
    try:
        return parse(key).label
    except ValueError:
        return key


def sort_key(key: str) -> PriceKey:
    try:
        return parse(key)
    except ValueError:
        return PriceKey(9, Decimal(0), key)
