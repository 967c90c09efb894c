from django.urls import path

from account_data import views

app_name = "account_data"

urlpatterns = [
    path("", views.page, name="page"),
    path("export/", views.export, name="export"),
    path("delete/", views.delete, name="delete"),
]
