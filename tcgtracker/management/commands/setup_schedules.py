from django.core.management import BaseCommand

from tcgtracker.schedules import setup_schedules


class Command(BaseCommand):
    help = "Create or update the scheduled jobs (price sync, retention, ...). Idempotent."

    def handle(self, *args, **options):
        for name, created in setup_schedules():
            self.stdout.write(f"{name}: {'created' if created else 'up to date'}")
