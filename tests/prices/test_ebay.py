import base64
import datetime as dt
import logging

import pytest
import time_machine

from cards.models import Card, Game
from prices import sync
from prices.models import PriceSourceState
from prices.sources.ebay import (
    EbayClient,
    TokenRefused,
    ask_stats,
    drop_outliers,
    next_quota_reset,
    search_query,
    title_grade,
)
from prices.writing import record_observations
from tcgtracker.lib.http import QuotaExhausted, SourceConfig, SourceHttp
from tests.factories import make_card, make_set
from tests.fakes.ebay import (
    CLIENT_ID,
    CLIENT_SECRET,
    INTERNAL_ERROR,
    INVALID_TOKEN,
    SEARCH_PATH,
    TOKEN_PATH,
    TOO_MANY_REQUESTS,
    FakeEbay,
    ebay_item,
)
from tests.fakes.server import Reply

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 1, 12, 25, tzinfo=dt.UTC)
GRADED = "2750"


@pytest.fixture
def ebay():
    with FakeEbay() as server:
        yield server


def ebay_config(url: str, secret: str = CLIENT_SECRET, **options) -> SourceConfig:
    return SourceConfig(
        name="ebay",
        enabled=True,
        base_url=url,
        credentials={"client_id": CLIENT_ID, "client_secret": secret},
        rate_limit=None,
        batch_size=20,
        options={
            "marketplace": "EBAY_US",
            "category_single": "183454",
            "category_sealed": "183456",
            "item_location_country": "US",
            **options,
        },
    )


def make_client(server: FakeEbay, secret: str = CLIENT_SECRET, **options) -> EbayClient:
    config = ebay_config(server.url, secret, **options)
    http = SourceHttp(
        config, timeout=(2, 5), retries=2, backoff_factor=0.01, backoff_max=0.1, retry_on_429=False
    )
    return EbayClient(config, http)


def charizard(**overrides) -> Card:
    card_set = make_set(name="Base Set", printed_total=102)
    return make_card(card_set=card_set, name="Charizard", number="4", **overrides)


def by_key(observations) -> dict:
    return {observation.price_key: observation for observation in observations}


# Buckets and statistics


def test_it_stores_ask_statistics_per_grade_bucket(ebay):
    card = charizard()
    ebay.listings = [
        ebay_item("Charizard 4/102 Base Set Holo Rare", "300.00"),
        ebay_item("Charizard 4/102 Base Set Unlimited", "350.00"),
        ebay_item("Pokemon Charizard 4/102 Holo", "325.50"),
        ebay_item("PSA 10 GEM MINT Charizard 4/102 Base Set", "12000.00", condition_id=GRADED),
        ebay_item("Charizard Base Set 4/102 PSA 10", "11000.00", condition_id=GRADED),
        ebay_item("Charizard 4/102 BGS 9.5 Gem Mint", "4000.00", condition_id=GRADED),
        ebay_item("Charizard 4/102 CGC 10 Base Set", "9000.00", condition_id=GRADED),
        # Graded, but the title names no grade it could be bucketed by.
        ebay_item("Charizard 4/102 Base Set graded slab", "900.00", condition_id=GRADED),
    ]
    with time_machine.travel(NOW):
        result = make_client(ebay).fetch([card])

    observations = by_key(result.observations)
    assert set(observations) == {"ungraded", "PSA 10", "BGS 9.5", "CGC 10"}
    ungraded = observations["ungraded"]
    assert (ungraded.market, ungraded.low, ungraded.high, ungraded.sample_size) == (
        32550,
        30000,
        35000,
        3,
    )
    psa = observations["PSA 10"]
    assert (psa.market, psa.low, psa.high, psa.sample_size) == (1150000, 1100000, 1200000, 2)
    assert observations["BGS 9.5"].market == 400000
    assert observations["CGC 10"].sample_size == 1
    assert all(o.source == "ebay" and o.currency == "USD" for o in result.observations)
    assert all(o.card_id == card.pk for o in result.observations)
    assert result.checked == {card.pk}
    assert result.rejected == result.errors == []


def test_observations_are_dated_to_the_hour_so_a_rerun_writes_nothing_new(ebay):
    card = charizard()
    ebay.listings = [ebay_item("Charizard 4/102 Base Set", "300.00")]
    client = make_client(ebay)
    with time_machine.travel(NOW) as traveller:
        first = record_observations(client.fetch([card]).observations)
        traveller.shift(dt.timedelta(minutes=20))
        second = record_observations(client.fetch([card]).observations)

    assert first.written == 1
    assert (second.written, second.unchanged) == (0, 1)
    observation = client.fetch([card]).observations[0]
    assert observation.observed_at.minute == observation.observed_at.second == 0


def test_outlying_asks_are_dropped_before_the_statistics(ebay):
    card = charizard()
    prices = ["300.00", "310.00", "320.00", "330.00", "340.00", "350.00", "9999.00", "1.00"]
    ebay.listings = [ebay_item(f"Charizard 4/102 Base Set #{n}", p) for n, p in enumerate(prices)]

    ungraded = make_client(ebay).fetch([card]).observations[0]

    assert (ungraded.low, ungraded.high, ungraded.sample_size) == (30000, 35000, 6)
    assert ungraded.market == 32500


def test_tukey_fences_leave_small_buckets_whole():
    assert drop_outliers([100, 100_000]) == [100, 100_000]
    assert drop_outliers([100, 110, 120, 130, 100_000]) == [100, 110, 120, 130]


def test_an_even_count_has_the_mean_of_the_middle_two_as_median():
    assert ask_stats([1000, 1001]).median == 1001  # half a cent rounds up
    assert ask_stats([1000, 1200, 1400]).median == 1200


@pytest.mark.parametrize(
    ("title", "key"),
    [
        ("2016 Pokemon Charizard 4/102 PSA 10 GEM MINT", "PSA 10"),
        ("Charizard PSA GEM MT 10 Base Set", "PSA 10"),
        ("Charizard PSA10", "PSA 10"),
        ("Charizard 4/102 BGS 9.5 Gem Mint", "BGS 9.5"),
        ("Charizard Beckett 9 Mint", "BGS 9"),
        ("Charizard BGS 10 Black Label Pristine", "BGS 10 black label"),
        ("Charizard CGC Pristine 10", "CGC 10 pristine"),
        ("Charizard CGC 10 Gem Mint", "CGC 10"),
        ("Charizard SGC 8.5", "SGC 8.5"),
        ("Charizard TAG 10", "TAG 10"),
        ("Charizard graded PSA 7.", "PSA 7"),
        ("Charizard CGC 9.8", None),  # comic-book grades are no card grade
        ("Charizard PSA 9 or BGS 9.5 available", None),  # which one is this listing?
        ("Charizard slabbed, mint", None),
        ("Charizard PSA 100 submission", None),
    ],
)
def test_a_grade_is_read_from_the_title(title, key):
    assert title_grade(title) == key


@pytest.mark.parametrize(
    "title",
    [
        "Charizard 4/102 Base Set LOT of 3",
        "Charizard 4/102 x3 copies",
        "Charizard 4/102 2x Base Set",
        "Charizard 4/102 Proxy card",
        "Charizard 4/102 Custom art",
        "Pokemon cards you pick Base Set 4/102",
        "Charizard 4/102 Japanese Base Set",
    ],
)
def test_listings_that_are_not_one_copy_of_the_card_are_left_out(ebay, title):
    card = charizard()
    ebay.listings = [ebay_item(title, "10.00"), ebay_item("Charizard 4/102 Base Set", "300.00")]

    observations = make_client(ebay).fetch([card]).observations

    assert [(o.price_key, o.market, o.sample_size) for o in observations] == [
        ("ungraded", 30000, 1)
    ]


def test_a_raw_listing_that_names_a_grade_is_no_raw_ask(ebay):
    card = charizard()
    ebay.listings = [
        ebay_item("Charizard 4/102 PSA 10 candidate!!", "900.00"),
        ebay_item("Charizard 4/102 Base Set", "300.00"),
    ]

    observations = make_client(ebay).fetch([card]).observations

    assert [(o.price_key, o.sample_size) for o in observations] == [("ungraded", 1)]


def test_garbage_and_negative_prices_are_rejected_counted_and_never_stored(ebay):
    card = charizard()
    ebay.listings = [
        ebay_item("Charizard 4/102 Base Set", "abc", item_id="v1|1|0"),
        ebay_item("Charizard 4/102 Base Set", "-5.00", item_id="v1|2|0"),
        ebay_item("Charizard 4/102 Base Set", "0.00", item_id="v1|3|0"),
        ebay_item("Charizard 4/102 Base Set", None, item_id="v1|4|0"),
        ebay_item("Charizard 4/102 Base Set", "NaN", item_id="v1|5|0"),
        ebay_item("Charizard 4/102 Base Set", "300.00"),
        ebay_item("Charizard 4/102 Base Set", "250.00", currency="GBP"),  # skipped, no garbage
    ]

    result = make_client(ebay).fetch([card])

    assert len(result.rejected) == 5
    assert all(message.startswith(f"card {card.pk}: eBay item v1|") for message in result.rejected)
    assert [(o.market, o.sample_size) for o in result.observations] == [(30000, 1)]


# The search


def test_the_search_is_built_from_name_number_and_set_with_filters_from_settings(ebay):
    card = charizard()
    make_client(ebay).fetch([card])

    (search,) = ebay.searches
    assert search.param("q") == "Charizard 4/102 Base Set -proxy -custom -digital"
    assert search.param("category_ids") == "183454"
    assert search.param("filter") == (
        "buyingOptions:{FIXED_PRICE},priceCurrency:USD,itemLocationCountry:US,"
        "conditionIds:{2750|4000}"
    )
    assert (search.param("limit"), search.param("offset")) == ("200", "0")
    assert search.headers["x-ebay-c-marketplace-id"] == "EBAY_US"


def test_one_piece_searches_use_the_card_code_and_mark_parallels():
    card_set = make_set(game=Game.ONEPIECE, code="OP05", name="Awakening of the New Era")
    base = make_card(card_set=card_set, name="Monkey.D.Luffy", number="OP05-119")
    parallel = make_card(card_set=card_set, name="Monkey.D.Luffy", number="OP05-119", variant="p1")

    assert search_query(base) == (
        "Monkey.D.Luffy OP05-119 Awakening of the New Era -proxy -custom -digital -parallel"
    )
    assert search_query(parallel) == (
        "Monkey.D.Luffy OP05-119 parallel Awakening of the New Era -proxy -custom -digital"
    )


def test_pokemon_variants_and_promo_numbers_are_searched_as_printed():
    card_set = make_set(name="Scarlet & Violet Promos", printed_total=None)
    promo = make_card(card_set=card_set, name="Pikachu", number="SVP 085")
    reverse = charizard(variant="Reverse Holo")

    assert search_query(promo) == "Pikachu SVP 085 Scarlet Violet Promos -proxy -custom -digital"
    assert search_query(reverse).startswith("Charizard 4/102 Reverse Holo Base Set")


def test_a_cards_own_search_terms_replace_the_built_search(ebay):
    card = charizard(ebay_query="charizard base set unlimited holo -1st")
    make_client(ebay).fetch([card])

    assert ebay.searches[0].param("q") == "charizard base set unlimited holo -1st"


def test_sealed_products_search_their_category_and_are_all_ungraded(ebay):
    card_set = make_set(name="Scarlet & Violet 151")
    box = make_card(card_set=card_set, name="151 Booster Bundle", number="", kind="sealed")
    ebay.listings = [
        ebay_item("Pokemon 151 Booster Bundle Sealed", "45.00", condition_id="1000"),
        ebay_item("Pokemon 151 Booster Bundle New", "47.00", condition_id="1000"),
        ebay_item("Pokemon 151 Booster Bundle EMPTY box", "3.00", condition_id="1000"),
    ]

    result = make_client(ebay).fetch([box])

    search = ebay.searches[0]
    assert search.param("category_ids") == "183456"
    assert "conditionIds" not in search.param("filter")
    assert search.param("q") == "151 Booster Bundle Scarlet Violet -proxy -custom -digital"
    assert [(o.price_key, o.market, o.sample_size) for o in result.observations] == [
        ("ungraded", 4600, 2)
    ]


def test_one_page_is_read_unless_more_are_configured(ebay):
    card = charizard()
    ebay.listings = [ebay_item(f"Charizard 4/102 Base Set #{n}", "300.00") for n in range(250)]

    one_page = make_client(ebay).fetch([card]).observations[0]
    two_pages = make_client(ebay, max_pages=2).fetch([card]).observations[0]

    assert one_page.sample_size == 200
    assert two_pages.sample_size == 250
    assert [search.param("offset") for search in ebay.searches] == ["0", "0", "200"]


def test_a_card_with_no_listings_is_checked_without_prices(ebay):
    card = charizard()
    result = make_client(ebay).fetch([card])

    assert result.observations == []
    assert result.checked == {card.pk}


# Token


def test_one_token_serves_many_searches(ebay):
    cards = [charizard(variant=variant) for variant in ("", "1st Edition", "Shadowless")]
    client = make_client(ebay)

    client.fetch(cards)
    make_client(ebay).fetch(cards[:1])  # another process: the token is in the shared cache

    assert ebay.tokens_minted == 1
    assert len(ebay.searches) == 4
    (mint,) = ebay.calls("POST", TOKEN_PATH)
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    assert mint.headers["authorization"] == f"Basic {basic}"
    assert mint.form == {
        "grant_type": "client_credentials",
        "scope": "https://api.ebay.com/oauth/api_scope",
    }


def test_the_token_is_refreshed_shortly_before_it_expires(ebay):
    card = charizard()
    client = make_client(ebay)
    with time_machine.travel(NOW) as traveller:
        client.fetch([card])
        traveller.shift(dt.timedelta(seconds=7200 - 600))
        client.fetch([card])
        assert ebay.tokens_minted == 1
        traveller.shift(dt.timedelta(seconds=400))  # within five minutes of expiry
        client.fetch([card])

    assert ebay.tokens_minted == 2


def test_a_refused_token_is_minted_again_once(ebay):
    card = charizard()
    ebay.listings = [ebay_item("Charizard 4/102 Base Set", "300.00")]
    client = make_client(ebay)
    client.fetch([card])
    ebay.revoke_tokens()

    result = client.fetch([card])

    assert ebay.tokens_minted == 2
    assert len(ebay.searches) == 3
    assert [o.market for o in result.observations] == [30000]


def test_a_search_refused_twice_is_an_error_for_that_card_only(ebay):
    refused, fine = charizard(), make_card(name="Blastoise")
    ebay.script("GET", SEARCH_PATH, INVALID_TOKEN, INVALID_TOKEN)

    result = make_client(ebay).fetch([refused, fine])

    assert ebay.tokens_minted == 2
    assert result.checked == {fine.pk}
    (error,) = result.errors
    assert error.startswith(f"card {refused.pk}: eBay search failed") and "401" in error


def test_refused_credentials_fail_the_batch_without_leaking_them(ebay, caplog):
    caplog.set_level(logging.DEBUG)
    client = make_client(ebay, secret="wrong-secret-0123456789")

    with pytest.raises(TokenRefused) as raised:
        client.fetch([charizard(), charizard()])

    assert "401" in str(raised.value)
    assert ebay.searches == []
    basic = base64.b64encode(f"{CLIENT_ID}:wrong-secret-0123456789".encode()).decode()
    for text in (str(raised.value), repr(raised.value.__cause__), caplog.text):
        assert "wrong-secret-0123456789" not in text
        assert CLIENT_ID not in text
        assert basic not in text


def test_the_token_never_appears_in_errors_or_logs(ebay, caplog):
    caplog.set_level(logging.DEBUG)
    card = charizard()
    ebay.script(
        "GET",
        SEARCH_PATH,
        Reply(status=400, json={"errors": [{"errorId": 12023, "message": "Invalid filter."}]}),
    )

    result = make_client(ebay).fetch([card])

    (error,) = result.errors
    assert "HTTP 400" in error
    assert ebay.tokens_minted == 1
    token_tail = "H4sIAAAAAAAAAOVYb2wT0001"
    assert token_tail not in error
    assert token_tail not in caplog.text
    assert CLIENT_SECRET not in caplog.text


def test_a_token_echoed_bare_in_an_error_reaches_no_log_line(ebay, caplog):
    """eBay's answer quoting the token without "Bearer" in front once reached an INFO line."""
    caplog.set_level(logging.DEBUG)
    card = charizard()

    def echo(request):
        token = request.headers["authorization"].removeprefix("Bearer ")
        return Reply(status=400, json={"errors": [{"message": f"Token {token} is malformed"}]})

    ebay.route("GET", SEARCH_PATH, echo)

    result = make_client(ebay).fetch([card])

    (error,) = result.errors
    assert "Token *** is malformed" in error
    token_tail = "H4sIAAAAAAAAAOVYb2wT0001"
    assert token_tail not in error
    assert not [record for record in caplog.records if token_tail in record.getMessage()]


# Quota and failures


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("now", "reset"),
    [
        # Summer: midnight PDT is 07:00 UTC.
        (utc(2026, 7, 15, 6, 30), utc(2026, 7, 15, 7)),
        (utc(2026, 7, 15, 7, 30), utc(2026, 7, 16, 7)),
        # The day daylight saving ends: the next midnight is PST, 08:00 UTC.
        (utc(2026, 11, 1, 12), utc(2026, 11, 2, 8)),
    ],
)
def test_the_quota_resets_at_the_next_pacific_midnight(now, reset):
    assert next_quota_reset(now) == reset


def test_a_429_stops_ebay_until_its_daily_reset(ebay):
    ebay.script("GET", SEARCH_PATH, TOO_MANY_REQUESTS)
    with time_machine.travel(NOW), pytest.raises(QuotaExhausted) as raised:
        make_client(ebay).fetch([charizard(), charizard()])

    assert raised.value.retry_at == dt.datetime(2026, 11, 2, 8, tzinfo=dt.UTC)
    assert len(ebay.searches) == 1  # neither retried nor tried for the next card


def test_error_2001_stops_ebay_whatever_its_status(ebay):
    ebay.script("GET", SEARCH_PATH, Reply(status=400, json=TOO_MANY_REQUESTS.json))
    with pytest.raises(QuotaExhausted):
        make_client(ebay).fetch([charizard()])


def test_a_429_on_the_token_endpoint_stops_ebay_too(ebay):
    ebay.script("POST", TOKEN_PATH, TOO_MANY_REQUESTS)
    with time_machine.travel(NOW), pytest.raises(QuotaExhausted) as raised:
        make_client(ebay).fetch([charizard()])

    assert raised.value.retry_at == dt.datetime(2026, 11, 2, 8, tzinfo=dt.UTC)
    assert ebay.searches == []


def test_the_default_http_layer_does_not_retry_429(ebay):
    client = EbayClient(ebay_config(ebay.url))
    assert 429 not in client.http.retry.status_forcelist


def test_the_sync_leaves_ebay_alone_until_the_reset(ebay):
    card = charizard()
    ebay.script("GET", SEARCH_PATH, TOO_MANY_REQUESTS)
    with time_machine.travel(NOW):
        run = sync.sync_source("ebay", [card.pk], client=make_client(ebay))

    assert run.status == "failed"
    state = PriceSourceState.objects.get(source="ebay")
    assert state.blocked_until == dt.datetime(2026, 11, 2, 8, tzinfo=dt.UTC)


def test_a_server_error_is_retried_before_the_search_succeeds(ebay):
    card = charizard()
    ebay.listings = [ebay_item("Charizard 4/102 Base Set", "300.00")]
    ebay.script("GET", SEARCH_PATH, INTERNAL_ERROR)

    result = make_client(ebay).fetch([card])

    assert [o.market for o in result.observations] == [30000]
    assert len(ebay.searches) == 2


def test_a_search_that_keeps_failing_is_an_error_for_that_card(ebay):
    card = charizard()
    ebay.script("GET", SEARCH_PATH, INTERNAL_ERROR, INTERNAL_ERROR, INTERNAL_ERROR)

    result = make_client(ebay).fetch([card])

    assert result.checked == set()
    assert "HTTP 500" in result.errors[0]


def test_html_instead_of_json_is_an_error_for_that_card(ebay):
    card = charizard()
    ebay.script("GET", SEARCH_PATH, Reply(body="<html>Service unavailable</html>"))

    result = make_client(ebay).fetch([card])

    assert result.observations == []
    assert "HTML" in result.errors[0]


# Configuration


def test_ebay_needs_both_client_id_and_secret(ebay):
    assert make_client(ebay).is_usable
    assert not make_client(ebay, secret="").is_configured


def test_ebay_can_price_any_named_single_or_sealed_product():
    client = EbayClient(ebay_config("http://127.0.0.1:9"))
    assert client.label == "eBay" and client.qualifier == "asks"
    assert client.can_price(charizard())
    assert client.can_price(make_card(name="Booster Box", kind=Card.Kind.SEALED))
