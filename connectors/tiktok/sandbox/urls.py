from django.urls import path, re_path

from . import views

app_name = "tiktok_sandbox"

urlpatterns = [
    path("oauth/authorize", views.authorize, name="authorize"),
    path("api/v2/token/get", views.token_get, name="token_get"),
    path("api/v2/token/refresh", views.token_refresh, name="token_refresh"),
    re_path(r"^(?P<api_path>.+)$", views.open_api, name="open_api"),
]
