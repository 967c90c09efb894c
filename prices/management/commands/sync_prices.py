from django.core.management import BaseCommand, CommandError

from jobs import runs
from jobs.models import JobRun
from prices.sources.base import CLIENTS, get_client
from prices.sync import sync_source, usable_sources


class Command(BaseCommand):
    help = (
        "Ask price sources for the cards that are due (or the given cards) and write what "
        "they report. Safe to interrupt and run again: SIGTERM or Ctrl-C marks the run "
        "interrupted, and what it wrote is kept."
    )

    def add_arguments(self, parser):
        parser.add_argument("--source", choices=sorted(CLIENTS), help="Only this source.")
        parser.add_argument(
            "--card",
            type=int,
            action="append",
            dest="card_ids",
            metavar="ID",
            help="Only these cards (repeatable); due or not.",
        )

    def handle(self, *args, source=None, card_ids=None, **options):
        self.verbosity = options["verbosity"]
        if source:
            client = get_client(source)
            if not client.is_usable:
                raise CommandError(f"{client.label} is disabled or has no credentials configured.")
            sources = [source]
        else:
            sources = usable_sources()
            if not sources:
                raise CommandError("No price source is enabled and configured.")
        failed = False
        for name in sources:
            with runs.exits_when_interrupted():
                run = sync_source(name, card_ids, progress=self._progress)
            self.stdout.write(
                f"{name}: {run.get_status_display()} — {run.progress_done} of "
                f"{run.progress_total or 0} cards, {run.fetched} prices fetched, "
                f"{run.written} written, {run.unchanged} unchanged, {run.rejected} rejected"
            )
            for error in run.errors:
                self.stderr.write(f"  {error}")
            failed |= run.status == JobRun.Status.FAILED
        if failed:
            raise CommandError("A source could not be synced; see the errors above.")

    def _progress(self, run):
        if self.verbosity > 1:
            self.stdout.write(f"  {run.source}: {run.progress_done}/{run.progress_total}")
