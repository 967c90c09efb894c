import datetime as dt
import threading

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from prices import writing
from prices.models import PricePoint, PriceSummary
from prices.writing import Observation, record_observations, refresh_all_summaries
from tests.factories import make_card

pytestmark = pytest.mark.django_db

DAY = dt.timedelta(days=1)
NOW = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def observation(card, market, days_ago=0, key="ungraded", source="pricecharting", **extra):
    return Observation(
        card_id=card.pk,
        source=source,
        price_key=key,
        market=market,
        observed_at=NOW - days_ago * DAY,
        **extra,
    )


def test_writing_the_same_observations_twice_changes_nothing():
    card = make_card()
    batch = [observation(card, 1000 + n, days_ago=n) for n in range(5)]
    first = record_observations(batch)
    assert (first.fetched, first.written, first.unchanged, first.rejected) == (5, 5, 0, 0)
    second = record_observations(batch)
    assert (second.written, second.unchanged) == (0, 5)
    assert PricePoint.objects.count() == 5
    assert second.changed_card_ids == set()


def test_a_corrected_price_updates_the_point_in_place():
    card = make_card()
    record_observations([observation(card, 1000)])
    result = record_observations([observation(card, 1200)])
    assert result.written == 1
    assert list(PricePoint.objects.values_list("market", flat=True)) == [1200]
    summary = PriceSummary.objects.get()
    assert (summary.market, summary.all_time_high, summary.all_time_low) == (1200, 1200, 1200)


def test_a_correction_below_the_all_time_high_lowers_it():
    card = make_card()
    record_observations([observation(card, 1000, days_ago=1), observation(card, 900)])
    result = record_observations([observation(card, 800, days_ago=1)])
    assert (result.written, result.unchanged) == (1, 0)
    summary = PriceSummary.objects.get()
    assert (summary.market, summary.market_1d, summary.change_1d) == (900, 800, 12.5)
    assert (summary.all_time_high, summary.all_time_low) == (900, 800)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"market": -5}, "market out of range"),
        ({"market": 12.5}, "not a whole number of cents"),
        ({"market": True}, "not a whole number of cents"),
        ({"key": "MINT"}, "unknown price key"),
        ({"low": 900, "high": 100}, "low 900 is above high 100"),
        ({"source": "nowhere"}, "unknown source"),
        ({"currency": None}, "currency is not an ISO code"),
    ],
)
def test_garbage_is_rejected_counted_and_never_written(bad, message):
    card = make_card()
    fields = {"market": 1000, **bad}
    result = record_observations([observation(card, **fields)])
    assert (result.written, result.rejected) == (0, 1)
    assert message in result.errors[0]
    assert not PricePoint.objects.exists()


def test_summary_has_latest_price_changes_and_extremes():
    card = make_card()
    prices = {0: 1500, 1: 1000, 7: 2000, 30: 500, 40: 3000}
    record_observations(
        [observation(card, market, days_ago=days) for days, market in prices.items()]
    )
    summary = PriceSummary.objects.get()
    assert summary.market == 1500
    assert summary.observed_at == NOW
    assert (summary.market_1d, summary.market_7d, summary.market_30d) == (1000, 2000, 500)
    assert (summary.change_1d, summary.change_7d, summary.change_30d) == (50.0, -25.0, 200.0)
    assert (summary.all_time_high, summary.all_time_low) == (3000, 500)


def test_summary_follows_new_points_and_keeps_extremes_incrementally():
    card = make_card()
    record_observations([observation(card, 1000, days_ago=2), observation(card, 4000, days_ago=1)])
    record_observations([observation(card, 2000, days_ago=0)])
    summary = PriceSummary.objects.get()
    assert (summary.market, summary.change_1d) == (2000, -50.0)
    assert (summary.all_time_high, summary.all_time_low) == (4000, 1000)


def test_an_older_backfilled_point_does_not_replace_the_latest_price():
    card = make_card()
    record_observations([observation(card, 1000, days_ago=0)])
    record_observations([observation(card, 9000, days_ago=10)])
    summary = PriceSummary.objects.get()
    assert (summary.market, summary.observed_at) == (1000, NOW)
    assert summary.all_time_high == 9000


def test_missing_history_gives_no_change_rather_than_zero():
    card = make_card()
    record_observations([observation(card, 1000)])
    summary = PriceSummary.objects.get()
    assert (summary.change_1d, summary.change_7d, summary.change_30d) == (None, None, None)


def test_summaries_are_per_source_and_key():
    card = make_card()
    record_observations(
        [
            observation(card, 1000),
            observation(card, 90000, key="PSA 10"),
            observation(card, 1100, source="justtcg", key="NM"),
        ]
    )
    assert sorted(PriceSummary.objects.values_list("source", "price_key", "market")) == [
        ("justtcg", "NM", 1100),
        ("pricecharting", "PSA 10", 90000),
        ("pricecharting", "ungraded", 1000),
    ]


def test_full_refresh_matches_incremental_summaries():
    cards = [make_card() for _ in range(3)]
    record_observations(
        [
            observation(card, 100 * (n + 1) * (d + 1), days_ago=d)
            for n, card in enumerate(cards)
            for d in range(35)
        ]
    )
    before = sorted(
        PriceSummary.objects.values_list("card_id", "market", "change_7d", "all_time_high")
    )
    PriceSummary.objects.all().delete()
    assert refresh_all_summaries() == 3
    after = sorted(
        PriceSummary.objects.values_list("card_id", "market", "change_7d", "all_time_high")
    )
    assert before == after


def test_write_query_count_does_not_grow_with_observations():
    def queries_for(count):
        card = make_card()
        batch = [observation(card, 1000 + n, days_ago=n) for n in range(count)]
        with CaptureQueriesContext(connection) as context:
            record_observations(batch)
        return len(context.captured_queries)

    assert queries_for(5) == queries_for(60)


# --- The set-based path (PostgreSQL) and the generic path give the same results ---------

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the set-based path is PostgreSQL's"
)


@pytest.mark.parametrize(
    ("before", "now", "change"),
    [
        (1000, 1500, 50.0),
        (2000, 1500, -25.0),
        (800, 801, 0.12),  # 0.125: a tie, to even
        (800, 803, 0.38),  # 0.375: a tie, to even
        (20000, 20003, 0.02),  # 0.015: a tie, to even (binary floats said 0.01)
        (3, 4, 33.33),
        (3, 2, -33.33),
        (6, 5, -16.67),
        (1, 10_000_000_000, 999999999900.0),
        (0, 100, None),
        (None, 100, None),
    ],
)
def test_percent_change_rounds_exactly_half_to_even(before, now, change):
    from prices.writing import _percent_change

    assert _percent_change(before, now) == change


@postgres_only
def test_percent_change_in_sql_is_the_same_float():
    import random

    from prices.writing import _change_sql, _percent_change

    rng = random.Random(5)
    pairs = [(800, 801), (800, 803), (20000, 20003), (3, 4), (6, 5), (1, 10**10)]
    pairs += [(rng.randint(1, 10**6), rng.randint(0, 10**6)) for _ in range(3000)]
    pairs += [(rng.randint(1, 400), rng.randint(0, 400)) for _ in range(3000)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT b, n, {_change_sql('b', 'n')} "
            "FROM unnest(%s::bigint[], %s::bigint[]) AS x(b, n)",
            [[b for b, _ in pairs], [n for _, n in pairs]],
        )
        rows = cursor.fetchall()
    assert [(b, n, _percent_change(b, n)) for b, n in pairs] == rows


def _random_batches(cards, seed):
    """Observations with everything a writer meets: duplicates in a batch, corrections,
    backfills older than the latest price, gaps, several sources and keys, and garbage."""
    import random

    rng = random.Random(seed)
    batches = []
    for _ in range(6):
        batch = []
        for _ in range(rng.randint(20, 120)):
            card = rng.choice(cards)
            source, key = rng.choice(
                [("pricecharting", "ungraded"), ("pricecharting", "PSA 10"), ("justtcg", "NM")]
            )
            days_ago = rng.choice([0, 0, 1, 2, 6, 7, 8, 29, 30, 31, 45, rng.randint(0, 60)])
            hours = rng.choice([0, 0, 0, 6, 23])
            market = rng.choice([0, 1, 99, 800, 801, 1000, 1500, rng.randint(1, 10**6)])
            extra = {}
            if rng.random() < 0.2:
                extra = {"low": market // 2, "high": market * 2, "sample_size": rng.randint(0, 9)}
            if rng.random() < 0.03:
                extra = {"low": 10, "high": 5}  # rejected
            batch.append(
                Observation(
                    card_id=card.pk,
                    source=source,
                    price_key=key,
                    market=market,
                    observed_at=NOW - days_ago * DAY - dt.timedelta(hours=hours),
                    **extra,
                )
            )
        batches.append(batch)
    return batches


def _write_all(batches):
    results = [record_observations(batch) for batch in batches]
    counts = [(r.fetched, r.written, r.unchanged, r.rejected, r.changed_card_ids) for r in results]
    points = sorted(
        PricePoint.objects.values_list(
            "card_id", "source", "price_key", "observed_at", "market", "low", "high", "sample_size"
        )
    )
    fields = [f.name for f in PriceSummary._meta.fields if f.name not in ("id", "updated_at")]
    summaries = sorted(tuple(row.values()) for row in PriceSummary.objects.values(*fields))
    return counts, points, summaries


@postgres_only
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_set_based_writes_exactly_what_the_generic_path_writes(seed, monkeypatch):
    import prices.writing

    cards = [make_card() for _ in range(8)]
    batches = _random_batches(cards, seed)
    with transaction.atomic():
        monkeypatch.setattr(prices.writing, "SET_BASED_VENDORS", frozenset())
        generic = _write_all(batches)
        transaction.set_rollback(True)
    monkeypatch.setattr(prices.writing, "SET_BASED_VENDORS", frozenset({"postgresql"}))
    assert not PricePoint.objects.exists()
    set_based = _write_all(batches)
    assert set_based[0] == generic[0]
    assert set_based[1] == generic[1]
    assert set_based[2] == generic[2]
    # And a full refresh from the series agrees with the summaries kept incrementally.
    PriceSummary.objects.all().delete()
    refresh_all_summaries()
    assert _write_all([])[2] == set_based[2]


def _daily_batches(cards, seed):
    """A daily feed: each batch one newer point per combo, at steps of hours to weeks, so
    that the stored latest point falls inside, before and after every reference window;
    now and then a point of the batch's day is written twice, or a combo skips a batch."""
    import random

    rng = random.Random(seed)
    combos = [(card, key) for card in cards for key in ("ungraded", "PSA 10")]
    latest = dict.fromkeys(combos, NOW - 60 * DAY)
    batches = []
    for _ in range(12):
        batch = []
        for combo in combos:
            if rng.random() < 0.15:
                continue
            step = rng.choice([DAY, DAY, DAY, 2 * DAY, dt.timedelta(hours=20), 7 * DAY])
            step += dt.timedelta(hours=rng.choice([0, 0, 1, -1, 23]))
            latest[combo] += step
            card, key = combo
            point = Observation(
                card_id=card.pk,
                source="pricecharting",
                price_key=key,
                market=rng.randint(1, 5000),
                observed_at=latest[combo],
            )
            batch.append(point)
            if rng.random() < 0.1:  # two points of a combo in one batch
                latest[combo] += dt.timedelta(hours=1)
                batch.append(point._replace(observed_at=latest[combo], market=7))
        batches.append(batch)
    return batches


@postgres_only
@pytest.mark.parametrize("seed", [1, 2])
def test_a_daily_feed_gives_the_same_summaries_on_both_paths(seed, monkeypatch):
    import prices.writing

    cards = [make_card() for _ in range(10)]
    batches = _daily_batches(cards, seed)
    with transaction.atomic():
        monkeypatch.setattr(prices.writing, "SET_BASED_VENDORS", frozenset())
        generic = _write_all(batches)
        transaction.set_rollback(True)
    monkeypatch.setattr(prices.writing, "SET_BASED_VENDORS", frozenset({"postgresql"}))
    set_based = _write_all(batches)
    assert set_based == generic
    market_7d = [f.name for f in PriceSummary._meta.fields].index("market_7d") - 1  # no id
    assert any(summary[market_7d] is not None for summary in set_based[2])
    PriceSummary.objects.all().delete()
    refresh_all_summaries()
    assert _write_all([])[2] == set_based[2]


def test_points_without_a_summary_are_still_written_once():
    card = make_card()
    record_observations([observation(card, 1000 + n, days_ago=n) for n in range(1, 4)])
    PriceSummary.objects.all().delete()  # points with no summary: none of them looks new

    again = [observation(card, 1000 + n, days_ago=n) for n in range(0, 4)]
    result = record_observations(again)

    assert (result.written, result.unchanged) == (1, 3)
    assert PricePoint.objects.filter(card=card).count() == 4
    summary = PriceSummary.objects.get(card=card)
    assert (summary.market, summary.observed_at, summary.market_1d) == (1000, NOW, 1001)


def test_a_summary_behind_its_series_is_rebuilt_when_a_point_it_missed_is_written_again():
    card = make_card()
    record_observations([observation(card, 1000 + n, days_ago=n) for n in range(0, 9)])
    # The summary as it stood two days ago: today's and yesterday's points are past it.
    PriceSummary.objects.filter(card=card).update(observed_at=NOW - 2 * DAY, market=1002)

    result = record_observations([observation(card, 5000, days_ago=0)])  # a correction

    assert (result.written, result.unchanged) == (1, 0)
    assert PricePoint.objects.get(card=card, observed_at=NOW).market == 5000
    summary = PriceSummary.objects.get(card=card)
    assert (summary.market, summary.observed_at) == (5000, NOW)
    assert (summary.market_1d, summary.market_7d, summary.all_time_high) == (1001, 1007, 5000)


def _new_day_batches(cards):
    """Ten days of history for two keys of most cards, then one point per combo: a new day,
    a backfilled day the history skipped, a combo with no summary yet (a new key, a new
    card), and a correction of a stored point in a batch of its own."""
    old, new_card = cards[:-1], cards[-1]
    history = [
        observation(card, 1000 + 10 * n + card.pk % 7, days_ago=n, key=key)
        for card in old
        for key in ("ungraded", "PSA 10")
        for n in range(1, 40)
        if n != 8
    ]
    new_day = [observation(card, 1500 + card.pk % 9, days_ago=0) for card in old]
    new_day += [observation(card, 900, days_ago=8, key="PSA 10") for card in old]  # backfill
    new_day += [observation(card, 77, days_ago=0, key="PSA 9") for card in old[:2]]
    new_day.append(observation(new_card, 300, days_ago=0))
    correction = [observation(old[0], 4242, days_ago=3), observation(old[1], 1, days_ago=0)]
    return [history, new_day, correction]


@postgres_only
def test_a_new_day_copied_into_the_history_gives_what_the_generic_path_gives(monkeypatch):
    import prices.writing

    cards = [make_card() for _ in range(6)]
    batches = _new_day_batches(cards)
    with transaction.atomic():
        monkeypatch.setattr(prices.writing, "SET_BASED_VENDORS", frozenset())
        generic = _write_all(batches)
        transaction.set_rollback(True)
    monkeypatch.setattr(prices.writing, "SET_BASED_VENDORS", frozenset({"postgresql"}))
    with CaptureQueriesContext(connection) as context:
        set_based = _write_all(batches)
    assert set_based == generic
    # The new day went straight into the history; the correction, refused there, took the
    # general statements (the upsert).
    upserts = [
        q
        for q in context.captured_queries
        if "ON CONFLICT (card_id, source, price_key, observed_at)" in q["sql"]
    ]
    assert len(upserts) == 1
    assert set_based[0][1][1:3] == (len(batches[1]), 0)  # written, unchanged
    assert set_based[0][2][1:3] == (2, 0)
    PriceSummary.objects.all().delete()
    refresh_all_summaries()
    assert _write_all([])[2] == set_based[2]


def _midnight_batches(cards, seed):
    """Sixty days of a daily import (one point per combo at midnight), with the days a
    combo is missing from a guide, a correction of an earlier day in a batch of its own, a
    point at another time of day, a market beyond an integer's range, and a new key
    halfway."""
    import random

    rng = random.Random(seed)
    start = NOW - 60 * DAY
    batches = []
    for day in range(60):
        batch = [
            observation(card, rng.randint(1, 5000), days_ago=60 - day, key=key)
            for card in cards
            for key in ("ungraded", "PSA 10", *(["PSA 9"] if day >= 30 else []))
            if rng.random() > 0.1
        ]
        if day == 35:  # cards[0]'s ungraded price at another time of day
            odd = observation(cards[0], 1234, days_ago=60 - day)
            odd = odd._replace(observed_at=odd.observed_at + dt.timedelta(hours=6))
            batch = [o for o in batch if o.combo != odd.combo] + [odd]
        if day == 45:  # cards[1]'s ungraded price beyond an integer's range
            huge = observation(cards[1], 3_000_000_000, days_ago=60 - day)
            batch = [o for o in batch if o.combo != huge.combo] + [huge]
        batches.append(batch)
        if day in (20, 40):
            corrected = observation(cards[day % len(cards)], 4242, days_ago=60 - day + 3)
            batches.append([corrected._replace(observed_at=start + (day - 3) * DAY)])
    return batches


def _rings():
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(recent_markets) FROM prices_pricesummary")
        return cursor.fetchone()[0]


@postgres_only
@pytest.mark.parametrize("seed", [1, 2])
def test_a_daily_import_read_from_the_summaries_rings_gives_what_the_generic_path_gives(
    seed, monkeypatch
):
    import prices.writing

    cards = [make_card() for _ in range(4)]
    batches = _midnight_batches(cards, seed)
    with transaction.atomic():
        monkeypatch.setattr(prices.writing, "SET_BASED_VENDORS", frozenset())
        generic = _write_all(batches)
        assert _rings() == 0  # the generic path keeps none
        transaction.set_rollback(True)
    monkeypatch.setattr(prices.writing, "SET_BASED_VENDORS", frozenset({"postgresql"}))
    set_based = _write_all(batches)
    assert set_based == generic
    # Every summary reads its last references from its ring, but the two with a point at
    # another time of day, or a market beyond an integer's, within the last month.
    assert _rings() == len(set_based[2]) - 2
    market_30d = [f.name for f in PriceSummary._meta.fields].index("market_30d") - 1  # no id
    assert any(summary[market_30d] is not None for summary in set_based[2])
    PriceSummary.objects.all().delete()
    refresh_all_summaries()
    assert _write_all([])[2] == set_based[2]


def test_a_summary_written_otherwise_forgets_its_ring(monkeypatch):
    import prices.writing

    card = make_card()
    for days_ago in range(3, 0, -1):
        record_observations([observation(card, 1000 + days_ago, days_ago=days_ago)])
    monkeypatch.setattr(prices.writing, "SET_BASED_VENDORS", frozenset())

    record_observations([observation(card, 2000, days_ago=0)])

    if connection.vendor == "postgresql":
        assert _rings() == 0
    summary = PriceSummary.objects.get(card=card)
    assert (summary.market, summary.market_1d) == (2000, 1001)


@postgres_only
def test_a_refused_new_day_writes_nothing_twice_and_keeps_its_summaries():
    card = make_card()
    record_observations([observation(card, 1000 + n, days_ago=n) for n in range(0, 9)])

    result = record_observations([observation(card, 1000, days_ago=0)])  # the same again

    assert (result.written, result.unchanged) == (0, 1)
    assert PricePoint.objects.filter(card=card).count() == 9
    summary = PriceSummary.objects.get(card=card)
    assert (summary.market, summary.market_1d, summary.market_7d) == (1000, 1001, 1007)


@postgres_only
def test_copy_text_reads_back_as_the_values_it_was_given():
    from prices.writing import _copy_text

    moment = dt.datetime(
        2026, 11, 1, 12, 30, 15, 123456, tzinfo=dt.timezone(dt.timedelta(hours=-5))
    )
    rows = [
        Observation(1, "back\\slash", "tab\there", 0, moment),
        Observation(2, "line\nbreak\r", "k", 10**10, NOW, "EUR", low=5, high=7, sample_size=0),
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE copied (card_id bigint, source text, price_key text, "
            "currency text, market bigint, low bigint, high bigint, sample_size integer, "
            "observed_at timestamptz) ON COMMIT DROP"
        )
        with cursor.cursor.copy("COPY copied FROM STDIN") as copy:
            copy.write(_copy_text(rows))
        cursor.execute(
            "SELECT card_id, source, price_key, market, observed_at, currency, low, high, "
            "sample_size FROM copied ORDER BY card_id"
        )
        assert [Observation(*row) for row in cursor.fetchall()] == rows


@postgres_only
def test_set_based_path_writes_in_a_fixed_number_of_queries(monkeypatch):
    import prices.writing

    monkeypatch.setattr(prices.writing, "SET_BASED_CHUNK_SIZE", 10_000)

    def queries_for(count):
        card = make_card()
        batch = [
            observation(card, 1000 + n, days_ago=n % 40, key=k)
            for n in range(count)
            for k in ("ungraded", "PSA 10")
        ]
        with CaptureQueriesContext(connection) as context:
            result = record_observations(batch)
        assert result.written == len({(o.price_key, o.observed_at) for o in batch})
        return len(context.captured_queries)

    assert queries_for(3) == queries_for(40)


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_an_imports_writer_threads_leave_room_in_a_small_connection_pool(monkeypatch):
    from types import SimpleNamespace

    # Each writer thread holds a connection of its own beside the importing thread's.
    wrapper = type(connections["default"])
    with monkeypatch.context() as patch:  # undone before the test's database is
        for max_size, writers in [(None, 2), (8, 2), (3, 2), (2, 1), (1, 0)]:
            pool = None if max_size is None else SimpleNamespace(max_size=max_size)
            patch.setattr(wrapper, "pool", property(lambda self, pool=pool: pool))
            assert writing._background_writers() == writers
    with transaction.atomic():  # a connection of their own would not see the caller's rows
        assert writing._background_writers() == 0


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_an_import_reads_ahead_while_its_batches_are_written_and_records_them_in_order(
    monkeypatch,
):
    cards = [make_card(number=str(n)) for n in range(3)]
    release = threading.Event()
    record = writing.record_observations

    def held(observations, **options):
        assert release.wait(timeout=30)
        return record(observations, **options)

    monkeypatch.setattr(writing, "record_observations", held)
    done = []
    writer = writing.BatchWriter(background=True, depth=3)
    try:
        # Three batches sent while nothing can be written: none waits for another.
        for n, card in enumerate(cards):
            writer.submit([observation(card, 1000 + n)], then=lambda n=n: done.append(n))
        assert done == [] and not writer.starved()
        release.set()
        writer.wait()
        assert done == [0, 1, 2] and writer.starved()
        assert writer.result.written == 3
    finally:
        release.set()
        writer.close()
    assert PricePoint.objects.count() == 3


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_batch_that_failed_records_nothing_and_the_ones_after_it_are_still_recorded(
    monkeypatch,
):
    good, bad, later = (make_card(number=str(n)) for n in range(3))
    record = writing.record_observations

    def failing(observations, **options):
        if any(o.card_id == bad.pk for o in observations):
            raise RuntimeError("the database went away")
        return record(observations, **options)

    monkeypatch.setattr(writing, "record_observations", failing)
    done = []
    writer = writing.BatchWriter(background=True, depth=5)
    for card in (good, bad, later):
        writer.submit([observation(card, 1000)], then=lambda card=card: done.append(card.pk))
    with pytest.raises(RuntimeError, match="went away"):
        writer.close()
    assert done == [good.pk, later.pk]
    assert writer.result.written == 2
    assert set(PricePoint.objects.values_list("card_id", flat=True)) == {good.pk, later.pk}


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_batch_prepared_for_the_writer_threads_writes_and_counts_as_written_at_once():
    cards = [make_card(number=str(n)) for n in range(4)]
    batch = [observation(card, 1000 + n) for n, card in enumerate(cards)]
    batch.append(observation(cards[0], 5, days_ago=1, low=10, high=5))  # rejected
    batch.append(observation(cards[1], 1111))  # a later duplicate wins
    writer = writing.BatchWriter(background=True)
    try:
        writer.submit(batch)
        writer.wait()
    finally:
        writer.close()

    result = writer.result
    assert (result.fetched, result.written, result.unchanged, result.rejected) == (6, 4, 1, 1)
    assert PricePoint.objects.get(card=cards[1]).market == 1111
    assert result.changed_card_ids == {card.pk for card in cards}


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_the_writer_threads_open_their_connections_before_the_first_batch(monkeypatch):
    opened, started, release = [], threading.Semaphore(0), threading.Event()
    ready = writing._ready

    def noting():
        opened.append(threading.current_thread().name)
        ready()
        started.release()
        assert release.wait(timeout=30)

    monkeypatch.setattr(writing, "_ready", noting)
    writer = writing.BatchWriter(background=True)
    try:
        assert started.acquire(timeout=30) and started.acquire(timeout=30)
        assert sorted(opened) == ["prices-0_0", "prices-1_0"]
        # Each thread is still opening its connection; a batch sent meanwhile waits.
        writer.submit([observation(make_card(), 1000)])
        assert not writer.starved()
        release.set()
        writer.wait()
        assert writer.result.written == 1
    finally:
        release.set()
        writer.close()


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_writer_thread_that_could_not_open_its_connection_fails_the_writing(monkeypatch):
    def failing():
        raise RuntimeError("no connection")

    monkeypatch.setattr(writing, "_ready", failing)
    writer = writing.BatchWriter(background=True)
    with pytest.raises(RuntimeError, match="no connection"):
        writer.close()


def test_off_postgresql_or_in_a_transaction_a_batch_is_written_and_recorded_at_once():
    card, done = make_card(), []
    writer = writing.BatchWriter(background=True)
    writer.submit([observation(card, 1000)], then=lambda: done.append(1))
    assert done == [1] and writer.result.written == 1
    assert not writer.starved()  # no thread waits for work: batches are not sent early
    writer.close()


@postgres_only
@pytest.mark.parametrize(
    "bad",
    [
        {"market": -5},
        {"market": 12.5},
        {"market": True},
        {"price_key": "MINT"},
        {"low": 900, "high": 100},
        {"source": "nowhere"},
        {"sample_size": -1},
        {"currency": "usd"},
        {"observed_at": dt.datetime(2026, 11, 1)},  # naive
    ],
)
def test_a_prepared_batch_rejects_what_each_observation_check_rejects_and_keeps_the_rest(bad):
    # A batch is checked by its columns at once; a batch they do not plainly pass is
    # checked an observation at a time, as record_observations() checks a plain list.
    card = make_card()
    good = [observation(card, 1000 + n, days_ago=n, sample_size=n) for n in range(5)]
    batch = [*good[:2], observation(card, 1000, days_ago=9)._replace(**bad), *good[2:]]

    prepared = writing.PreparedBatch(batch)

    assert (prepared.result.fetched, prepared.result.rejected) == (6, 1)
    [chunk] = prepared.chunks
    assert chunk.keys == [o.key for o in good]
    assert chunk.text == writing._copy_text(good)
    result = record_observations(prepared)
    assert (result.written, result.rejected) == (5, 1)
    assert PricePoint.objects.count() == 5


def test_a_prepared_batch_keeps_the_last_of_duplicate_observations():
    card = make_card()
    batch = [
        observation(card, 1000, key="ungraded"),
        observation(card, 2000, key="PSA 10", low=1500, high=2500),
        observation(card, 1100, key="ungraded"),
    ]

    [chunk] = writing.PreparedBatch(batch).chunks

    assert (chunk.duplicates, chunk.one_per_combo) == (1, True)
    assert chunk.keys == [batch[0].key, batch[1].key]
    assert chunk.text == writing._copy_text([batch[2], batch[1]])
    assert "\t1100\t" in chunk.text and "\t1000\t" not in chunk.text
