"""When a big tenant's stored BM25 matrix is due: how long web processes wait for a
compaction's (CompactionWait) and how often a compaction stores one (spacing_left), both
from how long the tenant's last stored matrix took to build (search/bm25_store.py)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from search import bm25_store
from search.index import index_directory
from search.settings import search_settings

# How long past the compaction delay processes wait for a compaction's stored tables, and
# for a big tenant's, how many times longer than the last stored ones took to build.
STORE_WAIT_SECONDS = 60.0
STORE_WAIT_BUILDS = 4.0
# A compaction stores a tenant's matrix at most once per this many times its last build took
# (search/compaction_store.py): for a big tenant under a bulk import, one build in three;
# tenants whose build takes less than STORE_SPACING_FROM_SECONDS are stored every time.
STORE_SPACING_BUILDS = 2.0
STORE_SPACING_FROM_SECONDS = 10.0


class CompactionWait:
    """When a big tenant's processes stop waiting for a compaction's stored tables.

    Every change schedules a compaction (INDEX_COMPACT_DELAY_SECONDS), which stores the tables
    for its state: building them in each process too would cost seconds of CPU for tables
    replaced moments later. `waiting(key, change_seq)` is true from the first time a process
    finds its table stale for that state until the compaction delay + STORE_WAIT_SECONDS +
    STORE_WAIT_BUILDS times the time the tenant's last stored tables took to build have passed
    (a failing or slow compaction); then the process builds its own. The last term is what a
    big tenant needs: its compaction builds for minutes (about 4 per 100,000 chunks on a busy
    2-core machine) and stores at most once per STORE_SPACING_BUILDS builds, and a process
    giving up after a minute built a copy of its own, in every process, at the same time as
    the compaction. Not thread-safe: callers hold their cache's lock.
    """

    def __init__(
        self, seconds: float | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.seconds, self.clock = seconds, clock
        self._since: dict[tuple[str, int], tuple[float, float]] = {}

    def waiting(self, key: str, change_seq: int) -> bool:
        if not bm25_store.enabled():
            return False
        if len(self._since) > 10_000:  # bounded, whatever happens
            self._since.clear()
        found = self._since.get((key, change_seq))
        if found is None:
            found = (self.clock(), self._wait(key))
            self._since[(key, change_seq)] = found
        since, wait = found
        return self.clock() - since < wait

    def _wait(self, key: str) -> float:
        if self.seconds is not None:
            return self.seconds
        delay = float(search_settings().index_compact_delay_seconds)
        return delay + STORE_WAIT_SECONDS + STORE_WAIT_BUILDS * last_build_seconds(key)

    def forget(self, key: str) -> None:
        for waited in [k for k in self._since if k[0] == key]:
            del self._since[waited]


def _newest(key: str) -> tuple[float, float, float] | None:
    """(when it was stored, how long it took to build, how long its last full build took) of
    the tenant's newest stored matrix; None if there is none. Times are 0 where not recorded."""
    schema, generation = bm25_store.split_key(key)
    root = index_directory(schema)
    try:
        stored = [path / "meta.json" for path in root.glob(f"{bm25_store.PREFIX}{generation}-*")]
        newest = max(
            (meta for meta in stored if meta.is_file()),
            key=lambda meta: meta.stat().st_mtime,
            default=None,
        )
        if newest is None:
            return None
        meta = json.loads(newest.read_text(encoding="utf-8"))
        full = float(meta.get("lineage", {}).get("full_build_seconds", 0.0))
        return newest.stat().st_mtime, max(0.0, float(meta.get("build_seconds", 0.0))), full
    except (OSError, ValueError, TypeError):
        return None


def last_build_seconds(key: str) -> float:
    """How long building the tenant's matrix (and IDF table) may take: the newest stored
    one's time, or its last full build's if longer (a full build is due every so often,
    search/bm25_append.py); 0 if none says (none stored, or stored before that was recorded)."""
    newest = _newest(key)
    return max(newest[1], newest[2]) if newest is not None else 0.0


def spacing_left(key: str) -> float:
    """Seconds until a compaction may store the tenant's matrix again: STORE_SPACING_BUILDS
    times its last build after that was stored (0 or less: now; always 0 for a tenant built
    in under STORE_SPACING_FROM_SECONDS)."""
    newest = _newest(key)
    if newest is None or newest[1] < STORE_SPACING_FROM_SECONDS:
        return 0.0
    stored_at, seconds, _full = newest
    return stored_at + STORE_SPACING_BUILDS * seconds - time.time()
