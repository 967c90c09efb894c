import datetime as dt
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command

from jobs.models import JobRun
from prices import sync
from prices.models import PricePoint, PriceSourceState, SyncState
from prices.sources.base import FetchResult, PriceClient
from prices.writing import Observation
from tcgtracker.lib.http import QuotaExhausted, SourceConfig, TransientError
from tests.factories import make_card

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 1, 12, tzinfo=dt.UTC)


class ScriptedClient(PriceClient):
    """A stand-in source: prices every card at 1000 + its id, failing where told."""

    name = "pricecharting"
    label = "Scripted"

    def __init__(self, fail_on_batch=None, error=None, batch_size=2):
        super().__init__(
            SourceConfig(
                name="pricecharting",
                enabled=True,
                base_url="",
                credentials={"token": "x"},
                rate_limit=None,
                batch_size=batch_size,
                options={},
            )
        )
        self.fail_on_batch, self.error, self.batches = fail_on_batch, error, []

    def fetch(self, cards):
        self.batches.append([card.pk for card in cards])
        if len(self.batches) == self.fail_on_batch:
            raise self.error
        result = FetchResult()
        for card in cards:
            result.observations.append(
                Observation(
                    card_id=card.pk,
                    source="pricecharting",
                    price_key="ungraded",
                    market=1000 + card.pk,
                    observed_at=NOW.replace(hour=0),
                )
            )
            result.checked.add(card.pk)
        return result


@pytest.fixture
def cards():
    return [make_card() for _ in range(5)]


@time_machine.travel(NOW, tick=False)
def test_sync_writes_prices_for_due_cards_and_records_the_run(cards):
    run = sync.sync_source("pricecharting", client=ScriptedClient())
    assert run.status == JobRun.Status.SUCCEEDED
    assert (run.progress_total, run.progress_done, run.fetched, run.written) == (5, 5, 5, 5)
    assert PricePoint.objects.count() == 5
    assert SyncState.objects.filter(source="pricecharting").count() == 5
    assert PriceSourceState.objects.get(source="pricecharting").last_success_at == NOW


@time_machine.travel(NOW, tick=False)
def test_cards_checked_recently_are_not_due_again(cards):
    sync.sync_source("pricecharting", client=ScriptedClient())
    client = ScriptedClient()
    run = sync.sync_source("pricecharting", client=client)
    assert (run.progress_total, client.batches) == (0, [])


def test_cards_are_due_again_after_the_interval(cards, settings):
    settings.PRICE_SYNC_INTERVAL_HOURS = 24
    with time_machine.travel(NOW, tick=False):
        sync.sync_source("pricecharting", client=ScriptedClient())
    with time_machine.travel(NOW + dt.timedelta(hours=25), tick=False):
        assert sync.due_cards("pricecharting").count() == 5


def test_hot_cards_are_due_more_often(cards, settings, monkeypatch):
    settings.PRICE_SYNC_HOT_INTERVAL_MINUTES = 60
    hot = cards[0]
    monkeypatch.setattr(
        sync, "HOT_CARD_PROVIDERS", [lambda: type(hot).objects.filter(pk=hot.pk).values("pk")]
    )
    with time_machine.travel(NOW, tick=False):
        sync.sync_source("pricecharting", client=ScriptedClient())
    with time_machine.travel(NOW + dt.timedelta(hours=2), tick=False):
        assert list(sync.due_cards("pricecharting")) == [hot]


@time_machine.travel(NOW, tick=False)
def test_a_run_stopped_halfway_leaves_the_rest_due_and_writes_nothing_twice(cards):
    first = sync.sync_source(
        "pricecharting", client=ScriptedClient(fail_on_batch=2, error=TransientError("timeout"))
    )
    assert first.status == JobRun.Status.PARTIAL
    assert first.written == 2
    assert "timeout" in first.errors[0]
    second_client = ScriptedClient()
    second = sync.sync_source("pricecharting", client=second_client)
    assert second.written == 3
    assert sorted(pk for batch in second_client.batches for pk in batch) == sorted(
        card.pk for card in cards[2:]
    )
    assert PricePoint.objects.count() == 5


@time_machine.travel(NOW, tick=False)
def test_a_spent_quota_stops_the_source_until_it_resets(cards):
    reset = NOW + dt.timedelta(hours=10)
    first = sync.sync_source(
        "pricecharting",
        client=ScriptedClient(fail_on_batch=1, error=QuotaExhausted("daily quota", retry_at=reset)),
    )
    assert first.status == JobRun.Status.FAILED
    assert PriceSourceState.objects.get(source="pricecharting").blocked_until == reset
    client = ScriptedClient()
    second = sync.sync_source("pricecharting", client=client)
    assert second.status == JobRun.Status.FAILED
    assert "quota is spent until" in second.errors[0]
    assert client.batches == []


@time_machine.travel(NOW, tick=False)
def test_only_one_sync_per_source_runs_at_a_time(cards):
    live = JobRun.objects.create(kind=JobRun.Kind.PRICE_SYNC, source="pricecharting")
    client = ScriptedClient()
    run = sync.sync_source("pricecharting", client=client)
    assert run.status == JobRun.Status.FAILED
    assert f"Another Scripted sync is running (job {live.pk})" in run.errors[0]
    assert client.batches == []


@time_machine.travel(NOW, tick=False)
def test_changed_cards_are_announced_for_alert_evaluation(cards):
    from prices.writing import prices_changed

    received = []

    def receiver(sender, card_ids, **kwargs):
        received.append(set(card_ids))

    prices_changed.connect(receiver)
    try:
        sync.sync_source("pricecharting", client=ScriptedClient(batch_size=5))
        sync.sync_source("pricecharting", [cards[0].pk], client=ScriptedClient(batch_size=5))
    finally:
        prices_changed.disconnect(receiver)
    assert received == [{card.pk for card in cards}]  # the second run changed nothing


def test_an_unconfigured_source_fails_its_run_clearly(cards, settings):
    settings.PRICE_SOURCES = {
        **settings.PRICE_SOURCES,
        "pricecharting": {**settings.PRICE_SOURCES["pricecharting"], "credentials": {"token": ""}},
    }
    run = sync.sync_source("pricecharting")
    assert run.status == JobRun.Status.FAILED
    assert "no credentials" in run.errors[0]


def test_sync_prices_command_runs_the_demo_source(cards, settings):
    settings.PRICE_SOURCES = {
        **settings.PRICE_SOURCES,
        "demo": {**settings.PRICE_SOURCES["demo"], "enabled": True},
    }
    out = StringIO()
    call_command("sync_prices", "--source", "demo", stdout=out)
    assert "demo: Succeeded — 5 of 5 cards" in out.getvalue()
    assert PricePoint.objects.filter(source="demo").count() == 15  # ungraded, PSA 9, PSA 10


def test_sync_prices_command_refuses_an_unconfigured_source(cards):
    with pytest.raises(CommandError, match="no credentials"):
        call_command("sync_prices", "--source", "ebay", stdout=StringIO())
