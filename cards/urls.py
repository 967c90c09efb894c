from django.urls import path

from cards import views

app_name = "cards"

urlpatterns = [
    path("", views.home, name="home"),
    path("cards/", views.search, name="search"),
    path("cards/<int:pk>/<slug:slug>/", views.card_detail, name="detail"),
    path("cards/<int:pk>/", views.card_detail, name="detail_short"),
    path("sets/", views.set_list, name="set_list"),
    path("sets/<str:game>/<str:code>/", views.set_detail, name="set_detail"),
]
