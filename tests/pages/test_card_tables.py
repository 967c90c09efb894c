import datetime as dt
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
import time_machine
from django.template import engines
from django.test import override_settings

from pages.card_tables import (
    chart_scripts,
    period_tabs,
    price_rows,
    price_stats,
    price_table_body,
    stat_rows,
    stats_table_body,
)
from prices import history, stats
from prices.writing import Observation, record_observations
from tests.factories import make_card

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 15, 12, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


def observe(card, source, key, market, *, days_ago=0, **extra):
    result = record_observations(
        [Observation(card.pk, source, key, market, NOW - dt.timedelta(days=days_ago), **extra)]
    )
    assert result.rejected == 0, result.errors


def test_a_source_counting_sales_for_the_whole_card_says_how_many_in_its_heading():
    card = make_card()
    observe(card, "pricecharting", "ungraded", 1000, sample_size=1)
    observe(card, "ebay", "ungraded", 1100, sample_size=2500)

    pricecharting, ebay = price_rows(card, history.current_prices(card), "/alerts/create/")

    assert (pricecharting.heading, pricecharting.sales) == ("PriceCharting", "1 sale, all grades")
    assert (ebay.heading, ebay.sales) == ("eBay", "")
    assert ebay.rows[0].sample == "2,500"
    assert ebay.rows[0].qualifier == "asks"


def test_a_price_row_carries_its_figures_formatted_and_its_alert_link():
    card = make_card()
    observe(card, "pricecharting", "PSA 10", 123_456, days_ago=8, low=100_000, high=150_000)

    [[_, _, _, [row]]] = price_rows(card, history.current_prices(card), "/alerts/create/")

    assert row.label == "PSA 10"
    assert row.alert_url == f"/alerts/create/?card={card.pk}&price_key=PSA%2010&from=card"
    assert (row.market, row.price_range) == ("$1,234.56", "$1,000.00 – $1,500.00")
    assert row.extremes == "$1,234.56 / $1,234.56"
    assert row.sample == "—"
    assert 'class="stale"' in row.updated and "8 d ago" in row.updated


def test_a_price_without_low_or_high_has_no_range():
    card = make_card()
    observe(card, "demo", "ungraded", 500)

    [[_, _, _, [row]]] = price_rows(card, history.current_prices(card), "/alerts/create/")

    assert row.price_range == ""
    assert row.is_simulated and row.qualifier == "simulated"


def test_a_statistics_row_names_its_line_and_counts_its_days():
    card = make_card()
    for day in range(3):
        observe(card, "pricecharting", "ungraded", 1000 + day * 10, days_ago=day)

    [row] = stat_rows(stats.card_stats(card.pk, "30d", NOW))

    assert row.name == "PriceCharting · Ungraded"
    assert (row.observations, row.days) == ("3", "3 days")
    assert (row.average, row.median, row.low_high) == ("$10.10", "$10.10", "$10.00 – $10.20")
    assert "Too little data" in row.trend


# What templates/pages/card_detail.html wrote for the price table's rows before
# pages.card_tables.price_table_body.
ROWS_BEFORE = (Path(__file__).parent / "price_table_rows_before.html").read_text()
HOSTILE = "<script>alert('x')</script> & \"q\""


def same_markup(html: str) -> str:
    return re.sub(r"[ \t]*\n\s*", "\n", html).strip()


@pytest.mark.parametrize("signed_in", [True, False])
def test_the_price_table_rows_show_what_the_template_showed(signed_in):
    card = make_card(name=HOSTILE)
    observe(card, "pricecharting", "ungraded", 1000, sample_size=12, low=900, high=1100)
    observe(card, "pricecharting", "PSA 10", 9000, days_ago=40)
    observe(card, "ebay", "ungraded", 1100, sample_size=2500)
    observe(card, "demo", "NM", 700)
    observe(card, "tcgplayer", "NM", 950, days_ago=20)
    sources = price_rows(card, history.current_prices(card), "/alerts/create/")
    user = SimpleNamespace(is_authenticated=signed_in)
    before = (
        engines["django"].from_string(ROWS_BEFORE).render({"price_sources": sources, "user": user})
    )
    assert len(sources) >= 3
    assert same_markup(price_table_body(sources, signed_in)) == same_markup(before)


def test_price_table_rows_escape_what_they_show():
    card = make_card()
    observe(card, "pricecharting", "ungraded", 1000)
    [source] = price_rows(card, history.current_prices(card), "/alerts/create/")
    row = source.rows[0]
    hostile_row = type(row)(**{**row.__dict__, "label": HOSTILE, "market": HOSTILE})
    hostile = source._replace(heading=HOSTILE, sales=HOSTILE, rows=[hostile_row])
    html = price_table_body([hostile], signed_in=True)
    assert "<script>" not in html
    assert html.count("&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;q&quot;") == 5


# What templates/pages/card_detail.html wrote for the statistics rows and the period
# buttons before pages.card_tables wrote them.
STATS_BEFORE = (Path(__file__).parent / "stats_rows_before.html").read_text()
TABS_BEFORE = (Path(__file__).parent / "period_tabs_before.html").read_text()


def test_the_statistics_rows_show_what_the_template_showed():
    card = make_card(name=HOSTILE)
    for day in range(12):
        observe(card, "pricecharting", "ungraded", 1000 + day * 10, days_ago=day)
        observe(card, "ebay", "ungraded", 1100 - day * 5, days_ago=day)
        observe(card, "demo", "NM", 700 + day, days_ago=day)
    observe(card, "tcgplayer", "NM", 950, days_ago=3)
    rows = stat_rows(stats.card_stats(card.pk, "30d", NOW))
    before = engines["django"].from_string(STATS_BEFORE).render({"stats": rows})
    assert len(rows) == 4
    assert same_markup(stats_table_body(rows)) == same_markup(before)


def test_statistics_rows_escape_what_they_show():
    card = make_card()
    observe(card, "ebay", "ungraded", 1000)
    [row] = stat_rows(stats.card_stats(card.pk, "30d", NOW))
    hostile = type(row)(
        **{**row.__dict__, "name": HOSTILE, "qualifier": HOSTILE, "average": HOSTILE}
    )
    html = stats_table_body([hostile])
    before = engines["django"].from_string(STATS_BEFORE).render({"stats": [hostile]})
    assert "<script>" not in html
    assert html.count("&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;q&quot;") == 3
    assert same_markup(html) == same_markup(before)


@pytest.mark.parametrize("current", ["7d", "1y"])
def test_the_period_buttons_show_what_the_template_showed(current):
    periods = [
        ("7d", "7D", "/cards/1/a/?period=7d", "/cards/1/prices/history/?period=7d"),
        ("1y", HOSTILE, f"/cards/1/{HOSTILE}/?period=1y", f"/h/{HOSTILE}"),
    ]
    before = (
        engines["django"].from_string(TABS_BEFORE).render({"periods": periods, "period": current})
    )
    html = period_tabs(periods, current)
    assert "<script>" not in html
    assert html.count('aria-current="true"') == 1
    assert same_markup(html) == same_markup(before)


# What templates/pages/card_detail.html wrote for the statistics block (its rows aside).
PRICE_STATS_BEFORE = (Path(__file__).parent / "price_stats_before.html").read_text()


@pytest.mark.parametrize("simulated", [True, False])
@pytest.mark.parametrize("priced", [True, False])
def test_the_statistics_block_shows_what_the_template_showed(simulated, priced):
    card = make_card(name=HOSTILE)
    if priced:
        for day in range(3):
            observe(card, "demo" if simulated else "ebay", "ungraded", 1000 + day, days_ago=day)
    rows = stat_rows(stats.card_stats(card.pk, "30d", NOW))
    body = stats_table_body(rows)
    words = history.PERIODS["30d"].words
    context = {
        "card": card,
        "period_spec": history.PERIODS["30d"],
        "stats": rows,
        "stats_body": body,
        "stats_simulated": any(row.line.simulated for row in rows),
        "stats_rules": stats.RULES,
    }
    before = engines["django"].from_string(PRICE_STATS_BEFORE).render(context)
    html = price_stats(card.name, words, body, context["stats_simulated"])
    assert "<script>" not in html
    assert ("Rows marked" in html) == (simulated and priced)
    assert same_markup(html) == same_markup(before)


# What templates/pages/card_detail.html wrote in its <head> for a card with prices.
CHART_SCRIPTS_BEFORE = (Path(__file__).parent / "chart_scripts_before.html").read_text()


def test_the_chart_scripts_are_what_the_template_wrote():
    before = engines["django"].from_string(CHART_SCRIPTS_BEFORE).render({})
    assert same_markup(chart_scripts()) == same_markup(before)
    with override_settings(STATIC_URL="/elsewhere/"):
        moved = chart_scripts()
        assert same_markup(moved) == same_markup(
            engines["django"].from_string(CHART_SCRIPTS_BEFORE).render({})
        )
        assert '<script src="/elsewhere/js/charts.js" defer></script>' in moved
