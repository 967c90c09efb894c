import datetime as dt

from django.core.management import BaseCommand

from alerts.tasks import send_daily_digests


class Command(BaseCommand):
    help = "Send the daily digest to every user who asked for one (once per user and day)."

    def add_arguments(self, parser):
        parser.add_argument("--date", type=dt.date.fromisoformat, help="The day (YYYY-MM-DD).")

    def handle(self, *args, date=None, **options):
        result = send_daily_digests(today=date)
        self.stdout.write(
            ", ".join(f"{name}: {count}" for name, count in result.items()) or "No digests due."
        )
