"""URLs on a tenant's host: the REST API under /api/v1/ and the dashboard.

One rule: every app that serves routes has `api_urls.py` (under /api/v1/) and/or
`page_urls.py` (dashboard pages), included here by name, so config imports no app.
"""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from config import exceptions, health

urlpatterns = [
    path("health/live", health.live),
    path("health/ready", health.ready),
    path(
        "api/v1/",
        include(
            [
                path("", include(f"{app}.api_urls"))
                for app in ("accounts", "documents", "queries", "analytics")
            ]
        ),
    ),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "api/docs/",
        # The split view serves Swagger UI's init script as a file, so CSP needs no inline JS.
        SpectacularSwaggerSplitView.as_view(
            url_name="api-schema", template_name="api/swagger_ui.html"
        ),
        name="api-docs",
    ),
    # Last under api/: an unknown API path is the JSON 404 even with DEBUG on.
    re_path(r"^api/(?P<rest>.*)$", exceptions.no_api_route),
    *(
        path("", include(f"{app}.page_urls"))
        for app in ("documents", "queries", "analytics", "accounts")
    ),
]

# JSON under /api/, Django's pages elsewhere.
handler404 = "config.exceptions.not_found"
handler500 = "config.exceptions.server_error"
