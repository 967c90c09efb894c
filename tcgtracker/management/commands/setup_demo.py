from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import BaseCommand, CommandError, call_command

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "tcg-demo-collector"


class Command(BaseCommand):
    help = (
        "Prepare a local demo instance: load the shipped demo catalog, create a demo "
        "login, backfill a year of simulated prices and set up the scheduled jobs. Safe to "
        "run again; refuses to create the demo login unless DEBUG is on."
    )

    def handle(self, *args, **options):
        call_command("load_catalog", demo=True, stdout=self.stdout, stderr=self.stderr)
        if not settings.DEBUG:
            raise CommandError(
                "DEBUG is off: not creating a demo login with a published password on what "
                "looks like a production instance."
            )
        user = self.ensure_demo_user()
        self.stdout.write("Backfilling a year of simulated (demo) price history…")
        call_command("backfill_demo_prices", days=365, stdout=self.stdout, stderr=self.stderr)
        self.ensure_demo_collection(user)
        call_command("setup_schedules", stdout=self.stdout, stderr=self.stderr)

    def ensure_demo_user(self):
        from allauth.account.models import EmailAddress

        User = get_user_model()
        user, created = User.objects.get_or_create(
            username="demo", defaults={"email": DEMO_EMAIL, "first_name": "Demo"}
        )
        if created or not user.check_password(DEMO_PASSWORD):
            user.set_password(DEMO_PASSWORD)
            user.save()
        EmailAddress.objects.update_or_create(
            user=user, email=DEMO_EMAIL, defaults={"verified": True, "primary": True}
        )
        self.stdout.write(
            self.style.SUCCESS(f"Demo login: {DEMO_EMAIL} / {DEMO_PASSWORD}")
            + (" (created)" if created else "")
        )
        return user

    def ensure_demo_collection(self, user):
        from collections_app.demo import create_demo_collection
        from collections_app.snapshots import backfill_snapshots, take_daily_snapshots

        collection = create_demo_collection(user)
        if collection is None:
            return
        first_day = min(item.owned_since() for item in collection.items.all())
        days = backfill_snapshots(collection.pk, first_day)
        take_daily_snapshots()
        self.stdout.write(
            f"Demo collection “{collection.name}”: {collection.items.count()} items, "
            f"{days} days of value history (simulated prices)."
        )
