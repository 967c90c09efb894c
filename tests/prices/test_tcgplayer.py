import datetime as dt
import logging

import pytest
import time_machine

from prices.sources.tcgplayer import (
    TcgplayerClient,
    TokenRefused,
    choose_printing,
    dollars_to_cents,
)
from tcgtracker.lib.http import PermanentError, SourceConfig, SourceHttp
from tests.factories import make_card
from tests.fakes.server import Reply
from tests.fakes.tcgplayer import (
    PRICING_ROUTE,
    PRIVATE_KEY,
    PUBLIC_KEY,
    TOKEN_PATH,
    UNAUTHORIZED,
    FakeTcgplayer,
    tcgplayer_row,
)

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 1, 12, 25, tzinfo=dt.UTC)


@pytest.fixture
def tcgplayer():
    with FakeTcgplayer() as server:
        yield server


def tcgplayer_config(url: str, public_key=PUBLIC_KEY, private_key=PRIVATE_KEY, enabled=True):
    return SourceConfig(
        name="tcgplayer",
        enabled=enabled,
        base_url=url,
        credentials={"public_key": public_key, "private_key": private_key},
        rate_limit=None,
        batch_size=100,
        options={},
    )


def make_client(server: FakeTcgplayer, **config) -> TcgplayerClient:
    config = tcgplayer_config(server.url, **config)
    http = SourceHttp(config, timeout=(2, 5), retries=2, backoff_factor=0.01, backoff_max=0.1)
    return TcgplayerClient(config, http)


def holo_rare(server: FakeTcgplayer, product_id: int) -> None:
    server.add_prices(
        product_id,
        tcgplayer_row("Holofoil", market=7.4, low=4.49, mid=9.0, high=4321.0, direct_low=7.0),
        tcgplayer_row("Reverse Holofoil", market=3.1, low=2.0, mid=3.5, high=20.0),
        tcgplayer_row("1st Edition Holofoil"),  # a printing nobody has priced
    )


def test_it_stores_the_market_low_and_high_of_the_cards_printing_as_near_mint(tcgplayer):
    card = make_card(tcgplayer_id="502558")
    holo_rare(tcgplayer, 502558)

    with time_machine.travel(NOW):
        result = make_client(tcgplayer).fetch([card])

    (observation,) = result.observations
    assert observation.price_key == "NM"
    assert (observation.market, observation.low, observation.high) == (740, 449, 432100)
    assert observation.source == "tcgplayer" and observation.currency == "USD"
    assert observation.observed_at == dt.datetime(2026, 11, 1, 12, tzinfo=dt.UTC)
    assert result.checked == {card.pk}
    assert result.errors == result.rejected == []


def test_one_token_and_one_call_price_a_batch_of_products(tcgplayer):
    base = make_card(number="1", tcgplayer_id="100")
    reverse = make_card(number="1", variant="Reverse Holo", tcgplayer_id="100")
    first_edition = make_card(number="2", variant="1st Edition", tcgplayer_id="200")
    holo_rare(tcgplayer, 100)
    tcgplayer.add_prices(200, tcgplayer_row("1st Edition Holofoil", market=900.0))

    result = make_client(tcgplayer).fetch([base, reverse, first_edition])

    markets = {o.card_id: o.market for o in result.observations}
    assert markets == {base.pk: 740, reverse.pk: 310, first_edition.pk: 90000}
    assert tcgplayer.tokens_minted == 1
    (call,) = tcgplayer.pricing_calls()
    assert call.path == "/pricing/product/100,200"
    assert call.headers["authorization"].startswith("bearer ")
    (mint,) = tcgplayer.calls("POST", TOKEN_PATH)
    assert mint.form == {
        "grant_type": "client_credentials",
        "client_id": PUBLIC_KEY,
        "client_secret": PRIVATE_KEY,
    }


def test_the_token_is_cached_across_clients_and_refreshed_before_it_expires(tcgplayer):
    card = make_card(tcgplayer_id="100")
    holo_rare(tcgplayer, 100)
    with time_machine.travel(NOW) as traveller:
        make_client(tcgplayer).fetch([card])
        make_client(tcgplayer).fetch([card])
        assert tcgplayer.tokens_minted == 1
        traveller.shift(dt.timedelta(seconds=tcgplayer.token_lifetime - 60))
        make_client(tcgplayer).fetch([card])

    assert tcgplayer.tokens_minted == 2


def test_a_refused_token_is_minted_again_once(tcgplayer):
    card = make_card(tcgplayer_id="100")
    holo_rare(tcgplayer, 100)
    client = make_client(tcgplayer)
    client.fetch([card])
    tcgplayer.revoke_tokens()

    result = client.fetch([card])

    assert [o.market for o in result.observations] == [740]
    assert tcgplayer.tokens_minted == 2


def test_a_token_refused_twice_fails_the_batch(tcgplayer):
    tcgplayer.script("GET", PRICING_ROUTE, UNAUTHORIZED, UNAUTHORIZED)

    with pytest.raises(PermanentError) as raised:
        make_client(tcgplayer).fetch([make_card(tcgplayer_id="100")])

    assert raised.value.status == 401
    assert tcgplayer.tokens_minted == 2


def test_unknown_products_are_tcgplayers_answer_not_a_failure(tcgplayer):
    card = make_card(tcgplayer_id="404404")

    result = make_client(tcgplayer).fetch([card])

    assert result.observations == []
    assert result.checked == {card.pk}
    assert result.errors == [f"TCGplayer for cards [{card.pk}]: No products were found."]


def test_an_unsuccessful_answer_reports_tcgplayers_errors(tcgplayer):
    card = make_card(tcgplayer_id="100")
    tcgplayer.script(
        "GET",
        PRICING_ROUTE,
        Reply(json={"success": False, "errors": ["Something went wrong."], "results": []}),
    )

    result = make_client(tcgplayer).fetch([card])

    assert result.errors == [f"TCGplayer for cards [{card.pk}]: Something went wrong."]
    assert result.observations == []


def test_a_server_error_is_retried_before_pricing_succeeds(tcgplayer):
    card = make_card(tcgplayer_id="100")
    holo_rare(tcgplayer, 100)
    tcgplayer.script("GET", PRICING_ROUTE, Reply(status=503, body="Service Unavailable"))

    result = make_client(tcgplayer).fetch([card])

    assert [o.market for o in result.observations] == [740]
    assert len(tcgplayer.pricing_calls()) == 2


def test_garbage_and_negative_prices_are_rejected_and_null_is_no_price(tcgplayer):
    negative, garbage, empty = (make_card(tcgplayer_id=str(n)) for n in (1, 2, 3))
    tcgplayer.add_prices(1, tcgplayer_row("Normal", market=-1.0, low=0.5, high=2.0))
    tcgplayer.add_prices(2, tcgplayer_row("Normal", market=1.0, low="n/a", high=2.0))
    tcgplayer.add_prices(3, tcgplayer_row("Normal", market=None, low=None, high=None))

    result = make_client(tcgplayer).fetch([negative, garbage, empty])

    assert result.observations == []
    assert result.rejected == [
        f"card {negative.pk}: TCGplayer Normal: -1.0 is not a price",
        f"card {garbage.pk}: TCGplayer Normal: 'n/a' is not a price",
    ]
    assert result.checked == {negative.pk, garbage.pk, empty.pk}


def test_refused_keys_fail_the_batch_without_leaking_them(tcgplayer, caplog):
    caplog.set_level(logging.DEBUG)
    client = make_client(tcgplayer, private_key="not-the-private-key-42")

    with pytest.raises(TokenRefused) as raised:
        client.fetch([make_card(tcgplayer_id="100")])

    assert "HTTP 400" in str(raised.value)
    assert tcgplayer.pricing_calls() == []
    for text in (str(raised.value), str(raised.value.__cause__), caplog.text):
        assert "not-the-private-key-42" not in text
        assert PUBLIC_KEY not in text


def test_tcgplayer_is_off_unless_both_keys_are_configured(tcgplayer):
    assert make_client(tcgplayer).is_usable
    assert not make_client(tcgplayer, private_key="").is_usable
    assert not make_client(tcgplayer, public_key="").is_usable
    assert not make_client(tcgplayer, enabled=False).is_usable


def test_tcgplayer_prices_cards_with_a_tcgplayer_product_id(tcgplayer):
    client = make_client(tcgplayer)
    assert client.can_price(make_card(tcgplayer_id="42382"))
    assert not client.can_price(make_card())


# The shared rules


@pytest.mark.parametrize(
    ("variant", "printings", "chosen"),
    [
        ("", ["Normal", "Reverse Holofoil"], "Normal"),
        ("", ["Reverse Holofoil", "Holofoil"], "Holofoil"),
        ("", ["1st Edition Holofoil", "Unlimited Holofoil"], "Unlimited Holofoil"),
        ("", ["Reverse Holofoil", "1st Edition"], None),
        ("Reverse Holo", ["Normal", "Reverse Holofoil"], "Reverse Holofoil"),
        ("Reverse Holo", ["Normal", "Holofoil"], None),
        ("1st Edition", ["1st Edition Holofoil", "Unlimited Holofoil"], "1st Edition Holofoil"),
        ("1st Edition", ["1st Edition Normal", "1st Edition Holofoil"], "1st Edition Normal"),
        (
            "1st Edition Holo",
            ["1st Edition Normal", "1st Edition Holofoil"],
            "1st Edition Holofoil",
        ),
        ("p1", ["Foil"], "Foil"),
        ("p2", ["Normal", "Foil"], "Normal"),
        ("Shadowless", ["Holofoil", "1st Edition Holofoil"], None),
        ("", [], None),
    ],
)
def test_the_printing_that_prices_a_variant(variant, printings, chosen):
    assert choose_printing(variant, printings) == chosen


@pytest.mark.parametrize(
    ("value", "cents"),
    [(7.4, 740), (4321.0, 432100), ("12.345", 1235), (0.1, 10), (3, 300), (None, None), (0, None)],
)
def test_dollars_become_cents_without_float_arithmetic(value, cents):
    assert dollars_to_cents(value) == cents


@pytest.mark.parametrize("value", [-0.01, "abc", "NaN", "Infinity", True, [1]])
def test_what_is_not_a_price_raises(value):
    with pytest.raises(ValueError):
        dollars_to_cents(value)
