import datetime as dt
import logging
from urllib.parse import urlsplit

import pytest
import time_machine

from cards.models import Card, Game
from prices.sources.justtcg import JustTcgClient
from tcgtracker.lib.http import (
    PermanentError,
    QuotaExhausted,
    SourceConfig,
    SourceHttp,
    TransientError,
)
from tests.factories import make_card, make_set
from tests.fakes.justtcg import API_KEY, CARDS_PATH, UPDATED, FakeJustTcg, justtcg_variant
from tests.fakes.server import Reply

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 1, 12, 25, tzinfo=dt.UTC)
UPDATED_AT = dt.datetime.fromtimestamp(UPDATED, tz=dt.UTC)


@pytest.fixture
def justtcg():
    with FakeJustTcg() as server:
        yield server


def justtcg_config(url: str, api_key: str = API_KEY, rate_limit=(10, 60), batch_size=20):
    return SourceConfig(
        name="justtcg",
        enabled=True,
        base_url=url,
        credentials={"api_key": api_key},
        rate_limit=rate_limit,
        batch_size=batch_size,
        options={},
    )


def make_client(server: FakeJustTcg, **config) -> JustTcgClient:
    config = justtcg_config(server.url, **config)
    http = SourceHttp(config, timeout=(2, 5), retries=2, backoff_factor=0.01, backoff_max=0.1)
    return JustTcgClient(config, http)


def prices(result, card=None) -> dict[str, int]:
    return {
        o.price_key: o.market for o in result.observations if card is None or o.card_id == card.pk
    }


def holo_rare_variants() -> list[dict]:
    """A Base Set holo: Unlimited and 1st Edition, every condition, one foreign row."""
    return [
        justtcg_variant("Near Mint", "Holofoil", 350.0),
        justtcg_variant("Lightly Played", "Holofoil", 280.5),
        justtcg_variant("Moderately Played", "Holofoil", 200),
        justtcg_variant("Heavily Played", "Holofoil", 150.25),
        justtcg_variant("Damaged", "Holofoil", 90.1),
        justtcg_variant("Near Mint", "1st Edition Holofoil", 9000.0),
        justtcg_variant("Near Mint", "Holofoil", 120.0, language="Japanese"),
    ]


def test_it_stores_a_price_per_condition_of_the_cards_printing(justtcg):
    card = make_card(name="Charizard", number="4", tcgplayer_id="42382")
    justtcg.add_card("42382", holo_rare_variants())

    result = make_client(justtcg).fetch([card])

    assert prices(result) == {"NM": 35000, "LP": 28050, "MP": 20000, "HP": 15025, "DMG": 9010}
    assert all(o.observed_at == UPDATED_AT for o in result.observations)
    assert all(o.source == "justtcg" and o.currency == "USD" for o in result.observations)
    assert result.checked == {card.pk}
    assert result.rejected == result.errors == []
    (lookup,) = justtcg.lookups
    assert lookup.json == [{"tcgplayerId": "42382"}]
    assert lookup.headers["x-api-key"] == API_KEY


@pytest.mark.parametrize(
    ("variant", "near_mint"),
    [
        ("", 100),
        ("Reverse Holo", 300),
        ("1st Edition", 5000),
    ],
)
def test_the_printing_follows_the_cards_variant(justtcg, variant, near_mint):
    card = make_card(tcgplayer_id="1001", variant=variant)
    justtcg.add_card(
        "1001",
        [
            justtcg_variant("Near Mint", "Reverse Holofoil", 3.0),
            justtcg_variant("Near Mint", "1st Edition Holofoil", 50.0),
            justtcg_variant("Near Mint", "Normal", 1.0),
        ],
    )

    result = make_client(justtcg).fetch([card])

    assert prices(result) == {"NM": near_mint}


def test_a_holo_base_print_takes_the_holofoil_row(justtcg):
    card = make_card(tcgplayer_id="1002")
    justtcg.add_card(
        "1002",
        [
            justtcg_variant("Near Mint", "Reverse Holofoil", 3.0),
            justtcg_variant("Near Mint", "Holofoil", 8.0),
        ],
    )

    assert prices(make_client(justtcg).fetch([card])) == {"NM": 800}


def test_a_one_piece_parallel_takes_its_own_products_printing(justtcg):
    card_set = make_set(game=Game.ONEPIECE, code="OP05", name="Awakening of the New Era")
    parallel = make_card(card_set=card_set, number="OP05-119", variant="p1", tcgplayer_id="5119")
    justtcg.add_card("5119", [justtcg_variant("Near Mint", "Foil", 410.0)])

    assert prices(make_client(justtcg).fetch([parallel])) == {"NM": 41000}


def test_a_variant_without_a_matching_printing_is_an_error_not_a_guess(justtcg):
    card = make_card(tcgplayer_id="1003", variant="Reverse Holo")
    justtcg.add_card("1003", [justtcg_variant("Near Mint", "Holofoil", 8.0)])

    result = make_client(justtcg).fetch([card])

    assert result.observations == []
    assert result.checked == {card.pk}
    assert "no JustTCG printing for variant 'Reverse Holo'" in result.errors[0]


def test_printings_of_one_product_share_one_lookup_and_batches_respect_the_plan(justtcg):
    base = make_card(number="1", tcgplayer_id="2001")
    reverse = make_card(number="1", variant="Reverse Holo", tcgplayer_id="2001")
    others = [make_card(tcgplayer_id=str(2002 + n)) for n in range(2)]
    by_justtcg_id = make_card(justtcg_id="pokemon-promo-pikachu")
    justtcg.add_card(
        "2001",
        [
            justtcg_variant("Near Mint", "Normal", 1.0),
            justtcg_variant("Near Mint", "Reverse Holofoil", 2.0),
        ],
    )
    justtcg.add_card("2002", [justtcg_variant("NM", "Normal", 3.0)])
    justtcg.add_card("9999", [justtcg_variant("NM", "Normal", 4.0)], id="pokemon-promo-pikachu")

    result = make_client(justtcg, batch_size=2).fetch([base, reverse, *others, by_justtcg_id])

    assert [request.json for request in justtcg.lookups] == [
        [{"tcgplayerId": "2001"}, {"tcgplayerId": "2002"}],
        [{"tcgplayerId": "2003"}, {"cardId": "pokemon-promo-pikachu"}],
    ]
    assert prices(result, base) == {"NM": 100}
    assert prices(result, reverse) == {"NM": 200}
    assert prices(result, others[0]) == {"NM": 300}
    assert prices(result, by_justtcg_id) == {"NM": 400}
    # JustTCG does not know 2003: answered, without prices.
    assert result.checked == {base.pk, reverse.pk, *(c.pk for c in others), by_justtcg_id.pk}
    assert result.errors == [f"card {others[1].pk}: JustTCG has no card 2003"]


@pytest.mark.parametrize(
    ("condition", "key"),
    [
        ("Near Mint", "NM"),
        ("NM", "NM"),
        ("Lightly Played", "LP"),
        ("LP", "LP"),
        ("Moderately Played", "MP"),
        ("MP", "MP"),
        ("Heavily Played", "HP"),
        ("HP", "HP"),
        ("Damaged", "DMG"),
        ("DMG", "DMG"),
    ],
)
def test_conditions_map_to_the_raw_scale_by_name_or_abbreviation(justtcg, condition, key):
    card = make_card(tcgplayer_id="3001")
    justtcg.add_card("3001", [justtcg_variant(condition, "Normal", 2.5)])

    assert prices(make_client(justtcg).fetch([card])) == {key: 250}


def test_sealed_products_are_priced_ungraded(justtcg):
    box = make_card(name="Booster Box", number="", kind=Card.Kind.SEALED, tcgplayer_id="4001")
    justtcg.add_card("4001", [justtcg_variant("Sealed", "Normal", 143.99)])

    assert prices(make_client(justtcg).fetch([box])) == {"ungraded": 14399}


def test_garbage_and_negative_prices_are_rejected_and_null_is_no_price(justtcg):
    card = make_card(tcgplayer_id="5001")
    justtcg.add_card(
        "5001",
        [
            justtcg_variant("Near Mint", "Normal", -3.0),
            justtcg_variant("Lightly Played", "Normal", "cheap"),
            justtcg_variant("Moderately Played", "Normal", True),
            justtcg_variant("Heavily Played", "Normal", None),
            justtcg_variant("Damaged", "Normal", 0.1),
        ],
    )

    result = make_client(justtcg).fetch([card])

    assert prices(result) == {"DMG": 10}
    assert len(result.rejected) == 3
    assert result.rejected[0] == f"card {card.pk}: JustTCG Normal NM: -3.0 is not a price"


def test_a_price_without_a_date_is_observed_at_the_current_hour(justtcg):
    card = make_card(tcgplayer_id="5002")
    justtcg.add_card("5002", [justtcg_variant("Near Mint", "Normal", 1.0, last_updated=None)])

    with time_machine.travel(NOW):
        (observation,) = make_client(justtcg).fetch([card]).observations

    assert observation.observed_at == NOW.replace(minute=0)


# Quota and pacing


def test_a_spent_daily_quota_stops_justtcg_until_midnight_utc(justtcg):
    card = make_card(tcgplayer_id="6001")
    justtcg.add_card("6001", [justtcg_variant("Near Mint", "Normal", 1.0)])
    justtcg.spend(daily_left=1)

    with time_machine.travel(NOW):
        first = make_client(justtcg).fetch([card])  # the last call of the day still counts
        with pytest.raises(QuotaExhausted) as raised:
            make_client(justtcg).fetch([card])  # any process: the block is shared

    assert prices(first) == {"NM": 100}
    assert raised.value.retry_at == dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
    assert len(justtcg.lookups) == 1


def test_a_spent_monthly_quota_stops_justtcg_until_the_next_month(justtcg):
    card = make_card(tcgplayer_id="6002")
    justtcg.spend(monthly_left=1)

    with time_machine.travel(dt.datetime(2026, 12, 31, 23, tzinfo=dt.UTC)):
        client = make_client(justtcg)
        client.fetch([card])
        with pytest.raises(QuotaExhausted) as raised:
            client.fetch([card])

    assert raised.value.retry_at == dt.datetime(2027, 1, 1, tzinfo=dt.UTC)


def test_calls_are_spaced_when_the_plan_allows_fewer_than_the_configured_budget(justtcg):
    card = make_card(tcgplayer_id="7001")
    client = make_client(justtcg, rate_limit=(100, 60))  # the plan says 10 a minute
    slept = []
    client.sleep = slept.append

    client.fetch([card])
    client.fetch([card])

    assert len(slept) == 1
    assert 5.0 < slept[0] <= 6.0


def test_calls_are_not_spaced_when_the_budget_already_matches_the_plan(justtcg):
    card = make_card(tcgplayer_id="7002")
    client = make_client(justtcg, rate_limit=(10, 60))
    slept = []
    client.sleep = slept.append

    client.fetch([card])
    client.fetch([card])

    assert slept == []


# Failures


def test_a_server_error_is_retried_before_the_lookup_succeeds(justtcg):
    card = make_card(tcgplayer_id="8001")
    justtcg.add_card("8001", [justtcg_variant("Near Mint", "Normal", 1.0)])
    justtcg.script("POST", CARDS_PATH, Reply(status=502, body="<html>Bad gateway</html>"))

    assert prices(make_client(justtcg).fetch([card])) == {"NM": 100}
    assert len(justtcg.lookups) == 2


def test_a_lookup_that_keeps_failing_fails_the_batch(justtcg):
    card = make_card(tcgplayer_id="8002")
    justtcg.script("POST", CARDS_PATH, *[Reply(status=503, json={"error": "down"})] * 3)

    with pytest.raises(TransientError):
        make_client(justtcg).fetch([card])


def test_a_batch_larger_than_the_plan_allows_is_a_permanent_error(justtcg):
    cards = [make_card(tcgplayer_id=str(8100 + n)) for n in range(3)]
    justtcg.batch_limit = 2

    with pytest.raises(PermanentError) as raised:
        make_client(justtcg).fetch(cards)

    assert raised.value.status == 403
    assert "PLAN_LIMIT_EXCEEDED" in raised.value.body


def test_a_refused_key_never_appears_in_the_error_or_the_log(justtcg, caplog):
    caplog.set_level(logging.DEBUG)
    card = make_card(tcgplayer_id="8003")
    client = make_client(justtcg, api_key="tcg_wrongwrongwrongwrong0000")

    with pytest.raises(PermanentError) as raised:
        client.fetch([card])

    assert raised.value.status == 401
    assert "tcg_wrongwrongwrongwrong0000" not in str(raised.value)
    assert "tcg_wrongwrongwrongwrong0000" not in caplog.text


def test_an_error_body_with_status_200_is_an_error(justtcg):
    card = make_card(tcgplayer_id="8004")
    justtcg.script("POST", CARDS_PATH, Reply(json={"error": "Invalid game", "code": "BAD_GAME"}))

    with pytest.raises(PermanentError, match="Invalid game"):
        make_client(justtcg).fetch([card])


# Configuration


def test_justtcg_prices_cards_with_a_tcgplayer_or_justtcg_id(justtcg):
    client = make_client(justtcg)
    assert client.can_price(make_card(tcgplayer_id="1"))
    assert client.can_price(make_card(justtcg_id="pokemon-base-set-charizard"))
    assert not client.can_price(make_card())


def test_justtcg_without_a_key_is_not_usable(justtcg):
    assert make_client(justtcg).is_usable
    assert not make_client(justtcg, api_key="").is_usable


def test_a_redirect_to_another_host_never_carries_the_api_key(justtcg):
    """JustTCG's x-api-key once followed a 307 to another host."""
    card = make_card(name="Charizard", number="4", tcgplayer_id="42382")
    with FakeJustTcg() as elsewhere:
        elsewhere.add_card("42382", holo_rare_variants())
        port = urlsplit(elsewhere.url).port
        moved = Reply(status=307, headers={"Location": f"http://localhost:{port}{CARDS_PATH}"})
        justtcg.script("POST", CARDS_PATH, moved)

        # The other host asks for its key, which it does not get: the batch fails.
        with pytest.raises(PermanentError, match="HTTP 401"):
            make_client(justtcg).fetch([card])

    (request,) = elsewhere.lookups
    assert "x-api-key" not in request.headers
    assert API_KEY not in f"{request.headers} {request.body!r} {request.query}"
