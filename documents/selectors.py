"""Reads for documents (the current tenant's schema)."""

from __future__ import annotations

from django.db.models import QuerySet

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


def document_list(
    *, status: str | None = None, search: str | None = None, ordering: str | None = None
) -> QuerySet[Document]:
    queryset = Document.objects.select_related("uploaded_by")
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
