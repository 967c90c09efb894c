import datetime as dt
import re

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import expect

from prices.writing import Observation, record_observations
from tests.factories import make_card, make_set
from tests.fakes.pricecharting import CHARIZARD_BASE, FakePriceCharting

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DATASETS = "Chart.getChart(document.querySelector('#price-chart')).data.datasets"


def a_year_of_prices(card, source="pricecharting", price_keys=("ungraded", "PSA 10")):
    # A minute before now, so that "the last 30 days" holds exactly 30 of them.
    start = timezone.now() - dt.timedelta(minutes=1)
    record_observations(
        Observation(
            card_id=card.pk,
            source=source,
            price_key=key,
            market=(2000 if key == "ungraded" else 9000) + 15 * day + 400 * (day % 9 == 0),
            observed_at=start - dt.timedelta(days=day),
            sample_size=10,
        )
        for key in price_keys
        for day in range(366)
    )


def point_counts(page):
    return page.evaluate(f"{DATASETS}.map(d => d.data.length)")


def test_the_chart_renders_and_the_period_buttons_change_it(page):
    card = make_card(card_set=make_set(code="base1", name="Base"), name="Charizard")
    a_year_of_prices(card)

    page.goto(card.get_absolute_url())
    page.wait_for_function(
        "() => window.Chart && Chart.getChart(document.querySelector('#price-chart'))"
    )
    assert page.evaluate(f"{DATASETS}.length") == 2
    assert point_counts(page) == [30, 30]  # 30 days, one point a day
    assert page.evaluate(f"{DATASETS}.map(d => d.label)") == [
        "PriceCharting · Ungraded",
        "PriceCharting · PSA 10",
    ]

    page.get_by_role("link", name="7D").click()
    page.wait_for_function(f"() => {DATASETS}[0].data.length === 7")
    assert point_counts(page) == [7, 7]
    expect(page.get_by_role("link", name="7D")).to_have_attribute("aria-current", "true")
    expect(page.get_by_role("link", name="30D")).not_to_have_attribute("aria-current", "true")
    page.wait_for_url(f"**{card.get_absolute_url()}?period=7d")

    page.get_by_role("link", name="1Y").click()
    page.wait_for_function(f"() => {DATASETS}[0].data.length > 300")
    assert page.evaluate("document.querySelector('#price-chart').dataset.period") == "1y"
    assert page.console_errors == []


def test_the_period_buttons_change_the_statistics_beside_the_chart(page):
    card = make_card(name="Venusaur")
    a_year_of_prices(card)

    page.goto(card.get_absolute_url())
    stats = page.locator("#price-stats")
    expect(stats.get_by_role("heading")).to_have_text("Statistics over the last 30 days")
    expect(stats.get_by_role("row", name=re.compile("PriceCharting · Ungraded"))).to_contain_text(
        "30 days"
    )

    page.get_by_role("link", name="1Y").click()
    expect(stats.get_by_role("heading")).to_have_text("Statistics over the last year")
    expect(stats.get_by_role("row", name=re.compile("PriceCharting · Ungraded"))).to_contain_text(
        "365 days"
    )
    expect(page.locator("#price-stats")).to_have_count(1)
    expect(page.locator("#price-chart-controls")).to_have_count(1)
    assert page.console_errors == []


def test_a_line_can_be_switched_off_and_stays_off_across_periods(page):
    card = make_card(name="Pikachu")
    a_year_of_prices(card, source="demo")

    page.goto(card.get_absolute_url())
    psa = page.get_by_role("checkbox", name="Demo · PSA 10 (simulated)")
    expect(psa).to_be_checked()
    psa.uncheck()
    assert (
        page.evaluate("Chart.getChart(document.querySelector('#price-chart')).isDatasetVisible(1)")
        is False
    )

    page.get_by_role("link", name="3M").click()
    page.wait_for_function(f"() => {DATASETS}[0].data.length > 80")
    expect(page.get_by_role("checkbox", name="Demo · PSA 10 (simulated)")).not_to_be_checked()
    expect(page.get_by_text("Dashed lines are simulated")).to_be_visible()
    assert page.console_errors == []


def test_period_links_work_without_javascript(browser, live_server):
    card = make_card(name="Mewtwo")
    a_year_of_prices(card, price_keys=("ungraded",))
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    page.goto(card.get_absolute_url())
    page.get_by_role("link", name="1Y").click()
    page.wait_for_url(f"**{card.get_absolute_url()}?period=1y#chart")
    expect(page.get_by_role("link", name="1Y")).to_have_attribute("aria-current", "true")
    context.close()


def test_the_card_page_fits_a_phone_screen(page):
    card = make_card(name="Bulbasaur")
    a_year_of_prices(card)
    a_year_of_prices(card, source="demo", price_keys=("ungraded",))
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto(card.get_absolute_url())
    page.wait_for_function(
        "() => window.Chart && Chart.getChart(document.querySelector('#price-chart'))"
    )
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    assert page.console_errors == []


# A first sync of a real source: PriceCharting's afternoon of 30 November 2026.
DAY_ONE = dt.datetime(2026, 11, 30, 15, 0, tzinfo=dt.UTC)
CHART = "Chart.getChart(document.querySelector('#price-chart'))"


def test_one_day_of_pricecharting_beside_a_year_of_demo_prices(browser, live_server, fake_server):
    card = make_card(
        card_set=make_set(code="base1", name="Base"), name="Charizard", pricecharting_id="630417"
    )
    with time_machine.travel(DAY_ONE, tick=False):
        a_year_of_prices(card, source="demo")
        # The nine prices exactly as the API sync writes them, through the real client.
        fake = FakePriceCharting(fake_server)
        fake.add_product(**{**CHARIZARD_BASE, "sales-volume": "2181"})
        synced = fake.client().fetch([card])
        assert record_observations(synced.observations).rejected == 0
        # A collector in New York: 30 November's prices must still read 30 November.
        context = browser.new_context(
            base_url=live_server.url,
            timezone_id="America/New_York",
            viewport={"width": 1280, "height": 900},
        )
        context.set_default_timeout(10_000)
        page = context.new_page()
        errors = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda error: errors.append(str(error)))

        page.goto(card.get_absolute_url())
        page.wait_for_function(f"() => window.Chart && {CHART}")
        expect(page.locator(".price-source").first).to_contain_text("2,181 sales, all grades")

        page.get_by_role("link", name="7D").click()
        page.wait_for_function(
            "() => document.querySelector('#price-chart').dataset.period === '7d'"
        )

        # The axis is the last seven days, not the one moment the prices share.
        axis = page.evaluate(
            f"""() => {{
                const x = {CHART}.scales.x;
                return {{
                    min: x.min === new Date("2026-11-23T15:00:00").getTime(),
                    max: x.max === new Date("2026-11-30T15:00:00").getTime(),
                    days: (x.max - x.min) / 86400000,
                    ticks: x.ticks.map(tick => tick.label),
                }};
            }}"""
        )
        assert (axis["min"], axis["max"], axis["days"]) == (True, True, 7)
        assert "30 Nov" in axis["ticks"] and "24 Nov" in axis["ticks"]
        for label in axis["ticks"]:
            assert not re.search(r"\d:\d|[ap]\.?m\b|\d{3}", label, re.I), axis["ticks"]

        lines = page.evaluate(
            f"""() => {{
                const chart = {CHART};
                const area = chart.chartArea;
                return chart.data.datasets.map((dataset, index) => {{
                    const points = chart.getDatasetMeta(index).data;
                    return {{
                        label: dataset.label,
                        visible: chart.isDatasetVisible(index),
                        order: dataset.order,
                        points: points.length,
                        radius: points.length ? points[0].options.radius : 0,
                        inside: points.length > 0
                            && points[0].x > area.left && points[0].x < area.right,
                    }};
                }});
            }}"""
        )
        real = [line for line in lines if line["label"].startswith("PriceCharting")]
        demo = [line for line in lines if line["label"].startswith("Demo")]
        assert len(real) == 9 and len(demo) == 2
        for line in real:
            assert line["label"].endswith(" — one price, 30 Nov 2026"), line
            assert line["visible"] and line["points"] == 1 and line["radius"] > 0, line
            assert line["inside"], line
        assert not any(line["visible"] for line in demo)
        assert min(line["order"] for line in demo) > max(line["order"] for line in real)

        psa = page.get_by_role("checkbox", name="PriceCharting · PSA 10 — one price, 30 Nov 2026")
        expect(psa).to_be_checked()
        # Hovering the PSA 10 marker: the tooltip says the day, not a time of day.
        marker = page.evaluate(
            f"""() => {{
                const chart = {CHART};
                const psa = "pricecharting|PSA 10|USD";
                const index = chart.data.datasets.findIndex(d => d.key === psa);
                const point = chart.getDatasetMeta(index).data[0];
                return {{x: point.x, y: point.y}};
            }}"""
        )
        box = page.locator("#price-chart").bounding_box()
        page.mouse.move(box["x"] + marker["x"], box["y"] + marker["y"])
        page.wait_for_function(f"() => {CHART}.tooltip.opacity > 0")
        assert page.evaluate(f"{CHART}.tooltip.title") == ["30 Nov 2026"]

        # The simulated lines stay one click away, and stay on across periods.
        demo_box = page.get_by_role("checkbox", name="Demo · Ungraded (simulated)")
        expect(demo_box).not_to_be_checked()
        demo_box.check()
        page.wait_for_function(
            f"() => {CHART}.isDatasetVisible({CHART}.data.datasets.findIndex(d => d.simulated))"
        )
        expect(page.get_by_text("Beside real prices they start switched off")).to_be_visible()
        page.get_by_role("link", name="1Y").click()
        page.wait_for_function(
            "() => document.querySelector('#price-chart').dataset.period === '1y'"
        )
        expect(page.get_by_role("checkbox", name="Demo · Ungraded (simulated)")).to_be_checked()
        expect(page.get_by_role("checkbox", name="Demo · PSA 10 (simulated)")).not_to_be_checked()
        expect(
            page.get_by_role("checkbox", name="PriceCharting · PSA 10 — one day, 30 Nov 2026")
        ).to_be_checked()
        assert errors == []
        context.close()
