"""Each process's tenant BM25 matrices (search/bm25.py): mapped, built or stale, bounded.

`indexes` is the process-wide cache the searches use (`indexes.get(key, change_seq)`, key
`<schema>:<generation>`).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from search import bm25, bm25_fresh, bm25_store, store_timing
from search.settings import search_settings
from tenants.db import BackgroundRebuilds, start_thread

_MAX_CACHED_TENANTS = 32


class Bm25Cache:
    """Per-process LRU of tenant indexes under a memory budget; one build at a time per tenant.

    A matrix the tenant's last compaction stored for the current state is loaded from disk
    (search/bm25_store.py) instead of built, before the next search whatever the size.
    Otherwise a tenant whose chunks changed gets a fresh matrix before its next search when it
    is small (up to `sync_limit` chunks: well under a second to build). A bigger tenant's
    searches keep using the previous matrix (stale-while-revalidate: otherwise every upload
    would stall the tenant's next searches for seconds, ~15 s at 100k chunks on a slow core)
    until the compaction that follows every change stores the new one (bm25_store's
    CompactionWait), or, if none comes in time or storing is off, while a new one is built in
    a background thread. Meanwhile `fresh()` gives the chunks that matrix lacks, weighted
    with its statistics (search/bm25_fresh.py), so lexical results still find them; deleted
    ones are dropped when results are read from the database.

    Entries are evicted least recently used first when the cache holds more than `capacity`
    tenants or more than SEARCH_LEXICAL_CACHE_MB of matrices; the entry just built stays.
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
        self._wait = store_timing.CompactionWait(store_wait, clock)
        self._indexes: OrderedDict[str, bm25.Bm25Index] = OrderedDict()
        self._fresh: OrderedDict[str, bm25_fresh.FreshTracker] = OrderedDict()
        self._lock = threading.Lock()
        self._build_locks: dict[str, threading.Lock] = {}
        self._rebuilds = BackgroundRebuilds("Rebuilding the BM25 matrix", "bm25")

    def get(self, key: str, change_seq: int) -> bm25.Bm25Index:
        """The index for `key` (schema + generation): current, or stale while rebuilding."""
        with self._lock:
            found = self._indexes.get(key)
            if found is not None:
                self._indexes.move_to_end(key)
                if found.change_seq == change_seq:
                    return found
                if len(found.chunk_ids) > self.sync_limit and not bm25_store.has_matrix_for(
                    key, change_seq
                ):
                    if not self._wait.waiting(key, change_seq):
                        self._refresh_in_background(key, change_seq)
                    return found
        return self.warm(key, change_seq)

    def fresh(
        self, key: str, base: bm25.Bm25Index, change_seq: int
    ) -> bm25_fresh.FreshChunks | None:
        """The chunks `base` (from `get`) lacks at `change_seq`; None when it is current.

        Reads the database (current schema) at most twice per new change_seq and tenant.
        """
        if base.change_seq >= change_seq or base.idf is None:
            return None
        with self._lock:
            tracker = self._fresh.get(key)
            if tracker is None or tracker.base is not base:
                tracker = bm25_fresh.FreshTracker(base, limit=bm25_fresh.LIMIT)
                self._fresh[key] = tracker
            self._fresh.move_to_end(key)
            while len(self._fresh) > self.capacity:
                self._fresh.popitem(last=False)
        return tracker.at(change_seq)

    def warm(self, key: str, change_seq: int) -> bm25.Bm25Index:
        """Load the stored matrix or build now, whatever the tenant's size, unless cached."""
        with self._lock:
            build_lock = self._build_locks.setdefault(key, threading.Lock())
        with build_lock:
            with self._lock:
                found = self._indexes.get(key)
            if found is not None and found.change_seq == change_seq:
                return found
            built = bm25_store.matrix_for(key, change_seq) or bm25.build(change_seq)
            self._store(key, built)
            return built

    def _store(self, key: str, built: bm25.Bm25Index) -> None:
        budget = search_settings().lexical_cache_bytes
        with self._lock:
            self._wait.forget(key)
            current = self._indexes.get(key)
            if current is not None and current.change_seq > built.change_seq:
                return  # a newer build won the race
            self._indexes[key] = built
            self._indexes.move_to_end(key)
            self._fresh.pop(key, None)  # it followed the matrix just replaced
            total = sum(entry.nbytes for entry in self._indexes.values())
            while len(self._indexes) > 1 and (len(self._indexes) > self.capacity or total > budget):
                _evicted_key, evicted = self._indexes.popitem(last=False)
                total -= evicted.nbytes

    def _refresh_in_background(self, key: str, change_seq: int) -> None:
        self._rebuilds.start(key, lambda: self.warm(key, change_seq), spawn=self.spawn)

    @staticmethod
    def spawn(target: Callable[[], None], name: str) -> None:
        start_thread(target, name)

    def clear(self) -> None:
        with self._lock:
            self._indexes.clear()
            self._fresh.clear()


indexes = Bm25Cache()
