import datetime as dt

import pytest
import time_machine

from prices.models import PricePoint, PriceSummary
from prices.retention import fold_old_points
from prices.writing import Observation, record_observations
from tests.factories import make_card

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def point(card, when, market, low=None, high=None, sample_size=None):
    return Observation(
        card_id=card.pk,
        source="ebay",
        price_key="ungraded",
        market=market,
        low=low,
        high=high,
        sample_size=sample_size,
        observed_at=when,
    )


@time_machine.travel(NOW, tick=False)
def test_old_intraday_points_fold_into_one_per_day():
    card = make_card()
    old_day = NOW - dt.timedelta(days=100)
    recent = NOW - dt.timedelta(days=1)
    record_observations(
        [
            point(card, old_day + dt.timedelta(hours=1), 1000, 900, 1100, 3),
            point(card, old_day + dt.timedelta(hours=9), 5000, 800, 5200, 4),
            point(card, old_day + dt.timedelta(hours=20), 1200, 1000, 1300, 5),
            point(card, recent + dt.timedelta(hours=1), 2000),
            point(card, recent + dt.timedelta(hours=2), 2100),
        ]
    )
    run = fold_old_points(90)
    assert (run.written, run.unchanged) == (1, 2)
    folded = PricePoint.objects.get(observed_at__lt=NOW - dt.timedelta(days=90))
    assert (folded.market, folded.low, folded.high, folded.sample_size) == (1200, 800, 5200, 12)
    assert PricePoint.objects.filter(observed_at__gte=recent).count() == 2
    summary = PriceSummary.objects.get()
    assert (summary.market, summary.all_time_high, summary.all_time_low) == (2100, 2100, 1200)
    assert fold_old_points(90).written == 0


@time_machine.travel(NOW, tick=False)
def test_folding_keeps_the_latest_product_wide_sales_volume_instead_of_adding_them_up():
    card = make_card()
    old_day = NOW - dt.timedelta(days=100)
    record_observations(
        Observation(
            card_id=card.pk,
            source="pricecharting",
            price_key="PSA 10",
            market=market,
            sample_size=volume,
            observed_at=old_day + dt.timedelta(hours=hour),
        )
        for hour, market, volume in [(0, 90000, 2181), (12, 91000, 2183), (18, 92000, None)]
    )
    fold_old_points(90)
    folded = PricePoint.objects.get()
    assert (folded.market, folded.sample_size) == (92000, 2183)
