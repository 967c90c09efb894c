import datetime as dt

import pytest
import time_machine

from cards.models import Card, CardSet
from jobs.models import JobRun
from prices.demo import backfill_demo_history
from prices.models import PricePoint, PriceSummary
from prices.sources import demo
from prices.sources.demo import DemoClient
from prices.writing import record_observations
from tests.factories import make_card, make_set

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 1)


def test_the_walk_is_the_same_whichever_days_are_asked_for():
    card = make_card(rarity="Rare Holo")
    month = [TODAY - dt.timedelta(days=n) for n in range(30)]
    from_month = [o for o in demo.observations(card, month) if o.observed_at.date() == TODAY]
    from_one_day = list(demo.observations(card, [TODAY]))
    assert from_one_day == from_month
    assert {o.price_key for o in from_one_day} == {"ungraded", "PSA 9", "PSA 10"}


def test_the_walk_gives_the_figures_installs_already_store():
    # Figures of the walk as released: a faster walk must draw the same numbers, or every
    # install's simulated chart would jump on its next sync.
    card = Card(
        pk=4242,
        rarity="Rare Holo",
        variant="",
        kind=Card.Kind.SINGLE,
        card_set=CardSet(release_date=dt.date(1999, 1, 9)),
    )
    days = [dt.date(2026, 11, 1), dt.date(2024, 1, 2), dt.date(2025, 7, 14), dt.date(2024, 1, 1)]
    assert list(demo.walk(card, "ungraded", days)) == [
        (dt.date(2024, 1, 1), 5000, 4235, 5765, 11),
        (dt.date(2024, 1, 2), 5034, 4398, 5670, 31),
        (dt.date(2025, 7, 14), 3863, 3170, 4556, 40),
        (dt.date(2026, 11, 1), 4449, 3796, 5102, 34),
    ]
    assert list(demo.walk(card, "PSA 10", days[:1])) == [
        (dt.date(2026, 11, 1), 98168, 84636, 111700, 37)
    ]
    assert list(demo.walk(card, "PSA 9", [dt.date(2023, 12, 31)])) == []


def test_prices_are_plausible_by_rarity_and_age():
    modern = make_set(release_date=dt.date(2023, 9, 22))
    vintage = make_set(release_date=dt.date(1999, 1, 9))
    common = make_card(card_set=modern, rarity="Common")
    chase = make_card(card_set=modern, rarity="Special Illustration Rare")
    old_holo = make_card(card_set=vintage, rarity="Rare Holo")
    assert demo.level_cents(common, "ungraded") < demo.level_cents(chase, "ungraded")
    assert (
        demo.level_cents(old_holo, "ungraded")
        > demo.level_cents(make_card(card_set=modern, rarity="Rare Holo"), "ungraded") / 2
    )
    assert demo.level_cents(chase, "PSA 10") > demo.level_cents(chase, "ungraded")


def test_a_simulated_psa_9_sits_between_the_raw_copy_and_the_psa_10():
    # Each level is seeded by the card's key, so try many keys, not whichever few the
    # database hands out.
    modern = make_set(release_date=dt.date(2023, 1, 1))
    vintage = make_set(release_date=dt.date(1999, 1, 9))
    for rarity in ["Common", "Rare Holo", "Special Illustration Rare", "SEC"]:
        for card_set in [modern, vintage]:
            for pk in range(1, 301):
                card = Card(pk=pk, card_set=card_set, rarity=rarity, variant="")
                raw, nine, ten = (
                    demo.level_cents(card, key) for key in ["ungraded", "PSA 9", "PSA 10"]
                )
                assert raw < nine < ten, (rarity, card_set.release_date, pk)


def test_sealed_products_have_only_a_raw_price():
    sealed = make_card(kind="sealed")
    assert demo.price_keys(sealed) == ["ungraded"]


@time_machine.travel(dt.datetime(2026, 11, 1, 9, tzinfo=dt.UTC), tick=False)
def test_backfill_writes_a_year_of_daily_history_once():
    cards = [make_card(), make_card()]
    run = backfill_demo_history(days=365)
    assert run.status == JobRun.Status.SUCCEEDED
    assert PricePoint.objects.count() == 2 * 3 * 366
    assert PriceSummary.objects.filter(source="demo").count() == 6
    again = backfill_demo_history(days=365)
    assert (again.progress_total, again.written) == (0, 0)
    # The daily demo sync computes the same figures for today as the backfill did.
    fetched = DemoClient().fetch(cards)
    assert record_observations(fetched.observations).written == 0
