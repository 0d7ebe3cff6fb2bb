"""URLs on a tenant's host: the REST API under /api/v1/ and the dashboard."""

from django.urls import include, path

from config import health

urlpatterns = [
    path("health/live", health.live),
    path("health/ready", health.ready),
    path("api/v1/", include("config.api_urls")),
    path("", include("accounts.urls")),
]
