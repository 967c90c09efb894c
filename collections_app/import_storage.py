"""How much of the server collection imports may take: each user's limits on uploads,
and the purge of old imports.

An upload is stored whole until it is imported, discarded or found unreadable, and
reading it keeps a worker busy: so a user may upload so many files an hour, and keep so
many open imports (and bytes) at once. The limits are settings (COLLECTION_IMPORT_*,
see the README); the operator's `import_collection` command is not limited.
"""

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, Q, Sum
from django.utils import timezone

from collections_app.models import CollectionImport

MEGABYTE = 1024 * 1024


@dataclass(frozen=True)
class ImportLimits:
    uploads_per_hour: int
    open_imports: int
    open_bytes: int
    file_bytes: int

    @property
    def open_megabytes(self) -> float:
        return self.open_bytes / MEGABYTE

    @property
    def file_megabytes(self) -> float:
        return self.file_bytes / MEGABYTE


def limits() -> ImportLimits:
    return ImportLimits(
        uploads_per_hour=settings.COLLECTION_IMPORT_UPLOADS_PER_HOUR,
        open_imports=settings.COLLECTION_IMPORT_MAX_OPEN,
        open_bytes=settings.COLLECTION_IMPORT_MAX_OPEN_BYTES,
        file_bytes=settings.COLLECTION_IMPORT_MAX_BYTES,
    )


@dataclass(frozen=True)
class ImportUsage:
    uploads_last_hour: int
    open_imports: int
    open_bytes: int

    @classmethod
    def of(cls, user, now: dt.datetime | None = None) -> "ImportUsage":
        """One query: the user's uploads of the last hour, and their open imports."""
        hour_ago = (now or timezone.now()) - dt.timedelta(hours=1)
        is_open = Q(status__in=CollectionImport.OPEN_STATUSES)
        counts = CollectionImport.objects.filter(collection__user=user).aggregate(
            uploads=Count("pk", filter=Q(created_at__gte=hour_ago)),
            open=Count("pk", filter=is_open),
            open_bytes=Sum("size", filter=is_open),
        )
        return cls(counts["uploads"], counts["open"], counts["open_bytes"] or 0)

    @property
    def open_megabytes(self) -> float:
        return self.open_bytes / MEGABYTE


def limit_error(user, size: int, now: dt.datetime | None = None) -> str | None:
    """Why the user may not store an upload of `size` bytes now, or None."""
    usage, allowed = ImportUsage.of(user, now), limits()
    if usage.uploads_last_hour >= allowed.uploads_per_hour:
        return (
            f"You have uploaded {usage.uploads_last_hour} files in the last hour, the most "
            f"allowed ({allowed.uploads_per_hour} an hour). Try again later."
        )
    if usage.open_imports >= allowed.open_imports:
        return (
            f"You have {usage.open_imports} imports not finished, the most allowed "
            f"({allowed.open_imports}). Import or discard one of them first."
        )
    if usage.open_bytes + size > allowed.open_bytes:
        return (
            f"Your imports not finished hold {usage.open_megabytes:.1f} MB; with this file "
            f"({size / MEGABYTE:.1f} MB) they would pass the {allowed.open_megabytes:.0f} MB "
            "allowed. Import or discard one of them first."
        )
    return None


def purge_old_imports(now: dt.datetime | None = None, *, dry_run: bool = False) -> int:
    """Delete every import uploaded more than COLLECTION_IMPORT_KEEP_DAYS ago — imported,
    discarded, unreadable or left open — with its rows; how many. Safe to run twice, and
    beside uploads: it only deletes what is already old."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.COLLECTION_IMPORT_KEEP_DAYS)
    old = CollectionImport.objects.filter(created_at__lt=cutoff)
    if dry_run:
        return old.count()
    deleted = 0
    # One import (and its rows) at a time: no long transaction over thousands of rows.
    for import_id in list(old.values_list("pk", flat=True)):
        count, _ = CollectionImport.objects.filter(pk=import_id).delete()
        deleted += 1 if count else 0
    return deleted
