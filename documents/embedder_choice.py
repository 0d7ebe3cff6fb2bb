"""Which embedder a tenant uses: its own override, else the platform's EMBEDDING_BACKEND."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import connection

from documents.embeddings import Embedder, get_embedder


def backend_options(backend: str) -> dict[str, Any]:
    if backend == "openai":
        return {
            "model": settings.OPENAI_EMBEDDING_MODEL,
            "api_key": settings.OPENAI_API_KEY or None,
            "base_url": settings.OPENAI_BASE_URL,
        }
    return {}


def backend_for_current_tenant() -> str:
    tenant = getattr(connection, "tenant", None)
    override = str(getattr(tenant, "embedding_backend", "") or "")
    return override or str(settings.EMBEDDING_BACKEND)


def embedder_for_current_tenant(backend: str | None = None) -> Embedder:
    """The embedder for the tenant the connection points at (or an explicit backend)."""
    name = backend or backend_for_current_tenant()
    return get_embedder(name, **backend_options(name))
