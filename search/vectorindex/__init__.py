"""Per-tenant FAISS snapshots: build, search, save/load atomically, cache in memory.

No Django here: every function takes its configuration as arguments.

How the rest of search/ uses it (search/index.py, search/folding.py)
----------------------------------------------------------------------
* PostgreSQL is the truth. Per tenant an ``IndexState`` row holds ``version``,
  ``embedder_name``, ``dimension`` and the snapshot's vector count. Each
  ``Chunk`` stores its embedding as float32 bytes (``vector.tobytes()``; read
  back with ``np.frombuffer(b, dtype=np.float32)``) and an ``in_snapshot`` flag.
* Ingestion writes chunks with ``in_snapshot=False`` (the "delta") and never
  touches index files. Readers search the snapshot with ``IndexSnapshot.search``
  and the delta with ``exact_search`` (brute force over the delta's vectors,
  cheap up to tens of thousands of rows), then combine with ``merge_results``.
  Chunk ids that were re-embedded or deleted since the snapshot must be kept
  out of the snapshot's results (pass ``allowed_ids``, or drop them after).
* Compaction (a Celery task holding the per-tenant lock): load the current
  snapshot, ``remove`` deleted/changed ids, ``add`` the delta (an upsert) -- or
  rebuild with ``build_index`` from all embeddings when there is no readable
  snapshot, the embedder changed, or a flat index passed
  ``approximate_threshold``, or an IVF index has outgrown its lists (the tenant
  quadrupled since they were trained; search/folding.py) -- then
  ``save_snapshot`` as ``version + 1``, and in one transaction bump
  ``IndexState.version`` and set ``in_snapshot=True`` on the merged chunks.
  Afterwards ``prune_snapshots(directory, keep_versions={new, new - 1})``;
  keeping the previous version lets readers mid-reload finish.
* Readers (every gunicorn worker) look up ``IndexState.version`` and call
  ``SnapshotCache.get_or_load((schema, version), lambda: load_snapshot(...,
  expected_embedder=..., expected_dimension=..., schema_name=schema,
  mapped=True))``: an IVF snapshot's lists are mapped from the file, one copy in
  the page cache for every process; a new version evicts the old one from the
  cache.
* A tenant whose configured embedder differs from its snapshot's gets
  ``EmbedderMismatch`` telling the operator to run ``manage.py reindex``.
* Index directories come from the validated schema name (``INDEX_ROOT /
  schema``); nothing here builds paths from user input.
* Serving: call ``faiss.omp_set_num_threads(1)`` in web workers; single
  queries gain nothing from threads and their p99 suffers from contention
  (see docs/vectors.md). Import faiss via ``faiss_loader`` (OpenBLAS fix).
"""

from .build import build_index, default_nlist
from .cache import SnapshotCache
from .snapshot import Hit, IndexSnapshot, exact_search, merge_results
from .storage import (
    EmbedderMismatch,
    SnapshotCorrupt,
    SnapshotError,
    SnapshotNotFound,
    list_snapshot_versions,
    load_snapshot,
    prune_snapshots,
    save_snapshot,
)

__all__ = [
    "EmbedderMismatch",
    "Hit",
    "IndexSnapshot",
    "SnapshotCache",
    "SnapshotCorrupt",
    "SnapshotError",
    "SnapshotNotFound",
    "build_index",
    "default_nlist",
    "exact_search",
    "list_snapshot_versions",
    "load_snapshot",
    "merge_results",
    "prune_snapshots",
    "save_snapshot",
]
