"""Usage reads for the analytics page, over the current tenant's documents table."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Count, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from documents.models import Document, DocumentStatus


@dataclass(frozen=True)
class DocumentTotals:
    documents: int
    chunks: int
    stored_bytes: int


def document_totals() -> DocumentTotals:
    totals = Document.objects.aggregate(
        documents=Count("id"), chunks=Sum("chunk_count"), stored=Sum("size")
    )
    return DocumentTotals(
        documents=int(totals["documents"] or 0),
        chunks=int(totals["chunks"] or 0),
        stored_bytes=int(totals["stored"] or 0),
    )


def documents_by_status() -> dict[str, int]:
    """Every status with its count, zeros included, in the pipeline's order."""
    counts = dict(
        Document.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n")
    )
    return {status: int(counts.get(status, 0)) for status in DocumentStatus.values}


def uploads_per_day(*, days: int = 30, today: date | None = None) -> list[tuple[date, int]]:
    """Uploads per calendar day (UTC) for the last `days` days, oldest first, gaps as 0."""
    today = today or timezone.now().date()
    first = today - timedelta(days=days - 1)
    rows = (
        Document.objects.filter(created_at__date__gte=first)
        .annotate(day=TruncDate("created_at"))
        .values_list("day")
        .annotate(n=Count("id"))
        .values_list("day", "n")
    )
    counts = dict(rows)
    return [
        (first + timedelta(days=i), int(counts.get(first + timedelta(days=i), 0)))
        for i in range(days)
    ]
