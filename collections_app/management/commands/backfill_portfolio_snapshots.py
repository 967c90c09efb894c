import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from collections_app.models import Collection
from collections_app.snapshots import backfill_snapshots


class Command(BaseCommand):
    help = (
        "Rebuild collections' daily value snapshots from price history, from --since (or "
        "each collection's first owned day) to yesterday. Safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--collection",
            type=int,
            action="append",
            dest="collection_ids",
            metavar="ID",
            help="Only these collections (repeatable); default every collection with items.",
        )
        parser.add_argument(
            "--since",
            type=dt.date.fromisoformat,
            help="First day to rebuild (YYYY-MM-DD); default the collection's first owned day.",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Compute the snapshots, but write nothing."
        )

    def handle(self, *args, collection_ids=None, since=None, dry_run=False, **options):
        collections = Collection.objects.filter(items__isnull=False).distinct().order_by("pk")
        if collection_ids:
            collections = Collection.objects.filter(pk__in=collection_ids).order_by("pk")
            missing = set(collection_ids) - {c.pk for c in collections}
            if missing:
                raise CommandError(f"No collection with id {', '.join(map(str, sorted(missing)))}.")
        verb = "would write" if dry_run else "wrote"
        for collection in collections:
            start = since or _first_owned_day(collection)
            if start is None:
                self.stdout.write(f"{collection.pk} {collection.name}: no items, nothing to do")
                continue
            with transaction.atomic():
                days = backfill_snapshots(collection.pk, start)
                if dry_run:
                    transaction.set_rollback(True)
            self.stdout.write(
                f"{collection.pk} {collection.name}: {verb} {days} day{'s' if days != 1 else ''} "
                f"from {start:%Y-%m-%d}"
            )


def _first_owned_day(collection: Collection) -> dt.date | None:
    return min((item.owned_since() for item in collection.items.all()), default=None)
