"""Background jobs of the prices app (django-q2). Each has a management command too."""

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
