"""The project's URLs plus the warehouse API, for the API tests."""

from django.urls import include, path

from config.urls import urlpatterns as project_urlpatterns

urlpatterns = [
    *project_urlpatterns,
    path("api/warehouse/", include("inventory.api_urls")),
]
