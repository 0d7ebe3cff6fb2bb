"""Evaluate retrieval on a BEIR dataset end to end, in a scratch tenant that is dropped after.

The corpus goes through the real pipeline (upload validation, extraction, chunking,
embedding, the FAISS snapshot), one plain-text document per corpus entry; queries go through
`queries.retrieval.retrieve` exactly as the API runs them. Chunk hits are collapsed to
documents (best chunk per document) before scoring.
"""

from __future__ import annotations

import io
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django_tenants.utils import tenant_context

from documents import index, services
from documents.embedder_choice import embedder_for_current_tenant
from documents.pipeline import process_documents
from queries.evaluation import BeirDataset, evaluate_run, load_beir
from queries.fusion import best_per_document
from queries.retrieval import MODES, document_of, retrieve
from tenants.models import Tenant
from tenants.services import delete_tenant, provision_tenant

Progress = Callable[[Iterable[Any], str, int], Iterable[Any]]
METRICS = ("ndcg@10", "recall@100", "map@100")
RANK_DEPTH = 100  # documents per query: Recall@100 and MAP@100 need a hundred


@dataclass
class EvaluationReport:
    scores: dict[str, dict[str, float]]  # mode -> metric -> mean
    documents: int
    chunks: int
    queries: int
    embedder: str
    schema: str


def _no_warning(_message: str) -> None:
    return None


def _no_progress(items: Iterable[Any], _label: str, _total: int) -> Iterable[Any]:
    return items


def scratch_schema() -> str:
    return f"eval_{secrets.token_hex(5)}"


def run_evaluation(
    dataset_dir: Path,
    *,
    embedding: str | None = None,
    keep: bool = False,
    progress: Progress = _no_progress,
    modes: Iterable[str] = MODES,
    warn: Callable[[str], None] = _no_warning,
) -> EvaluationReport:
    """Provision, ingest, query every mode, score, and drop the tenant (unless `keep`).

    `warn` receives the dataset's warnings (judgements of unknown queries or documents)
    before any work starts.
    """
    dataset = load_beir(dataset_dir)
    for warning in dataset.warnings:
        warn(warning)
    schema = scratch_schema()
    provisioned = provision_tenant(
        schema_name=schema,
        name=f"Evaluation {dataset_dir.name}",
        domain=f"{schema.replace('_', '-')}.{settings.TENANT_BASE_DOMAIN}",
        admin_email=f"eval@{schema.replace('_', '-')}.invalid",
        admin_password=secrets.token_urlsafe(24),
        plan="enterprise",
    )
    tenant = provisioned.tenant
    try:
        if embedding:
            Tenant.objects.filter(pk=tenant.pk).update(embedding_backend=embedding)
            tenant.refresh_from_db()
        with tenant_context(tenant):
            corpus_of, chunks = _ingest(dataset, progress)
            index.compact(rebuild=True)
            embedder = embedder_for_current_tenant()
            scores = {
                mode: _score_mode(dataset, mode, corpus_of, embedder, progress) for mode in modes
            }
        return EvaluationReport(
            scores=scores,
            documents=len(corpus_of),
            chunks=chunks,
            queries=sum(1 for q in dataset.qrels if q in dataset.queries),
            embedder=embedder.name,
            schema=schema,
        )
    finally:
        if not keep:
            delete_tenant(tenant=Tenant.objects.get(pk=tenant.pk))


def _ingest(dataset: BeirDataset, progress: Progress) -> tuple[dict[int, str], int]:
    """Upload and process every corpus entry; returns (document id -> corpus id, chunks).

    Documents are processed in batches of INGEST_BATCH_SIZE through `process_documents`, the
    path a bulk-queue worker takes, so a model embedder sees full batches.
    """
    corpus_of: dict[int, str] = {}
    chunks = 0
    entries = list(dataset.corpus.items())
    size = max(1, int(settings.INGEST_BATCH_SIZE))
    pending: dict[int, str] = {}

    def flush() -> None:
        nonlocal chunks
        # In-process and without Celery: the same pipeline as a worker, minus the queue.
        for result in process_documents(list(pending)):
            if result.outcome == "ready":
                corpus_of[result.document_id] = pending[result.document_id]
                chunks += result.chunk_count
        pending.clear()

    for corpus_id, (title, text) in progress(entries, "ingesting", len(entries)):
        body = f"{title}\n\n{text}".strip() if title else text.strip()
        if not body:
            continue  # an empty entry cannot be uploaded; it can never be retrieved anyway
        data = body.encode("utf-8")
        document = services.create_document(
            upload=services.Upload(io.BytesIO(data), f"{corpus_id}.txt", len(data)),
            uploaded_by=None,
            allow_duplicate=True,
            enqueue=False,
        )
        pending[document.pk] = corpus_id
        if len(pending) >= size:
            flush()
    if pending:
        flush()
    return corpus_of, chunks


def _score_mode(
    dataset: BeirDataset,
    mode: str,
    corpus_of: dict[int, str],
    embedder: object,
    progress: Progress,
) -> dict[str, float]:
    run: dict[str, list[str]] = {}
    judged = [qid for qid in dataset.qrels if qid in dataset.queries]
    # Chunk-level depth large enough to still hold RANK_DEPTH distinct documents.
    depth = max(int(settings.QUERY_CANDIDATE_DEPTH), RANK_DEPTH * 2)
    for query_id in progress(judged, mode, len(judged)):
        retrieval = retrieve(
            dataset.queries[str(query_id)],
            mode=mode,
            top_k=depth,
            depth=depth,
            embedder=embedder,  # type: ignore[arg-type]
        )
        chunk_to_document = document_of([chunk_id for chunk_id, _ in retrieval.hits])
        documents = best_per_document(retrieval.hits, chunk_to_document, limit=RANK_DEPTH)
        run[str(query_id)] = [corpus_of[hit.document_id] for hit in documents]
    metrics = evaluate_run(run, dataset.qrels, k_values=(10, 100))
    return {name: metrics[name] for name in METRICS}
