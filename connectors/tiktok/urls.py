from django.urls import path

from . import views

app_name = "tiktok"

urlpatterns = [
    path("<int:pk>/connect", views.connect, name="connect"),
    path("callback", views.callback, name="callback"),
    path("<str:key>/webhooks", views.webhook, name="webhooks"),
]
