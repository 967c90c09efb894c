from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"

    def ready(self):
        from alerts import receivers  # noqa: F401  (price writes → evaluation → emails)
        from alerts.models import Alert
        from prices.sync import HOT_CARD_PROVIDERS

        # Cards with an active alert are synced often, not just daily.
        HOT_CARD_PROVIDERS.append(
            lambda: Alert.objects.filter(active=True).values("card_id").distinct()
        )
