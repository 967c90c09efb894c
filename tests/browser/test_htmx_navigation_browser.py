"""Browsing the pages htmx navigates in place — search and movers — feels like moving
between pages: Back shows the filters the results were found with, the next page of
results starts at its top, and the tab's title follows."""

import re
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.conf import settings as django_settings
from playwright.sync_api import expect

from cards.models import Game
from tests.factories import make_card, make_set

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


def at(path="/cards/", **params):
    """A URL test: this path with these non-empty query parameters, and no others."""

    def matches(url: str) -> bool:
        parts = urlsplit(url)
        return parts.path == path and {k: v for k, v in parse_qsl(parts.query) if v} == params

    return matches


def title(text: str):
    return re.compile("^" + re.escape(f"{text} · {django_settings.SITE_NAME}") + "$")


def test_back_after_changing_search_filters_shows_the_filters_of_those_results(page):
    base = make_set(game=Game.POKEMON, code="base1", name="Base")
    romance = make_set(game=Game.ONEPIECE, code="OP01", name="Romance Dawn")
    make_card(card_set=base, number="4", name="Charizard")
    make_card(card_set=romance, number="001", name="Roronoa Zoro")
    make_card(card_set=romance, number="016", name="Nami")
    form = page.locator("#search-form")
    game, sort, query = form.get_by_label("Game"), form.get_by_label("Sort"), page.locator("#q")

    page.goto("/cards/")
    game.select_option("onepiece")
    page.wait_for_url(at(game="onepiece"))
    expect(page.locator(".card-tile")).to_have_count(2)
    sort.select_option("name")
    page.wait_for_url(at(game="onepiece", sort="name"))
    query.fill("zoro")
    page.wait_for_url(at(q="zoro", game="onepiece", sort="name"))
    expect(page.locator(".card-tile")).to_have_count(1)

    page.go_back()
    page.wait_for_url(at(game="onepiece", sort="name"))
    expect(page.locator(".card-tile")).to_have_count(2)
    expect(query).to_have_value("")
    expect(game).to_have_value("onepiece")
    expect(sort).to_have_value("name")

    page.go_back()
    page.wait_for_url(at(game="onepiece"))
    expect(game).to_have_value("onepiece")
    expect(sort).to_have_value("")

    page.go_back()
    page.wait_for_url(at())
    expect(page.locator(".card-tile")).to_have_count(3)
    expect(game).to_have_value("")

    page.go_forward()
    page.wait_for_url(at(game="onepiece"))
    expect(game).to_have_value("onepiece")
    assert page.console_errors == []


def test_back_to_a_search_htmx_no_longer_remembers_reloads_the_whole_page(page):
    make_card(name="Charizard")
    make_card(name="Charmander")
    page.goto("/cards/")
    page.locator("#q").fill("char")
    page.wait_for_url(at(q="char"))
    page.locator("#q").fill("charizard")
    page.wait_for_url(at(q="charizard"))
    # htmx keeps its snapshots of past pages in the tab's session storage; without one,
    # it asks the server for the page, which must answer with all of it, not the results.
    page.evaluate("sessionStorage.removeItem('htmx-history-cache')")

    with page.expect_request(lambda r: r.headers.get("hx-history-restore-request") == "true"):
        page.go_back()
    page.wait_for_url(at(q="char"))
    expect(page.locator(".card-tile")).to_have_count(2)
    expect(page.locator(".site-header")).to_have_count(1)
    expect(page.locator("#search-form")).to_have_count(1)
    expect(page.locator("#q")).to_have_value("char")
    assert page.console_errors == []


def test_the_next_page_of_search_results_starts_at_the_top_of_the_results(page, settings):
    settings.SEARCH_PAGE_SIZE = 6
    card_set = make_set(code="base1", name="Base")
    for number in range(1, 15):
        make_card(card_set=card_set, number=str(number), name=f"Card {number:02}")
    page.set_viewport_size(PHONE)
    page.goto("/cards/?sort=number")
    next_link = page.get_by_role("link", name="Next →")
    next_link.scroll_into_view_if_needed()
    assert page.evaluate("window.scrollY") > PHONE["height"]

    next_link.click()
    page.wait_for_url(re.compile(r"page=2"))
    expect(page.locator(".result-count")).to_contain_text("page 2 of 3")
    # The results' top at the top of the window.
    page.wait_for_function(
        "() => Math.abs(document.getElementById('results').getBoundingClientRect().top) <= 1"
    )
    expect(page.locator(".card-tile").first).to_be_in_viewport()

    page.get_by_role("link", name="← Previous").click()
    page.wait_for_url(re.compile(r"page=1"))
    expect(page.get_by_text("Card 01")).to_be_in_viewport()
    assert page.console_errors == []


def test_the_tab_title_follows_search_and_the_movers_tabs(page):
    make_card(name="Charizard")

    page.goto("/cards/")
    expect(page).to_have_title(title("Search cards"))
    page.locator("#q").fill("chari")
    page.wait_for_url(re.compile(r"q=chari"))
    expect(page).to_have_title(title("chari — Search cards"))
    page.go_back()
    expect(page).to_have_title(title("Search cards"))

    page.goto("/movers/")
    expect(page).to_have_title(title("Pokémon movers — 7 days"))
    page.get_by_role("navigation", name="Period").get_by_role("link", name="30D").click()
    page.wait_for_url(re.compile(r"period=30d"))
    expect(page).to_have_title(title("Pokémon movers — 30 days"))
    page.get_by_role("navigation", name="Game").get_by_role("link", name="One Piece").click()
    page.wait_for_url(re.compile(r"game=onepiece"))
    expect(page).to_have_title(title("One Piece movers — 30 days"))
    page.go_back()
    expect(page).to_have_title(title("Pokémon movers — 30 days"))
    assert page.console_errors == []
