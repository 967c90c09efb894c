"""The grading helper: is a raw copy of this card worth sending to a grader?

Compares the card's raw price (its headline price, prices.headline) with what graded
copies sell for — PSA 9 and PSA 10 where they are priced, else the two best grades known —
less the cost of grading. A grade "pays off" when a copy of that grade sells for more
than the raw copy plus the grading cost; the lowest such grade is the break-even grade.
Shown only where the card has a raw and at least one graded price.

Everything here works on prices already read (the card page's summaries): no queries.
"""

import re
from dataclasses import dataclass
from decimal import Decimal

from prices import headline, keys
from prices.models import PriceSummary

PREFERRED_GRADES = ["PSA 9", "PSA 10"]
BEST_GRADES_SHOWN = 2
MAX_COST_DOLLARS = 10_000
COST_RE = re.compile(r"^\$?\s*([0-9]{1,5})(?:\.([0-9]{1,2}))?$")


@dataclass(frozen=True)
class GradeOutcome:
    """One grade against the raw copy."""

    price: PriceSummary
    raw_market: int
    cost: int

    @property
    def key(self) -> str:
        return self.price.price_key

    @property
    def label(self) -> str:
        return keys.label(self.key)

    @property
    def multiple(self) -> float:
        """How many times the raw price a copy of this grade sells for."""
        return self.price.market / self.raw_market if self.raw_market else 0.0

    @property
    def net(self) -> int:
        """Cents grading adds over selling the copy raw: this grade's price, less the raw
        price and the grading cost. Negative: grading loses money at this grade."""
        return self.price.market - self.raw_market - self.cost

    @property
    def pays_off(self) -> bool:
        return self.net > 0


@dataclass(frozen=True)
class GradingOutlook:
    raw: PriceSummary
    outcomes: list[GradeOutcome]  # lowest grade first
    cost: int  # cents

    @property
    def break_even_price(self) -> int:
        """A graded copy must sell for more than this (cents) for grading to pay."""
        return self.raw.market + self.cost

    @property
    def paying(self) -> list[GradeOutcome]:
        return [outcome for outcome in self.outcomes if outcome.pays_off]

    @property
    def break_even_grade(self) -> GradeOutcome | None:
        """The lowest grade shown at which grading pays off."""
        return self.paying[0] if self.paying else None

    @property
    def verdict(self) -> str:
        paying = [outcome.label for outcome in self.paying]
        shown = [outcome.label for outcome in self.outcomes]
        if not paying:
            return f"Grading does not pay off at {_either(shown)}"
        if len(paying) == 1 and len(shown) > 1:
            return f"Grading pays off at {paying[0]} only"
        return f"Grading pays off at {_both(paying)}"

    @property
    def simulated(self) -> bool:
        return self.raw.is_simulated or any(o.price.is_simulated for o in self.outcomes)


def _either(labels: list[str]) -> str:
    return labels[0] if len(labels) == 1 else f"{', '.join(labels[:-1])} or {labels[-1]}"


def _both(labels: list[str]) -> str:
    return labels[0] if len(labels) == 1 else f"{', '.join(labels[:-1])} and {labels[-1]}"


def grade_prices(prices: list[PriceSummary]) -> list[PriceSummary]:
    """The grades to compare, lowest first, one price each (the most trusted source's,
    in USD): PSA 9 and PSA 10 where either is priced, else the best two grades known."""
    best: dict[str, PriceSummary] = {}
    for summary in prices:
        if summary.currency != headline.CURRENCY or not keys.sort_key(summary.price_key).is_graded:
            continue
        current = best.get(summary.price_key)
        if current is None or headline.preference(summary)[1:] < headline.preference(current)[1:]:
            best[summary.price_key] = summary
    chosen = [key for key in PREFERRED_GRADES if key in best]
    if not chosen:
        # sort_key orders the highest grade first.
        chosen = sorted(best, key=keys.sort_key)[:BEST_GRADES_SHOWN]
    return [best[key] for key in sorted(chosen, key=keys.sort_key, reverse=True)]


def outlook(prices: list[PriceSummary], cost: int) -> GradingOutlook | None:
    """The helper's figures for a card's current prices and a grading cost in cents; None
    where fewer than two keys are priced (no raw price, or no graded one)."""
    raw = headline.choose(prices)
    grades = grade_prices(prices)
    if raw is None or not raw.market or not grades:
        return None
    return GradingOutlook(
        raw=raw,
        outcomes=[GradeOutcome(price, raw.market, cost) for price in grades],
        cost=cost,
    )


def parse_cost(raw: str) -> int | None:
    """A grading cost typed in dollars ("25", "$12.50") as cents; None for anything else
    or above MAX_COST_DOLLARS."""
    match = COST_RE.match((raw or "").strip())
    if not match:
        return None
    dollars = Decimal(match[1]) + Decimal(f"0.{match[2] or 0}")
    if dollars > MAX_COST_DOLLARS:
        return None
    return int(dollars * 100)


def format_cost(cents: int) -> str:
    """Cents as the dollars a cost field shows: "25", "12.50"."""
    dollars, rest = divmod(cents, 100)
    return f"{dollars}.{rest:02d}" if rest else str(dollars)
