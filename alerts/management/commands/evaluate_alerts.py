from django.core.management import BaseCommand

from alerts.evaluation import evaluate_cards


class Command(BaseCommand):
    help = (
        "Evaluate active alerts against the latest prices (all cards, or --card ones). "
        "Safe to run at any time, also alongside the sync: each trigger is sent once."
    )

    def add_arguments(self, parser):
        parser.add_argument("--card", type=int, action="append", dest="card_ids", metavar="ID")

    def handle(self, *args, card_ids=None, **options):
        result = evaluate_cards(card_ids)
        self.stdout.write(
            f"{result.alerts} active alerts evaluated: {len(result.triggered)} triggered, "
            f"{result.rearmed} re-armed."
        )
