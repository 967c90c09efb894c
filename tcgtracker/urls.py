from django.contrib import admin
from django.urls import include, path

from tcgtracker import views

urlpatterns = [
    path("", include("pages.urls")),
    path("staff/", include("prices.staff_urls")),
    path("alerts/", include("alerts.urls")),
    path("collections/", include("collections_app.urls")),
    path("health/", views.health, name="health"),
    path("metrics", views.metrics, name="metrics"),
    path("api/v1/", include("api.urls")),
    path("accounts/api-keys/", include("api.key_urls")),
    path("accounts/data/", include("account_data.urls")),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
]
