import datetime as dt
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_q.models import Schedule

from collections_app import snapshots, tasks
from collections_app.models import PortfolioSnapshot
from collections_app.valuation import value_collection
from tcgtracker.schedules import SCHEDULES
from tests.factories import make_card, make_collection, make_item, record_prices

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 15, 12, tzinfo=dt.UTC)
TODAY = NOW.date()


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


def days_ago(n: int) -> dt.date:
    return TODAY - dt.timedelta(days=n)


def price_on(card, days: int, prices: dict, source="pricecharting"):
    """Record prices observed at noon `days` days ago."""
    moment = dt.datetime.combine(days_ago(days), dt.time(12), tzinfo=dt.UTC)
    record_prices(card, prices, source=source, observed_at=moment)


def history(collection) -> dict:
    return {
        snapshot.day: (
            snapshot.value,
            snapshot.cost,
            snapshot.priced_items,
            snapshot.unpriced_items,
        )
        for snapshot in PortfolioSnapshot.objects.filter(collection=collection)
    }


# The daily snapshot


def test_the_daily_snapshot_records_each_collection_s_value_and_cost():
    collection = make_collection()
    priced, unpriced = make_card(), make_card()
    record_prices(priced, {"NM": 1500})
    make_item(collection, priced, quantity=2, purchase_price=1000)
    make_item(collection, unpriced, purchase_price=300)
    empty = make_collection()

    assert snapshots.take_daily_snapshots() == 1

    assert history(collection) == {TODAY: (3000, 2300, 1, 1)}
    assert history(empty) == {}


def test_the_daily_snapshot_is_idempotent_and_updates_the_day_s_row():
    card = make_card()
    record_prices(card, {"NM": 1500})
    item = make_item(card=card, purchase_price=1000)

    snapshots.take_daily_snapshots()
    snapshots.take_daily_snapshots()
    assert history(item.collection) == {TODAY: (1500, 1000, 1, 0)}

    record_prices(card, {"NM": 1800}, observed_at=NOW - dt.timedelta(minutes=5))
    snapshots.take_daily_snapshots()
    assert history(item.collection) == {TODAY: (1800, 1000, 1, 0)}


def test_the_daily_snapshot_of_a_given_day_through_the_task():
    item = make_item(purchase_price=700)

    assert tasks.take_daily_snapshots("2026-03-14") == 1

    assert history(item.collection) == {days_ago(1): (0, 700, 0, 1)}


def test_daily_snapshots_take_the_same_queries_for_few_or_many_collections(monkeypatch):
    def queries_for(count):
        PortfolioSnapshot.objects.all().delete()
        for _ in range(count):
            card = make_card()
            record_prices(card, {"NM": 1000})
            make_item(card=card, quantity=3)
        with CaptureQueriesContext(connection) as context:
            snapshots.take_daily_snapshots()
        return len(context.captured_queries)

    monkeypatch.setattr(snapshots, "COLLECTIONS_PER_BATCH", 50)
    few = queries_for(2)
    many = queries_for(30)
    assert few == many
    assert PortfolioSnapshot.objects.count() == 32


# Backfilling from price history


@pytest.fixture
def bought_last_week():
    """A collection of two lots bought in the past, with price points on some days."""
    collection = make_collection()
    charizard, pikachu = make_card(name="Charizard"), make_card(name="Pikachu")
    price_on(charizard, 10, {"NM": 1000})
    price_on(charizard, 7, {"NM": 1200})
    price_on(charizard, 3, {"NM": 900})
    price_on(pikachu, 9, {"ungraded": 500})  # no NM price: valued at ungraded
    make_item(collection, charizard, quantity=2, purchase_price=1100, purchase_date=days_ago(8))
    make_item(collection, pikachu, purchase_date=days_ago(5))
    return collection


def test_backfill_values_each_past_day_carrying_prices_forward(bought_last_week):
    written = snapshots.backfill_snapshots(bought_last_week.pk, days_ago(8))

    assert written == 8
    assert history(bought_last_week) == {
        days_ago(8): (2000, 2200, 1, 0),  # the price of day 10, carried forward
        days_ago(7): (2400, 2200, 1, 0),
        days_ago(6): (2400, 2200, 1, 0),
        days_ago(5): (2900, 2200, 2, 0),  # Pikachu bought, at its ungraded price
        days_ago(4): (2900, 2200, 2, 0),
        days_ago(3): (2300, 2200, 2, 0),
        days_ago(2): (2300, 2200, 2, 0),
        days_ago(1): (2300, 2200, 2, 0),  # today is the live valuation's
    }


def test_backfill_starts_at_the_first_day_an_item_is_owned(bought_last_week):
    assert snapshots.backfill_snapshots(bought_last_week.pk, days_ago(30)) == 8
    assert min(history(bought_last_week)) == days_ago(8)


def test_backfill_starts_where_the_price_history_starts():
    card = make_card()
    price_on(card, 4, {"NM": 1000})
    item = make_item(card=card, purchase_date=days_ago(20))

    assert snapshots.backfill_snapshots(item.collection_id, days_ago(20)) == 4
    assert min(history(item.collection)) == days_ago(4)


def test_backfill_counts_an_item_without_a_purchase_date_from_when_it_was_added():
    card = make_card()
    price_on(card, 6, {"NM": 1000})
    collection = make_collection()
    make_item(collection, card, purchase_date=days_ago(5))
    make_item(collection, card, created_at=NOW - dt.timedelta(days=2))

    snapshots.backfill_snapshots(collection.pk, days_ago(5))

    values = history(collection)
    assert values[days_ago(3)][0] == 1000
    assert values[days_ago(2)][0] == 2000


def test_backfilling_again_changes_nothing(bought_last_week):
    snapshots.backfill_snapshots(bought_last_week.pk, days_ago(8))
    before = history(bought_last_week)

    assert snapshots.backfill_snapshots(bought_last_week.pk, days_ago(8)) == 8
    assert history(bought_last_week) == before
    assert PortfolioSnapshot.objects.count() == 8


def test_moving_a_purchase_date_later_removes_the_days_before_it(bought_last_week):
    snapshots.backfill_snapshots(bought_last_week.pk, days_ago(8))
    bought_last_week.items.filter(card__name="Charizard").update(purchase_date=days_ago(4))

    snapshots.backfill_snapshots(bought_last_week.pk, days_ago(8))

    assert min(history(bought_last_week)) == days_ago(5)  # Pikachu's day is the first now
    assert history(bought_last_week)[days_ago(5)] == (500, 0, 1, 0)


def test_removing_every_item_removes_the_backfilled_days(bought_last_week):
    snapshots.backfill_snapshots(bought_last_week.pk, days_ago(8))
    bought_last_week.items.all().delete()

    assert snapshots.backfill_snapshots(bought_last_week.pk, days_ago(8)) == 0
    assert history(bought_last_week) == {}


def test_backfill_leaves_today_and_days_before_the_range_alone(bought_last_week):
    PortfolioSnapshot.objects.create(collection=bought_last_week, day=TODAY, value=1, cost=1)
    PortfolioSnapshot.objects.create(collection=bought_last_week, day=days_ago(40), value=2, cost=2)

    snapshots.backfill_snapshots(bought_last_week.pk, days_ago(8))

    assert history(bought_last_week)[TODAY][:2] == (1, 1)
    assert history(bought_last_week)[days_ago(40)][:2] == (2, 2)


def test_backfill_of_a_deleted_collection_does_nothing(bought_last_week):
    pk = bought_last_week.pk
    bought_last_week.delete()
    assert snapshots.backfill_snapshots(pk, days_ago(8)) == 0


def test_backfill_values_at_the_collection_s_source_only():
    collection = make_collection(basis_source="ebay")
    card = make_card()
    price_on(card, 3, {"NM": 1000}, source="pricecharting")
    price_on(card, 2, {"NM": 1400}, source="ebay")
    make_item(collection, card, purchase_date=days_ago(3))

    assert snapshots.backfill_snapshots(collection.pk, days_ago(3)) == 2
    assert history(collection) == {
        days_ago(2): (1400, 0, 1, 0),
        days_ago(1): (1400, 0, 1, 0),
    }


def test_backfill_reaches_back_five_years_at_most():
    card = make_card()
    price_on(card, 3000, {"NM": 1000})
    item = make_item(card=card, purchase_date=days_ago(3000))

    written = snapshots.backfill_snapshots(item.collection_id, days_ago(3000))

    assert written == snapshots.MAX_BACKFILL_DAYS
    assert min(history(item.collection)) == days_ago(snapshots.MAX_BACKFILL_DAYS)
    assert history(item.collection)[days_ago(snapshots.MAX_BACKFILL_DAYS)][0] == 1000


def test_backfill_matches_the_live_valuation_for_yesterday_s_prices():
    card = make_card()
    price_on(card, 2, {"ungraded": 800, "PSA 10": 20000})
    collection = make_collection()
    make_item(collection, card, condition="LP", purchase_date=days_ago(2))
    make_item(collection, card, condition="", grader="PSA", grade=10, purchase_date=days_ago(2))

    snapshots.backfill_snapshots(collection.pk, days_ago(2))

    assert history(collection)[days_ago(1)][0] == value_collection(collection).value == 20800


def test_queue_backfill_rebuilds_the_history_through_the_task_queue(bought_last_week):
    snapshots.queue_backfill(bought_last_week, days_ago(8))
    assert len(history(bought_last_week)) == 8


def test_queue_backfill_does_nothing_for_today(bought_last_week):
    snapshots.queue_backfill(bought_last_week, TODAY)
    assert history(bought_last_week) == {}


# Chart data


def test_chart_data_lists_the_period_s_days_in_cents():
    collection = make_collection()
    for n in (400, 40, 20, 1, 0):
        PortfolioSnapshot.objects.create(
            collection=collection, day=days_ago(n), value=10000 - n, cost=5000
        )

    chart = snapshots.chart_data(collection, "30d")

    assert chart == {
        "period": "30d",
        "currency": "USD",
        "points": [
            {"day": days_ago(20).isoformat(), "value": 9980, "cost": 5000},
            {"day": days_ago(1).isoformat(), "value": 9999, "cost": 5000},
            {"day": TODAY.isoformat(), "value": 10000, "cost": 5000},
        ],
        "simulated": False,
    }
    assert len(snapshots.chart_data(collection, "1y")["points"]) == 4
    assert len(snapshots.chart_data(collection, "all")["points"]) == 5


def test_chart_data_takes_today_from_the_current_valuation(django_assert_num_queries):
    card = make_card()
    record_prices(card, {"NM": 2500})
    item = make_item(card=card, purchase_price=2000)
    PortfolioSnapshot.objects.create(collection=item.collection, day=days_ago(1), value=1, cost=2)
    PortfolioSnapshot.objects.create(collection=item.collection, day=TODAY, value=3, cost=4)
    current = value_collection(item.collection)

    with django_assert_num_queries(1):
        chart = snapshots.chart_data(item.collection, "30d", current=current)

    assert chart["points"] == [
        {"day": days_ago(1).isoformat(), "value": 1, "cost": 2},
        {"day": TODAY.isoformat(), "value": 2500, "cost": 2000},
    ]


def test_chart_data_of_an_empty_collection_has_no_points():
    collection = make_collection()
    chart = snapshots.chart_data(collection, "all", current=value_collection(collection))
    assert chart["points"] == []


def test_chart_data_says_when_demo_prices_went_into_it(django_assert_max_num_queries):
    collection = make_collection()
    real, simulated = make_card(), make_card()
    record_prices(real, {"NM": 1000})
    record_prices(real, {"NM": 900}, source="demo")  # a real price wins: not simulated
    make_item(collection, real)

    with django_assert_max_num_queries(2):
        assert snapshots.chart_data(collection, "30d")["simulated"] is False

    record_prices(simulated, {"NM": 1000}, source="demo")
    make_item(collection, simulated)
    assert snapshots.chart_data(collection, "30d")["simulated"] is True
    current = value_collection(collection)
    assert snapshots.chart_data(collection, "30d", current=current)["simulated"] is True


def test_chart_data_refuses_an_unknown_period():
    with pytest.raises(ValueError, match="Unknown period '5y'"):
        snapshots.chart_data(make_collection(), "5y")


def test_every_period_is_known_and_the_default_is_one_of_them():
    assert snapshots.DEFAULT_PERIOD in snapshots.PERIODS
    assert set(snapshots.PERIODS) == {"30d", "1y", "all"}


# The job, its schedule and commands


def test_the_daily_snapshot_job_is_scheduled():
    [spec] = [spec for spec in SCHEDULES if spec["name"] == "portfolio-snapshots"]
    assert spec["func"] == "collections_app.tasks.take_daily_snapshots"

    call_command("setup_schedules", stdout=StringIO())

    schedule = Schedule.objects.get(name="portfolio-snapshots")
    assert schedule.func == "collections_app.tasks.take_daily_snapshots"
    assert schedule.schedule_type == Schedule.CRON


def test_the_snapshot_command_records_today_and_its_dry_run_writes_nothing():
    item = make_item(purchase_price=100)
    out = StringIO()

    call_command("take_portfolio_snapshots", "--dry-run", stdout=out)
    assert "Would record 1 collection snapshot." in out.getvalue()
    assert history(item.collection) == {}

    call_command("take_portfolio_snapshots", "--day", "2026-03-10", stdout=out)
    assert "Recorded 1 collection snapshot." in out.getvalue()
    assert list(history(item.collection)) == [days_ago(5)]


def test_the_backfill_command_rebuilds_each_collection_from_its_first_owned_day(
    bought_last_week,
):
    out = StringIO()

    call_command("backfill_portfolio_snapshots", "--dry-run", stdout=out)
    assert f"{bought_last_week.pk} {bought_last_week.name}: would write 8 days" in out.getvalue()
    assert history(bought_last_week) == {}

    call_command(
        "backfill_portfolio_snapshots", "--collection", str(bought_last_week.pk), stdout=out
    )
    assert f"wrote 8 days from {days_ago(8):%Y-%m-%d}" in out.getvalue()
    assert len(history(bought_last_week)) == 8

    call_command("backfill_portfolio_snapshots", "--since", days_ago(3).isoformat(), stdout=out)
    assert "wrote 3 days" in out.getvalue()


def test_the_backfill_command_names_a_missing_collection():
    with pytest.raises(CommandError, match="No collection with id 999999"):
        call_command("backfill_portfolio_snapshots", "--collection", "999999")
