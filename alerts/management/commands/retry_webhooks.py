from django.core.management import BaseCommand

from alerts.deliveries import retry_webhook_deliveries


class Command(BaseCommand):
    help = "Send webhook alerts whose retry is due and recover ones lost by a crashed worker."

    def handle(self, *args, **options):
        result = retry_webhook_deliveries()
        self.stdout.write(", ".join(f"{name}: {count}" for name, count in result.items()))
