"""A collection's valuation is cached until its items or their prices change."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from collections_app.valuation import ItemFacts, load_items, value_collection
from tests.factories import make_card, make_collection, make_item, make_user, record_prices

pytestmark = pytest.mark.django_db


@pytest.fixture
def binder():
    card = make_card(name="Charizard")
    record_prices(card, {"NM": 5000, "ungraded": 4000})
    collection = make_collection(make_user(), name="Binder")
    make_item(collection, card, quantity=2, purchase_price=3000)
    return collection, card


def summary_reads(queries) -> int:
    return sum("prices_pricesummary" in q["sql"] for q in queries.captured_queries)


def test_a_second_valuation_reads_no_prices(binder):
    collection, _ = binder
    assert value_collection(collection).value == 10000
    with CaptureQueriesContext(connection) as queries:
        valuation = value_collection(collection)
    assert valuation.value == 10000 and valuation.cost == 6000 and valuation.gain == 4000
    assert summary_reads(queries) == 0 and len(queries) == 0


def test_cached_rows_load_their_items_for_showing(binder):
    collection, card = binder
    value_collection(collection)
    [row] = value_collection(collection).items
    assert isinstance(row.item, ItemFacts)
    [row] = load_items([row])
    assert row.item.card.name == "Charizard" and row.item.card.card_set.name


def test_a_price_change_of_an_item_s_card_values_the_collection_again(binder):
    collection, card = binder
    value_collection(collection)
    record_prices(card, {"NM": 6000})
    assert value_collection(collection).value == 12000


def test_a_price_change_of_another_card_keeps_the_cache(binder):
    collection, _ = binder
    value_collection(collection)
    record_prices(make_card(), {"NM": 100})
    with CaptureQueriesContext(connection) as queries:
        value_collection(collection)
    assert summary_reads(queries) == 0


def test_adding_editing_and_removing_items_values_the_collection_again(binder):
    collection, card = binder
    value_collection(collection)
    item = make_item(collection, card, quantity=1)
    assert value_collection(collection).value == 15000
    item.quantity = 3
    item.save()
    assert value_collection(collection).value == 25000
    item.delete()
    assert value_collection(collection).value == 10000


def test_a_changed_basis_values_the_collection_again(binder):
    collection, _ = binder
    assert value_collection(collection).value == 10000
    collection.basis_key = "ungraded"
    collection.save()
    assert value_collection(collection).value == 8000


def test_the_page_shows_an_edit_at_once(client, binder):
    collection, card = binder
    client.force_login(collection.user)
    assert "$100.00" in client.get(collection.get_absolute_url()).content.decode()
    [item] = collection.items.all()
    response = client.post(
        reverse("collections:edit_item", args=[item.pk]),
        {"card": card.pk, "quantity": "3", "condition": "NM", "grader": "", "grade": "",
         "grade_label": "", "purchase_price": "30", "purchase_date": "", "acquired_from": "",
         "notes": ""},
    )  # fmt: skip
    assert response.status_code == 302
    assert "$150.00" in client.get(collection.get_absolute_url()).content.decode()
