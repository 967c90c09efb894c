import datetime as dt
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from jobs import runs
from jobs.models import JobRun
from prices.pricecharting_import import import_category, import_price_guide, report_lines
from prices.sources.pricecharting import PRICE_GUIDE_CATEGORIES

URL_PREFIXES = ("http://", "https://")


class Command(BaseCommand):
    help = (
        "Import a PriceCharting CSV price guide from a file or URL, or download the guide "
        "of a category (--category without a file). Safe to run again: the same file "
        "writes nothing new."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "source",
            nargs="?",
            metavar="FILE_OR_URL",
            help="A CSV/TSV file, or a URL (the token is added for PriceCharting's own host).",
        )
        parser.add_argument(
            "--category",
            choices=sorted(PRICE_GUIDE_CATEGORIES),
            help="The guide's category: restricts matching to that game; without "
            "FILE_OR_URL, downloads this category's guide from PriceCharting.",
        )
        parser.add_argument(
            "--date",
            type=dt.date.fromisoformat,
            help="The day the prices are of (YYYY-MM-DD); default today (UTC).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Read and match, but write nothing."
        )

    def handle(self, *args, source=None, category=None, date=None, dry_run=False, **options):
        self.verbosity = options.get("verbosity", 1)
        if not source and not category:
            raise CommandError("Give a file or URL, or --category to download its guide.")
        common = {"observed_on": date, "dry_run": dry_run, "progress": self._progress}
        with runs.exits_when_interrupted():
            if source and not source.startswith(URL_PREFIXES):
                path = Path(source)
                if not path.is_file():
                    raise CommandError(f"No such file: {source}")
                game = PRICE_GUIDE_CATEGORIES.get(category) if category else None
                run = import_price_guide(path, game=game, **common)
            else:
                name = source.split("?", 1)[0] if source else None
                run = import_category(category, url=source, name=name, **common)
        self._report(run)
        if run.status == JobRun.Status.FAILED:
            raise CommandError("The import failed; see the errors above.")

    def _progress(self, run: JobRun) -> None:
        if self.verbosity > 1:
            total = f" of {run.progress_total}" if run.progress_total else ""
            self.stdout.write(f"  {run.progress_done}{total} rows")

    def _report(self, run: JobRun) -> None:
        self.stdout.write(f"{run.description} — {run.get_status_display()}")
        self.stdout.write(
            f"Price points: {run.written} written, {run.unchanged} unchanged; "
            f"{run.rejected} rejected."
        )
        for line in report_lines(run.report):
            self.stdout.write(line)
        for error in run.errors:
            self.stderr.write(f"  {error}")
