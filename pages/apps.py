from django.apps import AppConfig


class PagesConfig(AppConfig):
    name = "pages"

    def ready(self):
        from pages import receivers  # noqa: F401  (writes → cached card pages checked again)
