from django.conf import settings
from django.core.management.base import BaseCommand

from collections_app.import_storage import purge_old_imports


class Command(BaseCommand):
    help = (
        "Delete collection imports uploaded more than COLLECTION_IMPORT_KEEP_DAYS days ago "
        "(imported, discarded, unreadable or left open), with their rows. The items they "
        "added stay. Safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would be deleted; delete nothing."
        )

    def handle(self, *args, dry_run=False, **options):
        count = purge_old_imports(dry_run=dry_run)
        verb = "Would delete" if dry_run else "Deleted"
        days = settings.COLLECTION_IMPORT_KEEP_DAYS
        plural = "s" if count != 1 else ""
        self.stdout.write(f"{verb} {count} import{plural} uploaded more than {days} days ago.")
