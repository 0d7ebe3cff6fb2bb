"""Tenant-B documents for the isolation suite (tests/test_isolation.py)."""

from __future__ import annotations

from typing import Any

from django.core.files.base import ContentFile

from accounts.models import Collection, CollectionMember, Role, User
from tests.factories import ChunkFactory, DocumentFactory, UserFactory
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


@route_objects("collection-detail", "collection-members")
def a_collection(owner: User) -> dict[str, Any]:
    collection = Collection.objects.create(name="tenant B's secret collection")
    DocumentFactory(filename="tenant-b-collected.txt", uploaded_by=owner, collections=[collection])
    return {"pk": collection.pk}


@route_objects("collection-member")
def a_collection_member(owner: User) -> dict[str, Any]:
    collection = Collection.objects.create(name="tenant B's members-only collection")
    member = UserFactory(role=Role.MEMBER, email="collected@tenant-b.test")
    CollectionMember.objects.create(collection=collection, user=member, can_upload=True)
    return {"pk": collection.pk, "user_id": member.pk}
