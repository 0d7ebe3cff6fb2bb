"""Usage reads for the analytics page, over the current tenant's documents table."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from zoneinfo import ZoneInfo

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate

from analytics.query_stats import Window
from documents.models import Document, DocumentStatus
from tenants.time_zones import UTC_ZONE


@dataclass(frozen=True)
class DocumentTotals:
    """All the workspace's documents now, whatever their status or upload date."""

    documents: int
    chunks: int
    stored_bytes: int
    # Every status, zeros included, in the pipeline's order.
    by_status: dict[str, int] = field(default_factory=dict)


def document_totals() -> DocumentTotals:
    """Counts, chunks, bytes stored and counts by status, in one aggregate."""
    per_status = {
        f"status_{status}": Count("id", filter=Q(status=status)) for status in DocumentStatus.values
    }
    totals = Document.objects.aggregate(
        documents=Count("id"), chunks=Sum("chunk_count"), stored=Sum("size"), **per_status
    )
    return DocumentTotals(
        documents=int(totals["documents"] or 0),
        chunks=int(totals["chunks"] or 0),
        stored_bytes=int(totals["stored"] or 0),
        by_status={status: int(totals[f"status_{status}"]) for status in DocumentStatus.values},
    )


def documents_by_status() -> dict[str, int]:
    """Every status with its count, zeros included, in the pipeline's order."""
    return document_totals().by_status


def uploads_per_day(
    *, days: int = 30, today: date | None = None, zone: ZoneInfo = UTC_ZONE
) -> list[tuple[date, int]]:
    """Uploads per calendar day in `zone` for the last `days` days, oldest first, gaps as 0."""
    window = Window.ending(days, today, zone=zone)
    rows = (
        Document.objects.filter(created_at__gte=window.start, created_at__lt=window.end)
        .annotate(day=TruncDate("created_at", tzinfo=zone))
        .values_list("day")
        .annotate(n=Count("id"))
        .values_list("day", "n")
    )
    counts = dict(rows)
    return [(day, int(counts.get(day, 0))) for day in window.dates()]
