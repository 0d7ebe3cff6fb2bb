"""What a compaction stores beside the tenant's vector index, for every process to map:
its BM25 matrix (search/bm25_store.py) and, for the hashing embedder, the query IDF table
(search/query_idf.py). Connected to `search.index.index_compacted` by SearchConfig.ready().
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from documents.embedder_choice import embedder_for_current_tenant
from search import bm25, bm25_store, query_idf
from search.index import state
from tenants.db import current_schema

logger = logging.getLogger(__name__)


def persist_current() -> Path:
    """Build the current tenant's matrix for its current state and store it (compaction)."""
    schema = current_schema()
    row = state()  # read before the chunks: the label may lag the data, never lead it
    started = time.perf_counter()
    built = bm25.build(row.change_seq)
    embedder = embedder_for_current_tenant()
    term_weights = None
    if query_idf.weighs(embedder):
        term_weights = (embedder.name, query_idf.build(embedder))
    seconds = time.perf_counter() - started
    where = bm25_store.save(
        built,
        schema=schema,
        generation=str(row.generation),
        term_weights=term_weights,
        build_seconds=seconds,
    )
    bm25_store.prune(schema)
    logger.info(
        "stored the BM25 matrix%s of %s chunks in %.1f s",
        " and query term weights" if term_weights is not None else "",
        built.chunk_ids.size,
        time.perf_counter() - started,
    )
    return where


def store_after_compaction(sender: object, *, schema: str, **kwargs: Any) -> None:
    """`search.index.index_compacted` receiver (runs in the tenant's schema). A compaction
    that found nothing to fold announces too: it stores the matrix if an earlier one could
    not (a full disk), and does nothing when the current state's is there."""
    if not bm25_store.enabled():
        return
    row = state()
    if not bm25_store.exists(schema, str(row.generation), row.change_seq):
        persist_current()
