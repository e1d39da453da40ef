from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("admin/", admin.site.urls),
    path("integrations/thg/", include("connectors.thg.urls")),
    path("integrations/tiktok/", include("connectors.tiktok.urls")),
    path("api/warehouse/", include("inventory.api_urls")),
]

if settings.SANDBOX_ENABLED:
    urlpatterns += [
        path("sandbox/thg/", include("connectors.thg.sandbox.urls")),
        path("sandbox/tiktok/", include("connectors.tiktok.sandbox.urls")),
    ]
