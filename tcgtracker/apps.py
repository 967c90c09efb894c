import logging

from django.apps import AppConfig
from django.conf import settings
from django.core.management import call_command
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate, post_save


class TcgTrackerConfig(AppConfig):
    """The project's own plumbing: health, metrics, logging, the shared cache."""

    name = "tcgtracker"
    verbose_name = "Operations"

    def ready(self):
        from django.contrib.auth import get_user_model

        from tcgtracker.accounts import verify_superuser_email
        from tcgtracker.lib.sql import read_timestamps_in_c

        post_migrate.connect(create_cache_table, sender=self)
        post_save.connect(verify_superuser_email, sender=get_user_model())
        connection_created.connect(read_timestamps_in_c)
        connect_apps()
        if settings.LOG_FORMAT == "json":
            # Python's warnings go through logging too, so that every line is JSON.
            logging.captureWarnings(True)


def create_cache_table(using, verbosity=1, **kwargs):
    """The zero-configuration cache lives in a database table: `migrate` makes sure it
    exists, so no setup step can be forgotten (a no-op with Redis as the cache)."""
    call_command("createcachetable", database=using, verbosity=max(0, verbosity - 1))


def connect_apps() -> None:
    """What peer apps contribute to each other, wired here, above them: neither alerts
    nor collections_app imports the other."""
    from alerts.tasks import DIGEST_CARD_PROVIDERS
    from collections_app.models import CollectionItem, Watch

    # A collector's daily digest reports the moves of what they watch and own too.
    DIGEST_CARD_PROVIDERS.append(lambda user: Watch.objects.filter(user=user).values("card_id"))
    DIGEST_CARD_PROVIDERS.append(
        lambda user: CollectionItem.objects.filter(collection__user=user).values("card_id")
    )
