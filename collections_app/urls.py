from django.urls import path

from collections_app import import_views, views

app_name = "collections"

urlpatterns = [
    path("", views.collection_list, name="list"),
    path("new/", views.create, name="create"),
    path("add/", views.add_card, name="add_card"),
    path("watchlist/", views.watchlist, name="watchlist"),
    path("watch/<int:card_pk>/", views.toggle_watch, name="toggle_watch"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/settings/", views.edit, name="edit"),
    path("<int:pk>/delete/", views.delete, name="delete"),
    path("<int:pk>/share/", views.share, name="share"),
    path("<int:pk>/chart/", views.chart, name="chart"),
    path("<int:pk>/items/new/", views.add_item, name="add_item"),
    path("<int:pk>/export.csv", import_views.export_csv, name="export"),
    path("<int:pk>/import/", import_views.upload, name="import"),
    path("<int:pk>/import/<int:import_pk>/", import_views.preview, name="import_preview"),
    path(
        "<int:pk>/import/<int:import_pk>/rows/<int:row_pk>/",
        import_views.resolve_row,
        name="import_row",
    ),
    path("<int:pk>/import/<int:import_pk>/commit/", import_views.commit, name="import_commit"),
    path("<int:pk>/import/<int:import_pk>/discard/", import_views.discard, name="import_discard"),
    path("items/<int:pk>/", views.item_detail, name="item"),
    path("items/<int:pk>/edit/", views.edit_item, name="edit_item"),
    path("items/<int:pk>/delete/", views.delete_item, name="delete_item"),
    path("shared/<str:token>/", views.shared, name="shared"),
]
