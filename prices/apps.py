from django.apps import AppConfig


class PricesConfig(AppConfig):
    name = "prices"

    def ready(self):
        from prices import uploads  # noqa: F401  (retries interrupted uploads: jobs.runs)
