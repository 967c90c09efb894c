from django.apps import AppConfig


class PricesConfig(AppConfig):
    name = "prices"

    def ready(self):
        from prices import (
            receivers,  # noqa: F401  (price writes → movers ranked again)
            uploads,  # noqa: F401  (retries interrupted uploads: jobs.runs)
        )
