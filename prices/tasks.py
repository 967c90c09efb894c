"""Background jobs of the prices app (django-q2). Each has a management command too."""

import datetime as dt
from pathlib import Path

from prices.demo import backfill_demo_history
from prices.retention import fold_old_points
from prices.sync import sync_source, usable_sources


def sync_prices(source: str | None = None, card_ids: list[int] | None = None) -> list[int]:
    """Sync the given source, or every usable one; returns the job run ids."""
    sources = [source] if source else usable_sources()
    return [sync_source(name, card_ids).pk for name in sources]


def apply_retention(older_than_days: int | None = None) -> int:
    return fold_old_points(older_than_days).pk


def backfill_demo(days: int = 365) -> int:
    return backfill_demo_history(days).pk


def import_price_guide_file(path: str, job_run_id: int, observed_on: str | None = None) -> None:
    """Import an uploaded price guide into its (queued) job run, then delete the upload."""
    from prices.models import JobRun
    from prices.pricecharting_import import import_price_guide

    upload = Path(path)
    try:
        run = JobRun.objects.filter(pk=job_run_id).first()
        if run is None or run.is_finished:
            return
        day = dt.date.fromisoformat(observed_on) if observed_on else None
        import_price_guide(upload, job_run=run, observed_on=day)
    finally:
        upload.unlink(missing_ok=True)


def rematch_waiting_rows(console_name: str, job_run_id: int | None = None) -> int | None:
    """Match a console's waiting price-guide rows again (after staff taught its set)."""
    from prices.guide_review import rematch_console
    from prices.models import JobRun

    run = None
    if job_run_id is not None:
        run = JobRun.objects.filter(pk=job_run_id).first()
        if run is None or run.is_finished:
            return None
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
