"""The operator's read-only support views of one tenant: its documents and its query log.

Each visit is recorded in the operator log; nothing here changes the tenant's data."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from documents.selectors import clean_search
from operators import selectors
from tenants.audit import record_operator_action
from tenants.models import Tenant


def _context(
    model_admin: admin.ModelAdmin, request: HttpRequest, tenant: Tenant, title: str
) -> dict[str, Any]:
    return {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "tenant": tenant,
        "title": f"{title}: {tenant.name} (read-only)",
    }


def documents_view(
    model_admin: admin.ModelAdmin, request: HttpRequest, tenant_id: int
) -> HttpResponse:
    tenant = get_object_or_404(model_admin.get_queryset(request), pk=tenant_id)
    search = clean_search(request.GET.get("q", ""))[:200]  # no NUL: it is stored
    rows = selectors.support_documents(tenant, search=search)
    record_operator_action(
        operator=request.user, action="view_documents", tenant=tenant, detail=search
    )
    context = {
        **_context(model_admin, request, tenant, "Documents"),
        "rows": rows,
        "search": search,
        "limit": selectors.SUPPORT_ROWS,
    }
    return render(request, "admin/tenants/support_documents.html", context)


def queries_view(
    model_admin: admin.ModelAdmin, request: HttpRequest, tenant_id: int
) -> HttpResponse:
    tenant = get_object_or_404(model_admin.get_queryset(request), pk=tenant_id)
    rows = selectors.support_queries(tenant)
    record_operator_action(operator=request.user, action="view_queries", tenant=tenant)
    context = {
        **_context(model_admin, request, tenant, "Query log"),
        "rows": rows,
        "limit": selectors.SUPPORT_ROWS,
    }
    return render(request, "admin/tenants/support_queries.html", context)
