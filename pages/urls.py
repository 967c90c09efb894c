"""The composed pages keep the URL names they have always had: the catalog's pages under
"cards:", the card's price table, chart data and the movers under "prices:"."""

from django.urls import include, path

from pages import views

catalog = [
    path("", views.home, name="home"),
    path("cards/", views.search, name="search"),
    path("cards/<int:pk>/<slug:slug>/", views.card_detail, name="detail"),
    path("cards/<int:pk>/", views.card_detail, name="detail_short"),
    path("sets/", views.set_list, name="set_list"),
    path("sets/<str:game>/<str:code>/", views.set_detail, name="set_detail"),
]

# Two segments after the card id: "cards/<pk>/<slug>/" belongs to the card page.
prices = [
    path("cards/<int:pk>/prices/table/", views.card_prices, name="card_prices"),
    path("cards/<int:pk>/prices/history/", views.card_history, name="card_history"),
    path("cards/<int:pk>/prices/grading/", views.card_grading, name="card_grading"),
    path("movers/", views.movers_page, name="movers"),
]

urlpatterns = [
    path("", include((catalog, "cards"))),
    path("", include((prices, "prices"))),
]
