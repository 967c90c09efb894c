import datetime as dt

import pytest
from django.db import connection

from cards.models import Card
from prices.models import PricePoint, PriceSummary
from tcgtracker.lib.compiled_sql import CompiledQuery
from tests.factories import make_card, record_prices

NOW = dt.datetime(2026, 3, 15, 12, tzinfo=dt.UTC)


def recent_prices(card_id, since):
    return PricePoint.objects.filter(card_id=card_id, observed_at__gte=since, market__gt=0)


def test_the_sql_is_the_querysets_own_with_the_values_bound_in_place_of_the_stand_ins():
    query = CompiledQuery(
        recent_prices, card_id=-987_654_321, since=dt.datetime(1901, 2, 3, tzinfo=dt.UTC)
    )
    for card_id, since in [(5, NOW), (6, NOW - dt.timedelta(days=30))]:
        sql, params = query.sql("default", card_id=card_id, since=since)
        expected_sql, expected_params = (
            recent_prices(card_id, since).query.get_compiler(using="default").as_sql()
        )
        assert (sql, params) == (expected_sql, list(expected_params))


@pytest.mark.django_db
def test_the_bound_sql_runs():
    query = CompiledQuery(
        recent_prices, card_id=-987_654_321, since=dt.datetime(1901, 2, 3, tzinfo=dt.UTC)
    )
    with connection.cursor() as cursor:
        cursor.execute(*query.sql("default", card_id=1, since=NOW))
        assert cursor.fetchall() == []


def test_a_stand_in_that_does_not_reach_the_sql_is_an_error():
    query = CompiledQuery(
        lambda card_id, source: PricePoint.objects.filter(card_id=card_id), card_id=-1, source="x"
    )
    with pytest.raises(ValueError, match="source"):
        query.sql("default", card_id=1, source="demo")


@pytest.mark.django_db
def test_rows_are_read_as_the_queryset_reads_them_converters_included():
    card = make_card()
    record_prices(card, {"ungraded": 1234, "PSA 10": 99_00}, observed_at=NOW)
    fields = ("price_key", "market", "observed_at", "change_7d")
    query = CompiledQuery(
        lambda card_id: (
            PriceSummary.objects.filter(card_id=card_id).order_by("price_key").values_list(*fields)
        ),
        card_id=-987_654_321,
    )

    rows = query.rows("default", card_id=card.pk)

    expected = list(
        PriceSummary.objects.filter(card_id=card.pk).order_by("price_key").values_list(*fields)
    )
    assert [tuple(row) for row in rows] == expected
    assert rows[0][2] == NOW  # an aware datetime on every database, SQLite's text included


@pytest.mark.django_db
def test_a_query_such_as_an_exists_compiles_as_a_queryset_does():
    card = make_card()
    exists = CompiledQuery(
        lambda card_id: Card.objects.filter(pk=card_id).query.exists(), card_id=-987_654_321
    )
    assert exists.rows("default", card_id=card.pk)
    assert not exists.rows("default", card_id=card.pk + 1)
