"""Queries compiled once and run with new values (tcgtracker.lib.sql.CompiledQuery)."""

import datetime as dt
from unittest import mock

import pytest
from django.db import connection
from django.db.models.sql.compiler import SQLCompiler

from cards.models import Card
from prices.models import PriceSummary
from tcgtracker.lib.sql import CompiledQuery, ids_in, texts_in
from tests.factories import make_card, make_set, record_prices

NOW = dt.datetime(2026, 3, 15, 12, tzinfo=dt.UTC)

pytestmark = pytest.mark.django_db


def card_with_set():
    return CompiledQuery(lambda pk: Card.objects.select_related("card_set").filter(pk=pk), pk=int)


def test_it_gives_the_objects_the_queryset_gives_with_their_related_objects(
    django_assert_num_queries,
):
    card = make_card(name="Charizard", curated_fields=["name"])
    with django_assert_num_queries(1):
        [found] = card_with_set().objects(pk=card.pk)
        assert found.card_set.name == card.card_set.name
    expected = Card.objects.select_related("card_set").get(pk=card.pk)
    assert [(f.attname, getattr(found, f.attname)) for f in Card._meta.concrete_fields] == [
        (f.attname, getattr(expected, f.attname)) for f in Card._meta.concrete_fields
    ]
    assert found.curated_fields == ["name"]  # the JSON column's converter ran
    assert found._state.adding is False and found._state.db == "default"


def test_each_run_uses_its_own_values_and_compiles_nothing_again():
    first, second = make_card(name="Pikachu"), make_card(name="Raichu")
    query = card_with_set()
    assert [card.name for card in query.objects(pk=first.pk)] == ["Pikachu"]
    with mock.patch.object(SQLCompiler, "as_sql", side_effect=AssertionError("compiled again")):
        assert [card.name for card in query.objects(pk=second.pk)] == ["Raichu"]
        assert query.objects(pk=second.pk + 1000) == []


def test_string_parameters_and_exclusions_keep_their_places():
    card_set = make_set()
    base = make_card(card_set=card_set, number="4", name="Charizard")
    holo = make_card(card_set=card_set, number="4", variant="Holo", name="Charizard")
    make_card(card_set=card_set, number="5", name="Blastoise")
    others = CompiledQuery(
        lambda set_id, number, pk: (
            Card.objects.filter(card_set_id=set_id, number=number).exclude(pk=pk).order_by("pk")
        ),
        set_id=int,
        number=str,
        pk=int,
    )
    assert others.objects(set_id=card_set.pk, number="4", pk=base.pk) == [holo]
    assert others.objects(set_id=card_set.pk, number="5", pk=base.pk)[0].name == "Blastoise"


def test_a_hostile_value_is_a_parameter_not_sql():
    card = make_card(name="Mew")
    by_name = CompiledQuery(lambda name: Card.objects.filter(name=name), name=str)
    assert by_name.objects(name="x' OR '1'='1") == []
    assert by_name.objects(name="'; DROP TABLE cards_card; --") == []
    assert by_name.objects(name="Mew") == [card]


def test_values_list_gives_rows_and_exists_asks_for_one():
    card = make_card(name="Eevee", number="133")
    names = CompiledQuery(
        lambda pk: Card.objects.filter(pk=pk).values_list("name", "number"), pk=int
    )
    assert names.objects(pk=card.pk) == [("Eevee", "133")]
    any_named = CompiledQuery(lambda name: Card.objects.filter(name=name), name=str)
    assert any_named.exists(name="Eevee") is True
    assert any_named.exists(name="Vaporeon") is False


def test_it_refuses_what_cannot_be_compiled_once():
    make_card(name="Mewtwo")
    pattern = CompiledQuery(lambda name: Card.objects.filter(name__icontains=name), name=str)
    with pytest.raises(ValueError, match="not one SQL parameter"):
        pattern.objects(name="mew")
    with pytest.raises(TypeError):
        CompiledQuery(lambda day: Card.objects.filter(created__date=day), day=object)
    by_pk = card_with_set()
    with pytest.raises(TypeError, match="Expected the parameters"):
        by_pk.objects(id=1)


def test_an_integer_no_column_holds_finds_nothing_and_excludes_nothing():
    card_set = make_set()
    card = make_card(card_set=card_set, number="7")
    huge = 99999999999999999999999999999
    assert card_with_set().objects(pk=huge) == []
    excluding = CompiledQuery(
        lambda set_id, pk: Card.objects.filter(card_set_id=set_id).exclude(pk=pk),
        set_id=int,
        pk=int,
    )
    assert excluding.objects(set_id=card_set.pk, pk=huge) == [card]
    by_pk = CompiledQuery(lambda pk: Card.objects.filter(pk=pk), pk=int)
    assert by_pk.exists(pk=-huge) is False


def test_a_datetime_parameter_is_sent_as_its_field_sends_it():
    import datetime as dt

    from django.utils import timezone

    card = make_card(name="Ditto")
    created_before = CompiledQuery(
        lambda moment: Card.objects.filter(created__lt=moment), moment=dt.datetime
    )
    assert created_before.objects(moment=timezone.now() + dt.timedelta(seconds=1)) == [card]
    assert created_before.objects(moment=card.created) == []
    with pytest.raises(TypeError, match="aware datetime"):
        created_before.objects(moment=dt.datetime(2024, 1, 1))


def test_fetch_gives_the_drivers_rows_and_objects_the_converted_ones():
    card = make_card()
    record_prices(card, {"ungraded": 1234}, observed_at=NOW)
    summaries = CompiledQuery(
        lambda card_id: PriceSummary.objects.filter(card_id=card_id).values_list(
            "market", "observed_at"
        ),
        card_id=int,
    )
    assert summaries.params == ("card_id",)
    [(market, moment)] = summaries.fetch(card_id=card.pk)
    assert market == 1234
    # The converted rows are what the queryset reads, an aware datetime on every database
    # (SQLite's driver gives text or a naive datetime).
    assert summaries.objects(card_id=card.pk) == [(1234, NOW)]
    assert summaries.fetch(card_id=card.pk + 1000) == []


def test_a_slice_is_written_at_each_run_and_reads_what_the_queryset_slice_reads():
    card_set = make_set()
    for number in range(1, 8):
        make_card(card_set=card_set, number=str(number), name=f"Card {number}")
    in_order = CompiledQuery(
        lambda set_id: Card.objects.filter(card_set_id=set_id).order_by("pk").values_list("name"),
        set_id=int,
    )
    queryset = Card.objects.filter(card_set=card_set).order_by("pk").values_list("name")
    pages = [list(queryset[0:3]), list(queryset[3:6]), list(queryset[6:100])]
    assert in_order.fetch_slice(0, 3, set_id=card_set.pk) == pages[0]
    with mock.patch.object(SQLCompiler, "as_sql", side_effect=AssertionError("compiled again")):
        assert in_order.fetch_slice(3, 6, set_id=card_set.pk) == pages[1]
        assert in_order.fetch_slice(6, 100, set_id=card_set.pk) == pages[2] != []
        assert in_order.fetch_slice(100, 103, set_id=card_set.pk) == []
    assert in_order.fetch(set_id=card_set.pk) == list(queryset)  # the unsliced SQL unchanged


def test_an_empty_slice_asks_nothing_and_a_negative_one_is_refused(django_assert_num_queries):
    query = CompiledQuery(lambda pk: Card.objects.filter(pk=pk).values_list("name"), pk=int)
    with django_assert_num_queries(0):
        assert query.fetch_slice(5, 5, pk=1) == []
    with pytest.raises(ValueError, match="0 or after"):
        query.fetch_slice(-1, 5, pk=1)
    sliced = CompiledQuery(lambda pk: Card.objects.filter(pk=pk).values_list("name")[:1], pk=int)
    with pytest.raises(ValueError, match="sliced again"):
        sliced.fetch_slice(0, 1, pk=1)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="an array parameter: PostgreSQL's")
def test_a_list_of_ids_is_one_array_parameter_on_postgresql():
    cards = [make_card(number=str(number)) for number in range(1, 5)]
    by_ids = CompiledQuery(
        lambda ids: Card.objects.filter(pk__in=ids_in(ids)).order_by("pk").values_list("pk"),
        ids=list,
    )
    assert by_ids.fetch(ids=[cards[0].pk, cards[2].pk]) == [(cards[0].pk,), (cards[2].pk,)]
    with mock.patch.object(SQLCompiler, "as_sql", side_effect=AssertionError("compiled again")):
        assert by_ids.fetch(ids=[card.pk for card in cards]) == [(card.pk,) for card in cards]
        assert by_ids.fetch(ids=[]) == []


def test_a_list_written_as_one_placeholder_per_item_is_refused():
    per_item = CompiledQuery(lambda ids: Card.objects.filter(pk__in=list(ids)), ids=list)
    with pytest.raises(ValueError, match="not one SQL parameter"):
        per_item.objects(ids=[1, 2])


def test_texts_in_matches_the_strings_given():
    make_card(number="1")
    make_card(number="OP01-001")
    make_card(number="2")

    found = Card.objects.filter(number__in=texts_in(["OP01-001", "2", "no such"]))

    assert sorted(found.values_list("number", flat=True)) == ["2", "OP01-001"]
