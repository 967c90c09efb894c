from django.apps import AppConfig


class CollectionsAppConfig(AppConfig):
    name = "collections_app"
    verbose_name = "Collections"

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from collections_app import receivers  # noqa: F401  (cached valuations forgotten)
        from collections_app.models import CollectionItem, Watch
        from prices import movers
        from prices.sync import HOT_CARD_PROVIDERS

        # "Most watched" is part of the movers' ranking: a watch or unwatch ranks again.
        def rank_watches_again(sender, **kwargs):
            movers.queue_refresh()

        for signal in (post_save, post_delete):
            signal.connect(rank_watches_again, sender=Watch, weak=False)

        # Owned and watched cards are synced often, not just daily: their owners look.
        HOT_CARD_PROVIDERS.append(lambda: CollectionItem.objects.values("card_id").distinct())
        HOT_CARD_PROVIDERS.append(lambda: Watch.objects.values("card_id").distinct())
