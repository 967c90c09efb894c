"""Background jobs of the prices app (django-q2). Each has a management command too."""

from django_q.tasks import async_task

from prices import movers, uploads
from prices.demo import backfill_demo_history
from prices.retention import fold_old_points
from prices.sync import sync_source, usable_sources


def sync_prices(source: str | None = None, card_ids: list[int] | None = None) -> list[int]:
    """Sync one source in this task; returns its job run id.

    Without a source (the schedule), queue one task per usable source instead, so each
    has a worker and a time budget of its own and a slow source cannot starve the others;
    returns no run ids then."""
    if source:
        return [sync_source(source, card_ids).pk]
    for name in usable_sources():
        async_task("prices.tasks.sync_prices", name, card_ids, task_name=f"sync {name}")
    return []


def refresh_movers() -> None:
    movers.run_queued_refresh()


def apply_retention(older_than_days: int | None = None) -> int:
    return fold_old_points(older_than_days).pk


def ensure_price_partitions() -> list[str]:
    """The price history's partitions for the coming months (PostgreSQL; nothing elsewhere)."""
    from prices.partitions import ensure_partitions

    return ensure_partitions()


def backfill_demo(days: int = 365) -> int:
    return backfill_demo_history(days).pk


def import_price_guide_file(job_run_id: int) -> None:
    """Import a staff upload into its queued job run.

    Claims the run first: a task delivered twice, or after the run was tried again
    elsewhere, finds it taken and does nothing. The stored file is deleted when the run
    ends, and kept when it is interrupted, for its retry (prices.uploads)."""
    from django.utils import timezone

    from jobs.models import JobRun
    from prices.pricecharting_import import import_price_guide

    now = timezone.now()
    claimed = JobRun.objects.filter(pk=job_run_id, status=JobRun.Status.QUEUED).update(
        status=JobRun.Status.RUNNING, started_at=now, heartbeat_at=now
    )
    if not claimed:
        return
    run = JobRun.objects.get(pk=job_run_id)
    if not run.upload or not uploads.path(run.upload).is_file():
        run.status, run.finished_at = JobRun.Status.FAILED, timezone.now()
        run.errors = [*run.errors, "The uploaded file is gone; upload it again."]
        run.save()
        return
    try:
        import_price_guide(
            uploads.path(run.upload),
            job_run=run,
            observed_on=run.observed_on,
            name=run.description.removeprefix("Upload ") or None,
        )
    finally:
        # A run still "running" here died with its process: the sweep retries the file.
        if run.status not in JobRun.ACTIVE:
            uploads.finish_upload(run)


def sweep_jobs() -> dict[str, int]:
    """Mark runs whose process died interrupted (retrying uploads), requeue lost uploads,
    delete old ones."""
    return uploads.sweep()


def rematch_waiting_rows(console_name: str, job_run_id: int | None = None) -> int | None:
    """Match a console's waiting price-guide rows again (after staff taught its set)."""
    from jobs.models import JobRun
    from prices.guide_review import rematch_console

    run = None
    if job_run_id is not None:
        # Claim the queued run: a task delivered twice runs once.
        claimed = JobRun.objects.filter(pk=job_run_id, status=JobRun.Status.QUEUED).update(
            status=JobRun.Status.RUNNING
        )
        if not claimed:
            return None
        run = JobRun.objects.get(pk=job_run_id)
    return rematch_console(console_name, job_run=run).pk


def import_price_guides() -> list[int]:
    """Download and import PriceCharting's price guides, when a token is configured."""
    from prices.pricecharting_import import PRICE_GUIDE_CATEGORIES, import_category
    from prices.sources.base import get_client

    if not get_client("pricecharting").is_usable:
        return []
    return [import_category(category).pk for category in PRICE_GUIDE_CATEGORIES]


def sync_catalog(game: str | None = None) -> list[int]:
    """New sets and cards from the catalog APIs, when CATALOG_SYNC_ENABLED."""
    from django.conf import settings

    from cards.catalog_sync import sync_catalog as run_catalog_sync

    if not settings.CATALOG_SYNC_ENABLED:
        return []
    return [run.pk for run in run_catalog_sync(game)]
