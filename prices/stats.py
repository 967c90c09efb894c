"""A card's price statistics over a period: per source, price key and currency, the
average, median, low and high, the volatility, the trend and how many observations they
rest on. The card page shows them beside the chart; the API answers them at
/api/v1/cards/{id}/stats.

One query per card, the chart's own (prices.history.read_period): the period's points
summed up per line and UTC day (count, mean, lowest and highest market), so what the
statistics read grows with the days, never with the observations of a day. From those:

- observations: every point of the period; low and high: the lowest and highest market
  observed (the true extremes, not daily averages).
- average and median: of the daily prices — a day's price is the average of its
  observations, so an hourly-synced week does not outweigh a year of daily prices.
- volatility: the sample standard deviation of daily log returns, ln(p[d] / p[d-1]),
  annualised by √365 (cards trade every day of the year). Two days with a price that are
  k days apart (a gap) give one return divided by √k, a random walk's spread growing with
  the square root of time; pairs more than MAX_RETURN_GAP_DAYS apart are left out. It needs
  MIN_RETURNS returns. 40 % means a typical year moves the price by about ±40 %.
- trend: the least-squares slope of ln(daily price) over time, as % per month (30.44
  days), with a 95 % confidence interval from the slope's standard error and Student's t.
  The word: "too little data" under MIN_TREND_DAYS days with a price or when they span
  less than MIN_TREND_SPAN_DAYS days; "flat" when the interval includes 0 or the slope is
  under FLAT_PERCENT_PER_MONTH either way; else "rising" or "falling".

A zero price (no market) has no logarithm: it counts in the observations, low and average,
and is left out of volatility and trend.
"""

import datetime as dt
import math
import statistics
from dataclasses import dataclass
from itertools import repeat
from operator import mul, sub, truediv
from typing import NamedTuple

from prices import history
from prices.history import DailyPrice, Line
from prices.models import Source

DAYS_PER_YEAR = 365
DAYS_PER_MONTH = 365.25 / 12
MIN_RETURNS = 5
MAX_RETURN_GAP_DAYS = 7
MIN_TREND_DAYS = 7
MIN_TREND_SPAN_DAYS = 14
FLAT_PERCENT_PER_MONTH = 1.0

# For the help text beside the figures.
RULES = {
    "min_returns": MIN_RETURNS,
    "min_trend_days": MIN_TREND_DAYS,
    "min_trend_span_days": MIN_TREND_SPAN_DAYS,
    "flat_percent": f"{FLAT_PERCENT_PER_MONTH:g}",
}

RISING, FLAT, FALLING, TOO_LITTLE_DATA = "rising", "flat", "falling", "too little data"
DIRECTIONS = (RISING, FLAT, FALLING, TOO_LITTLE_DATA)

# Two-sided 95 % critical values of Student's t by degrees of freedom; between two rows the
# smaller degrees of freedom (the wider interval) applies, past the last the normal's 1.96.
T_95 = {
    1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306,
    9: 2.262, 10: 2.228, 11: 2.201, 12: 2.179, 13: 2.160, 14: 2.145, 15: 2.131, 16: 2.120,
    17: 2.110, 18: 2.101, 19: 2.093, 20: 2.086, 21: 2.080, 22: 2.074, 23: 2.069, 24: 2.064,
    25: 2.060, 26: 2.056, 27: 2.052, 28: 2.048, 29: 2.045, 30: 2.042, 40: 2.021, 60: 2.000,
    120: 1.980,
}  # fmt: skip


@dataclass(frozen=True)
class Trend:
    direction: str  # one of DIRECTIONS
    percent_per_month: float | None = None
    # The 95 % confidence interval of percent_per_month.
    interval: tuple[float, float] | None = None


@dataclass(frozen=True)
class LineStats:
    source: str
    price_key: str
    currency: str
    observations: int
    days: int  # days with a price
    first_day: dt.datetime
    last_day: dt.datetime
    average: int  # cents
    median: int  # cents
    low: int  # cents
    high: int  # cents
    volatility: float | None  # percent a year; None under MIN_RETURNS returns
    trend: Trend

    @property
    def simulated(self) -> bool:
        return self.source == Source.DEMO


def t_critical(degrees_of_freedom: int) -> float:
    if degrees_of_freedom < 1:
        raise ValueError("a t interval needs at least one degree of freedom")
    if degrees_of_freedom > max(T_95):
        return 1.96
    return T_95[max(df for df in T_95 if df <= degrees_of_freedom)]


SECONDS_PER_DAY = 86400

# The arithmetic below runs over a line's days with map() and operator's functions rather
# than comprehensions: the same operations on the same floats in the same order (so the
# same results to the bit), each pass without a Python step per day — a year of two lines
# was half a millisecond of every card page and statistics answer.


class Priced(NamedTuple):
    """The days with a price (a mean above 0), as numbers."""

    # Each day's moment in epoch seconds: whole seconds, so differences are exact, as
    # timedelta arithmetic's.
    seconds: list[float]
    prices: list[float]


def _priced(moments, prices) -> Priced:
    if not prices or min(prices) > 0:
        return Priced(list(map(dt.datetime.timestamp, moments)), list(prices))
    kept = [(moment, price) for moment, price in zip(moments, prices, strict=True) if price > 0]
    return Priced([moment.timestamp() for moment, _ in kept], [price for _, price in kept])


def _priced_days(days: list[DailyPrice]) -> Priced:
    return _priced([day.day for day in days], [day.mean for day in days])


def volatility(days: list[DailyPrice]) -> float | None:
    """Annualised volatility in percent from daily prices in day order; None with too few
    returns. See the module docstring."""
    return _volatility(_priced_days(days))


def _volatility(priced: Priced) -> float | None:
    seconds, prices = priced
    gaps = list(map(sub, seconds[1:], seconds[:-1]))
    if set(gaps) == {SECONDS_PER_DAY}:
        # A day apart each, the usual case: a return over one day is divided by √1 = 1.
        returns = list(map(math.log, map(truediv, prices[1:], prices[:-1])))
    else:
        returns = []
        for gap_seconds, before, after in zip(gaps, prices, prices[1:], strict=False):
            gap = gap_seconds // SECONDS_PER_DAY  # whole days, as timedelta.days
            if 1 <= gap <= MAX_RETURN_GAP_DAYS:
                returns.append(math.log(after / before) / math.sqrt(gap))
    if len(returns) < MIN_RETURNS:
        return None
    return _stdev(returns) * math.sqrt(DAYS_PER_YEAR) * 100


def _stdev(values: list[float]) -> float:
    """The sample standard deviation in floats: statistics.stdev() computes it in exact
    fractions, a request's worth of time for a year of returns that are floats anyway."""
    mean = math.fsum(values) / len(values)
    squares = map(pow, map(sub, values, repeat(mean)), repeat(2))  # (value - mean) ** 2
    return math.sqrt(math.fsum(squares) / (len(values) - 1))


def trend(days: list[DailyPrice]) -> Trend:
    """Least-squares slope of ln(price) over days, as % per month with its 95 % interval,
    and the word for it. See the module docstring for the rule."""
    return _trend(_priced_days(days))


def _trend(priced: Priced) -> Trend:
    seconds, prices = priced
    if len(seconds) < MIN_TREND_DAYS:
        return Trend(TOO_LITTLE_DATA)
    # (at - first) / SECONDS_PER_DAY: days since the first day.
    xs = list(map(truediv, map(sub, seconds, repeat(seconds[0])), repeat(SECONDS_PER_DAY)))
    if xs[-1] < MIN_TREND_SPAN_DAYS:
        return Trend(TOO_LITTLE_DATA)
    ys = list(map(math.log, prices))
    n = len(xs)
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    dx = list(map(sub, xs, repeat(mean_x)))  # x - mean_x
    sxx = sum(map(pow, dx, repeat(2)))
    slope = sum(map(mul, dx, map(sub, ys, repeat(mean_y)))) / sxx
    intercept = mean_y - slope * mean_x
    # (y - intercept - slope * x) ** 2
    misses = map(sub, map(sub, ys, repeat(intercept)), map(mul, repeat(slope), xs))
    residuals = sum(map(pow, misses, repeat(2)))
    margin = t_critical(n - 2) * math.sqrt(residuals / (n - 2) / sxx)
    per_month = _percent_per_month(slope)
    interval = (_percent_per_month(slope - margin), _percent_per_month(slope + margin))
    if interval[0] <= 0 <= interval[1] or abs(per_month) < FLAT_PERCENT_PER_MONTH:
        direction = FLAT
    else:
        direction = RISING if per_month > 0 else FALLING
    return Trend(direction, per_month, interval)


def _percent_per_month(log_slope_per_day: float) -> float:
    return math.expm1(log_slope_per_day * DAYS_PER_MONTH) * 100


def line_stats(source: str, price_key: str, currency: str, days: list[DailyPrice]) -> LineStats:
    """The statistics of one line from its daily prices, in day order (at least one)."""
    # The days' fields as columns, in one pass; the priced days once for both volatility
    # and trend.
    moments, prices, observations, lowest, highest, *_ = zip(*days, strict=True)
    priced = _priced(moments, prices)
    return LineStats(
        source=source,
        price_key=price_key,
        currency=currency,
        observations=sum(observations),
        days=len(days),
        first_day=days[0].day,
        last_day=days[-1].day,
        average=round(statistics.fmean(prices)),
        median=round(statistics.median(prices)),
        low=min(lowest),
        high=max(highest),
        volatility=_volatility(priced),
        trend=_trend(priced),
    )


def stats_of(days: dict[Line, list[DailyPrice]]) -> list[LineStats]:
    """Every line's statistics from its daily prices (prices.history.read_period's), in
    the same order: by source, then raw before graded."""
    return [line_stats(*line, line_days) for line, line_days in days.items() if line_days]


def card_stats(
    card_id: int, period: str, now: dt.datetime, *, source: str = "", price_key: str = ""
) -> list[LineStats]:
    """A card's statistics over a period, optionally for one source or key. One query."""
    data = history.read_period(card_id, period, now, source=source, price_key=price_key)
    return stats_of(data.days)
