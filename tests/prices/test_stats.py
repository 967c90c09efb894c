"""prices.stats against values worked out by hand."""

import datetime as dt
import math

import pytest

from prices import stats
from prices.history import DailyPrice
from prices.writing import Observation, record_observations
from tests.factories import make_card

NOW = dt.datetime(2026, 3, 15, 12, tzinfo=dt.UTC)
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def daily(prices, *, start=START, gaps=None):
    """Daily prices from `start`, one day apart (or `gaps` days apart, one per step)."""
    days, day = [], start
    for index, price in enumerate(prices):
        if index and gaps:
            day += gaps[index - 1] * DAY
        elif index:
            day += DAY
        days.append(DailyPrice(day, float(price), 1, round(price), round(price)))
    return days


# --- Average, median, low, high, observations -------------------------------------------


def test_average_and_median_are_of_the_daily_prices_and_low_high_of_the_observations():
    days = [
        DailyPrice(START, 100.0, 4, 90, 110),
        DailyPrice(START + DAY, 200.0, 1, 200, 200),
        DailyPrice(START + 2 * DAY, 600.0, 2, 500, 700),
    ]

    line = stats.line_stats("pricecharting", "ungraded", "USD", days)

    assert (line.average, line.median, line.low, line.high) == (300, 200, 90, 700)
    assert (line.observations, line.days) == (7, 3)
    assert (line.first_day, line.last_day) == (START, START + 2 * DAY)
    assert line.simulated is False


def test_the_median_of_an_even_number_of_days_is_the_mean_of_the_middle_two():
    line = stats.line_stats("demo", "ungraded", "USD", daily([100, 400, 200, 301]))
    assert line.median == 250  # (200 + 301) / 2 = 250.5, rounded to even cents
    assert line.simulated is True


# --- Volatility ---------------------------------------------------------------------------


def test_volatility_is_the_annualised_stdev_of_daily_log_returns():
    # Returns +a, -a, +a, -a, +a with a = ln 1.1: mean a/5, squared deviations
    # 3 × (4a/5)² + 2 × (6a/5)² = 4.8a², over n − 1 = 4: variance 1.2a².
    a = math.log(1.1)
    expected = a * math.sqrt(1.2) * math.sqrt(365) * 100
    assert stats.volatility(daily([100, 110, 100, 110, 100, 110])) == pytest.approx(expected)
    assert expected == pytest.approx(199.47, abs=0.01)


def test_a_steady_climb_has_no_volatility():
    assert stats.volatility(daily([100 * 1.02**d for d in range(10)])) == pytest.approx(0)


def test_volatility_needs_five_returns():
    assert stats.volatility(daily([100, 110, 100, 110, 100])) is None


def test_a_return_over_a_gap_is_scaled_to_one_day_and_long_gaps_are_left_out():
    # 100 → 121 over 2 days is ln 1.21 / √2 = √2 · ln 1.1 a day; the 30-day gap drops.
    prices = [100, 110, 100, 110, 100, 121, 500]
    days = daily(prices, gaps=[1, 1, 1, 1, 2, 30])
    returns = [math.log(1.1), -math.log(1.1), math.log(1.1), -math.log(1.1)]
    returns.append(math.log(1.21) / math.sqrt(2))
    mean = sum(returns) / 5
    variance = sum((r - mean) ** 2 for r in returns) / 4
    assert stats.volatility(days) == pytest.approx(math.sqrt(variance * 365) * 100)


def test_zero_prices_are_left_out_of_volatility_and_trend():
    days = daily([0, 100, 110, 100, 110, 100, 110])
    assert stats.volatility(days) == stats.volatility(days[1:])


# --- Trend --------------------------------------------------------------------------------


def test_a_worked_least_squares_trend_with_its_interval():
    # x = 0, 5, …, 30 days; ln(price / 100) = 0, .1, .1, .2, .2, .3, .3.
    # Sxx = 700, Sxy = 7 → slope 0.01 a day; residuals ±3/140 and 4/140 → SSR = 84/19600;
    # standard error √(SSR / 5 / 700) = 0.0011066; t(5) = 2.571 → margin 0.0028451.
    logs = [0, 0.1, 0.1, 0.2, 0.2, 0.3, 0.3]
    days = daily([100 * math.exp(y) for y in logs], gaps=[5] * 6)

    trend = stats.trend(days)

    assert trend.direction == stats.RISING
    assert trend.percent_per_month == pytest.approx(math.expm1(0.01 * 30.4375) * 100)
    assert trend.percent_per_month == pytest.approx(35.57, abs=0.01)
    low, high = trend.interval
    assert low == pytest.approx(math.expm1((0.01 - 0.0028451) * 30.4375) * 100, abs=0.01)
    assert high == pytest.approx(math.expm1((0.01 + 0.0028451) * 30.4375) * 100, abs=0.01)
    assert (round(low, 1), round(high, 1)) == (24.3, 47.8)


def test_one_percent_a_day_down_is_falling_about_26_percent_a_month():
    trend = stats.trend(daily([1000 * 0.99**d for d in range(30)]))
    assert trend.direction == stats.FALLING
    assert trend.percent_per_month == pytest.approx((0.99**30.4375 - 1) * 100)
    assert trend.interval == pytest.approx((trend.percent_per_month,) * 2)


def test_a_slope_under_one_percent_a_month_is_flat_however_sure():
    trend = stats.trend(daily([1000 * 1.0002**d for d in range(30)]))
    assert trend.percent_per_month == pytest.approx(0.61, abs=0.01)
    assert trend.direction == stats.FLAT


def test_a_slope_whose_interval_includes_zero_is_flat():
    # Up 3 % a month on average, but swinging ±20 % around it.
    prices = [1000 * 1.001**d * (1.2 if d % 2 else 0.8) for d in range(20)]
    trend = stats.trend(daily(prices))
    assert trend.percent_per_month > stats.FLAT_PERCENT_PER_MONTH
    assert trend.interval[0] < 0 < trend.interval[1]
    assert trend.direction == stats.FLAT


@pytest.mark.parametrize(
    ("prices", "gaps"),
    [
        ([100, 110, 120, 130, 140, 150], None),  # six days
        ([100, 110, 120, 130, 140, 150, 160], [2, 2, 2, 2, 2, 3]),  # 13 days apart
    ],
    ids=["under-seven-days", "span-under-14-days"],
)
def test_too_few_days_or_too_short_a_span_is_too_little_data(prices, gaps):
    trend = stats.trend(daily(prices, gaps=gaps))
    assert trend == stats.Trend(stats.TOO_LITTLE_DATA)


def test_seven_days_over_fourteen_is_enough_for_a_trend():
    trend = stats.trend(daily([100, 110, 120, 130, 140, 150, 160], gaps=[2, 2, 2, 2, 2, 4]))
    assert trend.direction == stats.RISING


def test_t_critical_values_come_from_the_table_then_the_normal():
    assert stats.t_critical(5) == 2.571
    assert stats.t_critical(35) == 2.042  # between 30 and 40: the wider interval
    assert stats.t_critical(500) == 1.96


# --- One query per card ---------------------------------------------------------------------


def observe(card, moment, cents, *, source="pricecharting", key="ungraded"):
    return Observation(card.pk, source, key, cents, moment)


@pytest.mark.django_db
def test_card_stats_group_points_per_utc_day_in_one_query(django_assert_num_queries):
    card = make_card()
    late = dt.datetime(2026, 3, 10, 23, 30, tzinfo=dt.UTC)
    record_observations(
        [
            observe(card, late - dt.timedelta(hours=2), 1000),
            observe(card, late, 2000),
            observe(card, late + dt.timedelta(hours=1), 5000),  # the next UTC day
            observe(card, NOW - 40 * DAY, 9999),  # before the period
            observe(card, late, 25000, key="PSA 10"),
            observe(card, late, 990, source="demo"),
        ]
    )

    with django_assert_num_queries(1):
        lines = stats.card_stats(card.pk, "30d", NOW)

    assert [(line.source, line.price_key) for line in lines] == [
        ("pricecharting", "ungraded"),
        ("pricecharting", "PSA 10"),
        ("demo", "ungraded"),
    ]
    ungraded = lines[0]
    assert (ungraded.observations, ungraded.days) == (3, 2)
    assert (ungraded.low, ungraded.high) == (1000, 5000)
    assert ungraded.average == 3250  # days of 1500 and 5000
    assert ungraded.first_day == dt.datetime(2026, 3, 10, tzinfo=dt.UTC)
    assert lines[2].simulated is True


@pytest.mark.django_db
def test_card_stats_filter_by_source_and_key_and_cover_all_time():
    card = make_card()
    record_observations(
        [
            observe(card, NOW - 400 * DAY, 700),
            observe(card, NOW - DAY, 1000),
            observe(card, NOW - DAY, 5000, key="PSA 10"),
            observe(card, NOW - DAY, 990, source="demo"),
        ]
    )

    lines = stats.card_stats(card.pk, "all", NOW, source="pricecharting", price_key="ungraded")

    [line] = lines
    assert (line.observations, line.low, line.high) == (2, 700, 1000)
    assert stats.card_stats(card.pk, "7d", NOW, source="ebay") == []
