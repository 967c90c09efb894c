from django.core.management import BaseCommand

from prices import uploads


class Command(BaseCommand):
    help = (
        "Mark job runs whose process died interrupted (and try their uploads again), queue "
        "uploads whose task was lost, delete uploads older than UPLOAD_MAX_AGE_HOURS."
    )

    def handle(self, *args, **options):
        done = uploads.sweep()
        self.stdout.write(
            f"{done['interrupted']} dead runs marked interrupted, {done['requeued']} uploads "
            f"queued again, {done['uploads_deleted']} old uploads deleted."
        )
