import datetime as dt
import threading
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from alerts.evaluation import evaluate_cards
from alerts.models import Alert, AlertEvent
from prices.writing import Observation, record_observations
from tests.factories import make_card, make_user

pytestmark = pytest.mark.django_db

DAY = dt.timedelta(days=1)
NOW = dt.datetime(2026, 11, 1, 12, tzinfo=dt.UTC)


def price(card, cents, *, days_ago=0, source="pricecharting", key="ungraded"):
    """Write one daily price; the write itself evaluates the card's alerts."""
    observed = (NOW - days_ago * DAY).replace(hour=0)
    result = record_observations(
        [
            Observation(
                card_id=card.pk, source=source, price_key=key, market=cents, observed_at=observed
            )
        ]
    )
    return result


def alert(card, **fields):
    fields.setdefault("user", make_user())
    fields.setdefault("kind", Alert.Kind.BELOW)
    if fields["kind"] != Alert.Kind.MOVE:
        fields.setdefault("threshold", 1000)
    return Alert.objects.create(card=card, **fields)


def events(a):
    return list(AlertEvent.objects.filter(alert=a).values_list("price", flat=True))


@pytest.fixture
def card():
    return make_card()


@time_machine.travel(NOW, tick=False)
def test_below_fires_once_across_repeated_syncs(card):
    a = alert(card, threshold=1000)
    price(card, 1200)
    evaluate_cards([card.pk])
    assert events(a) == []
    price(card, 900)
    for _ in range(3):
        evaluate_cards([card.pk])
    assert events(a) == [900]
    a.refresh_from_db()
    assert (a.armed, a.last_triggered_price, a.last_triggered_at) == (False, 900, NOW)


@time_machine.travel(NOW, tick=False)
def test_above_fires_when_the_price_rises_to_the_line(card):
    a = alert(card, kind=Alert.Kind.ABOVE, threshold=5000)
    price(card, 4999, days_ago=1)
    evaluate_cards([card.pk])
    assert events(a) == []
    price(card, 5000)
    evaluate_cards([card.pk])
    assert events(a) == [5000]


def test_it_rearms_when_the_price_crosses_back_and_fires_again(card):
    a = alert(card, threshold=1000, cooldown=dt.timedelta(days=30))
    with time_machine.travel(NOW, tick=False):
        price(card, 900)
        evaluate_cards([card.pk])
    with time_machine.travel(NOW + DAY, tick=False):
        price(card, 1100, days_ago=-1)
        evaluate_cards([card.pk])
        a.refresh_from_db()
        assert a.armed
    with time_machine.travel(NOW + 2 * DAY, tick=False):
        price(card, 950, days_ago=-2)
        evaluate_cards([card.pk])
    assert events(a) == [950, 900]


def test_it_fires_again_after_the_cooldown_while_the_condition_holds(card):
    a = alert(card, threshold=1000, cooldown=dt.timedelta(hours=24))
    with time_machine.travel(NOW, tick=False):
        price(card, 900)
        evaluate_cards([card.pk])
    with time_machine.travel(NOW + dt.timedelta(hours=23), tick=False):
        evaluate_cards([card.pk])
    assert len(events(a)) == 1
    with time_machine.travel(NOW + dt.timedelta(hours=25), tick=False):
        evaluate_cards([card.pk])
    assert len(events(a)) == 2


@time_machine.travel(NOW, tick=False)
def test_paused_alerts_never_fire(card):
    a = alert(card, threshold=1000, active=False)
    price(card, 100)
    evaluate_cards([card.pk])
    assert events(a) == []


@time_machine.travel(NOW, tick=False)
def test_percent_move_uses_the_window_from_history(card):
    weekly = alert(card, kind=Alert.Kind.MOVE, percent=Decimal("20"), window=Alert.Window.WEEK)
    daily = alert(card, kind=Alert.Kind.MOVE, percent=Decimal("20"), window=Alert.Window.DAY)
    price(card, 1000, days_ago=7)
    price(card, 1150, days_ago=1)
    price(card, 1250, days_ago=0)  # +25% over 7 days, +8.7% over a day
    evaluate_cards([card.pk])
    assert events(weekly) == [1250] and events(daily) == []
    event = AlertEvent.objects.get(alert=weekly)
    assert (event.previous_price, event.change) == (1000, 25.0)


@time_machine.travel(NOW, tick=False)
def test_a_fall_counts_as_a_move_too(card):
    a = alert(card, kind=Alert.Kind.MOVE, percent=Decimal("10"), window=Alert.Window.DAY)
    price(card, 1000, days_ago=1)
    price(card, 800)
    evaluate_cards([card.pk])
    assert events(a) == [800]


@time_machine.travel(NOW, tick=False)
def test_any_source_takes_the_best_price_and_a_named_source_only_its_own(card):
    anywhere = alert(card, threshold=1000)
    ebay_only = alert(card, threshold=1000, source="ebay")
    price(card, 1500, source="ebay")
    price(card, 950, source="pricecharting")
    evaluate_cards([card.pk])
    assert events(anywhere) == [950] and events(ebay_only) == []
    assert AlertEvent.objects.get(alert=anywhere).source == "pricecharting"


@time_machine.travel(NOW, tick=False)
def test_other_price_keys_do_not_trigger(card):
    a = alert(card, threshold=1000, price_key="PSA 10")
    price(card, 10, key="ungraded")
    evaluate_cards([card.pk])
    assert events(a) == []


@time_machine.travel(NOW, tick=False)
def test_price_writes_from_a_sync_evaluate_the_changed_cards(card, settings):
    from prices.sources.demo import DemoClient
    from prices.sync import sync_source

    settings.PRICE_SOURCES = {
        **settings.PRICE_SOURCES,
        "demo": {**settings.PRICE_SOURCES["demo"], "enabled": True},
    }
    a = alert(card, kind=Alert.Kind.ABOVE, threshold=1)  # any demo price is above a cent
    sync_source("demo", client=DemoClient())
    assert len(events(a)) == 1


@time_machine.travel(NOW, tick=False)
def test_an_evaluation_that_lost_the_race_records_nothing(card, monkeypatch):
    """B decided to fire, then A fired and claimed first: B's claim must match nothing."""
    from alerts import evaluation

    a = alert(card, threshold=1000)
    price(card, 900)
    original = evaluation._claim_and_record
    raced = []

    def claim_after_a_rival(*args, **kwargs):
        if not raced:
            raced.append(True)
            evaluate_cards([card.pk])  # the rival evaluation, start to finish
        return original(*args, **kwargs)

    monkeypatch.setattr(evaluation, "_claim_and_record", claim_after_a_rival)
    result = evaluate_cards([card.pk])
    assert result.triggered == []
    assert AlertEvent.objects.filter(alert=a).count() == 1


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="concurrent writers need a server database"
)
@pytest.mark.django_db(transaction=True)
def test_two_evaluations_at_once_record_one_event(card):
    a = alert(card, threshold=1000)
    with time_machine.travel(NOW, tick=False):
        price(card, 900)
    barrier = threading.Barrier(2)
    errors = []

    def evaluate():
        try:
            barrier.wait(timeout=5)
            with time_machine.travel(NOW, tick=False):
                evaluate_cards([card.pk])
        except Exception as exc:  # surfaced below: a thread's failure must fail the test
            errors.append(exc)
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=evaluate) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert AlertEvent.objects.filter(alert=a).count() == 1


def test_evaluation_queries_do_not_grow_with_alerts(card):
    cards = [make_card() for _ in range(3)]
    with time_machine.travel(NOW, tick=False):
        for c in [card, *cards]:
            price(c, 900)

    def queries(count):
        Alert.objects.all().delete()
        user = make_user()
        for n in range(count):
            target = [card, *cards][n % 4]
            kind = [Alert.Kind.BELOW, Alert.Kind.ABOVE][n % 2]
            alert(target, user=user, kind=kind, threshold=1000)
        with time_machine.travel(NOW, tick=False), CaptureQueriesContext(connection) as context:
            evaluate_cards([c.pk for c in [card, *cards]])
        return len(context.captured_queries)

    assert queries(4) == queries(40)


@time_machine.travel(NOW, tick=False)
def test_every_price_write_evaluates_the_changed_cards(card):
    a = alert(card, threshold=1000)
    price(card, 900)  # no explicit evaluation: the write does it
    assert events(a) == [900]


def _random_market(rng):
    """Cards priced by several sources and keys over a month, and every kind of alert on
    them, armed or not, some just fired: what both evaluation paths must agree on."""
    cards = [make_card() for _ in range(6)]
    observations = []
    for card in cards:
        for source in ("pricecharting", "tcgplayer", "ebay"):
            for key in ("ungraded", "PSA 10"):
                if rng.random() < 0.3:
                    continue
                # Some histories too short for a window: no change, no reading for "moves by".
                history = rng.choice([(31, 30, 8, 7, 1, 0), (31, 30, 8, 7, 1, 0), (0,), (8, 7, 0)])
                for days_ago in history:
                    observations.append(
                        Observation(card.pk, source, key, rng.randint(500, 1500),
                                    (NOW - days_ago * DAY).replace(hour=0))
                    )  # fmt: skip
    record_observations(observations)
    user = make_user()
    for card in cards:
        for _ in range(12):
            kind = rng.choice(list(Alert.Kind))
            Alert.objects.create(
                user=user,
                card=card,
                price_key=rng.choice(["ungraded", "PSA 10"]),
                source=rng.choice(["", "pricecharting", "ebay", "justtcg"]),
                kind=kind,
                threshold=None if kind == Alert.Kind.MOVE else rng.randint(400, 1600),
                percent=Decimal(rng.choice(["5", "20", "40"])) if kind == Alert.Kind.MOVE else None,
                window=rng.choice(list(Alert.Window)),
                armed=rng.random() < 0.7,
                last_triggered_at=rng.choice([None, NOW - 2 * DAY, NOW - dt.timedelta(hours=2)]),
            )
    return cards


def _outcome():
    fired = {
        (e.alert_id, e.source, e.price, e.previous_price, e.change)
        for e in AlertEvent.objects.all()
    }
    return fired, dict(Alert.objects.values_list("pk", "armed"))


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the SQL path is PostgreSQL's")
@pytest.mark.parametrize("seed", range(8))
def test_the_sql_and_python_paths_fire_and_rearm_the_same_alerts(seed, monkeypatch):
    import random

    from alerts import evaluation

    with time_machine.travel(NOW, tick=False):
        cards = _random_market(random.Random(seed))
        state = list(Alert.objects.values_list("pk", "armed", "last_triggered_at"))
        outcomes = []
        for vendors in (frozenset({"postgresql"}), frozenset()):
            monkeypatch.setattr(evaluation, "SET_BASED_VENDORS", vendors)
            AlertEvent.objects.all().delete()
            for pk, armed, last in state:
                Alert.objects.filter(pk=pk).update(armed=armed, last_triggered_at=last)
            result = evaluate_cards([card.pk for card in cards])
            outcomes.append((_outcome(), result.alerts, result.rearmed, len(result.triggered)))
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][3] > 0 and outcomes[0][2] > 0  # something fired, something re-armed
