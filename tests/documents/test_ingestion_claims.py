"""A document being processed belongs to the run that took it.

After a worker dies, the stuck-document sweep re-queues what it held and, later, the broker
gives the dead worker's message back too; both runs must not work on the same document at
once (tests/faults/test_bulk_import.py saw one stored twice when they could). A `processing`
document is taken again only by its own run's message (redelivered or retried) or once it
has not moved for INGEST_STUCK_MINUTES.
"""

from __future__ import annotations

import io
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django_tenants.utils import schema_context

from documents import pipeline, services
from documents.models import Document, DocumentStatus


def processing(claimed_by: str, *, minutes_ago: float = 0) -> Document:
    """A stored upload that the run `claimed_by` took `minutes_ago`."""
    text = b"Harbour inventory. The crane logbook lists every lift of the season.\n"
    upload = services.Upload(io.BytesIO(text), "logbook.txt", len(text))
    (document,), _ = services.create_documents(uploads=[upload], uploaded_by=None, enqueue=False)
    Document.objects.filter(pk=document.pk).update(
        status=DocumentStatus.PROCESSING,
        claimed_by=claimed_by,
        attempts=1,
        updated_at=timezone.now() - timedelta(minutes=minutes_ago),
    )
    return document


def test_a_document_another_run_is_processing_is_left_to_it(make_tenant):
    with schema_context(make_tenant("claims_busy").schema):
        document = processing("task-a")
        results = pipeline.process_documents([document.pk], claim="task-b")
        document.refresh_from_db()
    assert [r.outcome for r in results] == ["skipped"]
    assert (document.status, document.claimed_by, document.attempts) == (
        DocumentStatus.PROCESSING,
        "task-a",
        1,
    )


def test_the_same_run_delivered_again_takes_its_document_back(make_tenant):
    with schema_context(make_tenant("claims_again").schema):
        document = processing("task-a")
        results = pipeline.process_documents([document.pk], claim="task-a")
        document.refresh_from_db()
    assert [r.outcome for r in results] == ["ready"]
    assert (document.status, document.attempts, document.chunk_count) == ("ready", 2, 1)


def test_a_document_left_processing_past_the_stuck_time_is_taken_by_another_run(make_tenant):
    with schema_context(make_tenant("claims_stale").schema):
        document = processing("task-a", minutes_ago=settings.INGEST_STUCK_MINUTES + 1)
        results = pipeline.process_documents([document.pk], claim="task-b")
        document.refresh_from_db()
    assert [r.outcome for r in results] == ["ready"]
    assert (document.status, document.claimed_by) == ("ready", "task-b")
