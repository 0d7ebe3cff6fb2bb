"""Celery tasks of the search index. Thin: they run in the sender's tenant and call index."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from search.index import compact
from tenants.tasks import require_tenant

COMPACT_INDEX = "search.compact_index"
REBUILD_INDEX = "search.rebuild_index"


@shared_task(name=COMPACT_INDEX, acks_late=True)
@require_tenant
def compact_index() -> dict[str, Any]:
    """Fold recently added/removed chunks into the tenant's index file (one writer)."""
    result = compact()
    return {"outcome": result.outcome, "version": result.version, "vectors": result.vectors}


@shared_task(name=REBUILD_INDEX, acks_late=True)
@require_tenant
def rebuild_index() -> dict[str, Any]:
    """Rebuild the tenant's vector index from the embeddings stored in PostgreSQL."""
    result = compact(rebuild=True)
    return {"outcome": result.outcome, "version": result.version, "vectors": result.vectors}
