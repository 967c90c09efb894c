import datetime as dt
import io
import json
import re

import pytest
import time_machine
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.template.defaultfilters import date as date_filter
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from cards.models import Game
from collections_app.models import Watch
from prices import history, movers
from prices.templatetags.prices import freshness, money, percent_change, updated_time
from prices.writing import Observation, record_observations
from tcgtracker.lib.money import format_money
from tests.factories import make_card, make_set, make_user

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 15, 12, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


def write_history(
    card,
    days,
    *,
    source="pricecharting",
    price_keys=("ungraded",),
    start=1000,
    step=10,
    per_day=1,
    end=NOW,
    **extra,
):
    """`days` days of points ending at `end`, rising by `step` cents a day."""
    observations = []
    for key in price_keys:
        for day in range(days):
            for slot in range(per_day):
                observations.append(
                    Observation(
                        card_id=card.pk,
                        source=source,
                        price_key=key,
                        market=start + step * day + 2 * slot,
                        observed_at=end - (days - 1 - day) * DAY - slot * dt.timedelta(hours=12),
                        **extra,
                    )
                )
    result = record_observations(observations)
    assert result.rejected == 0, result.errors


def move(card, before, after, *, days=7, source="pricecharting", key="ungraded", end=NOW):
    """A price of `before` cents `days` days before `end` and `after` at `end`."""
    record_observations(
        [
            Observation(card.pk, source, key, before, end - days * DAY),
            Observation(card.pk, source, key, after, end),
        ]
    )


def count_queries(client, url, **extra):
    with CaptureQueriesContext(connection) as context:
        response = client.get(url, **extra)
    assert response.status_code == 200, url
    return len(context.captured_queries)


def chart_of(response) -> dict:
    match = re.search(
        r'<script id="price-chart-data" type="application/json">(.*?)</script>',
        response.content.decode(),
        re.S,
    )
    assert match, "no chart data in the response"
    return json.loads(match.group(1))


# Formatting


def test_money_formats_cents_as_dollars_with_decimal_arithmetic():
    assert format_money(123456) == "$1,234.56"
    assert format_money(5) == "$0.05"
    assert format_money(-250) == "−$2.50"
    assert format_money(999, "EUR") == "€9.99"
    assert format_money(999, "CHF") == "9.99 CHF"
    assert format_money(None) == "—"
    assert money(10_000_000_000) == "$100,000,000.00"


def test_percent_change_has_a_sign_and_a_direction_class():
    assert "+12.5%" in percent_change(12.5) and "change-up" in percent_change(12.5)
    assert "−3.0%" in percent_change(-3) and "change-down" in percent_change(-3)
    assert "±0.0%" in percent_change(0.0) and "change-flat" in percent_change(0.0)
    assert "—" in percent_change(None)
    assert "±0.0%" in percent_change(-0.04) and "change-flat" in percent_change(-0.04)


def test_freshness_reads_like_people_talk():
    assert freshness(NOW - dt.timedelta(seconds=20)) == "just now"
    assert freshness(NOW - dt.timedelta(minutes=12)) == "12 min ago"
    assert freshness(NOW - dt.timedelta(hours=2, minutes=59)) == "2 h ago"
    assert freshness(NOW - 3 * DAY) == "3 d ago"
    assert freshness(NOW - 90 * DAY) == "3 mo ago"
    assert freshness(None) == ""


def test_the_updated_cell_says_when_in_words_with_the_moment_and_staleness_beside():
    fresh = updated_time(NOW - 2 * dt.timedelta(hours=1))
    old = updated_time(NOW - 8 * DAY)

    assert fresh == (
        '<time datetime="2026-03-15T10:00:00+00:00" title="15 Mar 2026, 10:00 UTC">2 h ago</time>'
    )
    assert old == (
        '<time datetime="2026-03-07T12:00:00+00:00" title="7 Mar 2026, 12:00 UTC" '
        'class="stale">8 d ago</time>'
    )
    assert updated_time(None) == ""


@pytest.mark.parametrize("language", ["en", "de", "fr"])
def test_the_updated_cells_month_is_the_date_filters_in_the_active_language(language):
    with translation.override(language):
        for month in range(1, 13):
            moment = dt.datetime(2026, month, 9, 8, 30, tzinfo=dt.UTC)
            assert f'title="9 {date_filter(moment, "M")} 2026, 08:30 UTC"' in updated_time(moment)


# The card page's price table


def test_card_page_shows_a_price_table_with_formatted_figures(client):
    card = make_card(name="Charizard")
    write_history(
        card,
        40,
        start=100_000,
        step=1000,
        end=NOW - 2 * dt.timedelta(hours=1),
        low=90_000,
        high=200_000,
        sample_size=12,
    )

    html = client.get(card.get_absolute_url()).content.decode()

    table = html[html.index('id="price-table"') : html.index("</table>")]
    assert "PriceCharting" in table and "Ungraded" in table
    assert "$1,390.00" in table  # market: 100,000 + 39 × 1000 cents
    assert "$900.00 – $2,000.00" in table  # low – high
    assert "12 sales, all grades" in table  # PriceCharting's sample counts the whole card
    assert "+27.5%" in table  # 30 days: 1090.00 → 1390.00
    assert "change-up" in table
    assert "$1,390.00 / $1,000.00" in table  # all-time high / low
    assert "2 h ago" in table
    assert "Simulated" not in table


def test_every_row_of_the_price_table_links_to_an_alert_on_its_key(client):
    card = make_card()
    write_history(card, 3, price_keys=("ungraded", "PSA 10"))

    html = client.get(card.get_absolute_url()).content.decode()

    for key in ("ungraded", "PSA%2010"):
        assert f'href="/alerts/create/?card={card.pk}&amp;price_key={key}&amp;from=card"' in html


def test_a_falling_price_shows_a_negative_change(client):
    card = make_card()
    write_history(card, 31, start=5000, step=-100)
    html = client.get(card.get_absolute_url()).content.decode()
    assert "−60.0%" in html and "change-down" in html


def test_demo_rows_are_tagged_simulated_with_a_note(client):
    card = make_card()
    write_history(card, 3, source="demo", price_keys=("ungraded", "PSA 10"))
    write_history(card, 3, source="pricecharting")
    html = client.get(card.get_absolute_url()).content.decode()
    start = html.index('id="price-table"')
    table = html[start : html.index("</section>", start)]
    assert table.count('<span class="tag tag-simulated">Simulated</span>') == 3  # 2 rows + note
    assert "Demo prices are a simulation, not market data" in table
    # Real sources come first, demo last.
    assert table.index("PriceCharting") < table.index("Demo")


def test_ebay_rows_say_they_are_asks(client):
    card = make_card()
    write_history(card, 2, source="ebay", price_keys=("NM",), sample_size=7)
    html = client.get(card.get_absolute_url()).content.decode()
    assert re.search(r'<span class="tag tag-qualifier"[^>]*>asks</span>', html)
    assert "eBay figures are asking prices of current listings, not sales" in html
    assert "Simulated" not in html


def test_pricecharting_sales_volume_is_shown_once_for_the_product(client):
    card = make_card()
    # The API and the guide write the product's sales volume on each of its nine prices.
    write_history(card, 1, price_keys=PRICECHARTING_KEYS, sample_size=2181)
    html = client.get(card.get_absolute_url()).content.decode()
    table = html[html.index('id="price-table"') : html.index("</table>")]
    source_row = re.search(r'<tr class="price-source">.*?</tr>', table, re.S).group(0)
    assert "PriceCharting" in source_row and "2,181 sales, all grades" in source_row
    assert table.count("2,181") == 1 and "2181" not in table
    samples = re.findall(r'<td class="num" data-label="Sample">(.*?)</td>', table)
    assert len(samples) == 9
    assert all("not per grade" in sample for sample in samples)


def test_ebay_and_demo_samples_stay_per_price_key(client):
    card = make_card()
    write_history(card, 1, source="ebay", price_keys=("ungraded",), sample_size=1250)
    write_history(card, 1, source="ebay", price_keys=("PSA 10",), sample_size=3)
    write_history(card, 1, source="justtcg", price_keys=("NM",))
    write_history(card, 1, source="demo", price_keys=("ungraded",), sample_size=40)
    html = client.get(card.get_absolute_url()).content.decode()
    table = html[html.index('id="price-table"') : html.index("</table>")]
    samples = re.findall(r'<td class="num" data-label="Sample">(.*?)</td>', table)
    assert samples == ["1,250", "3", "—", "40"]
    assert "sales, all grades" not in table


def test_rows_are_sorted_by_source_then_raw_before_graded(client):
    card = make_card()
    write_history(card, 1, source="demo", price_keys=("PSA 9", "ungraded"))
    write_history(card, 1, source="pricecharting", price_keys=("PSA 10", "BGS 9.5", "ungraded"))
    response = client.get(card.get_absolute_url())
    rows = [(p.source, p.price_key) for p in response.context["prices"]]
    assert rows == [
        ("pricecharting", "ungraded"),
        ("pricecharting", "PSA 10"),
        ("pricecharting", "BGS 9.5"),
        ("demo", "ungraded"),
        ("demo", "PSA 9"),
    ]


def test_a_card_without_prices_shows_an_empty_state_and_no_chart(client):
    card = make_card()
    html = client.get(card.get_absolute_url()).content.decode()
    assert "No prices recorded for this card yet" in html
    assert 'id="price-chart"' not in html
    assert "chart-4.6.1.umd.min.js" not in html


def test_the_price_table_polls_for_updates(client):
    card = make_card()
    write_history(card, 2)
    html = client.get(card.get_absolute_url()).content.decode()
    table_url = f"/cards/{card.pk}/prices/table/"
    container = re.search(r'<div id="price-table"[^>]*>', html).group(0)
    assert f'hx-get="{table_url}"' in container
    assert 'hx-trigger="every 300s"' in container and 'hx-swap="outerHTML"' in container

    partial = client.get(table_url, **HTMX)
    body = partial.content.decode()
    assert partial.status_code == 200
    assert body.lstrip().startswith('<div id="price-table"') and "<html" not in body
    assert 'hx-trigger="every 300s"' in body  # the swapped-in table keeps polling
    assert "HX-Request" in partial["Vary"]


def test_the_price_table_endpoint_without_htmx_goes_to_the_card_page(client):
    card = make_card(name="Pikachu")
    response = client.get(f"/cards/{card.pk}/prices/table/")
    assert response.status_code == 302
    assert response["Location"] == f"{card.get_absolute_url()}#prices"


def test_the_card_page_loads_the_vendored_chart_scripts_only_when_it_has_prices(client):
    card = make_card()
    write_history(card, 2)
    html = client.get(card.get_absolute_url()).content.decode()
    assert "/static/vendor/chartjs/chart-4.6.1.umd.min.js" in html
    assert "/static/vendor/chartjs/chartjs-adapter-date-fns-3.0.0.bundle.min.js" in html
    assert "/static/js/price-chart.js" in html
    # Every script and stylesheet is our own (a random CSRF token may well contain "cdn").
    assets = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
    assert assets and all(url.startswith("/") and not url.startswith("//") for url in assets)


# The chart


def test_the_card_page_renders_chart_data_and_period_links(client):
    card = make_card(name="Mew")
    write_history(card, 60, price_keys=("ungraded", "PSA 10"))
    write_history(card, 60, source="demo")
    response = client.get(card.get_absolute_url())
    chart = chart_of(response)
    assert chart["period"] == "30d"
    labels = [d["label"] for d in chart["datasets"]]
    assert labels == [
        "PriceCharting · Ungraded",
        "PriceCharting · PSA 10",
        "Demo · Ungraded (simulated)",
    ]
    assert [d["borderDash"] for d in chart["datasets"]] == [[], [], [6, 4]]
    point = chart["datasets"][0]["data"][-1]
    assert point == {"x": "2026-03-15T12:00:00", "y": 15.9}

    html = response.content.decode()
    for period in ["7d", "30d", "3m", "1y", "all"]:
        assert f'href="{card.get_absolute_url()}?period={period}#chart"' in html
        assert f'hx-get="/cards/{card.pk}/prices/history/?period={period}"' in html
    assert 'data-period="30d" aria-current="true"' in html
    assert "Dashed lines are <strong>simulated</strong>" in html


def test_the_card_page_takes_the_period_from_the_link(client):
    card = make_card()
    write_history(card, 60)
    response = client.get(card.get_absolute_url(), {"period": "7d"})
    assert chart_of(response)["period"] == "7d"
    assert 'data-period="7d" aria-current="true"' in response.content.decode()


def test_the_card_page_falls_back_to_the_default_period_for_an_unknown_one(client):
    card = make_card()
    write_history(card, 5)
    response = client.get(card.get_absolute_url(), {"period": "5y"})
    assert response.status_code == 200
    assert chart_of(response)["period"] == history.DEFAULT_PERIOD


@pytest.mark.parametrize(
    ("period", "points"),
    [("7d", 8), ("30d", 31), ("3m", 92), ("1y", 366)],
)
def test_history_endpoint_returns_the_points_of_the_period(client, period, points):
    card = make_card()
    write_history(card, 400)
    response = client.get(f"/cards/{card.pk}/prices/history/", {"period": period}, **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body and body.lstrip().startswith('<div id="price-chart-controls"')
    assert f'data-period="{period}" aria-current="true"' in body
    (dataset,) = chart_of(response)["datasets"]
    assert len(dataset["data"]) == points


def test_long_periods_are_averaged_per_day_in_the_database_and_per_week_from_the_days(client):
    card = make_card()
    write_history(card, 400, per_day=2)  # at 12:00 and at 00:00, two cents apart
    url = f"/cards/{card.pk}/prices/history/"

    (raw,) = chart_of(client.get(url, {"period": "7d"}, **HTMX))["datasets"]
    assert len(raw["data"]) == 15  # every point: 12:00 a week ago, then two a day

    (daily,) = chart_of(client.get(url, {"period": "1y"}, **HTMX))["datasets"]
    assert len(daily["data"]) == 366
    assert daily["data"][-1] == {"x": "2026-03-15T00:00:00", "y": 49.91}

    (weekly,) = chart_of(client.get(url, {"period": "all"}, **HTMX))["datasets"]
    first_day = (NOW - 399 * DAY - dt.timedelta(hours=12)).date()
    mondays = {
        first_day + n * DAY - dt.timedelta(days=(first_day + n * DAY).weekday()) for n in range(400)
    }
    assert len(weekly["data"]) == len(mondays) == 58
    assert all(dt.date.fromisoformat(p["x"][:10]).weekday() == 0 for p in weekly["data"])


def test_a_week_s_point_averages_its_observations_not_its_days():
    card = make_card()
    monday = dt.datetime(2026, 3, 9, 10, tzinfo=dt.UTC)
    record_observations(
        [
            Observation(card.pk, "pricecharting", "ungraded", 1000, monday, low=900),
            Observation(card.pk, "pricecharting", "ungraded", 2000, monday + dt.timedelta(hours=2)),
            Observation(
                card.pk,
                "pricecharting",
                "ungraded",
                4000,
                monday + 2 * DAY,
                high=5000,
                sample_size=7,
            ),
            Observation(card.pk, "pricecharting", "ungraded", 8000, monday + 7 * DAY),
        ]
    )

    [(line, points)] = history.read_period(card.pk, "all", NOW).lines.items()

    # (1000 + 2000 + 4000) / 3, not the mean of the days' 1500 and 4000.
    assert points == [
        history.HistoryPoint(monday.replace(hour=0), 2333, 900, 5000, 7),
        history.HistoryPoint(monday.replace(hour=0) + 7 * DAY, 8000, None, None, None),
    ]


def test_history_endpoint_rejects_an_unknown_period(client):
    card = make_card()
    response = client.get(f"/cards/{card.pk}/prices/history/", {"period": "5y"}, **HTMX)
    assert response.status_code == 400
    assert "Unknown period '5y'" in response.content.decode()
    assert "7d, 30d, 3m, 1y, all" in response.content.decode()


def test_history_endpoint_without_htmx_goes_to_the_card_page_with_the_period(client):
    card = make_card(name="Eevee")
    response = client.get(f"/cards/{card.pk}/prices/history/", {"period": "1y"})
    assert response.status_code == 302
    assert response["Location"] == f"{card.get_absolute_url()}?period=1y#chart"


def test_history_of_a_period_without_prices_says_so(client):
    card = make_card()
    write_history(card, 3, end=NOW - 20 * DAY)
    response = client.get(f"/cards/{card.pk}/prices/history/", {"period": "7d"}, **HTMX)
    assert chart_of(response)["datasets"] == []
    assert "No prices in this period" in response.content.decode()


PRICECHARTING_KEYS = (
    "ungraded",
    "ANY 7",
    "ANY 8",
    "ANY 9",
    "ANY 9.5",
    "PSA 10",
    "BGS 10",
    "CGC 10",
    "SGC 10",
)


def hidden_lines(chart) -> list[str]:
    return [d["key"] for d in chart["datasets"] if d["hidden"]]


def test_beyond_nine_lines_the_extra_ones_start_hidden_but_every_real_source_shows():
    card = make_card()
    write_history(card, 2, price_keys=(*PRICECHARTING_KEYS, "ANY 6"))
    write_history(card, 2, source="justtcg", price_keys=("NM", "LP"))
    chart = history.history_series(card, "30d")
    # PriceCharting's nine grades show; its tenth line and JustTCG's second wait in the
    # toggles, but JustTCG's first line shows.
    assert hidden_lines(chart) == ["pricecharting|ANY 6|USD", "justtcg|LP|USD"]


def test_simulated_lines_start_hidden_beside_real_ones():
    card = make_card()
    write_history(card, 300, source="demo", price_keys=("ungraded", "PSA 10"))
    write_history(card, 1, price_keys=PRICECHARTING_KEYS)
    chart = history.history_series(card, "1y")
    assert hidden_lines(chart) == ["demo|ungraded|USD", "demo|PSA 10|USD"]
    assert [d["source"] for d in chart["datasets"]][-2:] == ["demo", "demo"]


def test_simulated_lines_show_when_the_period_has_no_real_prices():
    card = make_card()
    write_history(card, 300, source="demo", price_keys=("ungraded", "PSA 10"))
    write_history(card, 1, end=NOW - 20 * DAY)
    assert hidden_lines(history.history_series(card, "7d")) == []
    assert hidden_lines(history.history_series(card, "30d")) == [
        "demo|ungraded|USD",
        "demo|PSA 10|USD",
    ]


@pytest.mark.parametrize(
    ("period", "start"),
    [
        ("7d", "2026-03-08T12:00:00"),
        ("30d", "2026-02-13T12:00:00"),
        ("3m", "2025-12-14T12:00:00"),
        ("1y", "2025-03-15T12:00:00"),
        ("all", "2026-03-08T12:00:00"),  # never shorter than a week
    ],
)
def test_the_axis_spans_the_period_on_the_first_day_of_prices(period, start):
    card = make_card()
    write_history(card, 1, price_keys=PRICECHARTING_KEYS, end=NOW.replace(hour=0))
    chart = history.history_series(card, period)
    assert chart["axis"] == {"min": start, "max": "2026-03-15T12:00:00"}
    assert all(start <= d["data"][0]["x"] <= "2026-03-15T12:00:00" for d in chart["datasets"])


def test_the_axis_of_all_runs_from_the_first_price_to_now():
    card = make_card()
    write_history(card, 400)
    chart = history.history_series(card, "all")
    first_monday = "2025-02-03T00:00:00"  # the week of the first price, 2025-02-09
    assert chart["datasets"][0]["data"][0]["x"] == first_monday
    assert chart["axis"] == {"min": first_monday, "max": "2026-03-15T12:00:00"}


def test_the_axis_of_a_long_period_starts_with_its_first_day():
    card = make_card()
    write_history(card, 400)
    chart = history.history_series(card, "1y")
    # A year back from noon is noon; its day's average sits at midnight, on the axis.
    assert chart["axis"]["min"] == chart["datasets"][0]["data"][0]["x"] == "2025-03-15T00:00:00"


def test_a_line_with_one_point_is_labelled_with_its_day():
    card = make_card()
    write_history(card, 1, price_keys=("ungraded", "PSA 10"), end=NOW.replace(hour=0))
    write_history(card, 30, source="demo")
    labels = [d["label"] for d in history.history_series(card, "7d")["datasets"]]
    assert labels == [
        "PriceCharting · Ungraded — one price, 15 Mar 2026",
        "PriceCharting · PSA 10 — one price, 15 Mar 2026",
        "Demo · Ungraded (simulated)",
    ]
    labels = [d["label"] for d in history.history_series(card, "1y")["datasets"]]
    assert labels[0] == "PriceCharting · Ungraded — one day, 15 Mar 2026"
    labels = [d["label"] for d in history.history_series(card, "all")["datasets"]]
    assert labels[0] == "PriceCharting · Ungraded — one week, from 9 Mar 2026"


def test_the_chart_note_says_simulated_lines_start_off_beside_real_prices(client):
    card = make_card()
    write_history(card, 3, source="demo")
    note = "Beside real prices they start switched off"
    assert note not in client.get(card.get_absolute_url()).content.decode()
    write_history(card, 1)
    html = client.get(card.get_absolute_url()).content.decode()
    assert "Dashed lines are <strong>simulated</strong>" in html and note in html


# Query counts: independent of history length and of the number of cards


def test_card_page_query_count_does_not_grow_with_history(client):
    short, long = make_card(), make_card()
    for card, days in [(short, 5), (long, 60)]:
        write_history(card, days, price_keys=("ungraded", "PSA 10", "PSA 9"))
        write_history(card, days, source="demo", price_keys=("ungraded", "NM"))
    for period in ["30d", "all"]:
        few = count_queries(client, f"{short.get_absolute_url()}?period={period}")
        many = count_queries(client, f"{long.get_absolute_url()}?period={period}")
        assert few == many <= 5, period


def test_history_and_table_endpoints_query_count_does_not_grow_with_history(client):
    short, long = make_card(), make_card()
    for card, days in [(short, 5), (long, 60)]:
        write_history(card, days, price_keys=("ungraded", "PSA 10", "PSA 9"))
    for period in history.PERIODS:
        few = count_queries(client, f"/cards/{short.pk}/prices/history/?period={period}", **HTMX)
        many = count_queries(client, f"/cards/{long.pk}/prices/history/?period={period}", **HTMX)
        # The card, and the period's points for the chart and its statistics.
        assert few == many == 2, period
    few = count_queries(client, f"/cards/{short.pk}/prices/table/", **HTMX)
    many = count_queries(client, f"/cards/{long.pk}/prices/table/", **HTMX)
    assert few == many == 2


def test_movers_page_query_count_does_not_grow_with_cards_or_history(client):
    card_set = make_set()
    watcher = make_user()

    def add_cards(n, days):
        for i in range(n):
            card = make_card(card_set=card_set, popularity=i + 1)
            Watch.objects.create(user=watcher, card=card)
            write_history(
                card,
                days,
                start=2000 + 100 * i,
                step=(-1) ** i * 10,
                price_keys=("ungraded", "PSA 10"),
            )
            write_history(card, days, source="demo")

    def cold(url):
        cache.clear()  # the ranking is cached; count the queries that compute it
        return count_queries(client, url)

    add_cards(2, 10)
    for period in ["24h", "7d", "30d"]:
        assert cold(f"/movers/?period={period}") <= 6
    few_page, few_home = cold("/movers/"), cold("/")
    add_cards(10, 40)
    assert cold("/movers/") == few_page
    assert cold("/") == few_home


def test_movers_are_ranked_again_when_prices_are_written(client):
    card = make_card()
    move(card, 1000, 1500)
    assert names(client.get("/movers/").context["movers"].gainers) == [card.name]
    other = make_card()
    move(other, 1000, 2000)
    assert names(client.get("/movers/").context["movers"].gainers) == [other.name, card.name]


def test_no_request_ranks_movers_not_even_with_a_cold_cache(client):
    card = make_card()
    move(card, 1000, 1500)
    cache.clear()
    with CaptureQueriesContext(connection) as context:
        gainers = client.get("/movers/").context["movers"].gainers
    assert names(gainers) == [card.name]
    ranked = [q["sql"] for q in context.captured_queries if "ROW_NUMBER" in q["sql"].upper()]
    assert ranked == []
    assert len(context.captured_queries) <= 3  # the stored ranking, then its rows


def test_the_movers_job_drops_prices_that_turned_stale(client):
    card = make_card()
    move(card, 1000, 1500)
    later = NOW + movers.FRESH_FOR + DAY
    with time_machine.travel(later, tick=False):
        assert names(client.get("/movers/").context["movers"].gainers) == [card.name]
        call_command("refresh_movers", stdout=io.StringIO())
        assert client.get("/movers/").context["movers"].gainers == []


def test_a_burst_of_price_writes_queues_one_ranking(client, monkeypatch):
    queued = []
    monkeypatch.setattr("django_q.tasks.async_task", lambda *args, **kw: queued.append(args))
    for start in (1000, 2000, 3000):
        move(make_card(), start, start + 100)
    assert queued == [("prices.tasks.refresh_movers",)]
    movers.run_queued_refresh()  # the task, which takes the mark down first
    move(make_card(), 1000, 1100)
    assert len(queued) == 2


# Movers


@pytest.fixture
def market():
    """A small market: named cards with known moves over 7 days."""
    pokemon = make_set(game=Game.POKEMON, code="mkt1", name="Market Set")
    onepiece = make_set(game=Game.ONEPIECE, code="OP99", name="Grand Line")
    cards = {}

    def card(name, card_set=pokemon, **extra):
        cards[name] = make_card(card_set=card_set, name=name, **extra)
        return cards[name]

    move(card("Big Riser"), 1000, 1500)  # +50%
    move(card("Small Riser"), 1000, 1100)  # +10%
    move(card("Big Faller"), 1000, 800)  # −20%
    move(card("Small Faller"), 1000, 950)  # −5%
    move(card("Cheap Jumper"), 40, 90)  # +125% but under a dollar
    move(card("Stale Riser"), 1000, 3000, end=NOW - 10 * DAY)  # not priced lately
    move(card("Luffy", card_set=onepiece), 1000, 1300)  # +30%, other game
    move(card("Overnight", popularity=5), 1000, 1200, days=1)  # +20% in a day, no 7-day history
    # A real source outranks the demo simulation: +1%, not +90%.
    move(card("Real Over Demo", popularity=50), 1000, 1010)
    move(cards["Real Over Demo"], 1000, 1900, source="demo")
    # Raw outranks graded: the PSA 10's +70% does not make it a gainer.
    move(card("Raw Over Graded", popularity=10), 2000, 1960)
    move(cards["Raw Over Graded"], 10000, 17000, key="PSA 10")
    # Demo alone still counts, labelled.
    move(card("Only Simulated"), 1000, 1250, source="demo")
    return cards


def names(rows):
    return [summary.card.name for summary in rows]


def test_movers_ranks_gainers_and_losers_by_change(client, market):
    response = client.get("/movers/", {"game": "pokemon", "period": "7d"})
    movers = response.context["movers"]
    assert names(movers.gainers) == ["Big Riser", "Only Simulated", "Small Riser", "Real Over Demo"]
    assert names(movers.losers) == ["Big Faller", "Small Faller", "Raw Over Graded"]
    html = response.content.decode()
    assert "+50.0%" in html and "−20.0%" in html
    assert "Demo prices are a simulation, not market data" in html
    assert html.count('<span class="tag tag-simulated">Simulated</span>') == 2  # row + note


def test_movers_filters_by_game(client, market):
    movers = client.get("/movers/", {"game": "onepiece"}).context["movers"]
    assert names(movers.gainers) == ["Luffy"]
    assert movers.losers == []


def test_movers_filters_by_period(client, market):
    movers = client.get("/movers/", {"period": "24h"}).context["movers"]
    assert names(movers.gainers) == ["Overnight"]
    assert movers.gainers[0].period_change == 20.0


def test_movers_leave_out_cheap_and_stale_prices(client, market):
    html = client.get("/movers/").content.decode()
    assert "Cheap Jumper" not in html
    assert "Stale Riser" not in html
    assert "prices under $1.00 are left out" in html


def test_most_watched_ranks_cards_by_watchers_with_their_change(client, market):
    collectors = [make_user() for _ in range(3)]
    for name, watchers in [
        ("Raw Over Graded", collectors),
        ("Overnight", collectors[:1]),  # popularity 5
        ("Real Over Demo", collectors[:1]),  # popularity 50: first of the tie
        ("Luffy", collectors),  # another game
    ]:
        Watch.objects.bulk_create(Watch(user=user, card=market[name]) for user in watchers)
    movers.refresh_rankings()  # the movers-refresh job (bulk_create sends no signal)

    rows = client.get("/movers/").context["movers"].most_watched

    assert [(card.name, price.period_change if price else None) for card, price in rows] == [
        ("Raw Over Graded", -2.0),
        ("Real Over Demo", 1.0),
        ("Overnight", None),
    ]


def test_movers_falls_back_to_defaults_for_unknown_filters(client, market):
    response = client.get("/movers/", {"game": "magic", "period": "1y"})
    assert response.status_code == 200
    assert (response.context["game"], response.context["period"]) == ("pokemon", "7d")


def test_movers_tabs_are_links_that_htmx_swaps_in_place(client, market):
    html = client.get("/movers/", {"period": "30d"}).content.decode()
    assert 'href="/movers/?game=onepiece&amp;period=30d"' in html
    assert 'hx-get="/movers/?game=pokemon&amp;period=24h"' in html
    partial = client.get("/movers/", {"period": "30d"}, **HTMX).content.decode()
    assert partial.lstrip().startswith("<title>") and "<html" not in partial
    assert '<div id="movers"' in partial


def test_movers_page_without_prices_has_empty_states(client):
    html = client.get("/movers/").content.decode()
    assert "No card rose in price over this period." in html
    assert "Nobody watches a Pokémon card yet." in html


def test_home_shows_the_week_s_movers_and_the_nav_links_to_movers(client, market):
    html = client.get("/").content.decode()
    assert "Movers this week" in html
    section = html[html.index("Movers this week") : html.index("sets</h2>")]
    assert "Big Riser" in section and "Big Faller" in section and "Luffy" in section
    assert '<a href="/movers/">Movers</a>' in html


def test_home_without_prices_has_no_movers_section(client):
    assert "Movers this week" not in client.get("/").content.decode()


@pytest.mark.parametrize("source", ["ebay", "demo"])
def test_the_qualifiers_shown_match_the_source_clients(source):
    import importlib

    from prices.sources.base import CLIENTS

    module_name, class_name = CLIENTS[source].rsplit(".", 1)
    client_class = getattr(importlib.import_module(module_name), class_name)
    assert history.source_qualifier(source) == client_class.qualifier
