"""Celery tasks for ingestion. Thin: take ids, call the pipeline, decide about retries."""

from __future__ import annotations

import logging
import random
from datetime import timedelta
from typing import Any

import redis
from celery import Task, shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from documents.embeddings import TransientEmbeddingError
from documents.models import Document, DocumentStatus
from documents.pipeline import interrupted_reason, mark_failed, process_documents
from documents.sandbox import SandboxError
from documents.services import enqueue_ingestion
from tenants.each import for_each_tenant
from tenants.tasks import require_tenant

logger = logging.getLogger(__name__)

TRANSIENT_ERRORS: tuple[type[Exception], ...] = (
    OperationalError,
    InterfaceError,
    redis.RedisError,
    TransientEmbeddingError,
    SandboxError,
    FileNotFoundError,
)
MAX_RETRIES = 5


def backoff_seconds(retries: int, *, base: float = 2.0, cap: float = 300.0) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(cap, base * 2**retries)]."""
    return random.uniform(0, min(cap, base * (2**retries)))  # noqa: S311 - not for secrets


def _run(task: Task, document_ids: list[int], *, ocr_in_place: bool) -> dict[str, Any]:
    try:
        results = process_documents(
            document_ids, ocr_in_place=ocr_in_place, claim=task.request.id or ""
        )
    except SoftTimeLimitExceeded:
        # The limits travel with the message (the sender's settings), else the worker's.
        limit = (task.request.timelimit or (None, None))[1] or task.soft_time_limit
        logger.warning("ingest of documents %s passed its %s s time limit", document_ids, limit)
        for document_id in document_ids:  # those already ready stay ready
            mark_failed(
                document_id,
                f"Processing took longer than {_duration(limit)}, so it was stopped. Split "
                "the file into smaller ones and upload them, or ask support to raise the limit.",
            )
        return {"failed": document_ids}
    except TRANSIENT_ERRORS as exc:
        if task.request.retries >= MAX_RETRIES:
            for document_id in document_ids:
                mark_failed(
                    document_id,
                    "Processing kept failing because a service was unavailable "
                    f"({type(exc).__name__}). Use 'Reindex' to try again later.",
                )
            return {"failed": document_ids}
        logger.warning("ingest of documents %s hit %r; retrying", document_ids, exc)
        raise task.retry(exc=exc, countdown=backoff_seconds(task.request.retries)) from exc
    except Exception:
        logger.exception("ingest of documents %s failed unexpectedly", document_ids)
        for document_id in document_ids:
            mark_failed(
                document_id,
                "Processing failed unexpectedly. Use 'Reindex' to try again; if it fails "
                "again, contact support with the document's id.",
            )
        return {"failed": document_ids}
    return {str(r.document_id): r.outcome for r in results}


def _duration(seconds: float | None) -> str:
    if not seconds:
        return "its time limit"
    if seconds % 60 == 0:
        minutes = int(seconds // 60)
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"{seconds:g} seconds"


@shared_task(bind=True, name="documents.ingest_document", acks_late=True, max_retries=MAX_RETRIES)
@require_tenant
def ingest_document(self: Task, document_id: int, interactive: bool = False) -> dict[str, Any]:
    """Ingest one document (an API or dashboard upload). Sent to the interactive queue
    (``interactive``), a document that needs OCR is queued again on the bulk queue."""
    return _run(self, [document_id], ocr_in_place=not interactive)


@shared_task(bind=True, name="documents.ingest_documents", acks_late=True, max_retries=MAX_RETRIES)
@require_tenant
def ingest_documents(self: Task, document_ids: list[int]) -> dict[str, Any]:
    """Ingest a batch of documents (bulk uploads); they share one embedding call and write.
    Those that need OCR are queued again one by one, so no batch outlasts its time limit."""
    return _run(self, list(document_ids), ocr_in_place=len(document_ids) == 1)


def sweep_tenant(*, older_than: timedelta) -> dict[str, int]:
    """Re-queue (or fail, past INGEST_MAX_ATTEMPTS) this tenant's documents stuck in flight."""
    cutoff = timezone.now() - older_than
    stuck = Document.objects.filter(
        status__in=[DocumentStatus.PENDING, DocumentStatus.PROCESSING], updated_at__lt=cutoff
    ).only("id", "status", "attempts")
    requeued = failed = 0
    for document in stuck:
        if document.attempts >= int(settings.INGEST_MAX_ATTEMPTS):
            mark_failed(document.pk, interrupted_reason(document.attempts))
            failed += 1
            continue
        # Only if still stuck: a worker may have taken it since it was read (the dead
        # worker's message, given back by the broker), and must keep it to itself.
        if Document.objects.filter(
            pk=document.pk, status=document.status, updated_at__lt=cutoff
        ).update(status=DocumentStatus.PENDING, updated_at=timezone.now()):
            enqueue_ingestion(document.pk)
            requeued += 1
    return {"requeued": requeued, "failed": failed}


@shared_task(name="documents.sweep_stuck_documents")
def sweep_stuck_documents() -> dict[str, int]:
    """Beat task (public schema): find documents stuck in every active tenant."""
    older_than = timedelta(minutes=float(settings.INGEST_STUCK_MINUTES))
    totals = {"requeued": 0, "failed": 0}
    swept = for_each_tenant(
        lambda _tenant: sweep_tenant(older_than=older_than), job_name="sweep of stuck documents"
    )
    for counts in swept.results.values():
        for key, value in counts.items():
            totals[key] += value
    return totals
