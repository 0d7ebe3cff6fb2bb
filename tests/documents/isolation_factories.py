"""Tenant-B documents for the isolation suite (tests/test_isolation.py)."""

from __future__ import annotations

from typing import Any

from accounts.models import User
from documents.models import Chunk, Document, DocumentStatus
from tests.isolation_registry import route_objects


@route_objects("document-detail", "document-reindex")
def a_document(owner: User) -> dict[str, Any]:
    document = Document.objects.create(
        filename="tenant-b-secret.txt",
        content_type="text/plain",
        size=12,
        sha256="b" * 64,
        status=DocumentStatus.READY,
        uploaded_by=owner,
        chunk_count=1,
    )
    Chunk.objects.create(document=document, ordinal=0, text="tenant B's secret text")
    return {"pk": document.pk}


@route_objects("chunk-detail")
def a_chunk(owner: User) -> dict[str, Any]:
    document = Document.objects.create(
        filename="tenant-b-chunk.txt",
        content_type="text/plain",
        size=12,
        sha256="c" * 64,
        status=DocumentStatus.READY,
        uploaded_by=owner,
        chunk_count=1,
    )
    chunk = Chunk.objects.create(document=document, ordinal=0, text="tenant B's secret passage")
    return {"pk": chunk.pk}
