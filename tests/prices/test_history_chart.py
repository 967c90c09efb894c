"""prices.history.chart: the chart's JSON written without a dict per point, the same
characters as history_series() through json_script; and the daily query compiled once."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.html import json_script

from prices import history
from prices.history import DailyPrice, HistoryPoint, PeriodData
from prices.writing import Observation, record_observations
from tests.factories import make_card

NOW = dt.datetime(2026, 3, 15, 12, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)


def observations(card, source, key, days, *, currency="USD", start=1000, per_day=1):
    """`days` days ending at NOW, `per_day` observations a day, with uneven prices so that
    a day's average has cents to round."""
    return [
        Observation(
            card.pk,
            source,
            key,
            start + 7 * day + 3 * slot,
            NOW - (days - 1 - day) * DAY - slot * dt.timedelta(hours=5),
            currency=currency,
        )
        for day in range(days)
        for slot in range(per_day)
    ]


def as_json_script(period, data):
    return json_script(history.history_series(None, period, NOW, data=data), "price-chart-data")


@pytest.mark.django_db
@pytest.mark.parametrize("period", list(history.PERIODS))
def test_the_chart_script_is_history_series_through_json_script(period):
    card = make_card()
    record_observations(
        [
            *observations(card, "pricecharting", "ungraded", 400, per_day=2),
            *observations(card, "pricecharting", "PSA 10", 40, start=12345),
            *observations(card, "ebay", "NM", 3, per_day=3),
            *observations(card, "demo", "ungraded", 200, currency="EUR"),
        ]
    )

    data = history.read_period(card.pk, period, NOW)
    chart = history.chart(period, NOW, data)

    assert chart.script == as_json_script(period, data)
    assert [d["key"] for d in chart.datasets] == [
        "pricecharting|ungraded|USD",
        "pricecharting|PSA 10|USD",
        "ebay|NM|USD",
        "demo|ungraded|EUR",
    ]


@pytest.mark.django_db
def test_the_chart_script_of_a_period_without_prices_has_no_datasets():
    card = make_card()
    data = history.read_period(card.pk, "7d", NOW)
    chart = history.chart("7d", NOW, data)
    assert chart.datasets == []
    assert chart.script == as_json_script("7d", data)


def test_the_chart_script_escapes_what_could_end_its_script_element():
    line = ("pricecharting", "</script><img src=x onerror=alert(1)>&", "USD")
    days = [DailyPrice(NOW.replace(hour=0) - n * DAY, 1234.5, 2, 1200, 1269) for n in (1, 0)]
    data = PeriodData({line: days}, bucket="day")

    script = history.chart("1y", NOW, data).script

    assert script == as_json_script("1y", data)
    body = script.removeprefix('<script id="price-chart-data" type="application/json">')
    assert "<" not in body.removesuffix("</script>")
    assert "\\u003C/script\\u003E\\u003Cimg src=x onerror=alert(1)\\u003E\\u0026" in body


def test_the_points_of_a_long_period_are_made_from_its_days_only_when_asked():
    line = ("pricecharting", "ungraded", "USD")
    day = NOW.replace(hour=0)
    data = PeriodData({line: [DailyPrice(day, 1234.5, 2, 1200, 1269, 1100, 1300, 4)]}, bucket="day")

    history.chart("1y", NOW, data)
    assert "lines" not in vars(data)  # the chart read the days

    # A day's point is its average, rounded to even cents, with the source's range.
    assert data.lines == {line: [HistoryPoint(day, 1234, 1100, 1300, 4)]}


@pytest.mark.django_db
def test_the_daily_query_binds_each_requests_values_into_the_sql_compiled_once():
    first, second = make_card(), make_card()
    record_observations(
        [
            *observations(first, "pricecharting", "ungraded", 30),
            *observations(second, "pricecharting", "ungraded", 20, start=5000),
            *observations(second, "demo", "ungraded", 20),
        ]
    )

    with CaptureQueriesContext(connection) as queries:
        year = history.read_period(first.pk, "1y", NOW).days
        quarter = history.read_period(second.pk, "3m", NOW, source="demo").days

    assert [len(days) for days in year.values()] == [30]
    assert list(quarter) == [("demo", "ungraded", "USD")]
    assert quarter[("demo", "ungraded", "USD")][0].mean == 1000.0
    assert len(queries.captured_queries) == 2


@pytest.mark.django_db
def test_a_days_average_is_the_float_of_the_exact_mean():
    card = make_card()
    record_observations(
        [
            Observation(card.pk, "pricecharting", "ungraded", cents, NOW - hours * HOUR)
            for cents, hours in [(1000, 1), (1001, 2), (1001, 3)]
        ]
    )
    [[day]] = history.read_period(card.pk, "1y", NOW).days.values()
    assert day.mean == 3002 / 3
    assert (day.observations, day.lowest, day.highest) == (3, 1000, 1001)
