"""What a compaction stores beside the tenant's vector index, for every process to map:
its BM25 matrix (search/bm25_store.py) and, for the hashing embedder, the query IDF table
(search/query_idf.py). Connected to `search.index.index_compacted` by SearchConfig.ready().
"""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path
from typing import Any

from django.core.cache import cache

from config.queueing import QueueUnavailable, send_task
from documents.embedder_choice import embedder_for_current_tenant
from documents.embeddings.hashing import FeatureCounts, HashingEmbedder
from documents.index_changes import COMPACT_INDEX
from search import bm25, bm25_append, bm25_store, query_idf, store_timing
from search.index import state
from tenants.db import current_schema

logger = logging.getLogger(__name__)
_STORE_LATER = "index:lexical-store-scheduled"


def persist_current() -> Path:
    """Build the current tenant's matrix for its current state and store it (compaction):
    the newest stored matrix with the new chunks appended (search/bm25_append.py), or, when
    that is not possible, every chunk read again."""
    schema = current_schema()
    row = state()  # read before the chunks: the label may lag the data, never lead it
    generation = str(row.generation)
    started = time.perf_counter()
    base = bm25_store.newest(schema, generation)
    appended = bm25_append.extend(base, row.change_seq) if base is not None else None
    if appended is not None:
        built = appended.index
    else:
        built = bm25.build(row.change_seq)
        took = time.perf_counter() - started
        built = dataclasses.replace(
            built, lineage=dataclasses.replace(built.lineage, full_build_seconds=round(took, 1))
        )
    embedder = embedder_for_current_tenant()
    term_weights = None
    if query_idf.weighs(embedder):
        counts = _feature_counts(embedder, (schema, generation), built, base, appended)
        term_weights = (embedder.name, counts)
    seconds = time.perf_counter() - started
    where = bm25_store.save(
        built,
        schema=schema,
        generation=generation,
        term_weights=term_weights,
        build_seconds=seconds,
    )
    bm25_store.prune(schema)
    logger.info(
        "stored the BM25 matrix%s of %s chunks in %.1f s (%s)",
        " and query term weights" if term_weights is not None else "",
        built.chunk_ids.size,
        time.perf_counter() - started,
        (
            f"{appended.new_chunk_ids.size} appended, {appended.removed} removed"
            if appended is not None
            else "every chunk read"
        ),
    )
    return where


def _feature_counts(
    embedder: HashingEmbedder,
    where: tuple[str, str],
    built: bm25.Bm25Index,
    base: bm25.Bm25Index | None,
    appended: bm25_append.Appended | None,
) -> FeatureCounts:
    """The query IDF's document frequencies: the stored ones plus the appended chunks' (a
    removed chunk's stay counted until the next full build), or every chunk of the matrix
    counted (not those written while it was built: the next matrix appends them)."""
    if base is not None and appended is not None:
        stored = bm25_store.load_feature_counts(*where, base.change_seq, embedder.name)
        if stored is not None:
            return stored.plus(query_idf.count(embedder, appended.new_chunk_ids.tolist()))
    return query_idf.count(embedder, built.chunk_ids.tolist())


def store_after_compaction(
    sender: object, *, schema: str, outcome: str = "compacted", **kwargs: Any
) -> None:
    """`search.index.index_compacted` receiver (runs in the tenant's schema). A compaction
    that found nothing to fold announces too: it stores the matrix if an earlier one could
    not (a full disk) or was not due, and does nothing when the current state's is there.

    Building reads every chunk, so a big tenant's matrix is stored at most once per
    STORE_SPACING_BUILDS times its last build (store_timing.spacing_left): under a bulk import
    its compactions otherwise built one after another, minutes each, taking a worker for
    nothing but matrices replaced moments later. A compaction within that time stores none
    and queues one for when it ends (which stores the matrix for whatever state it finds);
    meanwhile processes search the previous matrix plus the chunks it lacks
    (search/bm25_fresh.py). A rebuild always stores at once."""
    if not bm25_store.enabled():
        return
    row = state()
    if bm25_store.exists(schema, str(row.generation), row.change_seq):
        return
    wait = 0.0 if outcome == "rebuilt" else store_timing.spacing_left(f"{schema}:{row.generation}")
    if wait > 0 and bm25_append.next_store_appends(schema, str(row.generation)):
        wait = 0.0  # seconds of work, whatever the last full build took
    if wait > 0:
        _store_later(wait)
        return
    persist_current()


def _store_later(seconds: float) -> None:
    """Queue one compaction for when the matrix may be stored again."""
    countdown = int(seconds) + 1
    try:
        first = cache.add(_STORE_LATER, 1, timeout=countdown)
    except Exception:  # Redis trouble: better two such compactions than none
        first = True
    if not first:
        return
    logger.info("the BM25 matrix is stored in %s s, when it is due", countdown)
    try:
        send_task(COMPACT_INDEX, queue="maintenance", countdown=countdown)
    except QueueUnavailable:  # the next change schedules a compaction, which stores it
        logger.warning("could not queue the BM25 matrix's store: the task queue is unreachable")
