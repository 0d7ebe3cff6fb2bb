"""Operator reads across tenant schemas: usage per tenant and read-only support views.

Each function switches into the tenant's schema with `tenant_context` and switches back
when done, so the admin request always continues in the public schema.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import connection
from django.db.models import Count, Prefetch, Sum
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import Collection
from documents.models import Document
from documents.selectors import clean_search
from queries.models import Query
from tenants.models import Tenant

SUPPORT_ROWS = 200


@dataclass(frozen=True)
class TenantUsage:
    documents: int
    chunks: int
    storage_bytes: int
    # None while the tenant's schema has no query log table yet (shown as "-").
    queries_30d: int | None


def _has_table(schema: str, table: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [f'"{schema}"."{table}"'])
        row = cursor.fetchone()
    return bool(row and row[0])


def _query_model() -> Any:
    return Query


def tenant_usage(tenant: Tenant) -> TenantUsage:
    with tenant_context(tenant):
        totals = Document.objects.aggregate(
            documents=Count("id"), chunks=Sum("chunk_count"), storage=Sum("size")
        )
        queries: int | None = None
        if _has_table(tenant.schema_name, "queries_query"):
            since = timezone.now() - timedelta(days=30)
            queries = _query_model().objects.filter(created_at__gte=since).count()
    return TenantUsage(
        documents=int(totals["documents"] or 0),
        chunks=int(totals["chunks"] or 0),
        storage_bytes=int(totals["storage"] or 0),
        queries_30d=queries,
    )


def restricted_collections(tenant: Tenant) -> list[str]:
    """The names of the tenant's collections that not everyone reads (all but the default)."""
    with tenant_context(tenant):
        return list(Collection.objects.filter(is_default=False).values_list("name", flat=True))


def support_documents(tenant: Tenant, *, search: str = "") -> list[dict[str, Any]]:
    """The tenant's newest documents as plain rows (evaluated inside the schema).

    Each row names its collections; `restricted` is true for a document that is not in the
    default collection, so only owners, admins and its collections' members read it."""
    in_collections = Prefetch(
        "collections", queryset=Collection.objects.only("id", "name", "is_default")
    )
    with tenant_context(tenant):
        documents = (
            Document.objects.select_related("uploaded_by")
            .prefetch_related(in_collections)
            .order_by("-created_at", "-id")
        )
        search = clean_search(search)  # no NUL: PostgreSQL text cannot hold it
        if search:
            documents = documents.filter(filename__icontains=search)
        return [
            {
                "id": d.pk,
                "filename": d.filename,
                "content_type": d.content_type,
                "size": d.size,
                "status": d.status,
                "progress": d.progress,
                "error": d.error,
                "page_count": d.page_count,
                "chunk_count": d.chunk_count,
                "attempts": d.attempts,
                "uploaded_by": d.uploaded_by.email if d.uploaded_by else "",
                "created_at": d.created_at,
                "processed_at": d.processed_at,
                **_access(d),
            }
            for d in documents[:SUPPORT_ROWS]
        ]


def _access(document: Document) -> dict[str, Any]:
    collections = list(document.collections.all())
    return {
        "collections": [c.name for c in collections],
        "restricted": not any(c.is_default for c in collections),
    }


def support_queries(tenant: Tenant) -> list[dict[str, Any]] | None:
    """The tenant's newest query log rows, or None when it has no query log table yet."""
    with tenant_context(tenant):
        if not _has_table(tenant.schema_name, "queries_query"):
            return None
        rows = (
            _query_model()
            .objects.select_related("user", "feedback")
            .order_by("-created_at")[:SUPPORT_ROWS]
        )
        return [
            {
                "id": q.pk,
                "created_at": q.created_at,
                "kind": q.kind,
                "text": q.text,
                "mode": q.mode,
                "caller": q.user.email if q.user else (q.api_key_prefix or "-"),
                "result_count": q.result_count,
                "total_ms": q.total_ms,
                "cached": q.cached,
                "degraded": q.degraded,
                "error": q.error,
                "feedback": _feedback(q),
            }
            for q in rows
        ]


def _feedback(query: Any) -> str:
    feedback = getattr(query, "feedback", None)
    if feedback is None:
        return ""
    return "helpful" if feedback.helpful else "not helpful"
