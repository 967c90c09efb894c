import datetime as dt
import html as html_lib
import json
import re

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from collections_app.forms import AddToCollectionForm, blank_add_fields
from collections_app.models import Collection, CollectionItem
from collections_app.valuation import forget_valuations
from collections_app.views import ITEMS_PER_PAGE
from tests.factories import (
    make_card,
    make_collection,
    make_item,
    make_set,
    make_user,
    record_prices,
)

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def owner():
    return make_user(first_name="Ash", last_name="Ketchum")


@pytest.fixture
def client(owner):
    client = Client()
    client.force_login(owner)
    return client


@pytest.fixture
def charizard():
    card = make_card(name="Charizard", number="4")
    record_prices(card, {"ungraded": 4200, "NM": 5000, "PSA 10": 31000})
    return card


@pytest.fixture
def collection(owner):
    return make_collection(owner, name="Binder")


def text_of(response) -> str:
    """The response's text without tags and with collapsed whitespace."""
    return text_of_html(response.content.decode())


def text_of_html(html: str) -> str:
    return html_lib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def item_post(card, **overrides):
    data = {
        "card": card.pk,
        "quantity": "1",
        "condition": "NM",
        "grader": "",
        "grade": "",
        "grade_label": "",
        "purchase_price": "",
        "purchase_date": "",
        "acquired_from": "",
        "notes": "",
    }
    data.update(overrides)
    return data


# --- My collections ---------------------------------------------------------------------


def test_the_list_shows_each_collection_with_value_cost_and_gain(client, collection, charizard):
    make_item(collection, charizard, quantity=2, purchase_price=4000)
    unpriced = make_card(name="Unpriced Promo")
    make_item(collection, unpriced)

    response = client.get(reverse("collections:list"))

    assert response.status_code == 200
    text = text_of(response)
    assert "Binder" in text
    assert "$100.00" in text  # 2 × NM $50.00
    assert "$80.00" in text  # cost
    assert "+$20.00" in text
    assert "+25.0%" in text
    assert "1 unpriced — not counted" in text


def test_the_list_explains_collections_when_there_are_none(client):
    response = client.get(reverse("collections:list"))

    text = text_of(response)
    assert "No collections yet." in text
    assert "makes “My collection” for you" in text
    assert 'action="/collections/new/"' in response.content.decode()


def test_creating_a_collection_opens_it(client, owner):
    response = client.post(
        reverse("collections:create"),
        {"name": "Vintage", "basis_source": "pricecharting", "basis_key": "ungraded"},
    )

    collection = Collection.objects.get(user=owner)
    assert response.status_code == 302
    assert response["Location"] == collection.get_absolute_url()
    assert (collection.name, collection.basis_source, collection.basis_key) == (
        "Vintage",
        "pricecharting",
        "ungraded",
    )


def test_a_second_collection_with_the_same_name_is_refused_with_a_message(client, collection):
    response = client.post(
        reverse("collections:create"), {"name": "binder", "basis_source": "", "basis_key": ""}
    )

    assert response.status_code == 422
    assert "you already have a collection called “binder”" in response.content.decode()
    assert Collection.objects.filter(user=collection.user).count() == 1


def test_the_list_query_count_does_not_grow_with_collections(client, owner):
    def add_collection():
        collection = make_collection(owner)
        for _ in range(3):
            card = make_card()
            record_prices(card, {"NM": 1000})
            make_item(collection, card, purchase_price=500)

    add_collection()
    with CaptureQueriesContext(connection) as one:
        assert client.get(reverse("collections:list")).status_code == 200
    for _ in range(9):
        add_collection()
    with CaptureQueriesContext(connection) as ten:
        response = client.get(reverse("collections:list"))
    assert response.content.decode().count('<tr id="collection-') == 10
    assert len(ten) == len(one)


# --- A collection's page ----------------------------------------------------------------


def test_the_totals_count_priced_items_and_name_the_unpriced_and_fallbacks(
    client, collection, charizard
):
    blastoise = make_card(name="Blastoise")
    record_prices(blastoise, {"ungraded": 2000})  # no LP price: valued at ungraded
    make_item(collection, charizard, quantity=1, purchase_price=3000)
    make_item(collection, blastoise, condition="LP", purchase_price=2500)
    make_item(collection, make_card(name="Mystery Promo"), purchase_price=100)

    response = client.get(collection.get_absolute_url())

    assert response.status_code == 200
    text = text_of(response)
    totals = text.split("Value over time")[0]
    assert "$70.00" in totals  # 5000 + 2000
    assert "$56.00" in totals  # every purchase price, the unpriced one's too
    assert "+$15.00" in totals  # measured on the priced items: 7000 − 5500
    assert "1 item unpriced — not counted in the value." in totals
    assert "1 valued at a fallback price" in totals
    assert "Best available source, each item's condition or grade" in totals
    assert "valued at Ungraded — no Lightly Played (LP) price" in text
    assert "Unpriced — no price for this card yet" in text
    assert "Simulated" not in text


def test_demo_prices_are_tagged_simulated_wherever_they_count(client, collection):
    card = make_card(name="Pikachu")
    record_prices(card, {"NM": 900}, source="demo")
    make_item(collection, card)

    detail = text_of(client.get(collection.get_absolute_url()))
    listing = text_of(client.get(reverse("collections:list")))

    assert "Simulated Some values are demo prices: a simulation, not market data." in detail
    assert "$9.00 Simulated" in listing


def test_each_row_shows_what_was_paid_the_gain_and_where_it_came_from(
    client, collection, charizard
):
    make_item(
        collection,
        charizard,
        quantity=3,
        purchase_price=4000,
        purchase_date=dt.date(2024, 5, 31),
        acquired_from="Card show",
        notes="Centered nicely",
    )

    response = client.get(collection.get_absolute_url())

    row = text_of(response).split("Charizard", 1)[1]
    for expected in [
        "Near Mint",
        "3",
        "$50.00",  # per copy
        "$150.00",  # value
        "$40.00",  # paid per copy
        "$120.00 total",
        "+$30.00",
        "+25.0%",
        "31 May 2024",
        "Card show",
        "Centered nicely",
    ]:
        assert expected in row


def _row_order(response) -> list[str]:
    row = r'<tr id="item-\d+" class="item-row[^"]*">\s*<th[^>]*>.*?<a href="[^"]+">([^<]+)</a>'
    return re.findall(row, response.content.decode(), re.S)


def test_the_items_sort_by_value_gain_name_and_set(client, collection):
    old_set = make_set(name="Base Set", release_date=dt.date(1999, 1, 9))
    new_set = make_set(name="151", release_date=dt.date(2023, 9, 22))
    cheap = make_card(name="Abra", card_set=new_set)
    dear = make_card(name="Zapdos", card_set=old_set)
    unpriced = make_card(name="Mew", card_set=new_set)
    record_prices(cheap, {"NM": 100})
    record_prices(dear, {"NM": 9000})
    make_item(collection, cheap, purchase_price=50)  # +50
    make_item(collection, dear, purchase_price=10000)  # −1000
    make_item(collection, unpriced)
    url = collection.get_absolute_url()

    assert _row_order(client.get(url)) == ["Zapdos", "Abra", "Mew"]  # value, highest first
    assert _row_order(client.get(url, {"sort": "value"})) == ["Abra", "Zapdos", "Mew"]
    assert _row_order(client.get(url, {"sort": "-gain"})) == ["Abra", "Zapdos", "Mew"]
    assert _row_order(client.get(url, {"sort": "gain"})) == ["Zapdos", "Abra", "Mew"]
    assert _row_order(client.get(url, {"sort": "name"})) == ["Abra", "Mew", "Zapdos"]
    assert _row_order(client.get(url, {"sort": "set"})) == ["Zapdos", "Abra", "Mew"]
    assert _row_order(client.get(url, {"sort": "nonsense"})) == ["Zapdos", "Abra", "Mew"]


def test_the_sorted_column_says_so_and_its_link_reverses_it(client, collection, charizard):
    make_item(collection, charizard)

    html = client.get(collection.get_absolute_url(), {"sort": "name"}).content.decode()

    assert re.search(
        r'<th scope="col" class="sortable " aria-sort="ascending"><a href="[^"]*\?sort=-name">Card',
        html,
    )
    assert re.search(
        r'<th scope="col" class="sortable num"><a href="[^"]*\?sort=-value">Value', html
    )
    assert html.count("aria-sort=") == 1


def test_the_page_links_to_import_export_settings_and_delete(client, collection):
    html = client.get(collection.get_absolute_url()).content.decode()

    for name in ["import", "export", "edit", "delete", "add_item"]:
        assert f'href="{reverse(f"collections:{name}", args=[collection.pk])}"' in html


def test_the_chart_data_comes_with_the_page_and_per_period(client, collection, charizard):
    make_item(collection, charizard, purchase_price=4000)

    page = client.get(collection.get_absolute_url())
    data = json.loads(
        re.search(
            r'<script id="portfolio-chart-data" type="application/json">(.*?)</script>',
            page.content.decode(),
            re.S,
        ).group(1)
    )
    assert data["currency"] == "USD"
    assert data["points"][-1]["value"] == 5000
    assert data["points"][-1]["cost"] == 4000
    assert 'aria-label="Value and cost of Binder over time.' in page.content.decode()

    partial = client.get(
        reverse("collections:chart", args=[collection.pk]), {"period": "1y"}, **HTMX
    )
    assert partial.status_code == 200
    assert '"period": "1y"' in partial.content.decode()
    assert '<a href="/collections/' in partial.content.decode()
    assert "<html" not in partial.content.decode()


def test_the_chart_endpoint_refuses_an_unknown_period_and_redirects_without_htmx(
    client, collection
):
    url = reverse("collections:chart", args=[collection.pk])

    assert client.get(url, {"period": "5y"}, **HTMX).status_code == 400
    response = client.get(url, {"period": "all"})
    assert response.status_code == 302
    assert response["Location"] == f"{collection.get_absolute_url()}?period=all#chart"


def test_an_empty_collection_invites_adding_a_card(client, collection):
    text = text_of(client.get(collection.get_absolute_url()))

    assert "No cards in this collection yet." in text
    assert "The chart fills in day by day" in text


def test_the_detail_query_count_is_the_same_for_500_items_as_for_5(client, collection):
    card_set = make_set()
    cards = [make_card(card_set=card_set) for _ in range(20)]
    for index, card in enumerate(cards):
        record_prices(card, {"NM": 100 + index, "PSA 10": 1000 + index})

    def add_items(count):
        CollectionItem.objects.bulk_create(
            CollectionItem(
                collection=collection,
                card=cards[i % len(cards)],
                condition="" if i % 3 == 0 else "LP",
                grader="PSA" if i % 3 == 0 else "",
                grade=10 if i % 3 == 0 else None,
                purchase_price=50 + i,
                purchase_date=dt.date(2024, 1, 1),
            )
            for i in range(count)
        )
        forget_valuations([collection.pk])  # bulk_create sends no signal

    add_items(5)
    with CaptureQueriesContext(connection) as small:
        assert client.get(collection.get_absolute_url()).status_code == 200
    add_items(495)
    with CaptureQueriesContext(connection) as large:
        response = client.get(collection.get_absolute_url())
    assert response.content.decode().count('class="item-row') == ITEMS_PER_PAGE
    assert f"Items 1–{ITEMS_PER_PAGE} of 500" in text_of(response)
    assert len(large) == len(small)


# --- Settings, delete --------------------------------------------------------------------


def test_settings_rename_and_change_the_basis(client, collection):
    url = reverse("collections:edit", args=[collection.pk])
    assert client.get(url).status_code == 200

    response = client.post(url, {"name": "Graded", "basis_source": "ebay", "basis_key": "NM"})

    assert response.status_code == 302
    collection.refresh_from_db()
    assert (collection.name, collection.basis_source, collection.basis_key) == (
        "Graded",
        "ebay",
        "NM",
    )


def test_settings_with_an_empty_name_answer_422(client, collection):
    response = client.post(
        reverse("collections:edit", args=[collection.pk]),
        {"name": " ", "basis_source": "", "basis_key": ""},
    )

    assert response.status_code == 422
    assert "Name: give the collection a name." in response.content.decode()


def test_deleting_asks_first_then_removes_the_collection_and_its_items(
    client, collection, charizard
):
    make_item(collection, charizard)
    url = reverse("collections:delete", args=[collection.pk])

    confirm = client.get(url)
    assert "its 1 item" in text_of(confirm)
    assert Collection.objects.filter(pk=collection.pk).exists()

    response = client.post(url, follow=True)
    assert not Collection.objects.filter(pk=collection.pk).exists()
    assert not CollectionItem.objects.exists()
    assert "Collection “Binder” deleted." in text_of(response)


# --- Adding, editing, removing items -----------------------------------------------------


def test_the_card_picker_searches_the_catalog(client, collection, charizard):
    make_card(name="Pikachu")
    url = reverse("collections:add_item", args=[collection.pk])

    full = client.get(url, {"q": "chariz"})
    assert "Charizard" in text_of(full)
    assert "Pikachu" not in text_of(full)
    assert f"?card={charizard.pk}" in full.content.decode()

    results = client.get(url, {"q": "charizard"}, HTTP_HX_TARGET="card-picker-results", **HTMX)
    assert "Charizard" in text_of(results)
    assert "<form" not in results.content.decode()

    form = client.get(url, {"card": charizard.pk}, **HTMX)
    assert f'name="card" value="{charizard.pk}"' in form.content.decode()
    assert 'name="quantity"' in form.content.decode()


def test_adding_an_item_stores_cents_and_goes_back_to_the_collection(client, collection, charizard):
    response = client.post(
        reverse("collections:add_item", args=[collection.pk]),
        item_post(charizard, quantity="2", purchase_price="39.99", acquired_from="LGS"),
        follow=True,
    )

    item = CollectionItem.objects.get()
    assert (item.collection, item.card, item.quantity, item.purchase_price) == (
        collection,
        charizard,
        2,
        3999,
    )
    assert item.acquired_from == "LGS"
    assert "Added 2 × NM Charizard to “Binder”." in text_of(response)


def test_adding_an_item_with_htmx_swaps_in_the_table_and_totals(client, collection, charizard):
    response = client.post(
        reverse("collections:add_item", args=[collection.pk]),
        item_post(charizard, condition="", grader="PSA", grade="10", purchase_price="250"),
        HTTP_HX_CURRENT_URL=f"http://testserver{collection.get_absolute_url()}?sort=name",
        **HTMX,
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "Added 1 × PSA 10 Charizard." in text_of(response)
    assert '<div id="items-table" class="table-wrap items-table-wrap" hx-swap-oob="true">' in html
    assert '<section id="collection-totals"' in html and 'hx-swap-oob="true"' in html
    assert "$310.00" in html
    assert 'aria-sort="ascending"' in html  # the sort of the page it came from
    item = CollectionItem.objects.get()
    assert (item.condition, item.grader, item.grade) == ("", "PSA", 10)


def test_a_graded_item_needs_the_grader_and_the_grade(client, collection, charizard):
    response = client.post(
        reverse("collections:add_item", args=[collection.pk]),
        item_post(charizard, condition="", grader="PSA"),
        **HTMX,
    )

    assert response.status_code == 422
    assert "choose a condition, or a grader and a grade" in response.content.decode()
    assert not CollectionItem.objects.exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("quantity", "0", "Quantity: at least 1."),
        ("purchase_price", "-1", "Paid per copy: enter an amount of $0 or more."),
        ("purchase_price", "1.234", "Paid per copy: at most two decimals (cents)."),
        ("purchase_date", "2999-01-01", "Bought on: the date is in the future."),
        # What the CSV importer refuses, so that an exported collection imports again.
        ("purchase_date", "1990-05-01", "Bought on: the date is before 1996."),
        ("notes", "x" * 10_001, "Notes: at most 10,000 characters (10,001 given)."),
    ],
)
def test_invalid_item_fields_answer_422_naming_the_field(
    client, collection, charizard, field, value, message
):
    response = client.post(
        reverse("collections:add_item", args=[collection.pk]),
        item_post(charizard, **{field: value}),
        **HTMX,
    )

    assert response.status_code == 422
    assert message in response.content.decode()
    assert not CollectionItem.objects.exists()


def test_adding_without_a_card_shows_the_picker_again(client, collection):
    response = client.post(
        reverse("collections:add_item", args=[collection.pk]), {"quantity": "1"}, **HTMX
    )

    assert response.status_code == 422
    assert "Choose a card first." in response.content.decode()


def test_adding_an_item_bought_in_the_past_backfills_the_history(client, collection, charizard):
    from collections_app.models import PortfolioSnapshot

    bought = timezone.localdate() - dt.timedelta(days=3)
    record_prices(charizard, {"NM": 4500}, observed_at=timezone.now() - dt.timedelta(days=10))

    client.post(
        reverse("collections:add_item", args=[collection.pk]),
        item_post(charizard, purchase_price="40", purchase_date=bought.isoformat()),
    )

    snapshots = list(PortfolioSnapshot.objects.filter(collection=collection).order_by("day"))
    assert snapshots[0].day == bought
    assert (snapshots[0].value, snapshots[0].cost) == (4500, 4000)


def test_editing_an_item_inline_returns_its_row_and_the_totals(client, collection, charizard):
    item = make_item(collection, charizard, purchase_price=4000)
    url = reverse("collections:edit_item", args=[item.pk])

    form = client.get(url, **HTMX)
    assert form.content.decode().lstrip().startswith(f'<tr id="item-{item.pk}"')
    assert 'value="40.00"' in form.content.decode()

    response = client.post(url, item_post(charizard, quantity="3", purchase_price="45"), **HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith(f'<tr id="item-{item.pk}" class="item-row">')
    assert "$150.00" in html  # 3 × $50.00
    assert 'id="collection-totals"' in html and 'hx-swap-oob="true"' in html
    item.refresh_from_db()
    assert (item.quantity, item.purchase_price) == (3, 4500)


def test_an_invalid_edit_answers_422_with_the_row_form(client, collection, charizard):
    item = make_item(collection, charizard)

    response = client.post(
        reverse("collections:edit_item", args=[item.pk]), item_post(charizard, quantity="x"), **HTMX
    )

    assert response.status_code == 422
    assert response.content.decode().lstrip().startswith(f'<tr id="item-{item.pk}"')
    assert "Quantity: enter a whole number." in response.content.decode()


def test_editing_without_javascript_is_a_page_and_a_redirect(client, collection, charizard):
    item = make_item(collection, charizard)
    url = reverse("collections:edit_item", args=[item.pk])

    page = client.get(url)
    assert "<html" in page.content.decode()
    response = client.post(url, item_post(charizard, condition="LP"))

    assert response.status_code == 302
    assert response["Location"] == f"{collection.get_absolute_url()}#item-{item.pk}"
    item.refresh_from_db()
    assert item.condition == "LP"


def test_cancel_of_an_inline_edit_brings_the_row_back(client, collection, charizard):
    item = make_item(collection, charizard)

    response = client.get(reverse("collections:item", args=[item.pk]), **HTMX)

    assert response.content.decode().lstrip().startswith(f'<tr id="item-{item.pk}"')
    assert "Charizard" in text_of(response)


def test_removing_an_item_with_htmx_answers_the_table_and_the_totals(client, collection, charizard):
    keep = make_item(collection, charizard, quantity=1)
    gone = make_item(collection, charizard, quantity=4)

    response = client.post(reverse("collections:delete_item", args=[gone.pk]), **HTMX)

    html = response.content.decode()
    assert html.lstrip().startswith('<div id="items-table" class="table-wrap items-table-wrap">')
    assert f'id="item-{keep.pk}"' in html
    assert f'id="item-{gone.pk}"' not in html
    assert '<section id="collection-totals" class="panel collection-totals"' in html
    assert "$50.00" in html.split('id="collection-totals"')[1]
    assert list(CollectionItem.objects.all()) == [keep]


def test_removing_an_item_without_javascript_redirects_with_a_message(
    client, collection, charizard
):
    item = make_item(collection, charizard)

    response = client.post(reverse("collections:delete_item", args=[item.pk]), follow=True)

    assert "Removed Charizard (1 × NM) from “Binder”." in text_of(response)
    assert not CollectionItem.objects.exists()


# --- Sharing and the shared page ---------------------------------------------------------


def test_sharing_shows_an_absolute_link_that_a_new_link_replaces(client, collection):
    url = reverse("collections:share", args=[collection.pk])

    response = client.post(url, {"action": "start"}, **HTMX)
    collection.refresh_from_db()
    first = collection.share_token
    assert first
    assert f'value="http://testserver/collections/shared/{first}/"' in response.content.decode()

    client.post(url, {"action": "renew"})
    collection.refresh_from_db()
    assert collection.share_token not in (None, first)

    client.post(url, {"action": "stop"})
    collection.refresh_from_db()
    assert collection.share_token is None


def test_sharing_options_are_saved(client, collection):
    collection.start_sharing()

    client.post(
        reverse("collections:share", args=[collection.pk]),
        {"action": "options", "share_purchase_prices": "on"},
    )

    collection.refresh_from_db()
    assert (collection.share_purchase_prices, collection.share_owner_name) == (True, False)


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "page"])
def test_invalid_sharing_options_show_their_errors_and_save_nothing(client, collection, htmx):
    collection.start_sharing()
    token, name = collection.share_token, collection.user.first_name

    response = client.post(
        reverse("collections:share", args=[collection.pk]),
        {"action": "options", "share_purchase_prices": "on", "owner_name": "x" * 151},
        **(HTMX if htmx else {}),
    )

    assert response.status_code == 422
    text = response.content.decode()
    assert "Name to show: at most 150 characters." in text
    assert "Sharing options saved" not in text
    collection.refresh_from_db()
    assert (collection.share_purchase_prices, collection.share_token) == (False, token)
    collection.user.refresh_from_db()
    assert collection.user.first_name == name


def test_invalid_options_do_not_start_sharing(client, collection):
    response = client.post(
        reverse("collections:share", args=[collection.pk]),
        {"action": "start", "owner_name": "Ash\x00"},
        **HTMX,
    )
    assert response.status_code == 422
    assert "Name to show: remove the control characters." in response.content.decode()
    collection.refresh_from_db()
    assert not collection.is_shared


def test_an_unknown_share_action_is_a_400(client, collection):
    response = client.post(reverse("collections:share", args=[collection.pk]), {"action": "x"})

    assert response.status_code == 400


def test_the_shared_page_shows_values_but_not_the_owner_or_what_they_paid(collection, charizard):
    make_item(collection, charizard, purchase_price=1234, notes="secret note")
    collection.start_sharing()

    response = Client().get(collection.get_share_url())

    html = response.content.decode()
    assert response.status_code == 200
    assert response["X-Robots-Tag"] == "noindex"
    assert '<meta name="robots" content="noindex">' in html
    assert "$50.00" in html
    assert "$12.34" not in html
    assert "Cost basis" not in html
    assert "secret note" not in html
    assert collection.user.email not in html
    assert "Ash Ketchum" not in html
    assert "Edit" not in text_of(response)
    assert "Remove" not in text_of(response)
    assert "<form" not in html.split("<main")[1]


def test_the_shared_page_shows_purchase_prices_and_the_name_when_the_owner_opts_in(
    collection, charizard
):
    make_item(collection, charizard, purchase_price=1234)
    collection.share_purchase_prices = True
    collection.share_owner_name = True
    collection.save()
    collection.start_sharing()

    response = Client().get(collection.get_share_url())

    text = text_of(response)
    assert "Shared by Ash Ketchum" in text
    assert "$12.34" in text
    assert "Cost basis" in text
    assert collection.user.email not in response.content.decode()


def test_the_shared_page_does_not_sort_by_gain_unless_purchase_prices_are_shown(collection):
    # Items of equal value in gain order would tell which one was bought cheaper.
    alpha, beta = make_card(name="Alpha"), make_card(name="Beta")
    record_prices(alpha, {"NM": 5000})
    record_prices(beta, {"NM": 5000})
    make_item(collection, alpha, purchase_price=4000)
    make_item(collection, beta, purchase_price=100)
    collection.start_sharing()
    anonymous = Client()

    for sort in ["gain", "-gain"]:
        text = text_of(anonymous.get(f"{collection.get_share_url()}?sort={sort}"))
        assert text.index("Alpha") < text.index("Beta"), sort

    collection.share_purchase_prices = True
    collection.save()
    text = text_of(anonymous.get(f"{collection.get_share_url()}?sort=-gain"))
    assert text.index("Beta") < text.index("Alpha")


@pytest.mark.parametrize("username", ["collector@example.com", "collector"])
def test_the_shared_page_never_shows_the_email_address_or_username_as_the_name(charizard, username):
    owner = make_user(email="collector@example.com", username=username)
    collection = make_collection(owner, share_owner_name=True)
    collection.start_sharing()

    html = Client().get(collection.get_share_url()).content.decode()

    assert "collector@example.com" not in html
    assert "Shared by A collector" in text_of_html(html)
    assert f"Shared by {username}" not in text_of_html(html)


def test_the_shared_page_query_count_is_the_same_for_500_items_as_for_5(collection):
    cards = [make_card() for _ in range(10)]
    for card in cards:
        record_prices(card, {"NM": 700})
    collection.start_sharing()
    anonymous = Client()

    def add_items(count):
        CollectionItem.objects.bulk_create(
            CollectionItem(collection=collection, card=cards[i % 10], condition="NM")
            for i in range(count)
        )
        forget_valuations([collection.pk])  # bulk_create sends no signal

    add_items(5)
    with CaptureQueriesContext(connection) as small:
        assert anonymous.get(collection.get_share_url()).status_code == 200
    add_items(495)
    with CaptureQueriesContext(connection) as large:
        response = anonymous.get(collection.get_share_url())
    assert response.content.decode().count('class="item-row') == ITEMS_PER_PAGE
    assert f"Items 1–{ITEMS_PER_PAGE} of 500" in text_of(response)
    assert len(large) == len(small)


# --- Add to collection from a card page and search results -------------------------------


def test_the_first_add_to_collection_makes_my_collection(owner, client, charizard):
    response = client.post(
        reverse("collections:add_card"),
        {"card": charizard.pk, "quantity": "1", "condition": "NM"},
        **HTMX,
    )

    collection = Collection.objects.get(user=owner)
    assert collection.name == "My collection"
    assert response.status_code == 200
    assert "Added 1 × NM to My collection — view" in text_of(response)
    assert f'href="{collection.get_absolute_url()}#item-' in response.content.decode()


def test_add_to_collection_goes_into_the_chosen_collection(owner, client, charizard):
    make_collection(owner, name="Binder")
    graded = make_collection(owner, name="Slabs")

    client.post(
        reverse("collections:add_card"),
        {
            "card": charizard.pk,
            "collection": graded.pk,
            "quantity": "1",
            "condition": "",
            "grader": "PSA",
            "grade": "9.5",
            "purchase_price": "100",
            "purchase_date": "2024-02-29",
        },
    )

    item = CollectionItem.objects.get()
    assert (item.collection, item.grader, str(item.grade), item.purchase_price) == (
        graded,
        "PSA",
        "9.5",
        10000,
    )
    assert item.purchase_date == dt.date(2024, 2, 29)


def test_add_to_collection_refuses_someone_elses_collection(owner, client, charizard):
    make_collection(owner, name="Mine")
    theirs = make_collection(make_user(), name="Theirs")

    response = client.post(
        reverse("collections:add_card"),
        {"card": charizard.pk, "collection": theirs.pk, "quantity": "1", "condition": "NM"},
    )

    assert response.status_code == 422
    assert not CollectionItem.objects.exists()


def test_add_to_collection_without_javascript_returns_to_where_it_was_opened(client, charizard):
    response = client.post(
        reverse("collections:add_card"),
        {"card": charizard.pk, "quantity": "2", "condition": "LP", "next": "/cards/search/?q=x"},
    )
    assert response["Location"] == "/cards/search/?q=x"

    elsewhere = client.post(
        reverse("collections:add_card"),
        {
            "card": charizard.pk,
            "collection": Collection.objects.get().pk,
            "quantity": "1",
            "condition": "LP",
            "next": "https://evil.example/",
        },
    )
    assert elsewhere["Location"] == Collection.objects.get().get_absolute_url()


def test_add_to_collection_for_an_unknown_card_is_a_404(client):
    assert client.get(reverse("collections:add_card"), {"card": "999999"}).status_code == 404
    assert client.get(reverse("collections:add_card")).status_code == 404


@pytest.mark.parametrize("raw", ["²", "٣", "abc", "9" * 30])
def test_a_card_id_that_is_not_a_plain_number_finds_no_card(client, collection, raw):
    add_item = reverse("collections:add_item", args=[collection.pk])

    assert client.get(add_item, {"card": raw}).status_code == 200  # the card picker
    assert client.post(add_item, {"card": raw}).status_code == 422
    assert client.get(reverse("collections:add_card"), {"card": raw}).status_code == 404
    assert client.post(reverse("collections:add_card"), {"card": raw}).status_code == 404


def test_the_card_page_lists_the_users_copies_and_offers_to_add_and_watch(
    owner, client, collection, charizard
):
    make_item(collection, charizard, quantity=2, condition="LP")

    response = client.get(charizard.get_absolute_url())

    text = text_of(response)
    assert "In your collections" in text
    assert "Binder : 2 × Lightly Played" in text
    html = response.content.decode()
    assert f'action="{reverse("collections:add_card")}"' in html
    assert f'<option value="{collection.pk}">Binder</option>' in html
    assert 'aria-pressed="false"' in html
    assert "Log in to add this card" not in text


def test_the_card_page_offers_the_collections_under_their_current_names(
    owner, client, collection, charizard
):
    client.get(charizard.get_absolute_url())
    collection.name = "Slabs"
    collection.save()
    make_collection(owner, name="Duplicates")

    html = client.get(charizard.get_absolute_url()).content.decode()

    assert f'<option value="{collection.pk}">Slabs</option>' in html
    assert "Binder" not in html
    assert ">Duplicates</option>" in html


def test_the_card_page_add_form_shows_what_the_unbound_form_renders(owner, charizard):
    # The card page's fields are rendered once per process for each set of collections:
    # they must be what rendering the form itself gives.
    collections = [make_collection(owner, name="Binder"), make_collection(owner, name="Slabs")]
    form = AddToCollectionForm(user=owner, collections=collections, card=charizard, auto_id="a-%s")

    rendered = blank_add_fields(tuple((c.pk, c.name) for c in collections), "a-%s")

    assert rendered == render_to_string("collections/_item_fields.html", {"form": form})
    assert 'id="a-collection"' in rendered and 'id="a-grade"' in rendered


def test_the_card_page_of_a_user_without_collections_asks_for_no_holdings(client, charizard):
    client.get(charizard.get_absolute_url())  # warm the view counter
    with CaptureQueriesContext(connection) as queries:
        response = client.get(charizard.get_absolute_url())

    assert "Not in any of your collections yet." in text_of(response)
    assert "It goes into a new collection, “My collection”" in text_of(response)
    assert not [q for q in queries.captured_queries if "collectionitem" in q["sql"]]


def test_the_card_page_panel_runs_the_same_queries_with_many_collections(owner, client, charizard):
    make_item(make_collection(owner), charizard)
    client.get(charizard.get_absolute_url())  # warm the view counter
    with CaptureQueriesContext(connection) as one:
        client.get(charizard.get_absolute_url())
    for _ in range(5):
        make_item(make_collection(owner), charizard)
    with CaptureQueriesContext(connection) as six:
        client.get(charizard.get_absolute_url())
    assert len(six) == len(one)


def test_anonymous_visitors_see_a_login_link_on_the_card_page(charizard):
    first = Client().get(charizard.get_absolute_url())
    second = Client().get(charizard.get_absolute_url())

    assert "Log in to add this card to a collection or watch it" in text_of(first)
    assert reverse("collections:add_card") not in first.content.decode()
    assert 'name="watch"' not in first.content.decode()
    # The cached page is the same for every anonymous visitor (but their CSRF token).
    strip = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"|"X-CSRFToken": "[^"]+"')
    assert strip.sub("", first.content.decode()) == strip.sub("", second.content.decode())


def test_search_results_offer_add_to_collection_to_signed_in_users_only(client, charizard):
    signed_in = client.get(reverse("cards:search"), {"q": "charizard"})
    anonymous = Client().get(reverse("cards:search"), {"q": "charizard"})

    link = f"{reverse('collections:add_card')}?card={charizard.pk}"
    assert link in signed_in.content.decode()
    assert link not in anonymous.content.decode()


def test_the_add_form_opens_inline_from_a_search_result(client, charizard):
    response = client.get(reverse("collections:add_card"), {"card": charizard.pk}, **HTMX)

    html = response.content.decode()
    assert html.lstrip().startswith('<div class="add-card-wrap">')
    assert "It goes into a new collection, “My collection”" in html
    assert f'id="add-card-{charizard.pk}-quantity"' in html


def test_a_large_collection_pages_its_items_but_totals_and_sorts_them_all(
    client, collection, charizard
):
    cheap = make_card(name="Abra")
    record_prices(cheap, {"NM": 100})
    count = ITEMS_PER_PAGE * 3 // 2  # a page and a half
    CollectionItem.objects.bulk_create(
        [
            CollectionItem(collection=collection, card=cheap, condition="NM")
            for _ in range(count - 1)
        ]
        + [CollectionItem(collection=collection, card=charizard, condition="NM")]
    )

    first = client.get(collection.get_absolute_url())
    html = first.content.decode()

    assert html.count('class="item-row') == ITEMS_PER_PAGE
    total = (count - 1) * 100 + 5000  # every item, not only the page's
    assert f"${total // 100:,}.00" in text_of(first)
    assert f"Items 1–{ITEMS_PER_PAGE} of {count}" in text_of(first)
    # The default sort (value, highest first) ranks every item: Charizard leads page 1.
    assert html.index("Charizard") < html.index("Abra")
    assert f'href="/collections/{collection.pk}/?page=2#items"' in html

    by_name = client.get(collection.get_absolute_url(), {"sort": "-name", "page": "2"})
    page_two = by_name.content.decode()
    assert page_two.count('class="item-row') == count - ITEMS_PER_PAGE
    assert f"Items {ITEMS_PER_PAGE + 1}–{count} of {count}" in text_of(by_name)
    assert f"/collections/{collection.pk}/?sort=-name" in page_two  # back to page 1, same sort
    # Z to A: Charizard comes before every Abra, so it is on page 1, not here.
    assert "Charizard" not in page_two.split('id="items-table"')[1]


def test_the_item_form_accepts_tomorrow_as_the_importer_does(charizard):
    from collections_app.forms import ItemForm

    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    data = item_post(charizard, purchase_date=tomorrow.isoformat())

    assert ItemForm(data, card=charizard).is_valid()
    data["purchase_date"] = (tomorrow + dt.timedelta(days=1)).isoformat()
    assert not ItemForm(data, card=charizard).is_valid()


def test_the_owner_chooses_the_name_the_shared_page_shows(client, owner, collection):
    collection.start_sharing()
    url = reverse("collections:share", args=[collection.pk])

    client.post(url, {"action": "options", "share_owner_name": "on", "owner_name": " Misty "})

    owner.refresh_from_db()
    assert owner.get_full_name() == "Misty"
    assert "Shared by Misty" in text_of(Client().get(collection.get_share_url()))

    client.post(url, {"action": "options", "share_owner_name": "on"})  # no name field
    owner.refresh_from_db()
    assert owner.get_full_name() == "Misty"


def test_the_chart_period_links_keep_the_table_sort(client, collection, charizard):
    make_item(collection, charizard)

    page = client.get(collection.get_absolute_url(), {"sort": "name"}).content.decode()
    assert f'href="/collections/{collection.pk}/?period=1y&amp;sort=name#chart"' in page

    partial = client.get(
        reverse("collections:chart", args=[collection.pk]),
        {"period": "1y"},
        HTTP_HX_CURRENT_URL=f"http://testserver/collections/{collection.pk}/?sort=-gain",
        **HTMX,
    ).content.decode()
    assert f'hx-replace-url="/collections/{collection.pk}/?period=all&amp;sort=-gain"' in partial
