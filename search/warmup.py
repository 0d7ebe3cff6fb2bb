"""Build the current tenant's search caches in this process (queries/warmup.py decides
which tenants and when: gunicorn workers warm the recently active ones before serving).

A tenant's first search in a process pays for building its BM25 matrix (search/bm25.py), the
hashing embedder's query IDF table (search/query_idf.py) and loading its vector snapshot:
seconds for 100k chunks.
"""

from __future__ import annotations

from documents.embedder_choice import embedder_for_current_tenant
from search import bm25_cache, index, query_idf
from tenants.db import current_schema


def warm_current_tenant() -> int:
    """Build the current tenant's BM25 matrix, query IDF table and vector index; its chunks."""
    row = index.state()
    key = f"{current_schema()}:{row.generation}"
    chunks = bm25_cache.indexes.warm(key, row.change_seq).chunk_ids.size
    embedder = embedder_for_current_tenant()
    if query_idf.weighs(embedder):
        query_idf.weights.warm(key, row.change_seq, embedder)
    index.warm(embedder, row)
    return int(chunks)
