import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from prices.models import PriceSummary
from prices.writing import Observation, record_observations
from tests.factories import make_card, make_set, record_prices

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2025, 6, 15, 12, 0, tzinfo=dt.UTC)


def error_of(response, status):
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    return response.json()["error"]


def observe(card, days_ago, cents, *, source="pricecharting", key="ungraded", hours=0, **extra):
    result = record_observations(
        [
            Observation(
                card_id=card.pk,
                source=source,
                price_key=key,
                market=cents,
                observed_at=NOW - dt.timedelta(days=days_ago, hours=hours),
                **extra,
            )
        ]
    )
    assert result.rejected == 0, result.errors


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def card():
    return make_card(name="Charizard")


# --- History ---------------------------------------------------------------------------


def test_history_has_one_series_per_source_and_key_with_every_point(api, card, clock):
    observe(card, 40, 900)
    observe(card, 3, 1000)
    observe(card, 1, 1250)
    observe(card, 1, 5000, key="PSA 10")
    observe(card, 2, 990, source="demo")

    response = api.get(f"/api/v1/cards/{card.pk}/prices/history", {"period": "30d"})

    assert response.status_code == 200
    data = response.json()
    assert (data["card_id"], data["period"], data["bucket"]) == (card.pk, "30d", None)
    assert (data["from"], data["to"]) == ("2025-05-16T12:00:00Z", "2025-06-15T12:00:00Z")
    series = {(s["source"], s["key"]): s for s in data["series"]}
    assert list(series) == [
        ("pricecharting", "ungraded"),
        ("pricecharting", "PSA 10"),
        ("demo", "ungraded"),
    ]
    assert series[("pricecharting", "ungraded")]["points"] == [
        point("2025-06-12T12:00:00Z", "10.00"),
        point("2025-06-14T12:00:00Z", "12.50"),
    ]
    assert series[("pricecharting", "ungraded")]["currency"] == "USD"
    assert series[("demo", "ungraded")]["simulated"] is True
    assert series[("pricecharting", "PSA 10")]["simulated"] is False


def test_long_periods_average_per_day(api, card, clock):
    observe(card, 10, 1000, hours=2)
    observe(card, 10, 2001, hours=1)
    observe(card, 5, 3000)

    data = api.get(f"/api/v1/cards/{card.pk}/prices/history", {"period": "3m"}).json()

    assert data["bucket"] == "day"
    [series] = data["series"]
    assert series["points"] == [
        point("2025-06-05T00:00:00Z", "15.00"),
        point("2025-06-10T00:00:00Z", "30.00"),
    ]


def point(t, market, low=None, high=None, sample_size=None, product_sales_volume=None):
    return {
        "t": t,
        "market": market,
        "low": low,
        "high": high,
        "sample_size": sample_size,
        "product_sales_volume": product_sales_volume,
    }


def test_history_points_carry_the_range_and_sample_the_source_reported(api, card, clock):
    observe(card, 2, 1000, source="ebay", low=800, high=1500, sample_size=12)
    observe(card, 1, 1100, source="ebay")

    [series] = api.get(f"/api/v1/cards/{card.pk}/prices/history", {"period": "7d"}).json()["series"]

    assert series["points"] == [
        point("2025-06-13T12:00:00Z", "10.00", "8.00", "15.00", 12),
        point("2025-06-14T12:00:00Z", "11.00"),
    ]


def test_pricecharting_sales_volume_is_the_card_s_never_a_grade_s_sample(api, card, clock):
    observe(card, 1, 50000, key="PSA 10", sample_size=340)

    [series] = api.get(f"/api/v1/cards/{card.pk}/prices/history").json()["series"]

    assert series["points"] == [
        point("2025-06-14T12:00:00Z", "500.00", sample_size=None, product_sales_volume=340)
    ]


def test_a_day_s_average_carries_its_widest_range_and_largest_sample(api, card, clock):
    observe(card, 10, 1000, source="ebay", hours=2, low=900, high=1200, sample_size=5)
    observe(card, 10, 2000, source="ebay", hours=1, low=700, high=2500, sample_size=9)
    observe(card, 5, 3000, source="ebay")

    [series] = api.get(f"/api/v1/cards/{card.pk}/prices/history", {"period": "3m"}).json()["series"]

    assert series["points"] == [
        point("2025-06-05T00:00:00Z", "15.00", "7.00", "25.00", 9),
        point("2025-06-10T00:00:00Z", "30.00"),
    ]


def test_all_reaches_back_to_the_first_point_by_week(api, card, clock):
    observe(card, 700, 1000)
    observe(card, 1, 2000)
    data = api.get(f"/api/v1/cards/{card.pk}/prices/history", {"period": "all"}).json()
    assert (data["bucket"], data["from"]) == ("week", None)
    assert len(data["series"][0]["points"]) == 2


def test_history_defaults_to_30_days(api, card, clock):
    observe(card, 40, 900)
    observe(card, 1, 1000)
    data = api.get(f"/api/v1/cards/{card.pk}/prices/history").json()
    assert data["period"] == "30d"
    assert len(data["series"][0]["points"]) == 1


def test_history_filters_by_source_and_key(api, card, clock):
    observe(card, 1, 1000)
    observe(card, 1, 5000, key="PSA 10")
    observe(card, 1, 990, source="demo")

    by_source = api.get(f"/api/v1/cards/{card.pk}/prices/history", {"source": "demo"}).json()
    by_key = api.get(f"/api/v1/cards/{card.pk}/prices/history", {"key": "PSA 10"}).json()

    assert [(s["source"], s["key"]) for s in by_source["series"]] == [("demo", "ungraded")]
    assert [(s["source"], s["key"]) for s in by_key["series"]] == [("pricecharting", "PSA 10")]


@pytest.mark.parametrize(
    ("parameter", "value"),
    [
        ("period", "2w"),
        ("period", "7D"),
        ("source", "cardmarket"),
        ("key", "PSA 11"),
        ("key", "mint"),
        ("key", "x" * 33),
    ],
)
def test_bad_history_parameters_are_a_400_naming_the_parameter(api, card, parameter, value):
    response = api.get(f"/api/v1/cards/{card.pk}/prices/history", {parameter: value})
    error = error_of(response, 400)
    assert error["code"] == "INVALID_PARAMETER"
    assert error["details"] == {"parameter": parameter}


def test_history_of_an_unknown_card_is_card_not_found(api):
    error = error_of(api.get("/api/v1/cards/424242/prices/history"), 404)
    assert error["code"] == "CARD_NOT_FOUND"


def test_history_is_privately_cacheable_and_revalidates_with_its_etag(api, card):
    record_prices(card, {"ungraded": 1000})
    url = f"/api/v1/cards/{card.pk}/prices/history"

    first = api.get(url)
    assert first["Cache-Control"] == "private, max-age=60"
    assert "X-API-Key" in first["Vary"]
    etag = first["ETag"]

    again = api.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == etag
    assert again["X-RateLimit-Remaining"] == str(int(first["X-RateLimit-Remaining"]) - 1)

    record_prices(card, {"ungraded": 1100}, observed_at=timezone.now().replace(microsecond=0))
    changed = api.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed["ETag"] != etag


def test_the_history_query_count_does_not_grow_with_the_history(api, card, clock, count_queries):
    observe(card, 1, 1000)
    few = count_queries(api, f"/api/v1/cards/{card.pk}/prices/history")
    for day in range(2, 30):
        observe(card, day, 1000 + day)
        observe(card, day, 5000 + day, key="PSA 10")
    many = count_queries(api, f"/api/v1/cards/{card.pk}/prices/history")
    # The key, the card, the series.
    assert few == many == 3


# --- Stats ----------------------------------------------------------------------------


def test_stats_answer_each_line_s_figures_over_the_period(api, card, clock):
    # 1 % a day for 20 days: a steady climb, no volatility.
    for day in range(20):
        observe(card, 19 - day, round(1000 * 1.01**day))
    observe(card, 0, 900, hours=1)  # a second price today: the day's price is their mean
    observe(card, 1, 5000, key="PSA 10")
    observe(card, 2, 990, source="demo")

    response = api.get(f"/api/v1/cards/{card.pk}/stats", {"period": "30d"})

    assert response.status_code == 200
    data = response.json()
    assert (data["card_id"], data["period"], data["simulated"]) == (card.pk, "30d", True)
    assert (data["from"], data["to"]) == ("2025-05-16T12:00:00Z", "2025-06-15T12:00:00Z")
    lines = {(line["source"], line["key"]): line for line in data["lines"]}
    assert list(lines) == [
        ("pricecharting", "ungraded"),
        ("pricecharting", "PSA 10"),
        ("demo", "ungraded"),
    ]
    ungraded = lines[("pricecharting", "ungraded")]
    assert ungraded["observations"] == 21
    assert ungraded["days"] == 20
    assert (ungraded["first_day"], ungraded["last_day"]) == ("2025-05-27", "2025-06-15")
    assert (ungraded["low"], ungraded["high"]) == ("9.00", "12.08")
    assert ungraded["trend"]["direction"] == "rising"
    assert ungraded["volatility_percent"] > 0  # today's mean breaks the steady climb
    assert ungraded["simulated"] is False
    psa = lines[("pricecharting", "PSA 10")]
    assert psa["trend"] == {
        "direction": "too little data",
        "percent_per_month": None,
        "interval_low": None,
        "interval_high": None,
    }
    assert psa["volatility_percent"] is None
    assert (psa["average"], psa["median"], psa["key_label"]) == ("50.00", "50.00", "PSA 10")
    assert lines[("demo", "ungraded")]["simulated"] is True


def test_stats_of_a_steady_climb_match_the_hand_computed_trend(api, card, clock):
    for day in range(30):
        observe(card, 29 - day, round(100000 * 1.01**day))

    [line] = api.get(f"/api/v1/cards/{card.pk}/stats").json()["lines"]

    assert line["trend"]["direction"] == "rising"
    assert line["trend"]["percent_per_month"] == pytest.approx(35.4, abs=0.1)
    assert line["volatility_percent"] == pytest.approx(0, abs=0.1)


def test_stats_filter_by_source_and_key(api, card, clock):
    observe(card, 1, 1000)
    observe(card, 1, 5000, key="PSA 10")
    observe(card, 1, 990, source="demo")

    by_source = api.get(f"/api/v1/cards/{card.pk}/stats", {"source": "demo"}).json()
    by_key = api.get(f"/api/v1/cards/{card.pk}/stats", {"key": "PSA 10"}).json()

    assert [(s["source"], s["key"]) for s in by_source["lines"]] == [("demo", "ungraded")]
    assert [(s["source"], s["key"]) for s in by_key["lines"]] == [("pricecharting", "PSA 10")]
    assert by_key["simulated"] is False


def test_stats_of_a_card_without_prices_are_an_empty_list(api, card):
    data = api.get(f"/api/v1/cards/{card.pk}/stats", {"period": "all"}).json()
    assert (data["lines"], data["from"], data["simulated"]) == ([], None, False)


@pytest.mark.parametrize(
    ("parameter", "value"),
    [("period", "2w"), ("source", "cardmarket"), ("key", "PSA 11"), ("key", "x" * 33)],
)
def test_bad_stats_parameters_are_a_400_naming_the_parameter(api, card, parameter, value):
    error = error_of(api.get(f"/api/v1/cards/{card.pk}/stats", {parameter: value}), 400)
    assert (error["code"], error["details"]) == ("INVALID_PARAMETER", {"parameter": parameter})


def test_stats_of_an_unknown_card_are_card_not_found(api):
    error = error_of(api.get("/api/v1/cards/424242/stats"), 404)
    assert error["code"] == "CARD_NOT_FOUND"


def test_stats_revalidate_with_their_etag(api, card):
    record_prices(card, {"ungraded": 1000})
    url = f"/api/v1/cards/{card.pk}/stats"
    first = api.get(url)
    assert first["Cache-Control"] == "private, max-age=60"
    assert api.get(url, headers={"If-None-Match": first["ETag"]}).status_code == 304


def test_stats_query_count_does_not_grow_with_history(api, count_queries, clock):
    short, long = make_card(), make_card()
    for card, days in [(short, 3), (long, 60)]:
        for day in range(days):
            observe(card, day, 1000 + day)
            observe(card, day, 5000 + day, key="PSA 10")
    few = count_queries(api, f"/api/v1/cards/{short.pk}/stats", {"period": "all"})
    many = count_queries(api, f"/api/v1/cards/{long.pk}/stats", {"period": "all"})
    assert few == many


# --- Sets ------------------------------------------------------------------------------


def test_sets_lists_each_sets_facts_and_card_count(api):
    base = make_set(code="base1", name="Base Set", release_date=dt.date(1999, 1, 9))
    newer = make_set(code="sv3pt5", name="151", release_date=dt.date(2023, 9, 22))
    make_card(card_set=base)
    make_card(card_set=base)

    data = api.get("/api/v1/sets", {"game": "pokemon"}).json()

    assert (data["total"], data["has_more"]) == (2, False)
    assert [s["code"] for s in data["results"]] == ["sv3pt5", "base1"]
    first, second = data["results"]
    assert (first["card_count"], second["card_count"]) == (0, 2)
    assert second["release_date"] == "1999-01-09"
    assert second["name"] == "Base Set"
    assert second["url"].endswith(base.get_absolute_url())
    assert newer.code == first["code"]


def test_sets_filter_by_game(api):
    make_set(code="base1")
    make_set(game="onepiece", code="OP01")
    data = api.get("/api/v1/sets", {"game": "onepiece"}).json()
    assert [s["code"] for s in data["results"]] == ["OP01"]
    assert api.get("/api/v1/sets").json()["total"] == 2


def test_sets_page_by_limit_and_offset(api):
    for n in range(5):
        make_set(code=f"s{n}", release_date=dt.date(2020, 1, 1) + dt.timedelta(days=n))
    data = api.get("/api/v1/sets", {"limit": 2, "offset": 4}).json()
    assert (data["total"], len(data["results"]), data["has_more"]) == (5, 1, False)
    assert data["results"][0]["code"] == "s0"
    beyond = api.get("/api/v1/sets", {"offset": 10}).json()
    assert (beyond["results"], beyond["has_more"]) == ([], False)


@pytest.mark.parametrize(
    ("parameter", "value"), [("game", "yugioh"), ("limit", "101"), ("offset", "-3")]
)
def test_bad_set_parameters_are_a_400_naming_the_parameter(api, parameter, value):
    error = error_of(api.get("/api/v1/sets", {parameter: value}), 400)
    assert error["details"] == {"parameter": parameter}


def test_sets_are_privately_cacheable_with_an_etag(api):
    make_set(code="base1")
    first = api.get("/api/v1/sets")
    assert first["Cache-Control"] == "private, max-age=60"
    assert api.get("/api/v1/sets", headers={"If-None-Match": first["ETag"]}).status_code == 304
    assert api.get("/api/v1/sets", headers={"If-None-Match": '"other"'}).status_code == 200
    assert api.get("/api/v1/sets", headers={"If-None-Match": "*"}).status_code == 304


def test_the_sets_query_count_does_not_grow_with_the_page(api, count_queries):
    for n in range(100):
        card_set = make_set(code=f"s{n}")
        make_card(card_set=card_set)
    one = count_queries(api, "/api/v1/sets", {"limit": 1}, results=1)
    hundred = count_queries(api, "/api/v1/sets", {"limit": 100}, results=100)
    # The key, the count, the page.
    assert one == hundred == 3


# --- Movers ----------------------------------------------------------------------------


@pytest.fixture
def market(clock):
    """Four cards that moved over the week: two up, two down; and a One Piece card."""
    cards = {}
    for name, before, after in [
        ("Rising", 1000, 1500),
        ("Soaring", 1000, 3000),
        ("Falling", 2000, 1800),
        ("Crashing", 2000, 500),
    ]:
        cards[name] = make_card(name=name)
        observe(cards[name], 7, before)
        observe(cards[name], 0, after)
    luffy = make_card(card_set=make_set(game="onepiece", code="OP01"), name="Luffy")
    observe(luffy, 7, 1000)
    observe(luffy, 0, 1100, source="demo")
    observe(luffy, 7, 1000, source="demo")
    return cards


def test_movers_lists_gainers_largest_rise_first(api, market):
    data = api.get("/api/v1/prices/movers", {"game": "pokemon", "period": "7d"}).json()
    assert (data["game"], data["period"], data["direction"]) == ("pokemon", "7d", "gainers")
    assert [row["card"]["name"] for row in data["results"]] == ["Soaring", "Rising"]
    first = data["results"][0]
    assert first["change_percent"] == 200.0
    assert first["price"]["market"] == "30.00"
    assert first["price"]["change_percent"]["7d"] == 200.0
    assert data["simulated"] is False


def test_movers_lists_losers_largest_fall_first(api, market):
    data = api.get("/api/v1/prices/movers", {"direction": "losers", "period": "7d"}).json()
    assert [row["card"]["name"] for row in data["results"]] == ["Crashing", "Falling"]
    assert data["results"][0]["change_percent"] == -75.0


def test_movers_say_when_they_are_simulated(api, market):
    data = api.get("/api/v1/prices/movers", {"game": "onepiece"}).json()
    assert [row["card"]["name"] for row in data["results"]] == ["Luffy"]
    assert data["simulated"] is True
    assert data["results"][0]["price"]["simulated"] is True


def test_movers_limit(api, market):
    data = api.get("/api/v1/prices/movers", {"limit": 1}).json()
    assert [row["card"]["name"] for row in data["results"]] == ["Soaring"]


@pytest.mark.parametrize(
    ("parameter", "value"),
    [
        ("game", "mtg"),
        ("period", "1y"),
        ("direction", "up"),
        ("limit", "0"),
        ("limit", "51"),
    ],
)
def test_bad_movers_parameters_are_a_400_naming_the_parameter(api, parameter, value):
    error = error_of(api.get("/api/v1/prices/movers", {parameter: value}), 400)
    assert error["code"] == "INVALID_PARAMETER"
    assert error["details"] == {"parameter": parameter}


def test_the_movers_query_count_does_not_grow_with_the_limit(api, clock, count_queries):
    for n in range(60):
        card = make_card(name=f"Mover {n}")
        observe(card, 7, 1000)
        observe(card, 0, 1100 + n)
    # Cached rankings, then rankings computed afresh (movers caches them for minutes).
    one = count_queries(api, "/api/v1/prices/movers", {"limit": 1}, results=1)
    fifty = count_queries(api, "/api/v1/prices/movers", {"limit": 50}, results=50)
    assert one == fifty
    one_fresh = count_queries(api, "/api/v1/prices/movers", {"limit": 1}, fresh=True)
    fifty_fresh = count_queries(api, "/api/v1/prices/movers", {"limit": 50}, fresh=True)
    assert one_fresh == fifty_fresh


def test_an_unchanged_history_keeps_its_etag_as_time_passes(api, card):
    observe(card, 1, 1000)
    url = f"/api/v1/cards/{card.pk}/prices/history"
    with time_machine.travel(NOW, tick=False):
        etag = api.get(url)["ETag"]
    with time_machine.travel(NOW + dt.timedelta(seconds=30), tick=False):
        again = api.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again["ETag"] == etag


def test_a_mover_whose_change_is_gone_since_the_ranking_is_documented_as_null(api, market):
    api.get("/api/v1/prices/movers", {"period": "7d"})  # the ranking is cached for minutes
    PriceSummary.objects.filter(card=market["Soaring"]).update(change_7d=None)

    rows = api.get("/api/v1/prices/movers", {"period": "7d"}).json()["results"]

    assert rows[0]["change_percent"] is None
    schemas = api.get("/api/v1/openapi.json").json()["components"]["schemas"]
    mover = schemas["Movers"]["properties"]["results"]["items"]
    mover = schemas[mover["$ref"].rsplit("/", 1)[-1]]  # OpenAPI 3.1: null is a type
    assert {"type": "null"} in mover["properties"]["change_percent"]["anyOf"]
