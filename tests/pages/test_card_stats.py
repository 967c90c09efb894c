"""The card page's statistics beside the chart: per source and key over the chosen period."""

import datetime as dt
import re

import pytest
import time_machine

from prices.writing import Observation, record_observations
from tests.factories import make_card

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 15, 12, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


def write_daily(card, prices, *, source="pricecharting", key="ungraded"):
    """One price a day, the last one today."""
    days = len(prices)
    result = record_observations(
        Observation(card.pk, source, key, cents, NOW - (days - 1 - day) * DAY)
        for day, cents in enumerate(prices)
    )
    assert result.rejected == 0, result.errors


def stats_block(html: str) -> str:
    match = re.search(r'<div id="price-stats".*?</p>\s*</div>', html, re.S)
    assert match, "no statistics on the page"
    return match.group(0)


def row_of(block: str, label: str) -> str:
    match = re.search(rf"<tr[^>]*>\s*<th[^>]*>{re.escape(label)}.*?</tr>", block, re.S)
    assert match, f"no row {label!r}"
    return re.sub(r"\s+", " ", match.group(0))


def test_the_card_page_shows_each_line_s_statistics_over_the_period(client):
    card = make_card()
    # 1 % a day for 20 days from $10.00: a steady rise of 35.4 % a month.
    write_daily(card, [round(1000 * 1.01**day) for day in range(20)])
    write_daily(card, [5000, 5000, 5500], key="PSA 10")

    block = stats_block(client.get(card.get_absolute_url()).content.decode())

    assert "Statistics over the last 30 days" in block
    ungraded = row_of(block, "PriceCharting · Ungraded")
    assert "20 <span" in ungraded and "20 days" in ungraded
    assert "$10.00 – $12.08" in ungraded
    assert "Rising" in ungraded and "+35.4%/month" in ungraded
    assert "95% confidence interval" in ungraded
    # A steady climb hardly swings (rounding to cents is all there is).
    volatility = re.search(r'data-label="Volatility">(\d+)%<', ungraded)
    assert volatility and int(volatility[1]) <= 1
    psa = row_of(block, "PriceCharting · PSA 10")
    assert "<strong>$51.67</strong>" in psa and "median $50.00" in psa
    assert "Too little data" in psa
    assert 'title="Too little data: needs 5 day-to-day changes"' in psa
    assert 'title="Needs 7 days with a price over at least 14 days"' in psa


def test_volatility_and_trend_explain_themselves_in_a_tooltip_and_in_words(client):
    card = make_card()
    write_daily(card, [1000, 1100] * 5)

    block = stats_block(client.get(card.get_absolute_url()).content.decode())

    assert re.search(r'<abbr title="How much the price swings from day to day[^"]*√365', block)
    assert "standard deviation of daily log returns × √365" in block  # visible help
    assert "too little data under 7 days with a price or over less than 14 days" in block
    assert "flat otherwise" in block


def test_the_period_tabs_choose_the_statistics_period(client):
    card = make_card()
    write_daily(card, [1000 + 10 * day for day in range(60)])

    month = stats_block(client.get(card.get_absolute_url()).content.decode())
    week = stats_block(client.get(f"{card.get_absolute_url()}?period=7d").content.decode())
    year = stats_block(client.get(f"{card.get_absolute_url()}?period=1y").content.decode())

    assert "31 days" in row_of(month, "PriceCharting · Ungraded")  # 30 days ago to today
    assert "Statistics over the last 7 days" in week
    assert "Too little data" in row_of(week, "PriceCharting · Ungraded")
    assert "60 days" in row_of(year, "PriceCharting · Ungraded")


def test_simulated_lines_are_labelled_simulated(client):
    card = make_card()
    write_daily(card, [1000, 1010, 1020], source="demo")

    block = stats_block(client.get(card.get_absolute_url()).content.decode())

    assert '<tr class="is-simulated">' in block
    assert 'Demo · Ungraded <span class="tag tag-simulated">Simulated</span>' in row_of(
        block, "Demo · Ungraded"
    )
    assert "describe the demo simulation, not a market" in block


def test_a_period_without_prices_says_there_are_no_statistics(client):
    card = make_card()
    record_observations([Observation(card.pk, "pricecharting", "ungraded", 1000, NOW - 90 * DAY)])

    html = client.get(f"{card.get_absolute_url()}?period=7d").content.decode()

    assert "No prices in this period, so no statistics." in html


def test_a_period_button_swaps_the_chart_and_the_statistics_together(client):
    card = make_card()
    write_daily(card, [1000 + 10 * day for day in range(40)])

    page = client.get(card.get_absolute_url()).content.decode()
    response = client.get(f"/cards/{card.pk}/prices/history/?period=1y", **HTMX)

    assert 'hx-select="#price-chart-controls" hx-select-oob="#price-stats"' in page
    html = response.content.decode()
    assert html.count('id="price-chart-controls"') == 1
    assert "Statistics over the last year" in stats_block(html)
    assert "40 days" in row_of(stats_block(html), "PriceCharting · Ungraded")
