from django.core.management import BaseCommand, CommandError

from cards.catalog_sync import sync_catalog
from cards.models import Game
from jobs import runs


class Command(BaseCommand):
    help = (
        "Fetch new sets and cards from the Pokémon TCG API and the OPTCG API into the "
        "catalog. Only sets missing cards are fetched unless --set names them; fields staff "
        "edited in the admin are left alone."
    )

    def add_arguments(self, parser):
        parser.add_argument("--game", choices=Game.values)
        parser.add_argument("--set", action="append", dest="set_codes", metavar="CODE")

    def handle(self, *args, game=None, set_codes=None, **options):
        failed = False
        with runs.exits_when_interrupted():
            done = sync_catalog(game, set_codes)
        for run in done:
            self.stdout.write(f"{run.description} — {run.get_status_display()}")
            for error in run.errors:
                self.stderr.write(f"  {error}")
            failed |= run.status == run.Status.FAILED
        if failed:
            raise CommandError("The catalog sync failed; see the errors above.")
