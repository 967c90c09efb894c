"""Reviewing a read import and committing it: every accepted row written in one
transaction, or nothing."""

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from collections_app import snapshots
from collections_app.importing.rows import new_item
from collections_app.importing.values import BATCH_SIZE, CommitRefused
from collections_app.models import CollectionImport, CollectionItem, ImportRow, Watch
from collections_app.valuation import forget_valuations

Status = ImportRow.Status


def discard_import(collection_import: CollectionImport) -> None:
    """Let an import go: its text and rows now; the record itself stays until the purge,
    so the upload still counts against its hour. A read in progress stores nothing."""
    with transaction.atomic():
        CollectionImport.objects.filter(pk=collection_import.pk).exclude(
            status=CollectionImport.Status.COMMITTED
        ).update(status=CollectionImport.Status.DISCARDED, content="")
        ImportRow.objects.filter(collection_import_id=collection_import.pk).delete()


def blocking_rows(collection_import: CollectionImport):
    """Rows that stop a commit: ambiguous or rejected, and not dropped."""
    return collection_import.rows.filter(dropped=False).filter(
        Q(status__in=[Status.AMBIGUOUS, Status.REJECTED]) | Q(status=Status.MATCHED, card=None)
    )


def accepted_rows(collection_import: CollectionImport):
    return collection_import.rows.filter(dropped=False, status=Status.MATCHED, card__isnull=False)


def choose_card(row: ImportRow, card_id: int) -> None:
    """Settle an ambiguous row on one of its candidates; ValueError for another card."""
    if row.status == Status.REJECTED:
        raise ValueError("A rejected row cannot be matched; drop it or fix the file.")
    if not row.candidates.filter(pk=card_id).exists():
        raise ValueError("Choose one of the cards offered for this row.")
    row.card_id = card_id
    row.status = Status.MATCHED
    row.save(update_fields=["card", "status"])


@dataclass
class CommitResult:
    items_created: int
    watches_created: int
    earliest_purchase: dt.date | None


def commit_import(collection_import: CollectionImport) -> CommitResult:
    """Write every accepted row in one transaction, once; CommitRefused otherwise."""
    collection = collection_import.collection
    with transaction.atomic():
        # The file's text is done with once its rows are written (or all of it is undone).
        claimed = CollectionImport.objects.filter(
            pk=collection_import.pk, status=CollectionImport.Status.READY
        ).update(status=CollectionImport.Status.COMMITTED, committed_at=timezone.now(), content="")
        if not claimed:
            current = CollectionImport.objects.filter(pk=collection_import.pk).first()
            if current and current.status == CollectionImport.Status.COMMITTED:
                raise CommitRefused("This file was already imported.")
            raise CommitRefused("This file is not ready to import yet.")
        blocking = blocking_rows(collection_import).count()
        if blocking:
            raise CommitRefused(
                f"{blocking} row{'s still need' if blocking != 1 else ' still needs'} a "
                "choice or to be dropped; nothing was imported."
            )
        accepted = list(
            accepted_rows(collection_import)
            .order_by("line")
            .values_list("card_id", "data", "watch_only")
        )
        if not accepted:
            raise CommitRefused("No rows are left to import.")
        items = [
            new_item(collection.pk, card_id, data)
            for card_id, data, watch_only in accepted
            if not watch_only
        ]
        CollectionItem.objects.bulk_create(items, batch_size=BATCH_SIZE)
        # bulk_create sends no post_save: the cached valuation goes here.
        forget_valuations([collection.pk])
        transaction.on_commit(lambda: forget_valuations([collection.pk]))
        watched = {card_id for card_id, _, watch_only in accepted if watch_only}
        already = set(
            Watch.objects.filter(user_id=collection.user_id).values_list("card_id", flat=True)
        )
        watches = [
            Watch(user_id=collection.user_id, card_id=card_id)
            for card_id in sorted(watched - already)
        ]
        Watch.objects.bulk_create(watches, ignore_conflicts=True)
        CollectionImport.objects.filter(pk=collection_import.pk).update(items_created=len(items))
    dates = [item.purchase_date for item in items if item.purchase_date]
    earliest = min(dates) if dates else None
    if earliest:
        snapshots.queue_backfill(collection, earliest)
    return CommitResult(len(items), len(watches), earliest)
