from django.apps import AppConfig


class CollectionsAppConfig(AppConfig):
    name = "collections_app"
    verbose_name = "Collections"

    def ready(self):
        from collections_app.models import CollectionItem, Watch
        from prices.sync import HOT_CARD_PROVIDERS

        # Owned and watched cards are synced often, not just daily: their owners look.
        HOT_CARD_PROVIDERS.append(lambda: CollectionItem.objects.values("card_id").distinct())
        HOT_CARD_PROVIDERS.append(lambda: Watch.objects.values("card_id").distinct())
