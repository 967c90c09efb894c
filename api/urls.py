from django.urls import path, re_path

from api import account_views, views  # noqa: F401  (their operations join the declaration)
from api.ninja_api import routes

app_name = "api"

# No trailing slashes: /api/v1/cards, /api/v1/cards/42. Anything else under /api/v1/ is
# a JSON 404, never the site's HTML page.
urlpatterns = [
    path("openapi.json", views.openapi_document, name="openapi"),
    *routes(),
    # Any character, a line break too (a "." would not match it, and Django's HTML page
    # would answer).
    re_path(r"^(?P<path>[\s\S]*)\Z", views.not_found, name="not_found"),
]
