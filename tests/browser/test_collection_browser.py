import pytest
from playwright.sync_api import expect

from collections_app.models import CollectionItem, Watch
from tests.browser.test_alerts_browser import log_in
from tests.factories import make_card, make_collection, make_set, make_user, record_prices

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_add_a_card_from_search_results_and_see_the_collection_total_change(page, live_server):
    user = make_user()
    collection = make_collection(user, name="Binder")
    base = make_set(code="base1", name="Base")
    card = make_card(card_set=base, number="4", name="Charizard", rarity="Rare Holo")
    make_card(card_set=base, number="2", name="Blastoise", rarity="Rare Holo")
    record_prices(card, {"ungraded": 4200})
    log_in(page, live_server, user)

    page.goto(collection.get_absolute_url())
    totals = page.locator("#collection-totals")
    expect(totals.locator("[data-total=value]")).to_have_text("$0.00")

    page.goto("/cards/")
    page.locator("#q").press_sequentially("chariz", delay=40)
    expect(page.locator(".card-tile")).to_have_count(1)
    tile = page.locator(".card-tile")
    tile.get_by_role("link", name="Add Charizard, Base 4/100, to a collection").click()
    expect(tile.get_by_label("Collection", exact=True)).to_have_value(str(collection.pk))
    tile.get_by_label("Quantity", exact=True).fill("1")
    tile.get_by_role("button", name="Add to collection").click()
    expect(tile.get_by_role("status")).to_contain_text("Added 1 × NM to Binder")

    item = CollectionItem.objects.get()
    assert (item.collection, item.card, item.quantity, item.condition) == (
        collection,
        card,
        1,
        "NM",
    )
    tile.get_by_role("link", name="view").click()
    expect(totals.locator("[data-total=value]")).to_have_text("$42.00")
    row = page.locator(f"#item-{item.pk}")
    expect(row).to_contain_text("valued at Ungraded — no Near Mint (NM) price")
    assert page.console_errors == []


def test_the_watch_button_on_the_card_page_flips_to_watching(page, live_server):
    user = make_user()
    card = make_card(name="Pikachu")
    record_prices(card, {"ungraded": 900})
    log_in(page, live_server, user)

    page.goto(card.get_absolute_url())
    button = page.locator(".watch-button")
    expect(button).to_have_text("☆ Watch")
    expect(button).to_have_attribute("aria-pressed", "false")
    button.click()

    expect(button).to_have_text("★ Watching")
    expect(button).to_have_attribute("aria-pressed", "true")
    assert Watch.objects.filter(user=user, card=card).exists()
    page.reload()
    expect(page.locator(".watch-button")).to_have_attribute("aria-pressed", "true")
    assert page.console_errors == []


def test_the_collection_page_draws_its_chart_and_edits_a_row_inline(page, live_server):
    user = make_user()
    collection = make_collection(user, name="Binder")
    card = make_card(name="Mewtwo")
    record_prices(card, {"NM": 1500})
    item = CollectionItem.objects.create(
        collection=collection, card=card, condition="NM", quantity=1, purchase_price=1000
    )
    log_in(page, live_server, user)

    page.goto(collection.get_absolute_url())
    expect(page.locator("#portfolio-chart")).to_be_visible()
    page.wait_for_function(
        "Chart.getChart(document.getElementById('portfolio-chart')) !== undefined"
    )
    page.get_by_role("link", name="1 year").click()
    expect(page.get_by_role("link", name="1 year")).to_have_attribute("aria-current", "true")

    row = page.locator(f"#item-{item.pk}")
    row.get_by_role("link", name="Edit Mewtwo, Near Mint").click()
    row.get_by_label("Quantity").fill("3")
    row.get_by_role("button", name="Save").click()
    expect(row).to_contain_text("$45.00")
    expect(page.locator("#collection-totals [data-total=value]")).to_have_text("$45.00")

    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Remove Mewtwo, Near Mint").click()
    expect(page.get_by_text("No cards in this collection yet.")).to_be_visible()
    expect(page.locator("#collection-totals [data-total=value]")).to_have_text("$0.00")
    assert not CollectionItem.objects.exists()
    assert page.console_errors == []
