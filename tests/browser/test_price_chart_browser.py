import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from prices.writing import Observation, record_observations
from tests.factories import make_card, make_set

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
