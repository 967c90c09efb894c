"""Phones: every page of the site fits a 390 px wide screen without scrolling sideways —
anonymous, as a collector with a collection, a watchlist and alerts, and as staff. The
pages come from the URL resolver (tests/routes.py), so a page added tomorrow is measured
too; wide tables may scroll inside their own box, never the page."""

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from alerts.models import Alert, AlertEvent
from cards.models import Card
from collections_app.models import Collection
from prices.models import Source
from tests.browser.test_alerts_browser import log_in
from tests.factories import make_card, make_item, make_set, record_prices
from tests.routes import ROUTES, make_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}

# Pages of allauth's and Django's own that collectors and staff see.
ACCOUNT_PAGES = [
    "/accounts/login/",
    "/accounts/signup/",
    "/accounts/password/reset/",
]
SIGNED_IN_PAGES = ["/accounts/email/", "/accounts/password/change/"]
ADMIN_PAGES = [
    "/admin/",
    "/admin/cards/card/",
    "/admin/cards/card/add/",
    "/admin/cards/cardset/",
    "/admin/collections_app/collection/",
]

# What sticks out, for the failure message: the elements reaching the page's far edge.
CULPRITS = """
() => {
  const edge = document.documentElement.scrollWidth - 1;
  const found = [];
  for (const element of document.body.querySelectorAll("*")) {
    if (element.getBoundingClientRect().right >= edge) {
      const classes = typeof element.className === "string" && element.className.trim()
        ? "." + element.className.trim().split(/\\s+/).join(".") : "";
      found.push(element.tagName.toLowerCase() + (element.id ? "#" + element.id : "") + classes);
    }
  }
  return found.slice(-5);
}
"""


def html_pages(user=None, world=None) -> list[str]:
    """Our routes that answer this visitor's GET with an HTML page."""
    client = Client()
    if user is not None:
        client.force_login(user)
    paths = []
    for route in ROUTES:
        path = route.path(world.real_values(route)) if route.is_ours else None
        if not path or path in paths:
            continue
        response = client.get(path)
        if response.status_code == 200 and response["Content-Type"].startswith("text/html"):
            paths.append(path)
    return paths


def overflowing(page, paths: list[str]) -> list[str]:
    problems = []
    for path in paths:
        page.goto(path)
        page.wait_for_load_state("load")
        # What folds away (an alert's trigger history) counts when it is open.
        page.evaluate("document.querySelectorAll('details').forEach((d) => { d.open = true; })")
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            problems.append(f"{path}: {width}px wide {page.evaluate(CULPRITS)}")
    return problems


def fill_the_world(world):
    """More than one of everything, with the long names and notes real collections have."""
    collection = Collection.objects.get(user=world.owner)
    card_set = make_set(code="sv3pt5", name="Scarlet & Violet—151 Special Collection")
    for number, name in [("199", "Charizard ex Special Illustration Rare"), ("25", "Pikachu")]:
        card = make_card(card_set=card_set, number=number, name=name, rarity="Rare")
        record_prices(card, {"ungraded": 12345, "NM": 13000, "PSA 10": 99999})
        make_item(
            collection,
            card,
            quantity=3,
            purchase_price=9999,
            purchase_date=dt.date(2024, 3, 9),
            acquired_from="Local game store trade night",
            notes="Bought with the rest of the binder from a friend who moved abroad",
        )
        make_item(collection, card, grader="PSA", grade="10", purchase_price=150000)
    alert = Alert.objects.get(user=world.owner)
    AlertEvent.objects.create(
        alert=alert,
        source=Source.PRICECHARTING,
        price=29999,
        previous_price=35000,
        change=-14.3,
        threshold=30000,
        observed_at=timezone.now(),
        email_status=AlertEvent.EmailStatus.SENT,
    )


def test_every_page_fits_a_phone_screen_for_every_kind_of_visitor(browser, live_server):
    world = make_world()
    fill_the_world(world)
    # Other views of the same routes: the set page as a price table, search with results.
    set_url = reverse("cards:set_detail", kwargs=world.real["cards:set_detail"])
    views = [f"{set_url}?view=table", "/cards/?q=charizard", "/sets/?game=onepiece"]
    pages = {
        None: html_pages(None, world) + ACCOUNT_PAGES + views,
        world.owner: html_pages(world.owner, world) + SIGNED_IN_PAGES + views,
        world.staff: html_pages(world.staff, world) + SIGNED_IN_PAGES + ADMIN_PAGES + views,
    }
    # Each visitor sees their own pages: the collector's collection and alerts, staff's
    # tools, everyone the shared collection.
    assert world.collection_url in pages[world.owner]
    assert any(path.startswith("/staff/") for path in pages[world.staff])
    assert any("/shared/" in path for path in pages[None])

    problems = []
    for user, paths in pages.items():
        context = browser.new_context(base_url=live_server.url, viewport=PHONE)
        context.set_default_timeout(10_000)
        page = context.new_page()
        if user is not None:
            log_in(page, live_server, user)
        problems += [f"{user or 'anonymous'} {problem}" for problem in overflowing(page, paths)]
        context.close()
    assert not problems, "\n".join(problems)


def test_a_collection_on_a_phone_shows_each_items_value_gain_and_actions(page, live_server):
    world = make_world()
    fill_the_world(world)
    log_in(page, live_server, world.owner)
    page.set_viewport_size(PHONE)

    page.goto(world.collection_url)
    rows = page.locator(".items-table tbody tr")
    expect(rows).to_have_count(5)
    for row in rows.all():
        row.scroll_into_view_if_needed()
        for part in [
            row.locator("[data-label='Value']"),
            row.locator("[data-label='Gain / loss']"),
            row.get_by_role("link", name="Edit"),
            row.get_by_role("button", name="Remove"),
        ]:
            expect(part).to_be_visible()
            box = part.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], part

    # What htmx opens in place fits too: a row's edit form, the add-a-card panel.
    first = rows.first
    first.get_by_role("link", name="Edit").click()
    expect(page.locator(".item-row.is-editing form")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.get_by_role("link", name="Add a card").click()
    expect(page.locator("#item-add-slot input").first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert page.console_errors == []


# Each wide table's boxes: how far the box scrolls, and where its key column is once it has.
SCROLL_TABLES = """
() => Array.from(document.querySelectorAll(".table-wrap"))
  .filter((box) => box.scrollWidth > box.clientWidth + 1)
  .map((box) => {
    box.scrollLeft = box.scrollWidth;
    const row = box.querySelector("tbody tr");
    const key = row.querySelector(":scope > th[scope=row]") || row.firstElementChild;
    const heading = box.querySelectorAll("thead th")[Array.from(row.children).indexOf(key)];
    return {
      box: box.getBoundingClientRect().left + box.clientLeft,
      key: key.getBoundingClientRect().left,
      heading: heading ? heading.getBoundingClientRect().left : null,
      scrolled: box.scrollLeft,
    };
  })
"""


def test_wide_tables_on_a_phone_scroll_in_their_box_with_the_key_column_held(page, live_server):
    world = make_world()
    for number in range(3):
        make_set(
            code=f"swsh12pt5gg{number}",
            name="Crown Zenith Galarian Gallery",
            series="Sword & Shield",
            release_date=dt.date(2023, 1, 20),
        )
    fill_the_world(world)
    set_url = Card.objects.get(number="199").card_set.get_absolute_url()
    log_in(page, live_server, world.staff)
    page.set_viewport_size(PHONE)

    for path in ["/staff/", "/staff/jobs/", "/sets/", f"{set_url}?view=table"]:
        page.goto(path)
        tables = page.evaluate(SCROLL_TABLES)
        assert tables, f"{path}: no table wider than a phone to try"
        for table in tables:
            assert table["scrolled"] > 0, path
            assert abs(table["key"] - table["box"]) <= 1, (path, table)
            if table["heading"] is not None:
                assert abs(table["heading"] - table["box"]) <= 1, (path, table)
