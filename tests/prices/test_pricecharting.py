import datetime as dt
import logging

import pytest
import time_machine

from cards.models import Card, Game
from prices.models import PricePoint
from prices.sources.pricecharting import FIELD_KEYS, PriceChartingClient
from prices.writing import record_observations
from tcgtracker.lib.http import CircuitOpen, NotConfigured, TransientError
from tests.factories import make_card, make_set
from tests.fakes.pricecharting import (
    CHARIZARD_BASE,
    TOKEN,
    FakePriceCharting,
    config_for,
)
from tests.fakes.server import Reply

pytestmark = pytest.mark.django_db

NOON = dt.datetime(2026, 11, 3, 12, 30, tzinfo=dt.UTC)
MIDNIGHT = dt.datetime(2026, 11, 3, tzinfo=dt.UTC)


@pytest.fixture
def fake(fake_server):
    return FakePriceCharting(fake_server)


@pytest.fixture
def base_set():
    return make_set(
        game=Game.POKEMON,
        code="base1",
        name="Base",
        series="Base",
        printed_total=102,
        total=102,
        pricecharting_name="Pokemon Base Set",
    )


@pytest.fixture
def charizard(base_set):
    return make_card(
        card_set=base_set,
        number="4",
        name="Charizard",
        rarity="Rare Holo",
        pricecharting_id="630417",
    )


def prices_of(result):
    return {o.price_key: o.market for o in result.observations}


@time_machine.travel(NOON, tick=False)
def test_it_maps_every_price_field_to_its_key_in_cents(fake, charizard):
    fake.add_product(**CHARIZARD_BASE)
    result = fake.client().fetch([charizard])

    assert result.errors == [] and result.rejected == []
    assert prices_of(result) == {
        "ungraded": 29662,
        "ANY 7": 72147,
        "ANY 8": 131250,
        "ANY 9": 252280,
        "ANY 9.5": 468018,
        "PSA 10": 2964313,
        "BGS 10": 3853600,
        "CGC 10": 718173,
        "SGC 10": 1778600,
    }
    assert {o.observed_at for o in result.observations} == {MIDNIGHT}
    assert {o.sample_size for o in result.observations} == {2206}
    assert {o.source for o in result.observations} == {"pricecharting"}
    assert result.checked == {charizard.pk}
    request = fake.server.calls("GET", "/api/product")[0]
    assert (request.param("id"), request.param("t")) == ("630417", TOKEN)


def test_the_mapping_table_ignores_retail_and_gamestop_fields():
    assert not [field for field in FIELD_KEYS if field.startswith(("retail-", "gamestop-"))]
    assert len(set(FIELD_KEYS.values())) == len(FIELD_KEYS) == 9


def test_zero_and_missing_prices_are_no_data(fake, charizard):
    fake.add_product(
        id="630417",
        **{
            "product-name": "Charizard #4",
            "loose-price": 29662,
            "cib-price": 0,
            "sales-volume": "",
        },
    )
    result = fake.client().fetch([charizard])
    assert prices_of(result) == {"ungraded": 29662}
    assert result.observations[0].sample_size is None
    assert result.rejected == []


@pytest.mark.parametrize("garbage", ["abc", 12.5, True, -100, "2964"])
def test_values_that_are_not_pennies_are_rejected_and_never_written(fake, charizard, garbage):
    fake.add_product(id="630417", **{"loose-price": 29662, "manual-only-price": garbage})
    result = fake.client().fetch([charizard])

    assert prices_of(result) == {"ungraded": 29662}
    assert len(result.rejected) == 1
    assert f"card {charizard.pk}" in result.rejected[0]
    assert "manual-only-price" in result.rejected[0]
    record_observations(result.observations)
    assert list(PricePoint.objects.values_list("price_key", flat=True)) == ["ungraded"]


def test_a_status_error_with_http_200_is_that_cards_error_only(fake, charizard, base_set):
    blastoise = make_card(
        card_set=base_set, number="2", name="Blastoise", pricecharting_id="404404"
    )
    fake.add_product(**CHARIZARD_BASE)
    result = fake.client().fetch([blastoise, charizard])

    assert len(result.errors) == 1
    assert f"card {blastoise.pk}" in result.errors[0]
    assert "No such product" in result.errors[0]
    assert result.checked == {charizard.pk}
    assert len(result.observations) == 9


def test_an_html_page_is_an_error_never_data(fake, charizard, fake_server):
    fake.add_product(**CHARIZARD_BASE)
    fake.block()
    fake_server.script(
        "GET", "/api/product", Reply(body="<html><body>Maintenance</body></html>")
    )  # a 200 with HTML
    client = fake.client()
    for _ in range(2):
        result = client.fetch([charizard])
        assert result.observations == []
        assert len(result.errors) == 1 and "HTML" in result.errors[0]
    assert len(client.fetch([charizard]).observations) == 9


def test_a_product_that_answers_with_another_id_is_an_error(fake, charizard, fake_server):
    fake_server.script("GET", "/api/product", Reply(json={**CHARIZARD_BASE, "id": "1"}))
    result = fake.client().fetch([charizard])
    assert result.observations == [] and "answered with '1'" in result.errors[0]


def test_server_trouble_stops_the_batch(fake, charizard, fake_server):
    fake_server.script("GET", "/api/product", Reply(status=503, body="Service Unavailable"))
    with pytest.raises(TransientError):
        fake.client().fetch([charizard])


def test_an_open_circuit_propagates(fake, charizard, fake_server):
    fake_server.script("GET", "/api/product", *[Reply(status=502)] * 2)
    client = fake.client(failure_threshold=2)
    for _ in range(2):
        with pytest.raises(TransientError):
            client.fetch([charizard])
    with pytest.raises(CircuitOpen):
        client.fetch([charizard])


def test_the_token_never_appears_in_errors_or_logs(fake_server, charizard, caplog):
    caplog.set_level(logging.DEBUG)
    fake = FakePriceCharting(fake_server, token="another-token-" + "z" * 26)
    client = fake.client(token=TOKEN)  # which the server refuses
    result = client.fetch([charizard])
    fake.block()
    result.errors += client.fetch([charizard]).errors
    fake_server.script("GET", "/api/product", Reply(status=500))
    with pytest.raises(TransientError) as raised:
        client.fetch([charizard])

    assert "Invalid access token" in result.errors[0]
    assert "HTML" in result.errors[1]
    texts = [*result.errors, str(raised.value), caplog.text]
    assert all(TOKEN not in text for text in texts)
    assert fake_server.calls()[0].param("t") == TOKEN  # it was sent, only never shown


def test_sealed_products_only_carry_an_ungraded_price(fake):
    card_set = make_set(game=Game.POKEMON, code="sv3pt5", name="151", series="Scarlet & Violet")
    box = make_card(
        card_set=card_set,
        number="BB",
        name="Booster Box",
        kind=Card.Kind.SEALED,
        pricecharting_id="9",
    )
    fake.add_product(
        id="9",
        genre="Sealed Product",
        **{"product-name": "Booster Box", "loose-price": 21999, "new-price": 25000},
    )
    assert prices_of(fake.client().fetch([box])) == {"ungraded": 21999}


def test_it_prices_only_cards_with_a_pricecharting_id(charizard, base_set):
    client = PriceChartingClient(config_for("http://127.0.0.1:9"))
    assert client.can_price(charizard)
    assert not client.can_price(make_card(card_set=base_set, number="2"))


def test_without_a_token_it_is_not_configured(charizard):
    client = PriceChartingClient(config_for("http://127.0.0.1:9", token=""))
    assert not client.is_configured
    with pytest.raises(NotConfigured):
        client.fetch([charizard])


def test_a_second_sync_the_same_day_writes_nothing_new(fake, charizard):
    fake.add_product(**CHARIZARD_BASE)
    client = fake.client()
    with time_machine.travel(dt.datetime(2026, 11, 3, 1, tzinfo=dt.UTC), tick=False):
        assert record_observations(client.fetch([charizard]).observations).written == 9
    with time_machine.travel(dt.datetime(2026, 11, 3, 23, tzinfo=dt.UTC), tick=False):
        again = record_observations(client.fetch([charizard]).observations)
    assert (again.written, again.unchanged) == (0, 9)


# find_product


def search_product(id, name, console="Pokemon Base Set", **fields):
    return {"id": id, "product-name": name, "console-name": console, **fields}


def test_find_product_returns_the_one_product_matching_the_card(fake, base_set):
    card = make_card(card_set=base_set, number="4", name="Charizard")
    fake.add_product(**search_product("630417", "Charizard #4", **{"tcg-id": "42382"}))
    fake.add_product(**search_product("630418", "Charizard [1st Edition] #4"))
    fake.add_product(**search_product("630419", "Charizard [Shadowless] #4"))
    fake.add_product(**search_product("777", "Charizard #4", console="Pokemon Japanese Base Set"))

    assert fake.client().find_product(card) == "630417"
    assert fake.server.calls("GET", "/api/products")[0].param("q") == "Charizard 4 Pokemon Base Set"


def test_find_product_returns_none_when_products_are_ambiguous(fake):
    card_set = make_set(game=Game.ONEPIECE, code="OP01", name="Romance Dawn", series="")
    make_card(card_set=card_set, number="OP01-001", name="Roronoa Zoro")
    p1 = make_card(card_set=card_set, number="OP01-001", name="Roronoa Zoro", variant="p1")
    make_card(card_set=card_set, number="OP01-001", name="Roronoa Zoro", variant="p2")
    console = "One Piece Romance Dawn"
    fake.add_product(**search_product("1", "Roronoa Zoro #OP01-001", console))
    fake.add_product(**search_product("2", "Roronoa Zoro [Alternate Art] #OP01-001", console))
    assert fake.client().find_product(p1) is None


def test_find_product_returns_none_when_nothing_matches(fake, base_set):
    card = make_card(card_set=base_set, number="4", name="Charizard")
    fake.add_product(**search_product("630418", "Charizard [1st Edition] #4"))
    assert fake.client().find_product(card) is None
    fake.server.script(
        "GET", "/api/products", Reply(json={"status": "error", "error-message": "x"})
    )
    assert fake.client().find_product(card) is None


def test_the_sync_writes_what_the_client_fetches(fake, charizard):
    from prices.sync import sync_source

    fake.add_product(**CHARIZARD_BASE)
    run = sync_source("pricecharting", [charizard.pk], client=fake.client())
    assert (run.status, run.written, run.rejected) == ("succeeded", 9, 0)
    assert PricePoint.objects.filter(card=charizard).count() == 9
