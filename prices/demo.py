"""Backfilling simulated history for the demo source (make run)."""

import datetime as dt

from django.utils import timezone

from cards.models import Card
from jobs import runs
from jobs.models import JobRun
from prices import partitions
from prices.models import PricePoint, SyncState
from prices.sources import demo
from prices.writing import WriteResult, announce_changes, record_observations

CARDS_PER_BATCH = 50


def backfill_demo_history(days: int = 365, card_ids=None, progress=None) -> JobRun:
    """Simulated daily history for every card (or the given ones); skips cards that have it.

    Safe to run again: the walk is deterministic, so what exists is unchanged and only
    missing cards or days are written.
    """
    today = timezone.now().date()
    first_day = max(today - dt.timedelta(days=days), demo.EPOCH)
    first_moment = dt.datetime.combine(first_day, dt.time(), tzinfo=dt.UTC)
    cards = Card.objects.select_related("card_set").order_by("pk")
    if card_ids is not None:
        cards = cards.filter(pk__in=card_ids)
    done = set(
        PricePoint.objects.filter(source=demo.SOURCE, observed_at=first_moment).values_list(
            "card_id", flat=True
        )
    )
    todo = [card for card in cards if card.pk not in done]
    if todo:
        # On PostgreSQL, months of their own for the history, not the default partition.
        partitions.ensure_partitions(since=first_moment)
    run = runs.start(
        JobRun.Kind.DEMO_BACKFILL,
        demo.SOURCE,
        description=f"{days} days of simulated history for {len(todo)} cards",
        progress_total=len(todo),
    )
    with runs.running(run):
        total = WriteResult()
        days_list = demo.history_days((today - first_day).days, today)
        try:
            _backfill(todo, days_list, run, total, progress)
        finally:
            announce_changes(total.changed_card_ids)  # once, for every batch written
        run.fetched, run.written, run.unchanged, run.rejected = (
            total.fetched,
            total.written,
            total.unchanged,
            total.rejected,
        )
        run.errors = total.errors
        run.status = JobRun.Status.PARTIAL if total.rejected else JobRun.Status.SUCCEEDED
        run.finished_at = timezone.now()
        run.save()
    return run


def _backfill(todo, days_list, run, total: WriteResult, progress) -> None:
    for start in range(0, len(todo), CARDS_PER_BATCH):
        batch = todo[start : start + CARDS_PER_BATCH]
        result = record_observations(
            (observation for card in batch for observation in demo.observations(card, days_list)),
            announce=False,
        )
        total.add(result)
        SyncState.objects.bulk_create(
            [SyncState(card=card, source=demo.SOURCE, checked_at=timezone.now()) for card in batch],
            update_conflicts=True,
            unique_fields=["card", "source"],
            update_fields=["checked_at"],
        )
        run.progress_done = start + len(batch)
        run.save(update_fields=["progress_done"])
        if progress:
            progress(run)
