from django.urls import path

from prices import staff_views

app_name = "staff"

urlpatterns = [
    path("", staff_views.sources, name="sources"),
    path("sources/<str:source>/sync/", staff_views.sync_now, name="sync_now"),
    path("jobs/", staff_views.jobs, name="jobs"),
    path("jobs/<int:pk>/", staff_views.job_detail, name="job_detail"),
    path("price-guide/", staff_views.price_guide_upload, name="price_guide_upload"),
    path("unmatched/", staff_views.unmatched, name="unmatched"),
    path("unmatched/consoles/", staff_views.consoles, name="consoles"),
    path("unmatched/consoles/map/", staff_views.map_console, name="map_console"),
    path("unmatched/<int:pk>/", staff_views.unmatched_row, name="unmatched_row"),
    path("unmatched/<int:pk>/match/", staff_views.match_row, name="match_row"),
]
