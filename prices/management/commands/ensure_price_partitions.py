from django.core.management import BaseCommand

from prices import partitions


class Command(BaseCommand):
    help = (
        "On PostgreSQL, create the price history's monthly partitions for this month and the "
        "next ones, and give points stranded in the default partition a month of their own."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--months-ahead",
            type=int,
            default=partitions.MONTHS_AHEAD,
            help=f"Months after the current one (default {partitions.MONTHS_AHEAD}).",
        )
        parser.add_argument("--dry-run", action="store_true", help="List, create nothing.")

    def handle(self, *args, months_ahead, dry_run, **options):
        if not partitions.is_partitioned():
            self.stdout.write("The price history is not partitioned here (PostgreSQL only).")
            return
        created = partitions.ensure_partitions(months_ahead, dry_run=dry_run)
        verb = "would create" if dry_run else "created"
        self.stdout.write(
            f"{verb} {len(created)} partitions" + (f": {', '.join(created)}" if created else ".")
        )
