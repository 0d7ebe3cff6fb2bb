"""Routes each request to its tenant's schema by host name (django-tenants), with clear refusals."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import set_urlconf
from django_tenants.middleware.main import TenantMainMiddleware

from tenants.db import use_public_schema

HEALTH_PREFIX = "/health/"


def wants_json(request: HttpRequest) -> bool:
    accept = request.headers.get("Accept", "")
    return request.path.startswith("/api/") or (
        "application/json" in accept and "text/html" not in accept
    )


def refusal(request: HttpRequest, *, status: int, code: str, message: str) -> HttpResponse:
    """A refusal as JSON for API clients and as a small page for browsers."""
    if wants_json(request):
        return JsonResponse({"error": {"code": code, "message": message}}, status=status)
    return render(
        request,
        "errors/refusal.html",
        {"status": status, "message": message},
        status=status,
    )


class TenantRoutingMiddleware(TenantMainMiddleware):
    def process_request(self, request: HttpRequest) -> HttpResponse | None:
        if request.path.startswith(HEALTH_PREFIX):
            # Probes reach any host (or the pod IP); health never depends on a tenant.
            use_public_schema()
            request.urlconf = settings.PUBLIC_SCHEMA_URLCONF
            set_urlconf(request.urlconf)
            return None
        response: HttpResponse | None = super().process_request(request)
        if response is not None:
            return response
        tenant = getattr(request, "tenant", None)
        if tenant is not None and not tenant.is_active:
            use_public_schema()
            return refusal(
                request,
                status=403,
                code="tenant_inactive",
                message=(
                    f"The workspace '{tenant.name}' is deactivated. "
                    "Contact your administrator or our support to reactivate it."
                ),
            )
        return None

    def no_tenant_found(self, request: HttpRequest, hostname: str) -> HttpResponse:
        request.urlconf = settings.PUBLIC_SCHEMA_URLCONF
        return refusal(
            request,
            status=404,
            code="unknown_host",
            message=f"There is no workspace at {hostname}. Check the address you typed.",
        )
