"""PostgreSQL connections read timestamps with psycopg's C loader, giving what Django's
own loader gives."""

import datetime as dt

import pytest
from django.db import connection

from prices.models import PricePoint
from tcgtracker.lib.sql import read_timestamps_in_c
from tests.factories import make_card, record_prices

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="psycopg's loaders"),
]

MOMENTS = [
    dt.datetime(2026, 11, 30, 23, 59, 59, 999999, tzinfo=dt.UTC),
    dt.datetime(1999, 1, 9, 0, 0, tzinfo=dt.UTC),
    dt.datetime(2024, 2, 29, 12, 30, 15, 500, tzinfo=dt.UTC),
    dt.datetime(2026, 3, 29, 1, 30, tzinfo=dt.timezone(dt.timedelta(hours=-7))),
]
SELECT_MOMENTS = "SELECT unnest(%s::timestamptz[])"


def timestamp_loader(context):
    """The loader class of timestamptz registered on a psycopg connection or cursor."""
    from psycopg.pq import Format

    return context.adapters.get_loader(context.adapters.types["timestamptz"].oid, Format.TEXT)


def read_with_djangos_own_loader(sql, params):
    from django.db.backends.postgresql.psycopg_any import register_tzloader

    with connection.cursor() as cursor:
        register_tzloader(connection.timezone, cursor.cursor)
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def read(sql, params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def c_loader_available() -> bool:
    import psycopg

    return psycopg.pq.__impl__ in ("c", "binary")


def test_timestamps_read_are_the_aware_utc_datetimes_djangos_loader_gives():
    ours = read(SELECT_MOMENTS, [MOMENTS])
    theirs = read_with_djangos_own_loader(SELECT_MOMENTS, [MOMENTS])
    assert ours == theirs == MOMENTS
    assert all(moment.tzinfo is dt.UTC for moment in ours)


def test_the_orm_reads_a_stored_moment_back_unchanged():
    card = make_card()
    moment = dt.datetime(2026, 11, 1, 9, 15, 30, 123456, tzinfo=dt.UTC)
    record_prices(card, {"ungraded": 1234}, observed_at=moment)
    stored = PricePoint.objects.get(card=card)
    assert stored.observed_at == moment
    assert stored.observed_at.tzinfo is dt.UTC


def test_djangos_cursors_keep_the_loader_and_it_reads_in_c():
    from psycopg.pq import Format

    with connection.cursor() as cursor:
        loader = timestamp_loader(cursor.cursor)
        assert loader.timezone is dt.UTC  # what Django's cursors check before using it
        assert timestamp_loader(cursor.cursor) is timestamp_loader(connection.connection)
        cursor.execute("SELECT now()")
        oid = cursor.cursor.adapters.types["timestamptz"].oid
        in_use = cursor.cursor._tx.get_loader(oid, Format.TEXT)
    assert type(in_use) is loader
    if c_loader_available():
        assert type(in_use.load.__self__).__module__.startswith(("psycopg_binary", "psycopg_c"))


def test_a_connection_set_to_another_time_zone_reads_as_django_reads():
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET TIME ZONE 'Europe/Paris'")
        assert read(SELECT_MOMENTS, [MOMENTS]) == read_with_djangos_own_loader(
            SELECT_MOMENTS, [MOMENTS]
        )
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET TIME ZONE 'UTC'")


def test_a_connection_handed_out_again_keeps_the_one_loader():
    connection.ensure_connection()
    before = connection.connection.adapters
    loader = timestamp_loader(connection.connection)
    read_timestamps_in_c(sender=type(connection), connection=connection)
    assert connection.connection.adapters is before
    assert timestamp_loader(connection.connection) is loader
