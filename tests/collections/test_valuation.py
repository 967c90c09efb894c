import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from cards.models import Card
from collections_app.models import CollectionItem
from collections_app.valuation import fallback_keys, value_collection, value_collections
from prices.writing import Observation, record_observations
from tests.factories import make_card, make_collection, make_item, make_set, record_prices

pytestmark = pytest.mark.django_db


def only_item(collection):
    [row] = value_collection(collection).items
    return row


def graded(**fields):
    return {"condition": "", "grade_label": "", **fields}


# Value, cost and gain


def test_an_item_is_worth_its_price_times_its_quantity_and_gains_on_what_was_paid():
    card = make_card()
    record_prices(card, {"NM": 1500})
    item = make_item(card=card, quantity=2, purchase_price=1000)

    row = only_item(item.collection)

    assert (row.unit_value, row.value, row.cost) == (1500, 3000, 2000)
    assert (row.gain, row.gain_percent) == (1000, 50.0)
    assert not row.is_fallback and row.note == ""


def test_a_collection_totals_its_items_value_cost_and_gain_or_loss():
    collection = make_collection()
    riser, faller = make_card(), make_card()
    record_prices(riser, {"NM": 3000})
    record_prices(faller, {"NM": 500})
    make_item(collection, riser, quantity=1, purchase_price=2000)  # +1000
    make_item(collection, faller, quantity=3, purchase_price=1000)  # 1500 for 3000: −1500

    valuation = value_collection(collection)

    assert (valuation.value, valuation.cost, valuation.copies) == (4500, 5000, 4)
    assert valuation.gain == -500
    assert valuation.gain_percent == pytest.approx(-10.0)
    assert [row.gain for row in valuation.items] == [1000, -1500]
    assert [row.gain_percent for row in valuation.items] == [50.0, -50.0]


def test_without_purchase_prices_there_is_value_but_no_gain():
    card = make_card()
    record_prices(card, {"NM": 1500})
    item = make_item(card=card)

    valuation = value_collection(item.collection)

    assert (valuation.value, valuation.cost) == (1500, 0)
    assert valuation.gain is None and valuation.gain_percent is None
    assert valuation.items[0].gain is None


def test_a_free_card_gains_its_value_without_a_percentage():
    card = make_card()
    record_prices(card, {"NM": 1500})
    row = only_item(make_item(card=card, purchase_price=0).collection)

    assert (row.cost, row.gain, row.gain_percent) == (0, 1500, None)


def test_several_lots_of_one_card_are_each_valued_at_their_own_condition_or_grade():
    collection = make_collection()
    card = make_card()
    record_prices(card, {"NM": 1000, "LP": 700, "PSA 10": 25000})
    make_item(collection, card, quantity=2, purchase_price=800)
    make_item(collection, card, condition="LP", quantity=1)
    make_item(collection, card, **graded(grader="PSA", grade=Decimal("10")), purchase_price=20000)

    valuation = value_collection(collection)

    assert [(row.wanted_key, row.value) for row in valuation.items] == [
        ("NM", 2000),
        ("LP", 700),
        ("PSA 10", 25000),
    ]
    assert valuation.value == 27700
    assert valuation.cost == 1600 + 20000
    # Gain only where both are known: the LP lot has no purchase price.
    assert valuation.gain == (2000 - 1600) + (25000 - 20000)


# Fallbacks, visible


def test_a_near_mint_item_without_a_near_mint_price_is_valued_at_ungraded_and_says_so():
    card = make_card()
    record_prices(card, {"ungraded": 1200, "LP": 900})
    row = only_item(make_item(card=card).collection)

    assert row.price.price_key == "ungraded"
    assert row.value == 1200
    assert row.is_fallback
    assert row.note == "valued at Ungraded — no Near Mint (NM) price"


def test_a_condition_falls_back_to_the_nearest_condition_the_worse_one_on_a_tie():
    card = make_card()
    record_prices(card, {"LP": 800, "HP": 400, "NM": 1000})
    row = only_item(make_item(card=card, condition="MP").collection)

    assert row.price.price_key == "HP"
    assert row.note == "valued at Heavily Played (HP) — no Moderately Played (MP) price"


def test_a_graded_item_falls_back_to_the_grade_from_any_grader():
    card = make_card()
    record_prices(card, {"ANY 9": 6000, "PSA 8": 3000, "ungraded": 1000})
    row = only_item(make_item(card=card, **graded(grader="PSA", grade=Decimal("9"))).collection)

    assert (row.price.price_key, row.value) == ("ANY 9", 6000)
    assert row.note == "valued at Grade 9 (any grader) — no PSA 9 price"


def test_a_graded_item_takes_another_graders_copy_of_its_grade_before_a_lower_grade():
    card = make_card()
    record_prices(card, {"BGS 9": 5500, "PSA 8.5": 4000, "ungraded": 1000})
    row = only_item(make_item(card=card, **graded(grader="PSA", grade=Decimal("9"))).collection)

    assert (row.price.price_key, row.value) == ("BGS 9", 5500)


def test_a_graded_item_prefers_a_lower_grade_to_the_raw_price_and_a_label_falls_back_to_the_grade():
    card, labelled = make_card(), make_card()
    record_prices(card, {"PSA 9": 9000, "ungraded": 1000})
    record_prices(labelled, {"BGS 10": 40000, "PSA 10": 30000})
    collection = make_collection()
    make_item(collection, card, **graded(grader="PSA", grade=Decimal("10")))
    make_item(
        collection,
        labelled,
        **graded(grader="BGS", grade=Decimal("10"), grade_label="black label"),
    )

    psa, bgs = value_collection(collection).items

    assert psa.price.price_key == "PSA 9"
    assert psa.note == "valued at PSA 9, the nearest lower grade priced — no PSA 10 price"
    assert bgs.price.price_key == "BGS 10"
    assert fallback_keys("PSA 10")[:3] == ["PSA 10", "ANY 10", "BGS 10"]
    assert fallback_keys("PSA 10").index("PSA 9.5") > fallback_keys("PSA 10").index("CGC 10")


def test_a_graded_item_is_never_valued_at_a_raw_price_and_is_listed_as_unpriced():
    card = make_card()
    record_prices(card, {"ungraded": 1000, "NM": 1100, "PSA 10": 90000})
    collection = make_collection()
    make_item(collection, card, **graded(grader="PSA", grade=Decimal("9")), purchase_price=50000)

    valuation = value_collection(collection)
    [row] = valuation.items

    assert not row.is_priced and row.value is None
    assert row.note == "Unpriced — no price for PSA 9 or a lower grade"
    assert (valuation.value, valuation.gain) == (0, None)
    assert all(key not in fallback_keys("CGC 8.5") for key in ["ungraded", "NM", "LP"])


def test_a_source_basis_leaves_a_graded_item_unpriced_with_the_source_named():
    collection = make_collection(basis_source="ebay")
    card = make_card()
    record_prices(card, {"PSA 9": 9000}, source="pricecharting")
    make_item(collection, card, **graded(grader="PSA", grade=Decimal("9")))

    [row] = value_collection(collection).items

    assert row.note == "Unpriced — no eBay asks price for PSA 9 or a lower grade"


def test_an_ungraded_basis_values_raw_items_at_ungraded_but_graded_items_at_their_grade():
    collection = make_collection(basis_key="ungraded")
    card = make_card()
    record_prices(card, {"ungraded": 1000, "LP": 700, "PSA 10": 25000})
    make_item(collection, card, condition="LP")
    make_item(collection, card, **graded(grader="PSA", grade=Decimal("10")))

    raw, slab = value_collection(collection).items

    assert (raw.wanted_key, raw.value, raw.is_fallback, raw.note) == ("ungraded", 1000, False, "")
    assert (slab.wanted_key, slab.value) == ("PSA 10", 25000)


def test_a_source_basis_values_only_at_that_source_and_leaves_the_rest_unpriced():
    collection = make_collection(basis_source="ebay")
    on_ebay, elsewhere = make_card(), make_card()
    record_prices(on_ebay, {"NM": 1500}, source="ebay")
    record_prices(on_ebay, {"NM": 1000}, source="pricecharting")
    record_prices(elsewhere, {"NM": 1000}, source="pricecharting")
    make_item(collection, on_ebay)
    make_item(collection, elsewhere, purchase_price=500)

    valuation = value_collection(collection)
    priced, unpriced = valuation.items

    assert (priced.price.source, priced.value) == ("ebay", 1500)
    assert not unpriced.is_priced and unpriced.value is None
    assert unpriced.note == "Unpriced — no eBay asks price for this card"
    assert valuation.value == 1500


# Unpriced items


def test_unpriced_items_are_listed_and_not_counted_as_zero():
    collection = make_collection()
    priced_card, unknown = make_card(), make_card()
    record_prices(priced_card, {"NM": 2000})
    make_item(collection, priced_card, purchase_price=1000)
    make_item(collection, unknown, quantity=4, purchase_price=3000)

    valuation = value_collection(collection)

    assert [row.item.card for row in valuation.unpriced] == [unknown]
    assert valuation.unpriced[0].note == "Unpriced — no price for this card yet"
    assert valuation.value == 2000
    # The cost basis is everything paid; gain is measured only where a value is known.
    assert valuation.cost == 1000 + 12000
    assert (valuation.gain, valuation.gain_percent) == (1000, 100.0)


# Best available source


@pytest.mark.parametrize(
    ("sources", "chosen"),
    [
        (["demo", "pricecharting"], "pricecharting"),
        (["ebay", "pricecharting"], "pricecharting"),
        (["ebay", "tcgplayer", "justtcg"], "tcgplayer"),
        (["ebay", "justtcg"], "justtcg"),
        (["demo", "ebay"], "ebay"),
        (["demo"], "demo"),
    ],
)
def test_best_available_prefers_the_most_trusted_source_and_the_demo_last(sources, chosen):
    card = make_card()
    for n, source in enumerate(sources):
        record_prices(card, {"NM": 1000 + n * 100}, source=source)

    row = only_item(make_item(card=card).collection)

    assert row.price.source == chosen
    assert row.is_simulated == (chosen == "demo")


def test_a_demo_priced_item_makes_the_collection_simulated():
    collection = make_collection()
    real, simulated = make_card(), make_card()
    record_prices(real, {"NM": 1000})
    make_item(collection, real)
    assert not value_collection(collection).simulated

    record_prices(simulated, {"NM": 1000}, source="demo")
    make_item(collection, simulated)
    assert value_collection(collection).simulated


def test_a_closer_key_from_any_source_beats_a_more_trusted_source_s_fallback():
    card = make_card()
    record_prices(card, {"ungraded": 1000}, source="pricecharting")
    record_prices(card, {"NM": 1300}, source="ebay")

    row = only_item(make_item(card=card).collection)

    assert (row.price.source, row.price.price_key, row.is_fallback) == ("ebay", "NM", False)


# Queries


def add_priced_items(collection, count):
    card_set = make_set()
    cards = Card.objects.bulk_create(
        Card(card_set=card_set, number=str(n), name=f"Bulk {n}", rarity="Common")
        for n in range(count)
    )
    record_observations(
        Observation(
            card_id=card.pk,
            source="pricecharting",
            price_key="NM",
            market=100 + n,
            observed_at=_an_hour_ago(),
        )
        for n, card in enumerate(cards)
    )
    CollectionItem.objects.bulk_create(
        CollectionItem(collection=collection, card=card, condition="NM", purchase_price=50)
        for card in cards
    )


def _an_hour_ago():
    return timezone.now().replace(microsecond=0) - dt.timedelta(hours=1)


def test_valuing_a_collection_takes_two_queries_for_5_or_500_items(django_assert_num_queries):
    small, large = make_collection(), make_collection()
    add_priced_items(small, 5)
    add_priced_items(large, 500)

    with django_assert_num_queries(2):
        assert len(value_collection(small).priced) == 5
    with django_assert_num_queries(2):
        valuation = value_collection(large)
        assert len(valuation.priced) == 500
        assert valuation.value == sum(100 + n for n in range(500))


def test_valuing_several_collections_takes_two_queries_whatever_their_sizes(
    django_assert_num_queries,
):
    collections = [make_collection() for _ in range(3)]
    for size, collection in zip([1, 40, 200], collections, strict=True):
        add_priced_items(collection, size)

    with django_assert_num_queries(2):
        valuations = value_collections(collections)
        assert [len(valuations[c.pk].items) for c in collections] == [1, 40, 200]
        assert [valuations[c.pk].cost for c in collections] == [50, 2000, 10000]
