import datetime as dt

from django.core.management.base import BaseCommand
from django.db import transaction

from collections_app.snapshots import take_daily_snapshots


class Command(BaseCommand):
    help = (
        "Record every collection's value and cost as the snapshot of a day (default today), "
        "for the value-over-time chart. Safe to run again: it updates that day's snapshots."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--day", type=dt.date.fromisoformat, help="The day to record (YYYY-MM-DD)."
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Value the collections, but write nothing."
        )

    def handle(self, *args, day=None, dry_run=False, **options):
        with transaction.atomic():
            written = take_daily_snapshots(day)
            if dry_run:
                transaction.set_rollback(True)
        verb = "Would record" if dry_run else "Recorded"
        self.stdout.write(f"{verb} {written} collection snapshot{'s' if written != 1 else ''}.")
