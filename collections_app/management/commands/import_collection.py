from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from collections_app import importing
from collections_app.models import Collection, CollectionImport, ImportRow


class Command(BaseCommand):
    help = (
        "Import a CSV file (our own format, a Collectr export or a TCGplayer collection "
        "export) into a collection, as the import page does. Every row must match one "
        "card: otherwise nothing is written and the rows in doubt are listed."
    )

    def add_arguments(self, parser):
        parser.add_argument("collection_id", type=int)
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--dry-run", action="store_true", help="Read and match, list the rows, write nothing."
        )

    def handle(self, *args, collection_id, file, dry_run=False, **options):
        collection = Collection.objects.filter(pk=collection_id).first()
        if collection is None:
            raise CommandError(f"No collection {collection_id}.")
        if not file.is_file():
            raise CommandError(f"No such file: {file}")
        data = file.read_bytes()
        if len(data) > importing.max_upload_bytes():
            raise CommandError(f"{file} is larger than COLLECTION_IMPORT_MAX_BYTES.")
        try:
            text, note = importing.decode_upload(data)
        except importing.ImportFileError as error:
            raise CommandError(str(error)) from None
        if note:
            self.stderr.write(note)
        collection_import = CollectionImport.objects.create(
            collection=collection, filename=file.name[:255], content=text
        )
        try:
            self._read_and_commit(collection_import, dry_run=dry_run)
        finally:
            if dry_run or collection_import.status != CollectionImport.Status.COMMITTED:
                collection_import.delete()

    def _read_and_commit(self, collection_import: CollectionImport, *, dry_run: bool) -> None:
        importing.read_import(collection_import.pk)
        collection_import.refresh_from_db()
        if collection_import.status == CollectionImport.Status.FAILED:
            raise CommandError(collection_import.error)
        rows = collection_import.rows.order_by("line")
        matched = rows.filter(status=ImportRow.Status.MATCHED).count()
        in_doubt = list(rows.exclude(status=ImportRow.Status.MATCHED))
        self.stdout.write(
            f"{collection_import.get_format_display()}: {matched} rows matched, "
            f"{len(in_doubt)} ambiguous or rejected."
        )
        for row in in_doubt:
            self.stdout.write(f"  line {row.line} ({row.get_status_display()}): {row.reason}")
        if dry_run:
            self.stdout.write("Dry run: nothing was written.")
            return
        try:
            result = importing.commit_import(collection_import)
        except importing.CommitRefused as refusal:
            raise CommandError(str(refusal)) from None
        collection_import.refresh_from_db()
        self.stdout.write(
            f"Imported {result.items_created} items and {result.watches_created} watches "
            f"into {collection_import.collection}."
        )
