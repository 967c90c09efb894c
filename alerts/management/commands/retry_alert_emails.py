from django.core.management import BaseCommand

from alerts.tasks import retry_alert_emails


class Command(BaseCommand):
    help = "Send alert emails whose retry is due and recover ones lost by a crashed worker."

    def handle(self, *args, **options):
        result = retry_alert_emails()
        self.stdout.write(
            ", ".join(f"{name}: {count}" for name, count in result.items()) or "Nothing to retry."
        )
