import datetime as dt

import pytest
import time_machine

from collections_app.demo import DEMO_COLLECTION, PURCHASES, WATCHED, create_demo_collection
from collections_app.models import PortfolioSnapshot, Watch
from collections_app.snapshots import backfill_snapshots
from collections_app.valuation import value_collection
from prices.demo import backfill_demo_history
from prices.sources import demo
from tests.factories import make_card, make_set, make_user

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 22)


@pytest.fixture
def cards():
    card_set = make_set(release_date=dt.date(2023, 9, 22))
    rarities = ["Common", "Rare", "Rare Holo", "Illustration Rare", "Special Illustration Rare"]
    return [
        make_card(card_set=card_set, number=str(n), rarity=rarities[n % len(rarities)])
        for n in range(1, len(PURCHASES) + WATCHED + 3)
    ]


@time_machine.travel(dt.datetime(2026, 11, 22, 12, tzinfo=dt.UTC), tick=False)
def test_demo_collection_is_bought_at_the_simulated_price_of_the_day(cards):
    user = make_user()
    collection = create_demo_collection(user, today=TODAY)

    assert collection.name == DEMO_COLLECTION
    items = list(collection.items.select_related("card__card_set").order_by("purchase_date"))
    assert len(items) == len(PURCHASES)
    oldest = items[0]
    key = oldest.price_key if oldest.is_graded else "ungraded"
    [(_, market, *_)] = demo.walk(oldest.card, key, [oldest.purchase_date])
    assert oldest.purchase_price == market
    assert any(item.is_graded for item in items)
    assert Watch.objects.filter(user=user).count() == WATCHED
    assert not Watch.objects.filter(user=user, card__in=[item.card for item in items]).exists()


@time_machine.travel(dt.datetime(2026, 11, 22, 12, tzinfo=dt.UTC), tick=False)
def test_demo_collection_is_made_once_and_never_touched_again(cards):
    user = make_user()
    first = create_demo_collection(user, today=TODAY)
    first.items.first().delete()

    assert create_demo_collection(user, today=TODAY) is None
    assert first.items.count() == len(PURCHASES) - 1


@time_machine.travel(dt.datetime(2026, 11, 22, 12, tzinfo=dt.UTC), tick=False)
def test_demo_collection_has_a_simulated_value_history(cards):
    backfill_demo_history(days=400, card_ids=[card.pk for card in cards])
    collection = create_demo_collection(make_user(), today=TODAY)

    first_day = min(item.owned_since() for item in collection.items.all())
    written = backfill_snapshots(collection.pk, first_day)

    assert written == (TODAY - first_day).days
    snapshots = list(PortfolioSnapshot.objects.filter(collection=collection))
    assert snapshots[0].day == first_day
    assert all(snapshot.value > 0 for snapshot in snapshots)
    valuation = value_collection(collection)
    assert valuation.simulated
    assert not valuation.unpriced


@time_machine.travel(dt.datetime(2026, 11, 22, 12, tzinfo=dt.UTC), tick=False)
def test_demo_graded_copies_are_valued_at_their_own_grade_never_at_the_raw_price(cards):
    backfill_demo_history(days=400, card_ids=[card.pk for card in cards])
    collection = create_demo_collection(make_user(), today=TODAY)

    valuation = value_collection(collection)
    graded = [row for row in valuation.items if row.item.is_graded]

    assert {row.item.price_key for row in graded} == {"PSA 9", "PSA 10"}
    for row in graded:
        assert row.price.price_key == row.item.price_key
        assert not row.is_fallback
    # Bought at the simulated price of its own grade: no loss made of a raw price.
    for row in valuation.items:
        assert row.gain_percent is None or row.gain_percent > -60
