"""The price history partitioned by month on PostgreSQL: the migration on a table holding
rows, where points land, the ORM by primary key, upserts, and retention by whole months."""

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from prices import partitions
from prices.models import PricePoint, PriceSummary
from prices.retention import fold_old_points
from prices.writing import Observation, record_observations
from tests.factories import make_card

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="partitioning is PostgreSQL's; SQLite keeps the plain table (CI runs these on it)",
)

BEFORE = ("prices", "0004_jobrun_moves_to_jobs")
AFTER = ("prices", "0005_partition_price_points")
NOW = dt.datetime(2026, 11, 10, 12, tzinfo=dt.UTC)


def at(year, month, day, hour=0):
    return dt.datetime(year, month, day, hour, tzinfo=dt.UTC)


def observation(card, when, market, price_key="ungraded", **extra):
    return Observation(
        card_id=card.pk,
        source="ebay",
        price_key=price_key,
        market=market,
        observed_at=when,
        **extra,
    )


def partition_of_each_point() -> dict[int, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, tableoid::regclass::text FROM prices_pricepoint")
        return dict(cursor.fetchall())


def table_oid(name: str) -> int | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)::oid", [name])
        return cursor.fetchone()[0]


def constraint_kinds(table: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT contype FROM pg_constraint WHERE conrelid = to_regclass(%s) ORDER BY 1",
            [table],
        )
        return [row[0] for row in cursor.fetchall()]


def index_count(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_index WHERE indrelid = to_regclass(%s)", [table])
        return cursor.fetchone()[0]


def migrate(target):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([target])


def migrate_to_latest():
    """Every app back at its newest migration: going back to BEFORE also unapplied the
    migrations beside AFTER (other 0005s, their merges) that later tests need."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_the_migration_partitions_a_table_holding_rows_and_reverses():
    migrate(BEFORE)
    try:
        assert not partitions.is_partitioned()
        card = make_card()
        old = [
            PricePoint.objects.create(
                card=card, source="ebay", price_key="ungraded", market=100 * n, observed_at=when
            )
            for n, when in enumerate([at(2024, 1, 31, 23), at(2024, 2, 1), at(2026, 6, 15)], 1)
        ]
        migrate(AFTER)
        assert partitions.is_partitioned()
        assert partition_of_each_point() == {
            old[0].pk: "prices_pricepoint_p2024_01",
            old[1].pk: "prices_pricepoint_p2024_02",
            old[2].pk: "prices_pricepoint_p2026_06",
        }
        # Every month from the oldest point's on has its partition, with nothing stranded.
        months = [p.month for p in partitions.partitions()]
        assert months[0] == dt.date(2024, 1, 1)
        assert len(months) == len(set(months)) >= 30
        assert constraint_kinds("prices_pricepoint") == ["c", "c", "f", "p", "u"]
        # The identity continues after the copied rows.
        new = PricePoint.objects.create(
            card=card, source="ebay", price_key="ungraded", market=7, observed_at=at(2026, 6, 16)
        )
        assert new.pk > max(point.pk for point in old)

        migrate(BEFORE)
        assert not partitions.is_partitioned()
        assert sorted(PricePoint.objects.values_list("pk", "market")) == [
            (old[0].pk, 100),
            (old[1].pk, 200),
            (old[2].pk, 300),
            (new.pk, 7),
        ]
        assert constraint_kinds("prices_pricepoint") == ["c", "c", "f", "p", "u"]
    finally:
        migrate_to_latest()
    assert partitions.is_partitioned()


@pytest.mark.django_db
@time_machine.travel(NOW, tick=False)
def test_points_land_in_their_months_partition_and_stranded_ones_get_one():
    card = make_card()
    record_observations(
        [
            observation(card, at(2026, 11, 1), 100),
            observation(card, at(2026, 10, 31, 23), 90),
            observation(card, at(2019, 3, 5), 10),  # older than any partition: the default
        ]
    )
    assert "prices_pricepoint_default" in partition_of_each_point().values()
    created = partitions.ensure_partitions()
    assert "prices_pricepoint_p2019_03" in created
    assert "prices_pricepoint_p2027_02" in {p.name for p in partitions.partitions()}
    assert sorted(partition_of_each_point().values()) == [
        "prices_pricepoint_p2019_03",
        "prices_pricepoint_p2026_10",
        "prices_pricepoint_p2026_11",
    ]
    assert constraint_kinds("prices_pricepoint_p2019_03") == ["c", "c", "f", "p", "u"]
    assert partitions.ensure_partitions() == []


@pytest.mark.django_db
@time_machine.travel(at(2028, 5, 20), tick=False)
def test_ensure_partitions_creates_this_month_and_three_ahead_once():
    ahead = [
        "prices_pricepoint_p2028_05",
        "prices_pricepoint_p2028_06",
        "prices_pricepoint_p2028_07",
        "prices_pricepoint_p2028_08",
    ]
    assert partitions.ensure_partitions(dry_run=True) == ahead
    assert "prices_pricepoint_p2028_05" not in {p.name for p in partitions.partitions()}
    assert partitions.ensure_partitions() == ahead
    assert partitions.ensure_partitions() == []


@pytest.mark.django_db
def test_the_orm_creates_updates_and_deletes_a_point_by_its_primary_key():
    card = make_card()
    point = PricePoint.objects.create(
        card=card, source="ebay", price_key="ungraded", market=500, observed_at=at(2026, 11, 2)
    )
    point.market = 450
    point.save()
    assert PricePoint.objects.get(pk=point.pk).market == 450
    assert PricePoint.objects.filter(pk=point.pk).update(low=400) == 1
    point.refresh_from_db()
    assert (point.market, point.low) == (450, 400)
    point.delete()
    assert not PricePoint.objects.filter(pk=point.pk).exists()


@pytest.mark.django_db
@time_machine.travel(NOW, tick=False)
def test_upserts_write_new_points_and_corrections_through_the_partitions():
    card = make_card()
    first = record_observations(
        [observation(card, at(2026, 11, 1), 1000), observation(card, at(2026, 11, 2), 5000)]
    )
    assert (first.written, first.unchanged) == (2, 0)
    again = record_observations([observation(card, at(2026, 11, 2), 5000)])
    assert (again.written, again.unchanged) == (0, 1)
    # A correction of the high point: the all-time high is worked out again, not kept.
    corrected = record_observations([observation(card, at(2026, 11, 2), 1200)])
    assert corrected.written == 1
    summary = PriceSummary.objects.get(card=card)
    assert (summary.market, summary.all_time_high, summary.all_time_low) == (1200, 1200, 1000)
    assert PricePoint.objects.count() == 2


@pytest.mark.django_db
@time_machine.travel(NOW, tick=False)
def test_retention_folds_a_whole_month_into_a_new_partition_and_drops_the_old():
    card = make_card()
    july, august = at(2026, 7, 14), at(2026, 8, 14)
    record_observations(
        [
            observation(
                card, july + dt.timedelta(hours=1), 1000, low=900, high=1100, sample_size=2
            ),
            observation(card, july + dt.timedelta(hours=9), 5000, sample_size=3),
            observation(card, july + dt.timedelta(hours=20), 1200, sample_size=4),
            observation(card, july + dt.timedelta(days=1), 1300),
            # August ends after the cutoff (NOW - 90 days = Aug 12): folded row by row.
            observation(card, august - dt.timedelta(days=5), 1400),
            observation(card, august - dt.timedelta(days=5, hours=-3), 1500),
            # Recent points are left alone.
            observation(card, at(2026, 11, 9, 1), 2000),
            observation(card, at(2026, 11, 9, 2), 2100),
        ]
    )
    partitions.ensure_partitions()
    july_partition = "prices_pricepoint_p2026_07"
    before = table_oid(july_partition)
    august_before = table_oid("prices_pricepoint_p2026_08")

    run = fold_old_points(90)

    assert (run.written, run.unchanged) == (2, 3)
    assert "1 whole months rewritten" in run.description
    # July is a new table under the old name; the old one is gone, August kept in place.
    assert table_oid(july_partition) not in (None, before)
    assert table_oid("prices_pricepoint_p2026_08") == august_before
    assert constraint_kinds(july_partition) == constraint_kinds("prices_pricepoint_p2026_08")
    assert index_count(july_partition) == index_count("prices_pricepoint_p2026_08")
    july_points = list(
        PricePoint.objects.filter(observed_at__month=7)
        .order_by("observed_at")
        .values_list("market", "low", "high", "sample_size")
    )
    assert july_points == [(1200, 900, 5000, 9), (1300, None, None, None)]
    assert PricePoint.objects.filter(observed_at__month=8).count() == 1
    assert PricePoint.objects.filter(observed_at__month=11).count() == 2
    summary = PriceSummary.objects.get(card=card)
    assert (summary.market, summary.all_time_high) == (2100, 2100)

    # Folded once: the next run leaves the month as it is ...
    folded = table_oid(july_partition)
    assert fold_old_points(90).unchanged == 0
    assert table_oid(july_partition) == folded
    # ... until a point is written into it again.
    record_observations([observation(card, july + dt.timedelta(hours=22), 1250)])
    late = fold_old_points(90)
    assert (late.written, late.unchanged) == (1, 1)
    assert PricePoint.objects.filter(observed_at__month=7).count() == 2


@pytest.mark.django_db
@time_machine.travel(NOW, tick=False)
def test_a_month_with_nothing_to_fold_is_marked_and_kept():
    card = make_card()
    record_observations([observation(card, at(2026, 6, day), 100 + day) for day in (1, 2, 3)])
    partitions.ensure_partitions()
    june = "prices_pricepoint_p2026_06"
    before = table_oid(june)
    run = fold_old_points(90)
    assert (run.written, run.unchanged) == (0, 0)
    assert table_oid(june) == before
    assert next(p for p in partitions.partitions() if p.name == june).folded_through is not None
    assert PricePoint.objects.count() == 3


@pytest.mark.django_db
@time_machine.travel(at(2029, 1, 5), tick=False)
def test_the_command_lists_with_dry_run_and_then_creates():
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("ensure_price_partitions", "--dry-run", "--months-ahead", "1", stdout=out)
    assert out.getvalue().strip() == (
        "would create 2 partitions: prices_pricepoint_p2029_01, prices_pricepoint_p2029_02"
    )
    call_command("ensure_price_partitions", "--months-ahead", "1", stdout=out)
    assert "created 2 partitions" in out.getvalue()
    call_command("ensure_price_partitions", "--months-ahead", "1", stdout=out)
    assert out.getvalue().strip().endswith("created 0 partitions.")
