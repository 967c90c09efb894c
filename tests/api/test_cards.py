import datetime as dt
import json
import re

import pytest
import time_machine
from django.utils import timezone

from api.schemas import CardList
from cards import search
from prices.writing import Observation, record_observations
from tests.cards.test_paging import SORTS, priced_catalog
from tests.factories import make_card, make_set, record_prices

pytestmark = pytest.mark.django_db

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


@pytest.fixture
def base_set():
    return make_set(code="base1", name="Base Set", printed_total=102)


@pytest.fixture
def charizard(base_set):
    return make_card(card_set=base_set, number="4", name="Charizard", rarity="Rare Holo")


def error_of(response, status):
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    return response.json()["error"]


# --- Search ----------------------------------------------------------------------------


def test_search_answers_the_page_envelope_with_cards_and_their_prices(api, charizard):
    record_prices(charizard, {"ungraded": 42000, "PSA 10": 1250050})
    make_card(name="Pikachu")

    response = api.get("/api/v1/cards", {"q": "charizard"})

    assert response.status_code == 200
    data = response.json()
    assert (data["total"], data["limit"], data["offset"], data["has_more"]) == (1, 20, 0, False)
    [result] = data["results"]
    assert result["id"] == charizard.pk
    assert result["name"] == "Charizard"
    assert result["game"] == "pokemon"
    assert result["set"] == {"code": "base1", "name": "Base Set"}
    assert result["display_number"] == "4/102"
    assert result["url"].endswith(charizard.get_absolute_url())
    prices = {(p["source"], p["key"]): p for p in result["prices"]}
    assert prices[("pricecharting", "ungraded")]["market"] == "420.00"
    assert prices[("pricecharting", "PSA 10")]["market"] == "12500.50"
    assert prices[("pricecharting", "PSA 10")]["currency"] == "USD"


def test_a_search_answer_is_exactly_what_the_card_list_schema_declares(api, charizard):
    """The search writes its JSON itself (api.views.cards): its fields, their types and
    their order are CardList's, as django-ninja would have dumped them."""
    observed = timezone.now().replace(microsecond=123456) - dt.timedelta(days=9)
    record_observations(
        [
            Observation(charizard.pk, "pricecharting", "ungraded", 42000, observed, sample_size=31),
            Observation(charizard.pk, "pricecharting", "PSA 10", 1250050, observed, low=1100000),
            Observation(charizard.pk, "ebay", "NM", 45099, observed, sample_size=7),
            Observation(charizard.pk, "demo", "ungraded", 39900, observed),
        ]
    )
    make_card(card_set=charizard.card_set, name="Charizard", number="5", image_url="")

    response = api.get("/api/v1/cards", {"q": "charizard"})

    assert response.status_code == 200
    declared = CardList.model_validate(response.json()).model_dump(by_alias=True)
    assert (
        response.content == json.dumps(declared, ensure_ascii=False, separators=(",", ":")).encode()
    )
    assert [len(result["prices"]) for result in declared["results"]] == [4, 0]


def test_search_uses_the_search_pages_query_syntax(api, base_set, charizard):
    other_set = make_set(code="sv3pt5", name="151")
    make_card(card_set=other_set, name="Charizard ex", rarity="Special Illustration Rare")
    make_card(card_set=base_set, name="Blastoise", rarity="Rare Holo")

    by_set = api.get("/api/v1/cards", {"q": "charizard set:base1"}).json()
    assert [card["id"] for card in by_set["results"]] == [charizard.pk]
    by_rarity = api.get("/api/v1/cards", {"q": 'rarity:"rare holo"', "sort": "name"}).json()
    assert [card["name"] for card in by_rarity["results"]] == ["Blastoise", "Charizard"]
    by_number = api.get("/api/v1/cards", {"q": "number:4/102"}).json()
    assert [card["id"] for card in by_number["results"]] == [charizard.pk]


def test_search_filters_by_game_set_and_rarity_parameters(api, base_set, charizard):
    op_set = make_set(game="onepiece", code="OP01", name="Romance Dawn")
    luffy = make_card(card_set=op_set, number="OP01-024", name="Monkey.D.Luffy", rarity="L")
    make_card(card_set=base_set, name="Machamp", rarity="Rare Holo 1st")

    onepiece = api.get("/api/v1/cards", {"game": "onepiece"}).json()
    assert [card["id"] for card in onepiece["results"]] == [luffy.pk]
    in_set = api.get("/api/v1/cards", {"set": "BASE1", "rarity": "rare holo"}).json()
    assert [card["id"] for card in in_set["results"]] == [charizard.pk]


def test_search_sorts_like_the_search_page(api, base_set):
    make_card(card_set=base_set, number="2", name="Blastoise", popularity=5)
    make_card(card_set=base_set, number="1", name="Alakazam", popularity=50)
    make_card(card_set=base_set, number="3", name="Chansey", popularity=10)

    def names(sort):
        return [c["name"] for c in api.get("/api/v1/cards", {"sort": sort}).json()["results"]]

    assert names("number") == ["Alakazam", "Blastoise", "Chansey"]
    assert names("popularity") == ["Alakazam", "Chansey", "Blastoise"]
    assert names("name") == ["Alakazam", "Blastoise", "Chansey"]


def test_pagination_walks_every_card_once_and_the_last_page_has_no_more(api, base_set):
    cards = [make_card(card_set=base_set, number=str(n), name=f"Card {n}") for n in range(1, 6)]

    first = api.get("/api/v1/cards", {"limit": 2}).json()
    second = api.get("/api/v1/cards", {"limit": 2, "offset": 2}).json()
    last = api.get("/api/v1/cards", {"limit": 2, "offset": 4}).json()

    assert (first["total"], first["has_more"]) == (5, True)
    assert second["has_more"] is True
    assert (last["has_more"], len(last["results"])) == (False, 1)
    seen = [card["id"] for page in (first, second, last) for card in page["results"]]
    assert seen == [card.pk for card in cards]


@pytest.mark.parametrize("sort", SORTS)
def test_search_offsets_read_keys_first_hold_the_cards_one_query_gives(api, monkeypatch, sort):
    priced_catalog()

    def ids():
        return [
            [card["id"] for card in api.get("/api/v1/cards", params).json()["results"]]
            for params in (
                {"limit": 5, **({"sort": sort} if sort else {})},
                {"limit": 5, "offset": 5, **({"sort": sort} if sort else {})},
            )
        ]

    in_one_query = ids()
    monkeypatch.setattr(search, "KEYS_FIRST_ABOVE", 3)

    assert ids() == in_one_query
    assert len(in_one_query[0] + in_one_query[1]) == 10


def test_an_offset_beyond_the_total_is_an_empty_page_not_an_error(api, charizard):
    data = api.get("/api/v1/cards", {"offset": 50}).json()
    assert data == {"total": 1, "limit": 20, "offset": 50, "has_more": False, "results": []}


def test_the_largest_limit_is_100(api, base_set):
    for n in range(1, 103):
        make_card(card_set=base_set, number=str(n))

    data = api.get("/api/v1/cards", {"limit": 100}).json()

    assert (len(data["results"]), data["total"], data["has_more"]) == (100, 102, True)


@pytest.mark.parametrize(
    ("parameter", "value"),
    [
        ("limit", "0"),
        ("limit", "101"),
        ("limit", "ten"),
        ("limit", "-1"),
        ("limit", "1.5"),
        ("offset", "-1"),
        ("offset", "x"),
        ("offset", "99999999999999999999999"),
        ("game", "magic"),
        ("sort", "price"),
        ("q", "colour:red"),
        ("q", "game:magic"),
        ("q", "x" * 201),
        ("set", "base1\x00"),
        ("rarity", "rare\x1fholo"),
    ],
)
def test_bad_search_parameters_are_a_400_naming_the_parameter(api, parameter, value):
    error = error_of(api.get("/api/v1/cards", {parameter: value}), 400)
    assert error["code"] == "INVALID_PARAMETER"
    assert error["details"] == {"parameter": parameter}
    assert error["message"]


def test_a_blank_parameter_counts_as_absent(api, charizard):
    data = api.get("/api/v1/cards", {"limit": "", "game": "", "sort": ""}).json()
    assert (data["limit"], data["total"]) == (20, 1)


# --- One card --------------------------------------------------------------------------


def test_a_card_has_its_facts_and_a_price_per_source_and_key(api, charizard):
    observed = timezone.now().replace(microsecond=0) - dt.timedelta(hours=2)
    record_observations(
        [
            Observation(
                card_id=charizard.pk,
                source="pricecharting",
                price_key="PSA 10",
                market=1250050,
                low=1100000,
                high=1400000,
                sample_size=12,
                observed_at=observed,
            ),
            Observation(
                card_id=charizard.pk,
                source="ebay",
                price_key="ungraded",
                market=45099,
                observed_at=observed,
            ),
        ]
    )

    response = api.get(f"/api/v1/cards/{charizard.pk}")

    assert response.status_code == 200
    data = response.json()
    assert data["id"] == charizard.pk
    assert data["set"]["code"] == "base1"
    assert data["set"]["printed_total"] == 102
    assert data["simulated"] is False
    by_key = {(p["source"], p["key"]): p for p in data["prices"]}
    graded = by_key[("pricecharting", "PSA 10")]
    assert graded["market"] == "12500.50"
    assert (graded["low"], graded["high"]) == ("11000.00", "14000.00")
    assert (graded["sample_size"], graded["product_sales_volume"]) == (None, 12)
    assert graded["currency"] == "USD"
    assert graded["observed_at"] == observed.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert 7200 <= graded["age_seconds"] < 7260
    assert graded["stale"] is False
    assert (graded["all_time_high"], graded["all_time_low"]) == ("12500.50", "12500.50")
    assert by_key[("ebay", "ungraded")]["qualifier"] == "asks"


def test_pricecharting_sales_volume_is_product_wide_and_sample_size_stays_per_key(api, charizard):
    observed = timezone.now().replace(microsecond=0) - dt.timedelta(hours=1)
    record_observations(
        [
            *(
                Observation(charizard.pk, "pricecharting", key, 10000, observed, sample_size=2206)
                for key in ("ungraded", "ANY 9", "PSA 10")
            ),
            Observation(charizard.pk, "ebay", "PSA 10", 12000, observed, sample_size=7),
            Observation(charizard.pk, "justtcg", "NM", 9000, observed),
        ]
    )

    prices = api.get(f"/api/v1/cards/{charizard.pk}").json()["prices"]

    samples = {
        (p["source"], p["key"]): (p["sample_size"], p["product_sales_volume"]) for p in prices
    }
    assert samples == {
        ("pricecharting", "ungraded"): (None, 2206),
        ("pricecharting", "ANY 9"): (None, 2206),
        ("pricecharting", "PSA 10"): (None, 2206),
        ("ebay", "PSA 10"): (7, None),
        ("justtcg", "NM"): (None, None),
    }


def test_changes_are_percentages_over_1_7_and_30_days(api, charizard):
    now = timezone.now().replace(microsecond=0)
    for days_ago, cents in [(30, 10000), (7, 20000), (1, 40000), (0, 50000)]:
        record_prices(charizard, {"ungraded": cents}, observed_at=now - dt.timedelta(days_ago))

    [price] = api.get(f"/api/v1/cards/{charizard.pk}").json()["prices"]

    assert price["change_percent"] == {"1d": 25.0, "7d": 150.0, "30d": 400.0}
    assert (price["all_time_high"], price["all_time_low"]) == ("500.00", "100.00")


def test_a_price_older_than_a_week_is_stale(api, charizard):
    record_prices(charizard, {"ungraded": 1000}, observed_at=timezone.now() - dt.timedelta(days=8))
    [price] = api.get(f"/api/v1/cards/{charizard.pk}").json()["prices"]
    assert price["stale"] is True
    assert price["age_seconds"] >= 8 * 86400


def test_demo_prices_are_marked_simulated(api, charizard):
    record_prices(charizard, {"ungraded": 1000}, source="demo")
    data = api.get(f"/api/v1/cards/{charizard.pk}").json()
    assert data["simulated"] is True
    assert data["prices"][0]["simulated"] is True
    assert data["prices"][0]["qualifier"] == "simulated"


def test_every_time_is_iso_8601_utc_with_z(api, charizard):
    with time_machine.travel(dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC), tick=False):
        record_prices(charizard, {"ungraded": 1000})
        data = api.get(f"/api/v1/cards/{charizard.pk}").json()
    assert ISO_UTC.match(data["prices"][0]["observed_at"])
    assert data["prices"][0]["observed_at"] == "2025-03-01T11:00:00Z"


@pytest.mark.parametrize("card_id", ["999999", "0", "9223372036854775808", "1" * 30])
def test_an_unknown_card_is_card_not_found(api, card_id):
    error = error_of(api.get(f"/api/v1/cards/{card_id}"), 404)
    assert error["code"] == "CARD_NOT_FOUND"
    assert error["details"] == {"id": str(int(card_id))}


# --- Query counts ----------------------------------------------------------------------


def test_the_search_query_count_does_not_grow_with_the_page(api, base_set, count_queries):
    for n in range(1, 101):
        card = make_card(card_set=base_set, number=str(n), name=f"Card {n}")
        record_prices(card, {"ungraded": 100 * n, "PSA 10": 1000 * n})
    record_prices(card, {"ungraded": 90}, source="demo")

    one = count_queries(api, "/api/v1/cards", {"limit": 1}, results=1)
    hundred = count_queries(api, "/api/v1/cards", {"limit": 100}, results=100)

    # The key, the count, the page and the page's prices.
    assert one == hundred == 4


def test_urls_in_answers_point_at_the_host_and_port_the_caller_used(api, charizard, settings):
    settings.SITE_URL = "http://127.0.0.1:8000"

    response = api.get("/api/v1/cards", {"q": "charizard"}, HTTP_HOST="localhost:8101")

    [result] = response.json()["results"]
    assert result["url"] == "http://localhost:8101" + charizard.get_absolute_url()


# --- Sorting by price ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sort", "order"),
    [
        ("price-high", ["Dear", "Middle", "Cheap", "Unpriced"]),
        ("price-low", ["Cheap", "Middle", "Dear", "Unpriced"]),
    ],
)
def test_search_sorts_by_the_headline_price_with_unpriced_cards_last(api, sort, order):
    card_set = make_set(code="sortp")
    for number, (name, cents) in enumerate(
        [("Cheap", 50), ("Dear", 90000), ("Middle", 1200), ("Unpriced", None)], start=1
    ):
        card = make_card(card_set=card_set, number=str(number), name=name)
        if cents:
            record_prices(card, {"NM": cents, "PSA 10": 10 * (100000 - cents)}, source="tcgplayer")

    results = api.get("/api/v1/cards", {"set": "sortp", "sort": sort}).json()["results"]

    assert [result["name"] for result in results] == order
    dear = next(result for result in results if result["name"] == "Dear")
    assert (dear["headline"]["key"], dear["headline"]["market"]) == ("NM", "900.00")
    assert next(r for r in results if r["name"] == "Unpriced")["headline"] is None


def test_search_sorts_by_7_day_change(api):
    card_set = make_set(code="sortc")
    now = timezone.now().replace(microsecond=0)
    for number, (name, step) in enumerate([("Up", 40), ("Down", -40), ("Flat", 0)], start=1):
        card = make_card(card_set=card_set, number=str(number), name=name)
        record_observations(
            Observation(
                card_id=card.pk,
                source="pricecharting",
                price_key="ungraded",
                market=5000 + step * day,
                observed_at=now - dt.timedelta(days=9 - day),
            )
            for day in range(10)
        )

    def names(sort):
        results = api.get("/api/v1/cards", {"set": "sortc", "sort": sort}).json()["results"]
        return [result["name"] for result in results]

    assert names("rising") == ["Up", "Flat", "Down"]
    assert names("falling") == ["Down", "Flat", "Up"]


def test_an_unknown_sort_is_a_400_naming_the_sorts(api):
    error = error_of(api.get("/api/v1/cards", {"sort": "price"}), 400)
    assert "price-high" in error["message"] and "rising" in error["message"]


def test_a_searchs_prices_are_the_card_answers_prices(api, base_set, charizard):
    # The search reads its prices as rows (api.queries.Price), the card answer as models.
    observed = timezone.now().replace(microsecond=0) - dt.timedelta(days=9)
    record_observations(
        [
            Observation(charizard.pk, "pricecharting", "PSA 10", 1250050, observed, sample_size=3),
            Observation(charizard.pk, "ebay", "NM", 45099, observed, low=40000, high=50000),
            Observation(charizard.pk, "demo", "ungraded", 777, observed, currency="EUR"),
        ]
    )
    record_prices(charizard, {"ungraded": 30000, "LP": 25000})
    other = make_card(card_set=base_set, name="Charizard ex", number="999")
    record_prices(other, {"ungraded": 1000})

    with time_machine.travel(timezone.now(), tick=False):
        found = api.get("/api/v1/cards", {"q": "charizard", "sort": "number"}).json()
        card = api.get(f"/api/v1/cards/{charizard.pk}").json()

    [result] = [r for r in found["results"] if r["id"] == charizard.pk]
    assert result["prices"] == card["prices"]
    assert result["headline"] == next(p for p in card["prices"] if p["key"] == "ungraded")
