"""Tenant-B documents for the isolation suite (tests/test_isolation.py)."""

from __future__ import annotations

from typing import Any

from django.core.files.base import ContentFile

from accounts.models import User
from tests.factories import ChunkFactory, DocumentFactory
from tests.isolation_registry import route_objects


@route_objects("document-detail", "document-reindex", "document-file")
def a_document(owner: User) -> dict[str, Any]:
    document = DocumentFactory(filename="tenant-b-secret.txt", uploaded_by=owner, chunk_count=1)
    ChunkFactory(document=document, ordinal=0, text="tenant B's secret text")
    # A stored original, so a download that crossed tenants would have something to send.
    document.file.save("tenant-b-secret.txt", ContentFile(b"tenant B's secret file"))
    return {"pk": document.pk}


@route_objects("chunk-detail")
def a_chunk(owner: User) -> dict[str, Any]:
    document = DocumentFactory(filename="tenant-b-chunk.txt", uploaded_by=owner, chunk_count=1)
    chunk = ChunkFactory(document=document, ordinal=0, text="tenant B's secret passage")
    return {"pk": chunk.pk}
