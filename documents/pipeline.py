"""The ingestion pipeline: extract (→ OCR) → chunk → embed → store (+ index), each stage timed.

`process_documents(ids)` handles a batch (one id for an API upload, dozens for bulk
ingestion): every document is extracted and chunked on its own, the batch's chunks are
embedded together, and everything is stored in one transaction. It is idempotent: a
document's chunks are replaced wholesale, so running it twice yields the same chunks,
never duplicates. Pages without a usable text layer are recognised by the OCR stage
(documents/ocr_stage.py), only in a single-document task on the bulk queue: elsewhere such a
document is queued again there (outcome "queued"). A permanent problem with a file ends that
document `failed` with a sentence; transient trouble (database, Redis, embedding provider,
the sandbox itself) propagates so the task retries.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.db.models.functions import Greatest
from django.utils import timezone

from documents import index_changes, ocr_stage
from documents.chunking import ChunkDraft, ChunkingTimeout, chunk_blocks
from documents.embedder_choice import embedder_for_current_tenant
from documents.embeddings import Embedder, EmbeddingError, TransientEmbeddingError
from documents.extractors.base import ExtractionError, ExtractionResult
from documents.metrics import DOCUMENT_PROCESSING_SECONDS, DOCUMENTS_PROCESSED
from documents.models import Chunk, Document, DocumentStatus
from documents.sandbox import extract_in_sandbox
from documents.services import enqueue_ingestion

logger = logging.getLogger(__name__)


@dataclass
class IngestResult:
    document_id: int
    outcome: str  # ready | failed | skipped | missing | queued (for OCR on the bulk queue)
    chunk_count: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    error: str = ""


class PermanentIngestError(Exception):
    """The document cannot be processed; the message is shown to the user."""


@dataclass
class _Prepared:
    document: Document
    result: ExtractionResult
    drafts: list[ChunkDraft]
    timings: dict[str, float]
    vectors: np.ndarray | None = None
    embedding_tokens: int = 0


@contextmanager
def _stage(name: str, timings: dict[str, float]) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        elapsed = time.perf_counter() - started
        timings[f"{name}_ms"] = round(elapsed * 1000, 2)
        DOCUMENT_PROCESSING_SECONDS.labels(stage=name).observe(elapsed)


def _set_progress(document_id: int, progress: int) -> None:
    # Touching updated_at also tells the stuck-document sweep that work is alive.
    Document.objects.filter(pk=document_id).update(progress=progress, updated_at=timezone.now())


def _claim(document_ids: Sequence[int], claim: str) -> tuple[list[Document], list[IngestResult]]:
    """Mark the batch's documents `processing` under `claim` (one statement); report the others.

    A pending document is taken. A `processing` one is taken again only by the same claim
    (the task's own message, redelivered after its worker died, or retried) or once it has
    not moved for INGEST_STUCK_MINUTES (its holder is gone): never while another task works
    on it, as a document the sweep re-queued would be when the dead worker's message comes
    back too. One taken again INGEST_MAX_ATTEMPTS times fails instead: a file that kills its
    worker every time (or passes the hard time limit) does not come back for ever.
    """
    table = Document._meta.db_table
    stale = timezone.now() - timedelta(minutes=float(settings.INGEST_STUCK_MINUTES))
    retaken = Q(status=DocumentStatus.PROCESSING) & (Q(claimed_by=claim) | Q(updated_at__lt=stale))
    for pk, taken in Document.objects.filter(
        retaken, pk__in=document_ids, attempts__gte=int(settings.INGEST_MAX_ATTEMPTS)
    ).values_list("pk", "attempts"):
        mark_failed(pk, interrupted_reason(taken))
    with connection.cursor() as cursor:
        # Plain SQL: Django's bulk_update builds CASE expressions that cost ~5 ms per row.
        cursor.execute(
            f"UPDATE {table} SET status = %s, attempts = attempts + 1, progress = 5, "  # noqa: S608
            "error = '', claimed_by = %s, processing_started_at = now(), updated_at = now() "
            "WHERE id = ANY(%s) AND (status = %s OR (status = %s AND (claimed_by = %s "
            "OR updated_at < %s))) RETURNING id",
            [
                DocumentStatus.PROCESSING,
                claim,
                list(document_ids),
                DocumentStatus.PENDING,
                DocumentStatus.PROCESSING,
                claim,
                stale,
            ],
        )
        claimed_ids = {row[0] for row in cursor.fetchall()}
    claimed = list(Document.objects.filter(pk__in=claimed_ids).order_by("pk"))
    others = dict(
        Document.objects.filter(pk__in=set(document_ids) - claimed_ids).values_list(
            "pk", "chunk_count"
        )
    )
    skipped = [
        IngestResult(pk, "skipped", chunk_count=others[pk])
        if pk in others
        else IngestResult(pk, "missing")
        for pk in document_ids
        if pk not in claimed_ids
    ]
    return claimed, skipped


def extract(document: Document) -> ExtractionResult:
    path = Path(document.file.path)
    if not path.is_file():
        raise PermanentIngestError(
            "The stored file is missing (it may have been deleted); upload the document again."
        )
    return extract_in_sandbox(
        path,
        document.content_type,
        cpu_seconds=int(settings.EXTRACT_CPU_SECONDS),
        memory_bytes=int(settings.EXTRACT_MEMORY_MB) * 1024 * 1024,
        wall_seconds=float(settings.EXTRACT_WALL_SECONDS),
    )


def _prepare(document: Document, *, report_progress: bool, ocr_in_place: bool) -> _Prepared:
    timings: dict[str, float] = {}
    with _stage("extract", timings):
        result = extract(document)
    if result.ocr_pages:
        if ocr_stage.needs_ocr(result) and not ocr_in_place:
            raise ocr_stage.NeedsBulkQueue
        with _stage("ocr", timings):
            result = ocr_stage.complete(document, result, _ocr_progress(document.pk))
    if report_progress:
        _set_progress(document.pk, 35)
    with _stage("chunk", timings):
        budget = float(settings.CHUNK_SECONDS)
        try:
            drafts = chunk_blocks(
                result.blocks,
                target_tokens=int(settings.CHUNK_TARGET_TOKENS),
                overlap_ratio=float(settings.CHUNK_OVERLAP_RATIO),
                deadline=time.monotonic() + budget,
            )
        except ChunkingTimeout as exc:
            raise PermanentIngestError(
                f"Splitting the text into passages took more than {budget:g} seconds, so "
                "it was stopped. The file holds unusually much or unusual text; split it "
                "into smaller files and upload them."
            ) from exc
    if not drafts:
        raise PermanentIngestError(
            "The file contains no text to index. If it is a scan, export it with a text "
            "layer (OCR) and upload it again."
        )
    return _Prepared(document, result, drafts, timings)


def _ocr_progress(document_id: int) -> ocr_stage.Progress:
    """Progress from 5 to 30 while pages are recognised (touching updated_at, so the sweep
    sees a long scan is alive)."""

    def report(done: int, total: int) -> None:
        _set_progress(document_id, 5 + 25 * done // max(1, total))

    return report


def _queue_for_ocr(document_id: int) -> IngestResult:
    """Give the document back, to be read alone on the bulk queue (docs/ingestion.md "OCR")."""
    Document.objects.filter(pk=document_id).update(
        status=DocumentStatus.PENDING,
        attempts=Greatest(F("attempts") - 1, 0),  # this run does not count as an attempt
        updated_at=timezone.now(),
    )
    transaction.on_commit(lambda: enqueue_ingestion(document_id, bulk=True))
    return IngestResult(document_id, "queued")


def embed_texts(embedder: Embedder, texts: list[str]) -> np.ndarray:
    batch = max(1, int(settings.EMBED_BATCH_SIZE))
    parts = [embedder.embed_documents(texts[i : i + batch]) for i in range(0, len(texts), batch)]
    matrix = np.vstack(parts) if parts else np.zeros((0, embedder.dimension), dtype=np.float32)
    return np.ascontiguousarray(matrix, dtype="<f4")


def _embed(embedder: Embedder, batch: list[_Prepared]) -> list[_Prepared]:
    """Embed the whole batch at once; on a permanent error, find the document to blame."""
    texts = [draft.text for item in batch for draft in item.drafts]
    started = time.perf_counter()
    tokens_before = int(embedder.usage_tokens)
    try:
        matrix = embed_texts(embedder, texts)
    except TransientEmbeddingError:
        raise
    except EmbeddingError:
        if len(batch) == 1:
            raise
        survivors: list[_Prepared] = []
        for item in batch:
            try:
                survivors.extend(_embed(embedder, [item]))
            except EmbeddingError as exc:
                mark_failed(item.document.pk, f"The embedding service refused this document: {exc}")
        return survivors
    elapsed = time.perf_counter() - started
    DOCUMENT_PROCESSING_SECONDS.labels(stage="embed").observe(elapsed)
    offset = 0
    for item in batch:
        count = len(item.drafts)
        item.vectors = matrix[offset : offset + count]
        item.timings["embed_ms"] = round(elapsed * 1000 * count / max(1, len(texts)), 2)
        offset += count
    _share_tokens(batch, int(embedder.usage_tokens) - tokens_before)
    return batch


def _share_tokens(batch: list[_Prepared], billed: int) -> None:
    """Split the tokens the provider billed for a batch by each document's share of its text."""
    if billed <= 0:
        return
    sizes = [sum(max(1, d.token_count) for d in item.drafts) for item in batch]
    total = max(1, sum(sizes))
    shares = [billed * size // total for size in sizes]
    shares[sizes.index(max(sizes))] += billed - sum(shares)  # rounding lands on the largest
    for item, share in zip(batch, shares, strict=True):
        item.embedding_tokens = share


def _embedding_cost(tokens: int) -> str:
    return f"{tokens * float(settings.PRICE_EMBEDDING_PER_MTOK) / 1_000_000:.6f}"


def _store(batch: list[_Prepared], embedder: Embedder) -> list[IngestResult]:
    started = time.perf_counter()
    with transaction.atomic():
        ids = [item.document.pk for item in batch]
        alive = set(
            Document.objects.select_for_update().filter(pk__in=ids).values_list("pk", flat=True)
        )
        batch = [item for item in batch if item.document.pk in alive]
        old_ids = list(Chunk.objects.filter(document_id__in=alive).values_list("id", flat=True))
        Chunk.objects.filter(document_id__in=alive).delete()
        rows: list[Chunk] = []
        for item in batch:
            assert item.vectors is not None
            rows.extend(
                Chunk(
                    document_id=item.document.pk,
                    ordinal=draft.ordinal,
                    text=draft.text,
                    page=draft.page,
                    section=draft.section[:500],
                    char_start=draft.char_start,
                    char_end=draft.char_end,
                    token_count=draft.token_count,
                    embedding=item.vectors[i].tobytes(),
                )
                for i, draft in enumerate(item.drafts)
            )
        Chunk.objects.bulk_create(rows, batch_size=1000)
        index_changes.chunks_changed(removed_ids=old_ids)
        store_ms = round((time.perf_counter() - started) * 1000 / max(1, len(batch)), 2)
        for item in batch:
            item.timings["store_ms"] = store_ms
            item.timings["total_ms"] = round(sum(item.timings.values()), 2)
        _mark_ready(batch, embedder)
    DOCUMENT_PROCESSING_SECONDS.labels(stage="store").observe(time.perf_counter() - started)
    DOCUMENTS_PROCESSED.labels(outcome="ready").inc(len(batch))
    return [
        IngestResult(item.document.pk, "ready", len(item.drafts), item.timings) for item in batch
    ]


def _mark_ready(batch: list[_Prepared], embedder: Embedder) -> None:
    table = Document._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS d SET status = %s, progress = 100, chunk_count = v.chunks, "  # noqa: S608
            "page_count = v.pages, extractor = v.extractor, embedder = %s, "
            "timings = v.timings::jsonb, embedding_tokens = v.tokens, "
            "embedding_cost_usd = v.cost, error = '', processed_at = now(), updated_at = now() "
            "FROM unnest(%s::bigint[], %s::int[], %s::int[], %s::text[], %s::text[], "
            "%s::int[], %s::numeric[]) "
            "AS v(id, chunks, pages, extractor, timings, tokens, cost) WHERE d.id = v.id",
            [
                DocumentStatus.READY,
                embedder.name,
                [item.document.pk for item in batch],
                [len(item.drafts) for item in batch],
                [item.result.page_count for item in batch],
                [item.result.extractor for item in batch],
                [json.dumps(item.timings) for item in batch],
                [item.embedding_tokens for item in batch],
                [_embedding_cost(item.embedding_tokens) for item in batch],
            ],
        )


def interrupted_reason(attempts: int) -> str:
    return (
        f"Processing was interrupted {attempts} times, so we stopped trying. The file may be "
        "too large or complex; try splitting it, then upload again."
    )


def mark_failed(document_id: int, reason: str) -> None:
    # A reason quoting the file or a service (an exception's text) may hold NUL, which
    # PostgreSQL text refuses: the document would stay "processing" instead of failed.
    reason = reason.replace("\x00", "")[:2000]
    Document.objects.filter(pk=document_id).exclude(status=DocumentStatus.READY).update(
        status=DocumentStatus.FAILED, error=reason, progress=100, updated_at=timezone.now()
    )
    DOCUMENTS_PROCESSED.labels(outcome="failed").inc()


def process_documents(
    document_ids: Sequence[int], *, ocr_in_place: bool = True, claim: str = ""
) -> list[IngestResult]:
    """Run the pipeline for a batch of the current tenant's documents.

    With ``ocr_in_place`` false (an interactive upload's task, a bulk batch), a document that
    needs OCR is queued again alone on the bulk queue instead of being read here. ``claim``
    names the run (a Celery task's id, the same when its message is delivered again); a
    run without one gets a name of its own.
    """
    claimed, results = _claim(document_ids, claim or uuid.uuid4().hex)
    if not claimed:
        return results
    single = len(claimed) == 1
    prepared: list[_Prepared] = []
    for document in claimed:
        try:
            prepared.append(_prepare(document, report_progress=single, ocr_in_place=ocr_in_place))
        except ocr_stage.NeedsBulkQueue:
            results.append(_queue_for_ocr(document.pk))
        except (ExtractionError, PermanentIngestError, ocr_stage.OcrRefused) as exc:
            mark_failed(document.pk, str(exc))
            results.append(IngestResult(document.pk, "failed", error=str(exc)))
    if not prepared:
        return results
    if single:
        _set_progress(prepared[0].document.pk, 50)
    embedder = embedder_for_current_tenant()
    try:
        embedded = _embed(embedder, prepared)
    except TransientEmbeddingError:
        raise
    except EmbeddingError as exc:
        reason = f"The embedding service refused this document: {exc}"
        mark_failed(prepared[0].document.pk, reason)
        return [*results, IngestResult(prepared[0].document.pk, "failed", error=reason)]
    failed_ids = {item.document.pk for item in prepared} - {i.document.pk for i in embedded}
    results.extend(IngestResult(pk, "failed") for pk in failed_ids)
    if single and embedded:
        _set_progress(embedded[0].document.pk, 85)
    stored = _store(embedded, embedder) if embedded else []
    stored_ids = {r.document_id for r in stored}
    results.extend(
        IngestResult(item.document.pk, "missing")
        for item in embedded
        if item.document.pk not in stored_ids
    )
    return [*results, *stored]


def process_document(document_id: int) -> IngestResult:
    """Run the pipeline for one document."""
    return process_documents([document_id])[0]
