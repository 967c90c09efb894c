"""Price sync: ask a source for the cards that are due, write what it says, record the run.

Safe to run twice and concurrently: one run per source at a time (its running JobRun is
the lock, jobs.runs), idempotent writes, and a card is marked checked only after its
prices are written — a run killed halfway leaves the rest due for the next one, and what
it had written is not written again. A run takes no new batch once its time budget
(PRICE_SYNC_TIME_BUDGET_SECONDS) is spent, so it ends by itself before the task worker's
timeout would kill it.
"""

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from cards.models import Card
from jobs import runs
from jobs.models import JobRun
from prices.models import PriceSourceState, SyncState
from prices.sources.base import CLIENTS, PriceClient, get_client
from prices.writing import record_observations
from tcgtracker.lib.http import PermanentError, QuotaExhausted, SourceError, scrub

logger = logging.getLogger(__name__)

# Callables returning a queryset of card ids that deserve frequent syncs (owned,
# watched, alerted). Apps append theirs in AppConfig.ready().
HOT_CARD_PROVIDERS: list[Callable[[], QuerySet]] = []


def hot_card_condition() -> Q:
    condition = Q(pk__in=[])
    for provider in HOT_CARD_PROVIDERS:
        condition |= Q(pk__in=provider())
    return condition


def due_cards(source: str, card_ids: Iterable[int] | None = None) -> QuerySet:
    """Cards the source has not checked recently enough, least recently checked first."""
    cards = Card.objects.select_related("card_set")
    if card_ids is not None:
        return cards.filter(pk__in=list(card_ids)).order_by("pk")
    now = timezone.now()
    hot_since = now - dt.timedelta(minutes=settings.PRICE_SYNC_HOT_INTERVAL_MINUTES)
    cold_since = now - dt.timedelta(hours=settings.PRICE_SYNC_INTERVAL_HOURS)
    checked = SyncState.objects.filter(card=OuterRef("pk"), source=source)
    recently = Exists(checked.filter(checked_at__gte=cold_since))
    hot_recently = Exists(checked.filter(checked_at__gte=hot_since))
    due = ~recently | (hot_card_condition() & ~hot_recently)
    return cards.filter(due).order_by("pk")


def usable_sources() -> list[str]:
    return [name for name in CLIENTS if get_client(name).is_usable]


def sync_source(
    source: str,
    card_ids: Iterable[int] | None = None,
    *,
    client: PriceClient | None = None,
    progress: Callable[[JobRun], None] | None = None,
) -> JobRun:
    """Sync one source; returns its job run (status failed when it could not run)."""
    client = client or get_client(source)
    kind = JobRun.Kind.PRICE_SYNC
    state, _ = PriceSourceState.objects.get_or_create(source=source)
    now = timezone.now()
    if not client.is_usable:
        return runs.record_refusal(
            kind, source, f"{client.label} is disabled or has no credentials configured."
        )
    if state.blocked_until and state.blocked_until > now:
        return runs.record_refusal(
            kind,
            source,
            f"{client.label} quota is spent until {state.blocked_until:%Y-%m-%d %H:%M} UTC.",
        )
    try:
        run = runs.start(kind, source)
    except runs.AlreadyRunning as busy:
        holder = busy.holder.pk if busy.holder else "?"
        return runs.record_refusal(
            kind, source, f"Another {client.label} sync is running (job {holder})."
        )
    with runs.running(run):
        try:
            _run(client, state, run, card_ids, progress)
        except Exception as exc:
            # The run's record must say it failed, whatever went wrong; the error is re-raised.
            _fail(run, f"Unexpected error: {scrub(repr(exc), client.config.secrets)}")
            raise
    return run


def _run(client, state, run, card_ids, progress) -> None:
    secrets = client.config.secrets
    cards = [card for card in due_cards(client.name, card_ids) if client.can_price(card)]
    run.progress_total = len(cards)
    run.description = f"{len(cards)} cards due"
    run.save(update_fields=["progress_total", "description"])
    batch_size = max(1, client.config.batch_size)
    budget = settings.PRICE_SYNC_TIME_BUDGET_SECONDS
    deadline = time.monotonic() + budget
    stopped = False
    for start in range(0, len(cards), batch_size):
        if start and time.monotonic() >= deadline:
            _append_error(
                run,
                f"Time budget of {budget} s used up after {start} of {len(cards)} cards; "
                f"the rest stay due for the next run.",
            )
            break
        batch = cards[start : start + batch_size]
        try:
            fetched = client.fetch(batch)
        except QuotaExhausted as exc:
            state.blocked_until = exc.retry_at
            _note_error(state, run, scrub(str(exc), secrets))
            stopped = True
            break
        except PermanentError as exc:
            _note_error(state, run, scrub(str(exc), secrets))
            continue
        except SourceError as exc:
            # Transient: the breaker and the budget decide when to try again.
            _note_error(state, run, scrub(str(exc), secrets))
            stopped = True
            break
        written = record_observations(fetched.observations)
        run.fetched += written.fetched
        run.written += written.written
        run.unchanged += written.unchanged
        run.rejected += written.rejected + len(fetched.rejected)
        for message in [*fetched.rejected, *fetched.errors, *written.errors]:
            _append_error(run, scrub(message, secrets))
        _mark_checked(client.name, fetched.checked)
        state.last_success_at = timezone.now()
        state.save()
        run.progress_done = start + len(batch)
        run.save()
        if progress:
            progress(run)
    run.finished_at = timezone.now()
    if stopped and run.progress_done == 0:
        run.status = JobRun.Status.FAILED
    elif stopped or run.errors:
        run.status = JobRun.Status.PARTIAL
    else:
        run.status = JobRun.Status.SUCCEEDED
    run.save()


def _mark_checked(source: str, card_ids: set[int]) -> None:
    if not card_ids:
        return
    now = timezone.now()
    SyncState.objects.bulk_create(
        [SyncState(card_id=card_id, source=source, checked_at=now) for card_id in card_ids],
        update_conflicts=True,
        unique_fields=["card", "source"],
        update_fields=["checked_at"],
    )


def _append_error(run: JobRun, message: str) -> None:
    if len(run.errors) < JobRun.MAX_ERRORS:
        run.errors.append(message[:500])


def _note_error(state: PriceSourceState, run: JobRun, message: str) -> None:
    logger.warning("%s sync: %s", state.source, message)
    state.last_error_at = timezone.now()
    state.last_error = message[:2000]
    state.save()
    _append_error(run, message)
    run.save()


def _fail(run: JobRun, message: str) -> JobRun:
    run.status = JobRun.Status.FAILED
    run.finished_at = timezone.now()
    _append_error(run, message)
    run.save()
    return run
