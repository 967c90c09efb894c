"""The demo source: a simulated market, so a fresh install shows the whole pipeline.

Nothing here is market data. Each (card, price key) follows its own seeded random walk:
a mean-reverting walk of the log price around a level chosen from the card's rarity and
age, stepped once a day from a fixed epoch. The same card and day always give the same
price, so re-running a sync or the backfill writes nothing new. Everything it produces is
labelled "simulated" wherever it is shown.
"""

import datetime as dt
import hashlib
import math
import random
from collections.abc import Iterable, Iterator

from django.utils import timezone

from cards.models import Card
from prices.sources.base import FetchResult, PriceClient
from prices.writing import Observation

EPOCH = dt.date(2024, 1, 1)
SOURCE = "demo"

# Typical raw prices in dollars by rarity, for a recent English print.
RARITY_LEVELS = {
    "common": 0.25,
    "uncommon": 0.5,
    "rare": 1.5,
    "rare holo": 8.0,
    "double rare": 3.0,
    "ultra rare": 10.0,
    "illustration rare": 15.0,
    "special illustration rare": 60.0,
    "hyper rare": 35.0,
    # One Piece rarities
    "c": 0.2,
    "uc": 0.4,
    "r": 1.0,
    "sr": 6.0,
    "sec": 40.0,
    "l": 2.0,
    "sp card": 50.0,
    "tr": 30.0,
    "p": 3.0,
}
DEFAULT_LEVEL = 1.0
VINTAGE_YEAR = 2003
VINTAGE_FACTOR = 12.0
PARALLEL_FACTOR = 4.0
# Daily volatility of the log price and how fast it returns to its level.
VOLATILITY = 0.025
REVERSION = 0.02


def _rng(*parts) -> random.Random:
    digest = hashlib.sha256(":".join(str(part) for part in parts).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def price_keys(card: Card) -> list[str]:
    if card.kind == Card.Kind.SEALED:
        return ["ungraded"]
    return ["ungraded", "PSA 9", "PSA 10"]


def level_cents(card: Card, price_key: str) -> float:
    """The price a card's walk hovers around."""
    if price_key == "PSA 9":
        # Between a raw copy and a PSA 10, nearer the raw copy's the rarer a 10 is.
        raw, gem = level_cents(card, "ungraded"), level_cents(card, "PSA 10")
        return max(math.sqrt(raw * gem) * _rng("level", card.pk, price_key).uniform(0.6, 1.0), 10)
    level = RARITY_LEVELS.get(card.rarity.lower(), DEFAULT_LEVEL)
    release = card.card_set.release_date
    if release and release.year < VINTAGE_YEAR:
        level *= VINTAGE_FACTOR
    if card.variant.startswith("p"):
        level *= PARALLEL_FACTOR
    rng = _rng("level", card.pk, price_key)
    level *= math.exp(rng.gauss(0, 0.5))  # cards of one rarity are not all alike
    if price_key == "PSA 10":
        level = level * rng.uniform(5, 15) + 20  # grading costs money
        # Its own draw above can put a 10 below the raw copy: at least three raw copies
        # and the grading, so that a 9 (between the two) always sits above the raw copy.
        return max(level * 100, level_cents(card, "ungraded") * 3 + 2000)
    return max(level * 100, 10)


def walk(card: Card, price_key: str, days: Iterable[dt.date]) -> Iterator[tuple]:
    """(day, market, low, high, sample size) for the given days on or after the epoch,
    ascending.

    Every day from the epoch draws the same random numbers whichever days are asked
    for, so a day's figures never depend on when or how they were computed.
    """
    wanted = sorted(day for day in set(days) if day >= EPOCH)
    if not wanted:
        return
    level = math.log(level_cents(card, price_key))
    rng = _rng("walk", card.pk, price_key)
    # A year of history for every card is millions of draws, each day's walked from the
    # epoch (make run waits for them): the draws of gauss(0, VOLATILITY),
    # uniform(0.08, 0.25) and randint(1, 40) are made here as those methods make them
    # (gauss's pairs of normal numbers included), without their per-call overhead. The
    # same numbers, and a day's figures are worked out only for the days asked for.
    random_, getrandbits = rng.random, rng.getrandbits
    exp, log, sqrt, cos, sin, two_pi = math.exp, math.log, math.sqrt, math.cos, math.sin, math.tau
    log_price = level
    pending = None  # gauss's second number of a pair
    step = EPOCH.toordinal()
    for day in wanted:
        target = day.toordinal()
        while True:
            if pending is None:
                angle = random_() * two_pi
                radius = sqrt(-2.0 * log(1.0 - random_()))
                shock, pending = cos(angle) * radius * VOLATILITY, sin(angle) * radius
            else:
                shock, pending = pending * VOLATILITY, None
            spread = random_()
            draw = getrandbits(6)
            while draw >= 40:
                draw = getrandbits(6)
            if step == target:
                break
            log_price += REVERSION * (level - log_price) + shock
            step += 1
        spread = 0.08 + (0.25 - 0.08) * spread
        cents = max(1, round(exp(log_price)))
        yield day, cents, round(cents * (1 - spread)), round(cents * (1 + spread)), 1 + draw
        log_price += REVERSION * (level - log_price) + shock
        step += 1


def observations(card: Card, days: Iterable[dt.date]) -> Iterator[Observation]:
    days = list(days)
    for price_key in price_keys(card):
        for day, market, low, high, sample_size in walk(card, price_key, days):
            yield Observation(
                card_id=card.pk,
                source=SOURCE,
                price_key=price_key,
                market=market,
                low=low,
                high=high,
                sample_size=sample_size,
                observed_at=dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC),
            )


class DemoClient(PriceClient):
    name = "demo"
    label = "Demo (simulated)"
    qualifier = "simulated"

    @property
    def is_configured(self) -> bool:
        return True

    def fetch(self, cards: list[Card]) -> FetchResult:
        today = timezone.now().date()
        result = FetchResult()
        for card in cards:
            result.observations.extend(observations(card, [today]))
            result.checked.add(card.pk)
        return result


def history_days(days: int, today: dt.date | None = None) -> list[dt.date]:
    today = today or timezone.now().date()
    return [today - dt.timedelta(days=offset) for offset in range(days, -1, -1)]
