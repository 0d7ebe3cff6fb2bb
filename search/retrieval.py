"""Retrieval over the current tenant's chunks: lexical (PostgreSQL FTS), dense (FAISS), hybrid.

Lexical search is BM25 over the chunks' English tsvectors and their adjacent word pairs
(search/bm25.py, search/phrases.py; optionally with each chunk expanded with words of its
nearest neighbours, search/expansion.py, and RM3 pseudo-relevance feedback,
QUERY_LEXICAL_FEEDBACK): every query word may match and IDF
decides what matters, where AND-ing every word (`plainto_tsquery`)
finds nothing for natural-language questions and `ts_rank` has no IDF; see docs/search.md
for the evaluation behind the choice. Highlights use `ts_headline` with an OR of the words
(search/highlight.py).

Hybrid fuses the two candidate lists (QUERY_CANDIDATE_DEPTH each) by a convex combination
of their min-max-normalised scores (QUERY_FUSION=convex, the default) or by reciprocal-rank
fusion (QUERY_FUSION=rrf, QUERY_RRF_K). The dense list's share is QUERY_DENSE_WEIGHT when
set, else the embedder's own `hybrid_dense_weight` (0 for hashing, whose vectors are a
noisier copy of the lexical signal; 0.5 for semantic embedders). With a semantic embedder
the fused candidates are then re-ranked by their similarity to each other
(search/score_regularisation.py; QUERY_NEIGHBOUR_WEIGHT, off for hashing); see docs/search.md.

Everything here runs in the schema the connection points at; callers set the tenant.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
from django.db import connection

from documents.embedder_choice import embedder_for_current_tenant
from documents.embeddings import Embedder
from documents.models import Chunk, IndexState
from search import bm25, bm25_cache, bm25_fresh, index, query_idf, score_regularisation
from search.fusion import convex_fuse, rrf_fuse
from search.settings import search_settings
from tenants.db import current_schema

MODES = ("hybrid", "lexical", "dense")
_T = TypeVar("_T")
DEFAULT_DENSE_WEIGHT = 0.5  # an embedder that says nothing gets an equal share
DEFAULT_NEIGHBOUR_WEIGHT = 0.5  # and neighbour re-ranking (search/score_regularisation.py)
# Words as PostgreSQL's parser would see them; anything else (operators, quotes) is dropped so
# user text can never change the tsquery's structure.
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_MAX_QUERY_WORDS = 64


@dataclass
class Retrieval:
    """Ranked (chunk id, score) hits and what each stage cost."""

    hits: list[tuple[int, float]]
    timings: dict[str, float] = field(default_factory=dict)
    embedder: str = ""
    embedding_tokens: int = 0


def normalize_query(text: str) -> str:
    """Case-folded, whitespace-collapsed text: what the cache key and the log hash use."""
    return " ".join(text.casefold().split())


def or_tsquery_text(text: str) -> str:
    """`w1 | w2 | …` for to_tsquery: every word may match, ranking decides the order."""
    words = list(dict.fromkeys(_WORD.findall(text)))
    return " | ".join(words[:_MAX_QUERY_WORDS])


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


def _table() -> str:
    return connection.ops.quote_name(Chunk._meta.db_table)


def lexical_search(
    text: str,
    depth: int,
    *,
    document_ids: Sequence[int] | None = None,
    state_row: IndexState | None = None,
) -> list[tuple[int, float]]:
    """Top `depth` chunks by BM25 over the chunks' English tsvectors, best first.

    With QUERY_LEXICAL_FEEDBACK the query is expanded by RM3 from its own first ranking.
    """
    if depth <= 0:
        return []
    return _score_lexical(_lexical_plan(text, state_row), depth, document_ids)


_LexicalPlan = tuple[bm25.Bm25Index, list[str], bm25_fresh.FreshChunks | None]


def _lexical_plan(
    text: str, state_row: IndexState | None, lexemes: Sequence[str] | None = None
) -> _LexicalPlan | None:
    """What lexical scoring needs from the database: the query's lexemes, the tenant's matrix
    and, while that matrix is stale, the chunks it lacks."""
    lexemes = list(lexemes) if lexemes is not None else bm25.query_lexemes(text)
    if not lexemes:
        return None
    row = state_row or index.state()
    key = f"{current_schema()}:{row.generation}"
    tenant_index = bm25_cache.indexes.get(key, row.change_seq)
    return tenant_index, lexemes, bm25_cache.indexes.fresh(key, tenant_index, row.change_seq)


def _score_lexical(
    plan: _LexicalPlan | None, depth: int, document_ids: Sequence[int] | None
) -> list[tuple[int, float]]:
    """Pure computation on the matrix (no database): safe to run on another thread."""
    if plan is None or depth <= 0:
        return []
    tenant_index, lexemes, fresh = plan
    return tenant_index.search(
        lexemes,
        depth,
        document_ids=document_ids,
        feedback=search_settings().lexical_feedback,
        fresh=fresh,
        phrase_weight=search_settings().phrase_weight,
    )


def _timed_lexical(
    plan: _LexicalPlan | None, depth: int, document_ids: Sequence[int] | None
) -> tuple[list[tuple[int, float]], float]:
    started = time.perf_counter()
    return _score_lexical(plan, depth, document_ids), _ms(started)


class _Background:
    """A small per-process thread pool for hybrid's lexical scoring (made again after a fork:
    a forked child has the pool object but not its threads)."""

    def __init__(self, workers: int = 4) -> None:
        self.workers = workers
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._pid = 0

    def submit(self, call: Callable[..., _T], *args: Any) -> Future[_T]:
        with self._lock:
            if self._pool is None or self._pid != os.getpid():
                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="lexical")
                self._pid = os.getpid()
            return self._pool.submit(call, *args)


_background = _Background()


def dense_search(
    vector: np.ndarray, depth: int, *, document_ids: Sequence[int] | None = None,
    embedder: Embedder, state_row: IndexState | None = None,
) -> list[tuple[int, float]]:  # fmt: skip
    """Top `depth` chunks by cosine similarity, best first; none that share nothing with it.

    A similarity of zero or below means the chunk has nothing in common with the query (for
    the hashing embedder: not one feature), so it is no result, however few others there are.
    """
    if depth <= 0:
        return []
    return [
        (int(chunk_id), float(score))
        for chunk_id, score in index.search_dense(
            vector, depth, document_ids=document_ids, embedder=embedder, state_row=state_row
        )
        if score > 0
    ]


def _share(
    configured: float | None, attribute: str, default: float, embedder: Embedder | None
) -> float:
    """A 0..1 setting that, when unset, each embedder may choose (attribute on the backend)."""
    value = configured if configured is not None else getattr(embedder, attribute, default)
    return min(1.0, max(0.0, float(value)))


def dense_weight(embedder: Embedder | None) -> float:
    """The dense list's share of a hybrid fusion (the lexical list gets the rest)."""
    configured = search_settings().dense_weight
    return _share(configured, "hybrid_dense_weight", DEFAULT_DENSE_WEIGHT, embedder)


def neighbour_weight(embedder: Embedder | None) -> float:
    """How much hybrid re-ranking borrows from similar candidates (0 turns it off)."""
    configured = search_settings().neighbour_weight
    return _share(configured, "neighbour_weight", DEFAULT_NEIGHBOUR_WEIGHT, embedder)


def _embed_query(text: str, embedder: Embedder, row: IndexState) -> np.ndarray:
    """The query vector; IDF-weighted for the hashing embedder (QUERY_DENSE_IDF)."""
    if query_idf.weighs(embedder):
        term_weights = query_idf.weights.get(
            f"{current_schema()}:{row.generation}",
            row.change_seq,
            embedder,
            chunk_count=row.snapshot_count,
        )
        if term_weights is not None:
            return embedder.embed_query(text, term_weights=term_weights)
    return embedder.embed_query(text)


def retrieve(
    text: str,
    *,
    mode: str,
    top_k: int,
    document_ids: Sequence[int] | None = None,
    embedder: Embedder | None = None,
    depth: int | None = None,
    rrf_k: int | None = None,
    state: IndexState | None = None,
    lexemes: Sequence[str] | None = None,
) -> Retrieval:
    """Rank the tenant's chunks for `text` in `mode`; raises index.IndexMismatchError.

    `lexemes`: the text's lexemes (bm25.QUERY_LEXEMES_SQL) when the caller already read them.
    """
    if mode not in MODES:
        raise ValueError(f"Unknown search mode {mode!r}; choose one of: {', '.join(MODES)}.")
    depth = max(top_k, depth if depth is not None else search_settings().candidate_depth)
    result = Retrieval(hits=[])
    row = state or index.state()  # read once per search; every stage keys its caches on it
    lexical = _LexicalStage(text, row, lexemes, depth, document_ids)
    if mode in ("lexical", "hybrid"):
        # BM25 scoring and the FAISS search both run in C with the GIL released: in hybrid
        # mode BM25 scores on another thread while this one embeds and searches the vectors.
        lexical.start(result, background=mode == "hybrid" and search_settings().parallel_hybrid)
    dense: list[tuple[int, float]] = []
    if mode in ("dense", "hybrid"):
        embedder = embedder or embedder_for_current_tenant()
        dense = _dense_stage(text, embedder, row, depth, document_ids, result)
    lexical_hits = lexical.finish(result)
    if mode == "lexical":
        result.hits = lexical_hits[:top_k]
    elif mode == "dense":
        result.hits = dense[:top_k]
    else:
        started = time.perf_counter()
        result.hits = _fused(lexical_hits, dense, embedder, row, top_k, rrf_k)
        result.timings["fusion_ms"] = _ms(started)
    return result


class _LexicalStage:
    """BM25 for one search, scored here or on the background pool (hybrid)."""

    def __init__(
        self,
        text: str,
        row: IndexState,
        lexemes: Sequence[str] | None,
        depth: int,
        document_ids: Sequence[int] | None,
    ) -> None:
        self.text, self.row, self.lexemes = text, row, lexemes
        self.depth, self.document_ids = depth, document_ids
        self.hits: list[tuple[int, float]] = []
        self.pending: Future[tuple[list[tuple[int, float]], float]] | None = None
        self.planned_ms = 0.0

    def start(self, result: Retrieval, *, background: bool) -> None:
        started = time.perf_counter()
        plan = _lexical_plan(self.text, self.row, self.lexemes)
        if background:
            self.planned_ms = _ms(started)
            self.pending = _background.submit(_timed_lexical, plan, self.depth, self.document_ids)
        else:
            self.hits = _score_lexical(plan, self.depth, self.document_ids)
            result.timings["lexical_ms"] = _ms(started)

    def finish(self, result: Retrieval) -> list[tuple[int, float]]:
        if self.pending is not None:
            self.hits, scored_ms = self.pending.result()
            result.timings["lexical_ms"] = round(self.planned_ms + scored_ms, 2)
        return self.hits


def _dense_stage(
    text: str,
    embedder: Embedder,
    row: IndexState,
    depth: int,
    document_ids: Sequence[int] | None,
    result: Retrieval,
) -> list[tuple[int, float]]:
    result.embedder = embedder.name
    tokens_before = int(getattr(embedder, "usage_tokens", 0) or 0)
    started = time.perf_counter()
    vector = _embed_query(text, embedder, row)
    result.timings["embed_ms"] = _ms(started)
    result.embedding_tokens = max(0, int(getattr(embedder, "usage_tokens", 0) or 0) - tokens_before)
    started = time.perf_counter()
    dense = dense_search(vector, depth, document_ids=document_ids, embedder=embedder, state_row=row)
    result.timings["dense_ms"] = _ms(started)
    return dense


def _fused(
    lexical: list[tuple[int, float]],
    dense: list[tuple[int, float]],
    embedder: Embedder | None,
    row: IndexState,
    top_k: int,
    rrf_k: int | None,
) -> list[tuple[int, float]]:
    """The hybrid ranking: both lists fused, then regularised by similarity when on."""
    tuning = search_settings()
    share = dense_weight(embedder)
    rerank = neighbour_weight(embedder)
    # Re-ranking looks at every candidate, so a result's rank never depends on top_k.
    limit = len(lexical) + len(dense) if rerank > 0 else top_k
    if tuning.fusion == "rrf":
        fused = rrf_fuse(
            [[chunk_id for chunk_id, _ in lexical], [chunk_id for chunk_id, _ in dense]],
            k=int(rrf_k if rrf_k is not None else tuning.rrf_k),
            weights=[1.0 - share, share],
            limit=limit,
        )
    else:
        fused = convex_fuse([lexical, dense], weights=[1.0 - share, share], limit=limit)
    if rerank > 0 and embedder is not None:
        chunk_ids = [chunk_id for chunk_id, _ in fused]
        fused = score_regularisation.regularise(
            fused,
            index.stored_vectors(chunk_ids, embedder=embedder, state_row=row),
            sources=tuning.neighbour_sources,
            neighbours=tuning.neighbours,
            weight=rerank,
        )
    return fused[:top_k]
