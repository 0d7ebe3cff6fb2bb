"""Query-side IDF for the hashing embedder, per tenant, rebuilt when the index changes.

The hashing embedder's stored vectors are tf-only bags of hashed stemmed unigrams and
bigrams; without IDF the dense list is a weaker copy of BM25. Weighting only the *query*
vector by idf (over the tenant's chunks, with the embedder's own analyzer) makes the inner
product a TF-IDF score while stored embeddings stay independent of corpus statistics, so
they never go stale. Document frequencies are counted from the chunks' text, by each
compaction for the state it publishes (stored with the BM25 matrix, search/bm25_store.py)
or by a process that finds no stored table, and cached like the BM25 matrix: per tenant and
index `change_seq`, bounded LRU, one build at a time per tenant. Memory is 12 bytes per
distinct feature.

Other embedders (`local`, `openai`) get no weights: their vectors are not bags of terms.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from typing import TypeGuard

from django.db.models import QuerySet

from documents.embeddings import Embedder
from documents.embeddings.hashing import (
    FeatureCounts,
    HashingEmbedder,
    TermWeights,
    merge_frequencies,
)
from documents.models import Chunk
from search import bm25_store, store_timing
from search.settings import search_settings
from tenants.db import BackgroundRebuilds

_MAX_CACHED_TENANTS = 32
_READ_BATCH = 2_000


def build(embedder: HashingEmbedder) -> TermWeights:
    """Query IDF of every hashed feature over the current schema's chunks."""
    return count(embedder).weights()


def count(embedder: HashingEmbedder, chunk_ids: Sequence[int] | None = None) -> FeatureCounts:
    """Document frequencies of every hashed feature over the current schema's chunks, or
    over those of `chunk_ids` (ascending) among them: a stored BM25 matrix's chunks, so that
    chunks written while the matrix was built are counted with the next one, not twice."""
    mine = Chunk.objects.filter(document__embedder=embedder.name).order_by("id")
    if chunk_ids is None:
        texts = mine.values_list("text", flat=True).iterator(chunk_size=_READ_BATCH)
    else:
        texts = _texts_of(mine, list(chunk_ids))
    parts = []
    documents = 0
    batch: list[str] = []
    for text in texts:
        batch.append(text)
        if len(batch) >= _READ_BATCH:
            parts.append(embedder.feature_document_frequencies(batch))
            documents += len(batch)
            batch = []
    if batch:
        parts.append(embedder.feature_document_frequencies(batch))
        documents += len(batch)
    features, frequencies = merge_frequencies(parts)
    return FeatureCounts(features, frequencies, documents)


def _texts_of(chunks: QuerySet[Chunk], chunk_ids: list[int]) -> Iterator[str]:
    for start in range(0, len(chunk_ids), _READ_BATCH):
        wanted = chunk_ids[start : start + _READ_BATCH]
        yield from chunks.filter(id__in=wanted).values_list("text", flat=True)


class TermWeightCache:
    """Per-process LRU of (change_seq, embedder name, TermWeights) per tenant key.

    The table the tenant's last compaction stored for the current state is read from disk
    (search/bm25_store.py) instead of counted. Otherwise: document frequencies drift slowly,
    so a table built a few changes ago is still good: when the tenant's index has changed, the
    previous table is served at once and a new one comes from the next compaction (or, if
    none stores one in time or storing is off, is built in a background thread). Only a
    process's first query for a tenant builds synchronously, and only for tenants of up to
    `sync_limit` chunks; bigger tenants get plain tf until the background build is done.
    """

    def __init__(
        self,
        capacity: int = _MAX_CACHED_TENANTS,
        sync_limit: int = 20_000,
        *,
        store_wait: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.capacity = capacity
        self.sync_limit = sync_limit
        self._entries: OrderedDict[str, tuple[int, str, TermWeights]] = OrderedDict()
        self._lock = threading.Lock()
        self._rebuilds = BackgroundRebuilds("Building query term weights", "idf")
        self._wait = store_timing.CompactionWait(store_wait, clock)

    def get(
        self, key: str, change_seq: int, embedder: HashingEmbedder, *, chunk_count: int
    ) -> TermWeights | None:
        """Weights for `key` (schema + generation), possibly from an earlier change_seq."""
        with self._lock:
            found = self._entries.get(key)
            if found is not None and found[1] == embedder.name:
                self._entries.move_to_end(key)
                if found[0] == change_seq:
                    return found[2]
            else:
                found = None
        stored = bm25_store.term_weights_for(key, change_seq, embedder.name)
        if stored is not None:
            return self._put(key, change_seq, embedder, stored)
        if found is None and chunk_count <= self.sync_limit:
            return self._put(key, change_seq, embedder, build(embedder))  # nothing stored
        with self._lock:
            if found is None or not self._wait.waiting(key, change_seq):
                self._refresh_in_background(key, change_seq, embedder)
        return found[2] if found is not None else None

    def warm(self, key: str, change_seq: int, embedder: HashingEmbedder) -> None:
        """Read the stored table or build now (whatever the tenant's size) unless cached."""
        with self._lock:
            found = self._entries.get(key)
        if found is None or found[0] != change_seq or found[1] != embedder.name:
            self._build_and_store(key, change_seq, embedder)

    def _build_and_store(self, key: str, change_seq: int, embedder: HashingEmbedder) -> TermWeights:
        built = bm25_store.term_weights_for(key, change_seq, embedder.name) or build(embedder)
        return self._put(key, change_seq, embedder, built)

    def _put(
        self, key: str, change_seq: int, embedder: HashingEmbedder, built: TermWeights
    ) -> TermWeights:
        with self._lock:
            self._wait.forget(key)
            self._entries[key] = (change_seq, embedder.name, built)
            self._entries.move_to_end(key)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)
        return built

    def _refresh_in_background(self, key: str, change_seq: int, embedder: HashingEmbedder) -> None:
        self._rebuilds.start(key, lambda: self._build_and_store(key, change_seq, embedder))

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


weights = TermWeightCache()


def supports_term_weights(embedder: Embedder) -> TypeGuard[HashingEmbedder]:
    return isinstance(embedder, HashingEmbedder)


def weighs(embedder: Embedder) -> TypeGuard[HashingEmbedder]:
    """Whether this embedder's queries get IDF weights (QUERY_DENSE_IDF, hashing only)."""
    return search_settings().dense_idf and supports_term_weights(embedder)
