"""The grading helper's cost recomputes in place, and the new price views fit a phone."""

import pytest
from playwright.sync_api import expect

from tests.factories import make_card, make_set, record_prices

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def charizard():
    card = make_card(card_set=make_set(code="base1", name="Base"), number="4", name="Charizard")
    record_prices(card, {"ungraded": 10000, "PSA 9": 11000, "PSA 10": 40000})
    return card


def test_changing_the_grading_cost_recomputes_the_helper_in_place(page, charizard):
    page.goto(charizard.get_absolute_url())
    verdict = page.locator(".grading-verdict")
    expect(verdict).to_contain_text("Grading pays off at PSA 10 only")

    page.get_by_label("Grading cost per card (US$)").fill("5")
    page.get_by_role("button", name="Recalculate").click()

    expect(verdict).to_contain_text("Grading pays off at PSA 9 and PSA 10")
    assert page.url.endswith(charizard.get_absolute_url())  # swapped in, no navigation
    # The panel is swapped whole; focus stays on the button that asked.
    expect(page.get_by_role("button", name="Recalculate")).to_be_focused()
    assert page.console_errors == []


@pytest.mark.parametrize("path", ["card", "/sets/pokemon/base1/?view=table", "/sets/?game=pokemon"])
def test_prices_in_lists_fit_a_phone(page, charizard, path):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(charizard.get_absolute_url() if path == "card" else path)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    assert page.console_errors == []
