"""Background jobs of the collections app (django-q2). Each has a management command too."""

import datetime as dt


def read_import(import_id: int) -> None:
    """Parse and match an uploaded CSV into preview rows (progress on the import)."""
    from collections_app.importing import read_import as read

    read(import_id)


def take_daily_snapshots(day: str | None = None) -> int:
    """Record every collection's value and cost for a day (default today); idempotent."""
    from collections_app.snapshots import take_daily_snapshots as take

    return take(dt.date.fromisoformat(day) if day else None)


def backfill_snapshots(collection_id: int, since: str) -> int:
    """Recompute a collection's snapshots from a day until today from price history."""
    from collections_app.snapshots import backfill_snapshots as backfill

    return backfill(collection_id, dt.date.fromisoformat(since))


def purge_old_imports() -> int:
    """Delete collection imports uploaded more than COLLECTION_IMPORT_KEEP_DAYS ago."""
    from collections_app.import_storage import purge_old_imports as purge

    return purge()
