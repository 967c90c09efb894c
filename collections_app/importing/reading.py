"""The read job: an upload's text parsed, validated and matched into its preview rows
(ImportRow: matched, ambiguous with candidates, or rejected with the reason) in one
transaction, so a preview never shows half a file."""

from django.db import transaction

from collections_app.importing.formats import parse_file
from collections_app.importing.matching import MatchResult, match_rows
from collections_app.importing.rows import ParsedRow
from collections_app.importing.values import BATCH_SIZE, ImportFileError
from collections_app.models import CollectionImport, ImportRow

Status = ImportRow.Status


def read_import(import_id: int) -> None:
    """Parse and match an import's file into its preview rows; safe to run twice."""
    claimed = CollectionImport.objects.filter(
        pk=import_id, status=CollectionImport.Status.PENDING
    ).update(status=CollectionImport.Status.READING, progress_done=0, error="")
    if not claimed:
        return
    collection_import = CollectionImport.objects.filter(pk=import_id).first()
    if collection_import is None:
        return
    try:
        _read(collection_import)
    except ImportFileError as error:
        _fail(import_id, str(error))
    except Exception:
        _fail(import_id, "Reading stopped on an unexpected error. Try again, or report it.")
        raise


def _fail(import_id: int, message: str) -> None:
    CollectionImport.objects.filter(pk=import_id, status=CollectionImport.Status.READING).update(
        status=CollectionImport.Status.FAILED, error=message, content=""
    )


def _progress(import_id: int, **fields) -> None:
    CollectionImport.objects.filter(pk=import_id).update(**fields)


def _read(collection_import: CollectionImport) -> None:
    import_id = collection_import.pk

    def progress(done: int, total: int) -> None:
        if done:
            _progress(import_id, progress_done=done)
        else:
            _progress(import_id, progress_total=total)

    spec, parsed = parse_file(collection_import.content, progress)
    results = match_rows(parsed)
    rows = [
        _import_row(collection_import, row, result)
        for row, result in zip(parsed, results, strict=True)
    ]
    links = []
    with transaction.atomic():
        # Discarded while being read: nothing to store.
        still_reading = (
            CollectionImport.objects.select_for_update()
            .filter(pk=import_id, status=CollectionImport.Status.READING)
            .exists()
        )
        if not still_reading:
            return
        ImportRow.objects.filter(collection_import_id=import_id).delete()
        created = ImportRow.objects.bulk_create(rows, batch_size=BATCH_SIZE)
        Link = ImportRow.candidates.through
        for row, result in zip(created, results, strict=True):
            links.extend(
                Link(importrow_id=row.pk, card_id=card_id) for card_id in result.candidates
            )
        Link.objects.bulk_create(links, batch_size=BATCH_SIZE)
        CollectionImport.objects.filter(pk=import_id).update(
            status=CollectionImport.Status.READY, format=spec.key, progress_done=len(rows)
        )


def _import_row(collection_import, row: ParsedRow, result: MatchResult) -> ImportRow:
    description = row.lookup.describe()
    if row.watch_only:
        description = f"Watchlist: {description}"
    if row.errors:
        status, reason = Status.REJECTED, "; ".join(row.errors)
    else:
        status, reason = result.status, result.reason
    if len(reason) > 300:
        reason = reason[:299] + "…"
    return ImportRow(
        collection_import=collection_import,
        line=row.line,
        status=status,
        card_id=result.card_id if status == Status.MATCHED else None,
        reason=reason,
        description=description[:300],
        data=row.data if not row.errors and not row.watch_only else {},
        watch_only=row.watch_only,
    )
