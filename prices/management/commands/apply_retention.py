from django.core.management import BaseCommand

from jobs import runs
from prices.retention import fold_old_points


class Command(BaseCommand):
    help = "Fold price points older than PRICE_RETENTION_DAYS (or --days) into one per day."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, help="Override PRICE_RETENTION_DAYS.")

    def handle(self, *args, days=None, **options):
        with runs.exits_when_interrupted():
            run = fold_old_points(days)
        self.stdout.write(run.description)
