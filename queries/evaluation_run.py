"""Evaluate retrieval on a BEIR dataset end to end, in a scratch tenant that is dropped after.

The corpus goes through the real pipeline (upload validation, extraction, chunking,
embedding, the FAISS snapshot), one plain-text document per corpus entry; queries go through
`search.retrieval.retrieve` exactly as the API runs them. Chunk hits are collapsed to
documents (best chunk per document) before scoring.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django_tenants.utils import tenant_context

from documents import services
from documents.embedder_choice import embedder_for_current_tenant
from documents.errors import DocumentError
from documents.pipeline import process_documents
from queries.evaluation import evaluate_run
from queries.evaluation_dataset import BeirDataset, load_beir
from queries.evaluation_tenant import EvaluationError, scratch_tenant
from search import index
from search.fusion import DocumentHit, best_per_document
from search.hits import document_of
from search.retrieval import MODES, retrieve
from search.settings import search_settings

Progress = Callable[[Iterable[Any], str, int], Iterable[Any]]
METRICS = ("ndcg@10", "recall@100", "map@100")
RANK_DEPTH = 100  # documents per query: Recall@100 and MAP@100 need a hundred
_EXAMPLES = 3  # ids named in a warning about skipped entries


@dataclass
class EvaluationReport:
    scores: dict[str, dict[str, float]]  # mode -> metric -> mean
    documents: int
    chunks: int
    queries: int
    embedder: str
    schema: str
    skipped: int = 0  # corpus entries that could not be ingested


@dataclass
class _Ingested:
    corpus_of: dict[int, str] = field(default_factory=dict)  # document id -> corpus id
    chunks: int = 0
    empty: list[str] = field(default_factory=list)  # corpus ids with no title and no text
    refused: list[tuple[str, str]] = field(default_factory=list)  # (corpus id, reason)


def _no_warning(_message: str) -> None:
    return None


def _no_progress(items: Iterable[Any], _label: str, _total: int) -> Iterable[Any]:
    return items


def run_evaluation(
    dataset_dir: Path,
    *,
    split: str = "test",
    embedding: str | None = None,
    keep: bool = False,
    progress: Progress = _no_progress,
    modes: Iterable[str] = MODES,
    warn: Callable[[str], None] = _no_warning,
    ignore_identical_ids: bool = False,
) -> EvaluationReport:
    """Provision, ingest, query every mode, score, and drop the tenant (unless `keep`).

    The tenant is dropped whatever happens; a KeyboardInterrupt comes out as
    EvaluationInterrupted. `warn` receives the dataset's warnings before any work starts,
    then what ingestion skipped.
    """
    dataset = load_beir(dataset_dir, split)
    for warning in dataset.warnings:
        warn(warning)
    label = Path(dataset_dir).resolve().name
    with (
        scratch_tenant(label, embedding=embedding, keep=keep, warn=warn) as tenant,
        tenant_context(tenant),
    ):
        ingested = _ingest(dataset, progress)
        _warn_skipped(ingested, warn)
        if not ingested.corpus_of:
            raise EvaluationError(
                "No corpus entry could be ingested, so there is nothing to search; "
                "check the warnings above and the corpus.jsonl texts."
            )
        for _ in progress([None], "indexing", 1):  # one step, but it shows the time it takes
            index.compact(rebuild=True)
        embedder = embedder_for_current_tenant()
        scores = {
            mode: _score_mode(dataset, mode, ingested, embedder, progress, ignore_identical_ids)
            for mode in modes
        }
    return EvaluationReport(
        scores=scores,
        documents=len(ingested.corpus_of),
        chunks=ingested.chunks,
        queries=len(dataset.scored_queries),
        embedder=embedder.name,
        schema=tenant.schema_name,
        skipped=len(ingested.empty) + len(ingested.refused),
    )


def _upload_body(title: str, text: str) -> str:
    """An entry with a title is a Markdown document whose heading is the title, as a document
    with a title is read (its words weigh as a section's, search/bm25.py); one without is
    plain text."""
    if title.strip():
        return f"# {' '.join(title.split())}\n\n{text.strip()}".rstrip()
    body = text.strip()
    # The upload check reads a body that starts with "%PDF-" as a PDF file; a space keeps the words.
    return f"% {body[1:]}" if body.startswith("%PDF-") else body


def _upload_name(corpus_id: str, title: str) -> str:
    stem = corpus_id.replace("/", "_").replace("\\", "_")[:200]
    return stem + (".md" if title.strip() else ".txt")


def _ingest(dataset: BeirDataset, progress: Progress) -> _Ingested:
    """Upload and process every corpus entry; entries that cannot be ingested are listed.

    Documents are processed in batches of INGEST_BATCH_SIZE through `process_documents`, the
    path a bulk-queue worker takes, so a model embedder sees full batches.
    """
    ingested = _Ingested()
    entries = list(dataset.corpus.items())
    size = max(1, int(settings.INGEST_BATCH_SIZE))
    pending: dict[int, str] = {}

    def flush() -> None:
        # In-process and without Celery: the same pipeline as a worker, minus the queue.
        for result in process_documents(list(pending)):
            corpus_id = pending[result.document_id]
            if result.outcome == "ready":
                ingested.corpus_of[result.document_id] = corpus_id
                ingested.chunks += result.chunk_count
            else:
                reason = result.error or f"the pipeline ended with '{result.outcome}'"
                ingested.refused.append((corpus_id, reason))
        pending.clear()

    for corpus_id, (title, text) in progress(entries, "ingesting", len(entries)):
        body = _upload_body(title, text)
        if not body:
            ingested.empty.append(corpus_id)  # nothing to upload; it can never be retrieved
            continue
        data = body.encode("utf-8")
        try:
            document = services.create_document(
                upload=services.Upload(io.BytesIO(data), _upload_name(corpus_id, title), len(data)),
                uploaded_by=None,
                allow_duplicate=True,
                enqueue=False,
            )
        except DocumentError as exc:
            ingested.refused.append((corpus_id, exc.message))
            continue
        pending[document.pk] = corpus_id
        if len(pending) >= size:
            flush()
    if pending:
        flush()
    return ingested


def _warn_skipped(ingested: _Ingested, warn: Callable[[str], None]) -> None:
    if ingested.empty:
        named = ", ".join(repr(corpus_id) for corpus_id in ingested.empty[:_EXAMPLES])
        warn(
            f"Warning: skipped {len(ingested.empty)} corpus entries with no title and no "
            f"text ({named}{', …' if len(ingested.empty) > _EXAMPLES else ''}); they cannot "
            "be retrieved, and judgements of them still count."
        )
    if ingested.refused:
        corpus_id, reason = ingested.refused[0]
        warn(
            f"Warning: skipped {len(ingested.refused)} corpus entries the pipeline refused; "
            f"they cannot be retrieved, and judgements of them still count. The first, "
            f"{corpus_id!r}: {reason}"
        )


def _score_mode(
    dataset: BeirDataset,
    mode: str,
    ingested: _Ingested,
    embedder: object,
    progress: Progress,
    ignore_identical_ids: bool,
) -> dict[str, float]:
    run: dict[str, list[str]] = {}
    judged = dataset.scored_queries
    for query_id in progress(judged, mode, len(judged)):
        text = dataset.queries[query_id]
        documents = _rank_documents(text, mode, embedder, ingested.chunks) if text.strip() else []
        run[query_id] = [
            ingested.corpus_of[hit.document_id]
            for hit in documents
            if hit.document_id in ingested.corpus_of
        ]
    metrics = evaluate_run(
        run, dataset.qrels, k_values=(10, 100), ignore_identical_ids=ignore_identical_ids
    )
    return {name: metrics[name] for name in METRICS}


def _rank_documents(text: str, mode: str, embedder: object, chunks: int) -> list[DocumentHit]:
    """The best RANK_DEPTH documents for `text`, each ranked by its best chunk.

    Asks for more chunks while the list came back full yet holds fewer than RANK_DEPTH
    distinct documents (long documents split into many chunks).
    """
    depth = max(search_settings().candidate_depth, RANK_DEPTH * 2)
    while True:
        retrieval = retrieve(
            text,
            mode=mode,
            top_k=depth,
            depth=depth,
            embedder=embedder,  # type: ignore[arg-type]
        )
        chunk_to_document = document_of([chunk_id for chunk_id, _ in retrieval.hits])
        documents = best_per_document(retrieval.hits, chunk_to_document, limit=RANK_DEPTH)
        if len(documents) >= RANK_DEPTH or len(retrieval.hits) < depth or depth >= chunks:
            return documents
        depth *= 2


def mean_scores(runs: list[dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    """Each mode's metrics averaged over several datasets' scores (each dataset counts once)."""
    modes = [mode for mode in runs[0] if all(mode in run for run in runs)]
    return {
        mode: {metric: sum(run[mode][metric] for run in runs) / len(runs) for metric in METRICS}
        for mode in modes
    }
