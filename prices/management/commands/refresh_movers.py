from django.core.management import BaseCommand

from prices import movers


class Command(BaseCommand):
    help = (
        "Rank each game's movers and most watched cards again, choose each card's headline "
        "price for lists sorted by price, and store them."
    )

    def handle(self, *args, **options):
        movers.refresh_rankings()
        self.stdout.write("Movers ranked, price sort refreshed.")
