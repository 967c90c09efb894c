from django.urls import path

from alerts import views

app_name = "alerts"

urlpatterns = [
    path("", views.alert_list, name="list"),
    path("create/", views.create, name="create"),
    path("<int:pk>/", views.alert_detail, name="detail"),
    path("<int:pk>/edit/", views.edit, name="edit"),
    path("<int:pk>/pause/", views.pause, name="pause"),
    path("<int:pk>/resume/", views.resume, name="resume"),
    path("<int:pk>/delete/", views.delete, name="delete"),
    path("pause/<str:token>/", views.pause_link, name="pause_link"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("preview/", views.preview, name="preview"),
    path("channels/", views.channels, name="channels"),
    path("channels/<int:pk>/test/", views.channel_test, name="channel_test"),
    path("channels/<int:pk>/enable/", views.channel_enable, name="channel_enable"),
    path("channels/<int:pk>/disable/", views.channel_disable, name="channel_disable"),
    path("channels/<int:pk>/rename/", views.channel_rename, name="channel_rename"),
    path("channels/<int:pk>/delete/", views.channel_delete, name="channel_delete"),
    path("email-preferences/", views.email_preferences, name="email_preferences"),
]
