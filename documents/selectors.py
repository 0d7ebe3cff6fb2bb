"""Reads for documents (the current tenant's schema)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Prefetch, QuerySet

from accounts.models import Collection
from documents.filetypes import clean_name_text
from documents.models import Document, DocumentStatus


def clean_search(text: str | None) -> str:
    """Name-search text cleaned the way uploaded names are (sanitize_filename): a name
    never holds NUL or other control characters, and PostgreSQL text cannot hold NUL,
    so they are dropped rather than sent to the database."""
    return clean_name_text(text or "")


# What the list can be sorted by (`?ordering=`, `-` for descending); ties keep newest first.
ORDERINGS = {
    "name": "filename",
    "size": "size",
    "status": "status",
    "created": "created_at",
}
DEFAULT_ORDERING = "-created"


def valid_ordering(value: str) -> bool:
    return value.removeprefix("-") in ORDERINGS


# A document's collections, ids only: what the API's `collection_ids` shows.
COLLECTION_IDS = Prefetch("collections", queryset=Collection.objects.only("id").order_by("id"))


def readable_documents(collection_ids: frozenset[int] | None) -> QuerySet[Document]:
    """The documents in at least one of `collection_ids` (None: every document).

    `collection_ids` is what accounts.collection_access.readable_collection_ids returned for
    the caller; a document outside them is treated as if it did not exist.
    """
    if collection_ids is None:
        return Document.objects.all()
    return Document.objects.filter(id__in=_in_collections(collection_ids))


def _in_collections(collection_ids: Iterable[int]) -> QuerySet[Any]:
    through = Document.collections.through
    return through.objects.filter(collection_id__in=list(collection_ids)).values("document_id")


def readable_document_ids(collection_ids: frozenset[int] | None) -> list[int] | None:
    """The ids of readable_documents, sorted, for search's document filter; None: all."""
    if collection_ids is None:
        return None
    return sorted(_in_collections(collection_ids).distinct().values_list("document_id", flat=True))


def document_list(
    *,
    status: str | None = None,
    search: str | None = None,
    ordering: str | None = None,
    readable: frozenset[int] | None = None,
    collection: int | None = None,
) -> QuerySet[Document]:
    """The documents `readable` lets the caller see, filtered; `collection`: only that one's."""
    queryset = readable_documents(readable).select_related("uploaded_by")
    if collection is not None:
        queryset = queryset.filter(id__in=_in_collections([collection]))
    if ordering and valid_ordering(ordering):
        field = ORDERINGS[ordering.removeprefix("-")]
        descending = ordering.startswith("-")
        queryset = queryset.order_by(f"-{field}" if descending else field, "-created_at", "-id")
    if status:
        queryset = queryset.filter(status=status)
    search = clean_search(search)
    if search:
        queryset = queryset.filter(filename__icontains=search)
    return queryset


def valid_status(value: str) -> bool:
    return value in DocumentStatus.values


def documents_waiting() -> bool:
    """Whether any document of the current tenant waits for a worker."""
    return Document.objects.filter(status=DocumentStatus.PENDING).exists()
