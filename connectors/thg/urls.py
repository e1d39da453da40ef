from django.urls import path

from . import views

app_name = "thg"

urlpatterns = [
    path("<str:connector_key>/events", views.events, name="events"),
]
