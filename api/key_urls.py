from django.urls import path

from api import key_views

app_name = "api_keys"

urlpatterns = [
    path("", key_views.key_list, name="list"),
    path("create/", key_views.create, name="create"),
    path("<int:pk>/revoke/", key_views.revoke, name="revoke"),
]
