import pytest
from playwright.sync_api import expect

from tests.factories import make_card, make_set

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_typing_in_the_search_box_shows_live_results(page):
    base = make_set(code="base1", name="Base")
    make_card(card_set=base, number="4", name="Charizard", rarity="Rare Holo")
    make_card(card_set=base, number="2", name="Blastoise", rarity="Rare Holo")

    page.goto("/cards/")
    expect(page.locator(".card-tile")).to_have_count(2)
    page.locator("#q").press_sequentially("chari", delay=40)

    expect(page.locator(".card-tile")).to_have_count(1)
    expect(page.locator(".card-tile-name")).to_have_text("Charizard")
    page.wait_for_url("**/cards/?q=chari*")
    assert page.console_errors == []


def test_a_syntax_error_appears_while_typing(page):
    make_card(name="Pikachu")
    page.goto("/cards/")
    page.locator("#q").press_sequentially("pikachu colour:yellow", delay=20)
    expect(page.get_by_role("alert")).to_contain_text('Unknown filter "colour:"')


def test_the_search_form_works_without_javascript(browser, live_server):
    make_card(name="Mewtwo")
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    page.goto("/cards/")
    page.locator("#q").fill("mewtwo")
    page.get_by_role("button", name="Search").click()
    expect(page.locator(".card-tile-name")).to_have_text("Mewtwo")
    context.close()


def test_the_layout_fits_a_phone_screen(page):
    make_card(name="Squirtle")
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto("/cards/?q=squirtle")
    expect(page.locator(".card-tile-name")).to_have_text("Squirtle")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0

    page.goto("/sets/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "brand"
