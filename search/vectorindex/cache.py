"""Per-process LRU of loaded snapshots, bounded by a memory budget in bytes.

Policy for a snapshot larger than the whole budget: it is served and *kept*,
as the only entry (everything else is evicted). Dropping it instead would make
every request of that tenant re-read a file of ~1.5 GB, which costs more
memory churn and latency than holding it; the warning tells the operator to
raise the budget. Loading a new version of a tenant evicts its older versions,
since readers only ever ask for the current one.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from .snapshot import IndexSnapshot

logger = logging.getLogger(__name__)

CacheKey = tuple[str, int]


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    evictions: int = 0


class SnapshotCache:
    """Thread-safe LRU keyed by (schema_name, version)."""

    def __init__(self, budget_bytes: int) -> None:
        if budget_bytes <= 0:
            raise ValueError("budget_bytes must be positive")
        self.budget_bytes = budget_bytes
        self.stats = CacheStats()
        self._entries: OrderedDict[CacheKey, IndexSnapshot] = OrderedDict()
        self._lock = threading.Lock()
        # One lock per key being loaded so concurrent readers of a tenant load it once.
        self._loading: dict[CacheKey, threading.Lock] = {}

    @property
    def used_bytes(self) -> int:
        with self._lock:
            return sum(s.nbytes for s in self._entries.values())

    def keys(self) -> list[CacheKey]:
        """Cached keys, least recently used first."""
        with self._lock:
            return list(self._entries)

    def get(self, schema_name: str, version: int) -> IndexSnapshot | None:
        key = (schema_name, version)
        with self._lock:
            snapshot = self._entries.get(key)
            if snapshot is None:
                self.stats.misses += 1
                return None
            self._entries.move_to_end(key)
            self.stats.hits += 1
            return snapshot

    def put(self, schema_name: str, snapshot: IndexSnapshot) -> None:
        key = (schema_name, snapshot.version)
        with self._lock:
            for stale in [k for k in self._entries if k[0] == schema_name and k != key]:
                del self._entries[stale]
            self._entries[key] = snapshot
            self._entries.move_to_end(key)
            self._evict_locked(protect=key)

    def get_or_load(
        self, schema_name: str, version: int, loader: Callable[[], IndexSnapshot]
    ) -> IndexSnapshot:
        """The cached snapshot, or ``loader()``'s result cached; one load per key at a time."""
        cached = self.get(schema_name, version)
        if cached is not None:
            return cached
        key = (schema_name, version)
        with self._lock:
            key_lock = self._loading.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                cached = self._entries.get(key)
            if cached is not None:
                return cached
            snapshot = loader()
            if snapshot.version != version:
                raise ValueError(f"loader returned version {snapshot.version}, not {version}")
            self.put(schema_name, snapshot)
        with self._lock:
            self._loading.pop(key, None)
        return snapshot

    def invalidate(self, schema_name: str) -> None:
        """Forget every version of one tenant (after a reindex, or tenant deletion)."""
        with self._lock:
            for key in [k for k in self._entries if k[0] == schema_name]:
                del self._entries[key]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def _evict_locked(self, *, protect: CacheKey) -> None:
        total = sum(s.nbytes for s in self._entries.values())
        while total > self.budget_bytes and len(self._entries) > 1:
            oldest = next(iter(self._entries))
            if oldest == protect:
                self._entries.move_to_end(oldest)
                continue
            total -= self._entries.pop(oldest).nbytes
            self.stats.evictions += 1
        if total > self.budget_bytes:
            logger.warning(
                "vector index %s (%d bytes) exceeds the snapshot cache budget (%d bytes); "
                "kept as the only entry, raise the budget to cache more tenants",
                protect,
                total,
                self.budget_bytes,
            )
