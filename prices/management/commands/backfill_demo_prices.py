from django.core.management import BaseCommand

from jobs import runs
from prices.demo import backfill_demo_history


class Command(BaseCommand):
    help = (
        "Write simulated daily price history for the demo source (not market data). "
        "Cards that already have it are skipped."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=365)

    def handle(self, *args, days, **options):
        def progress(run):
            if run.progress_done % 100 == 0 or run.progress_done == run.progress_total:
                self.stdout.write(
                    f"  simulated history: {run.progress_done}/{run.progress_total} cards"
                )

        with runs.exits_when_interrupted():
            run = backfill_demo_history(days, progress=progress)
        self.stdout.write(
            f"Simulated history: {run.progress_total} cards, {run.written} prices written, "
            f"{run.unchanged} unchanged."
        )
