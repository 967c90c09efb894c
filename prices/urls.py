from django.urls import path

from prices import views

app_name = "prices"

# Two segments after the card id: "cards/<pk>/<slug>/" belongs to the card page.
urlpatterns = [
    path("cards/<int:pk>/prices/table/", views.card_prices, name="card_prices"),
    path("cards/<int:pk>/prices/history/", views.card_history, name="card_history"),
    path("movers/", views.movers_page, name="movers"),
]
