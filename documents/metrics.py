"""Prometheus metrics for ingestion (exported by django-prometheus' /metrics endpoint)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

DOCUMENT_PROCESSING_SECONDS = Histogram(
    "document_processing_seconds",
    "Time spent per ingestion stage.",
    ["stage"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
DOCUMENTS_PROCESSED = Counter(
    "documents_processed_total", "Documents that finished ingestion, by outcome.", ["outcome"]
)

# Both outcomes at 0 from the start, so the ingestion alerts read a series before the first.
for _outcome in ("ready", "failed"):
    DOCUMENTS_PROCESSED.labels(outcome=_outcome)
