"""Routes each request to its tenant's schema by host name (django-tenants), with clear refusals.

The host -> tenant lookup is a query in the public schema on every request (and two
`SET search_path` round trips around it). Each process therefore keeps the tenants it has
routed to for TENANT_CACHE_SECONDS (5 by default; 0 turns the cache off). Any save or
delete of a Tenant or Domain (deactivation, plan change, deletion, new domain) empties this
process's cache at once and again when its transaction commits; other processes see the
change within TENANT_CACHE_SECONDS. Unknown hosts are never cached, so a new tenant's
host works on its first request.

Host names are case-insensitive (RFC 4343): the incoming host is lower-cased and loses its
port and trailing dot before the lookup and the cache (Domain rows are stored lower-case).
Unlike django-tenants' default, `www.` is not stripped: a host routes only when it is
registered as a Domain, so `www.acme.example.com` is a 404 unless added as one.

django-tenants issues `SET search_path` on the first query after every `set_tenant`, even
when the connection's search path is already the tenant's (a persistent connection serving
the same tenant again). When the tenant came from the cache, so no query ran in between, the
path django-tenants recorded as in effect is kept and that round trip skipped (it forgets
the path itself whenever the server may have dropped it: rollback, reconnection).
"""

from __future__ import annotations

import copy
import threading
import time
from typing import Any

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.db import connection, transaction
from django.db.models.signals import post_delete, post_save
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.request import split_domain_port
from django.shortcuts import render
from django.urls import set_urlconf
from django_tenants.middleware.main import TenantMainMiddleware

from tenants.db import use_public_schema
from tenants.models import Domain, Tenant

HEALTH_PREFIX = "/health/"


def wants_json(request: HttpRequest) -> bool:
    accept = request.headers.get("Accept", "")
    return request.path.startswith("/api/") or (
        "application/json" in accept and "text/html" not in accept
    )


def refusal(
    request: HttpRequest, *, status: int, code: str, message: str, contact: str = ""
) -> HttpResponse:
    """A refusal as JSON for API clients and as a small page for browsers. A deactivated
    workspace's page offers the support address (`contact`), not a start page that would
    refuse again."""
    if wants_json(request):
        return JsonResponse({"error": {"code": code, "message": message}}, status=status)
    return render(
        request,
        "errors/refusal.html",
        {"status": status, "message": message, "contact": contact, "code": code},
        status=status,
    )


class TenantCache:
    """Host name -> Tenant for a few seconds, per process (thread-safe)."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, Tenant]] = {}
        self._lock = threading.Lock()

    def get(self, hostname: str) -> Tenant | None:
        with self._lock:
            entry = self._entries.get(hostname)
        if entry is None or entry[0] <= time.monotonic():
            return None
        # A copy per request: views may change their request.tenant without affecting others.
        return copy.copy(entry[1])

    def put(self, hostname: str, tenant: Tenant, seconds: float) -> None:
        with self._lock:
            if len(self._entries) >= 10_000:  # bounded whatever hosts are asked for
                self._entries.clear()
            self._entries[hostname] = (time.monotonic() + seconds, copy.copy(tenant))

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


tenant_cache = TenantCache()


def _forget_tenants(**_kwargs: Any) -> None:
    tenant_cache.clear()
    # A request between now and the commit could cache the old row again.
    transaction.on_commit(tenant_cache.clear)


for _model in (Tenant, Domain):
    post_save.connect(_forget_tenants, sender=_model, dispatch_uid=f"tenant-cache-{_model}-save")
    post_delete.connect(
        _forget_tenants, sender=_model, dispatch_uid=f"tenant-cache-{_model}-delete"
    )


_routing = threading.local()  # per request thread: did routing query the database?


def _keep_search_path(in_effect: list[str] | None) -> None:
    """Tell django-tenants the search path it last set is still the one the tenant needs."""
    needed = getattr(connection, "_get_cursor_search_paths", None)
    if in_effect and needed is not None and list(in_effect) == needed():
        connection.search_path_set_schemas = in_effect  # type: ignore[attr-defined]


class TenantRoutingMiddleware(TenantMainMiddleware):
    @staticmethod
    def hostname_from_request(request: HttpRequest) -> str:
        # get_host() checks ALLOWED_HOSTS (DisallowedHost is django-tenants' bare 404);
        # the split lower-cases and drops the port and a trailing dot.
        domain, _port = split_domain_port(request.get_host())
        return domain

    def get_tenant(self, domain_model: Any, hostname: str) -> Tenant:
        seconds = float(settings.TENANT_CACHE_SECONDS)
        tenant = tenant_cache.get(hostname) if seconds > 0 else None
        if tenant is None:
            _routing.queried = True
            tenant = super().get_tenant(domain_model, hostname)  # raises DoesNotExist
            if seconds > 0:
                tenant_cache.put(hostname, tenant, seconds)
        return tenant

    def process_request(self, request: HttpRequest) -> HttpResponse | None:
        if request.path.startswith(HEALTH_PREFIX):
            # Probes reach any host (or the pod IP); health never depends on a tenant.
            use_public_schema()
            request.urlconf = settings.PUBLIC_SCHEMA_URLCONF
            set_urlconf(request.urlconf)
            return None
        try:
            request.get_host()
        except DisallowedHost:
            # django-tenants answers an empty HTML 404; say it as every other refusal does.
            use_public_schema()
            request.urlconf = settings.PUBLIC_SCHEMA_URLCONF
            return refusal(
                request,
                status=404,
                code="unknown_host",
                message="There is no workspace at the address in the Host header. "
                "Check the address you typed.",
            )
        in_effect = getattr(connection, "search_path_set_schemas", None)
        _routing.queried = False
        response: HttpResponse | None = super().process_request(request)
        if response is not None:
            return response
        if not _routing.queried:
            _keep_search_path(in_effect)
        tenant = getattr(request, "tenant", None)
        static = request.path.startswith(str(settings.STATIC_URL))  # the refusal page's styles
        if tenant is not None and not tenant.is_active and not static:
            use_public_schema()
            support = str(settings.SUPPORT_EMAIL or "")
            whom = f"write to {support}" if support else "contact the platform's operators"
            return refusal(
                request,
                status=403,
                code="tenant_inactive",
                message=(
                    f"The workspace '{tenant.name}' is deactivated: nobody can sign in or use its "
                    f"API until it is reactivated. To reactivate it, its owner can {whom}."
                ),
                contact=support,
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
