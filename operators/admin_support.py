"""The operator's read-only support views of one tenant: its documents and its query log.

They are operator access: the operator sees every collection of the workspace, also those
only some of its people read, so each page says so in a banner, marks the documents of
restricted collections, and each visit is recorded in the operator log with what it showed
(tenants/audit.py). Nothing here changes the tenant's data."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
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
        "restricted_collections": selectors.restricted_collections(tenant),
    }


def documents_detail(rows: list[dict[str, Any]], search: str) -> str:
    """What the documents view showed, for the operator log: how many documents, and the ids
    and collections of those in restricted collections."""
    parts = [f"{len(rows)} document(s) shown"]
    restricted = [row for row in rows if row["restricted"]]
    if restricted:
        names = sorted({name for row in restricted for name in row["collections"]})
        ids = ", ".join(str(row["id"]) for row in restricted)
        where = ", ".join(names) if names else "no collection"
        parts.append(f"{len(restricted)} of restricted collections ({where}): ids {ids}")
    if search:
        parts.append(f"name contains {search!r}")
    return "; ".join(parts)


def queries_detail(rows: list[dict[str, Any]] | None) -> str:
    """What the query-log view showed: how many texts, and the range of their ids."""
    if not rows:
        return "no query texts shown"
    ids = [row["id"] for row in rows]
    return (
        f"{len(rows)} query text(s) shown, ids {min(ids)} to {max(ids)}, whatever collections "
        "their callers read"
    )


def _tenant(model_admin: admin.ModelAdmin, request: HttpRequest, tenant_id: int) -> Tenant:
    """The tenant, for an operator who may view tenants: admin_view lets in any active staff
    account, and one without that permission must not read a tenant's data."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    tenant: Tenant = get_object_or_404(model_admin.get_queryset(request), pk=tenant_id)
    return tenant


def documents_view(
    model_admin: admin.ModelAdmin, request: HttpRequest, tenant_id: int
) -> HttpResponse:
    tenant = _tenant(model_admin, request, tenant_id)
    search = clean_search(request.GET.get("q", ""))[:200]  # no NUL: it is stored
    rows = selectors.support_documents(tenant, search=search)
    record_operator_action(
        operator=request.user,
        action="view_documents",
        tenant=tenant,
        detail=documents_detail(rows, search),
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
    tenant = _tenant(model_admin, request, tenant_id)
    rows = selectors.support_queries(tenant)
    record_operator_action(
        operator=request.user, action="view_queries", tenant=tenant, detail=queries_detail(rows)
    )
    context = {
        **_context(model_admin, request, tenant, "Query log"),
        "rows": rows,
        "limit": selectors.SUPPORT_ROWS,
    }
    return render(request, "admin/tenants/support_queries.html", context)
