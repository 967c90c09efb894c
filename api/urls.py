from django.urls import path, re_path

from api import views

app_name = "api"

# No trailing slashes: /api/v1/cards, /api/v1/cards/42. Anything else under /api/v1/ is
# a JSON 404, never the site's HTML page.
urlpatterns = [
    path("openapi.json", views.openapi_document, name="openapi"),
    path("cards", views.cards, name="cards"),
    re_path(r"^cards/(?P<card_id>[0-9]{1,30})$", views.card_detail, name="card"),
    re_path(
        r"^cards/(?P<card_id>[0-9]{1,30})/prices/history$",
        views.card_history,
        name="card_history",
    ),
    path("sets", views.sets, name="sets"),
    path("prices/movers", views.price_movers, name="movers"),
    re_path(r"^(?P<path>.*)$", views.not_found, name="not_found"),
]
