"""Reads for documents (the current tenant's schema)."""

from __future__ import annotations

from django.db.models import QuerySet

from documents.models import Document, DocumentStatus


def document_list(*, status: str | None = None, search: str | None = None) -> QuerySet[Document]:
    queryset = Document.objects.select_related("uploaded_by")
    if status:
        queryset = queryset.filter(status=status)
    if search:
        queryset = queryset.filter(filename__icontains=search.strip())
    return queryset


def valid_status(value: str) -> bool:
    return value in DocumentStatus.values
