"""Query-side IDF for the hashing embedder, per tenant, rebuilt when the index changes.

The hashing embedder's stored vectors are tf-only bags of hashed stemmed unigrams and
bigrams; without IDF the dense list is a weaker copy of BM25. Weighting only the *query*
vector by idf (over the tenant's chunks, with the embedder's own analyzer) makes the inner
product a TF-IDF score while stored embeddings stay independent of corpus statistics, so
they never go stale. Document frequencies are counted from the chunks' text in each process
and cached like the BM25 matrix (queries/bm25.py): per tenant and index `change_seq`,
bounded LRU, one build at a time per tenant. Memory is 12 bytes per distinct feature.

Other embedders (`local`, `openai`) get no weights: their vectors are not bags of terms.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from documents.embeddings import Embedder
from documents.embeddings.hashing import HashingEmbedder, TermWeights, merge_frequencies
from documents.models import Chunk
from tenants.db import BackgroundRebuilds

_MAX_CACHED_TENANTS = 32
_READ_BATCH = 2_000


def build(embedder: HashingEmbedder) -> TermWeights:
    """Document frequencies of every hashed feature over the current schema's chunks."""
    chunks = Chunk.objects.filter(document__embedder=embedder.name).order_by("id")
    parts = []
    documents = 0
    batch: list[str] = []
    for text in chunks.values_list("text", flat=True).iterator(chunk_size=_READ_BATCH):
        batch.append(text)
        if len(batch) >= _READ_BATCH:
            parts.append(embedder.feature_document_frequencies(batch))
            documents += len(batch)
            batch = []
    if batch:
        parts.append(embedder.feature_document_frequencies(batch))
        documents += len(batch)
    features, frequencies = merge_frequencies(parts)
    return TermWeights.from_frequencies(features, frequencies, documents)


class TermWeightCache:
    """Per-process LRU of (change_seq, embedder name, TermWeights) per tenant key.

    Document frequencies drift slowly, so a table built a few changes ago is still good:
    when the tenant's index has changed, the previous table is served at once and a new
    one is built in a background thread (stale-while-revalidate). Only a process's first
    query for a tenant builds synchronously, and only for tenants of up to
    `sync_limit` chunks; bigger tenants get plain tf until the background build is done.
    """

    def __init__(self, capacity: int = _MAX_CACHED_TENANTS, sync_limit: int = 20_000) -> None:
        self.capacity = capacity
        self.sync_limit = sync_limit
        self._entries: OrderedDict[str, tuple[int, str, TermWeights]] = OrderedDict()
        self._lock = threading.Lock()
        self._rebuilds = BackgroundRebuilds("Building query term weights", "idf")

    def get(
        self, key: str, change_seq: int, embedder: HashingEmbedder, *, chunk_count: int
    ) -> TermWeights | None:
        """Weights for `key` (schema + generation), possibly from an earlier change_seq."""
        with self._lock:
            found = self._entries.get(key)
            if found is not None and found[1] == embedder.name:
                self._entries.move_to_end(key)
                if found[0] != change_seq:
                    self._refresh_in_background(key, change_seq, embedder)
                return found[2]
        if chunk_count > self.sync_limit:
            with self._lock:
                self._refresh_in_background(key, change_seq, embedder)
            return None
        return self._build_and_store(key, change_seq, embedder)

    def warm(self, key: str, change_seq: int, embedder: HashingEmbedder) -> None:
        """Build now (whatever the tenant's size) unless the current weights are cached."""
        with self._lock:
            found = self._entries.get(key)
        if found is None or found[0] != change_seq or found[1] != embedder.name:
            self._build_and_store(key, change_seq, embedder)

    def _build_and_store(self, key: str, change_seq: int, embedder: HashingEmbedder) -> TermWeights:
        built = build(embedder)
        with self._lock:
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


def supports_term_weights(embedder: Embedder) -> bool:
    return isinstance(embedder, HashingEmbedder)
