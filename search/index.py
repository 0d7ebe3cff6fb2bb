"""The tenant's vector index as the app sees it: dense search, compaction, rebuild.

PostgreSQL holds every chunk's embedding; the FAISS snapshot under INDEX_ROOT/<schema>/
is a cache with a version number (search/vectorindex does the file work):

* Ingestion writes chunks with `in_snapshot=False` — the *delta* — and bumps
  `IndexState.change_seq`. Readers search the snapshot plus the delta (brute force), so
  a document is searchable the moment it is `ready`.
* Deleting chunks writes `IndexTombstone` rows; searches drop those ids (over-fetching
  by their number so top-k holds) and compaction removes them from the snapshot.
* `compact()` — one writer per tenant (a PostgreSQL advisory lock) — folds the delta
  into a new snapshot version, written atomically, then marks the chunks and bumps the
  version in one transaction. A crash before that commit leaves the old version in use.
* Every process keeps loaded snapshots in an LRU bounded by INDEX_MEMORY_BUDGET_MB and
  reloads when the version in the database changes (one indexed query per search).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from django.db import connection
from django.dispatch import Signal

from config import sqlrows
from config.errors import AppError
from documents.embedder_choice import embedder_for_current_tenant
from documents.embeddings import Embedder
from documents.models import Chunk, IndexState, IndexTombstone
from search import chunk_links, folding
from search.index_io import IndexVolumeFull, TenantIndexLock, no_space, read_vectors
from search.settings import search_settings
from search.vectorindex import (
    Hit,
    IndexSnapshot,
    SnapshotCache,
    exact_search,
    load_snapshot,
    merge_results,
)
from tenants.db import current_schema

logger = logging.getLogger(__name__)

_READ_BATCH = 5_000
# Sent (schema=..., outcome=...: "compacted", "rebuilt" or "unchanged") in the tenant's schema
# after a compaction, still holding the tenant's index lock; receivers' errors are logged, not
# raised.
index_compacted = Signal()
_snapshots: SnapshotCache | None = None
_delta_lock = threading.Lock()
# Each searched tenant's delta (chunks not in its snapshot yet), least recently used first:
# bounded, so a process that serves every tenant of a large deployment keeps DELTAS_KEPT.
DELTAS_KEPT = 64
_deltas: OrderedDict[str, _Delta] = OrderedDict()


class IndexMismatchError(AppError):
    """The tenant's stored vectors come from another embedder; it must be reindexed."""

    status = 503
    code = "index_mismatch"


@dataclass(frozen=True)
class _Delta:
    generation: str
    change_seq: int
    embedder: str
    ids: np.ndarray
    vectors: np.ndarray
    tombstones: frozenset[int]


@dataclass(frozen=True)
class CompactionResult:
    outcome: str  # compacted | rebuilt | busy | unchanged
    version: int
    vectors: int
    added: int = 0
    removed: int = 0


def index_directory(schema: str | None = None) -> Path:
    # The schema name was validated when the tenant was provisioned; never user input here.
    return search_settings().index_root / (schema or current_schema())


def snapshot_cache() -> SnapshotCache:
    global _snapshots
    if _snapshots is None:
        _snapshots = SnapshotCache(search_settings().index_memory_bytes)
    return _snapshots


def read_state(
    extra: Sequence[str] = (), params: Sequence[Any] = ()
) -> tuple[IndexState, tuple[Any, ...]] | None:
    """The state row and the values of `extra` SQL expressions, in one statement; None if absent.

    Every search reads this row; plain SQL (config/sqlrows.py) saves the ORM's query building.
    """
    selected = sqlrows.columns(IndexState, "s")
    sql = (
        f"SELECT {', '.join([*selected, *extra])} "  # noqa: S608 - names come from the model
        f"FROM {sqlrows.table(IndexState)} AS s WHERE s.singleton"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, list(params))
        row = cursor.fetchone()
    if row is None:
        return None
    return sqlrows.instance(IndexState, row[: len(selected)]), tuple(row[len(selected) :])


def state() -> IndexState:
    """The current tenant's index state row (created on first use)."""
    found = read_state()
    if found is not None:
        return found[0]
    row, _ = IndexState.objects.get_or_create(singleton=True)
    return row


# --- reads ----------------------------------------------------------------------------------


def _check_embedder(row: IndexState, embedder: Embedder) -> None:
    if row.embedder and (row.embedder != embedder.name or row.dimension != embedder.dimension):
        raise IndexMismatchError(
            f"This workspace's index was built with '{row.embedder}' but the configured "
            f"embedder is '{embedder.name}'. An operator must run "
            f"`python manage.py reindex --tenant {current_schema()}`."
        )


def _cache_key(row: IndexState) -> str:
    return f"{current_schema()}:{row.generation}"


def _load_delta(row: IndexState, embedder: Embedder) -> _Delta:
    key = _cache_key(row)
    with _delta_lock:
        cached = _deltas.get(key)
        if cached is not None:
            _deltas.move_to_end(key)
    if cached and cached.change_seq == row.change_seq and cached.embedder == embedder.name:
        return cached
    ids: list[int] = []
    blobs: list[bytes] = []
    rows = Chunk.objects.filter(in_snapshot=False, document__embedder=embedder.name)
    for chunk_id, blob in rows.values_list("id", "embedding").iterator(chunk_size=_READ_BATCH):
        if blob is not None:
            ids.append(chunk_id)
            blobs.append(bytes(blob))
    vectors = (
        np.frombuffer(b"".join(blobs), dtype="<f4").reshape(len(blobs), embedder.dimension)
        if blobs
        else np.zeros((0, embedder.dimension), dtype=np.float32)
    )
    tombstones = frozenset(IndexTombstone.objects.values_list("chunk_id", flat=True))
    delta = _Delta(
        str(row.generation),
        row.change_seq,
        embedder.name,
        np.asarray(ids, dtype=np.int64),
        vectors,
        tombstones,
    )
    with _delta_lock:
        for other in [k for k in _deltas if k.partition(":")[0] == current_schema()]:
            del _deltas[other]  # this tenant's earlier generations too
        _deltas[key] = delta
        while len(_deltas) > DELTAS_KEPT:
            _deltas.popitem(last=False)
    return delta


def _load_snapshot(row: IndexState) -> IndexSnapshot | None:
    if row.version == 0 or not row.embedder:
        return None
    schema = current_schema()
    return snapshot_cache().get_or_load(
        _cache_key(row),
        row.version,
        lambda: load_snapshot(
            index_directory(schema),
            row.version,
            expected_embedder=row.embedder,
            expected_dimension=row.dimension,
            schema_name=schema,
            mapped=True,  # every process shares the file's pages; compaction loads its own
        ),
    )


def search_dense(
    query_vector: np.ndarray,
    k: int,
    *,
    document_ids: Sequence[int] | None = None,
    embedder: Embedder | None = None,
    state_row: IndexState | None = None,
) -> list[Hit]:
    """Top-k (chunk id, cosine) over the tenant's snapshot and delta, best first.

    Pass `state_row` when the caller has just read it (saves a query per search).
    """
    embedder = embedder or embedder_for_current_tenant()
    row = state_row or state()
    _check_embedder(row, embedder)
    delta = _load_delta(row, embedder)
    allowed: frozenset[int] | None = None
    if document_ids is not None:
        allowed = _allowed_chunks(row, document_ids)
        if not allowed:
            return []
    fetch = k + len(delta.tombstones)
    hits: list[Hit] = exact_search(delta.ids, delta.vectors, query_vector, fetch, allowed)
    snapshot = _load_snapshot(row)
    if snapshot is not None:
        hits = merge_results(hits, snapshot.search(query_vector, fetch, allowed_ids=allowed), fetch)
    return [hit for hit in hits if hit[0] not in delta.tombstones][:k]


_ALLOWED_CACHED = 32
_allowed_lock = threading.Lock()
_allowed: OrderedDict[tuple[str, str, int, tuple[int, ...]], frozenset[int]] = OrderedDict()


def _allowed_chunks(row: IndexState, document_ids: Sequence[int]) -> frozenset[int]:
    """The chunk ids of `document_ids`, remembered per process until the tenant's chunks
    change (`change_seq`): a caller who reads some collections sends the same documents with
    every search, and reading 10,000 ids from PostgreSQL cost more than the search itself."""
    key = (current_schema(), str(row.generation), row.change_seq, tuple(sorted(document_ids)))
    with _allowed_lock:
        found = _allowed.get(key)
        if found is not None:
            _allowed.move_to_end(key)
            return found
    chunks = Chunk.objects.filter(document_id__in=list(key[3])).values_list("id", flat=True)
    found = frozenset(chunks)
    with _allowed_lock:
        _allowed[key] = found
        while len(_allowed) > _ALLOWED_CACHED:
            _allowed.popitem(last=False)
    return found


def stored_vectors(
    chunk_ids: Sequence[int], *, embedder: Embedder, state_row: IndexState | None = None
) -> dict[int, np.ndarray]:
    """chunk id -> stored vector: from this process's index where it holds them (the delta,
    a flat snapshot), else from PostgreSQL in one query (IVF snapshots cannot look ids up
    without a direct map). Deleted chunks are left out.
    """
    row = state_row or state()
    _check_embedder(row, embedder)
    wanted = np.asarray(sorted(set(chunk_ids)), dtype=np.int64)
    found: dict[int, np.ndarray] = {}
    delta = _load_delta(row, embedder)
    if delta.ids.size and wanted.size:
        for position in np.flatnonzero(np.isin(delta.ids, wanted)):
            found[int(delta.ids[position])] = delta.vectors[position]
    snapshot = _load_snapshot(row)
    if snapshot is not None:
        found.update(snapshot.vectors(int(i) for i in wanted if int(i) not in found))
    for chunk_id in delta.tombstones.intersection(found):
        del found[chunk_id]
    missing = [int(i) for i in wanted if int(i) not in found and int(i) not in delta.tombstones]
    if missing:
        ids, vectors = read_vectors(Chunk.objects.filter(id__in=missing), embedder.dimension)
        found.update(zip(ids.tolist(), vectors, strict=True))
    return found


def warm(embedder: Embedder, state_row: IndexState) -> bool:
    """Load the tenant's snapshot and delta into this process; False if the embedder differs."""
    try:
        _check_embedder(state_row, embedder)
    except IndexMismatchError:
        return False
    _load_delta(state_row, embedder)
    _load_snapshot(state_row)
    return True


# --- compaction and rebuild ---------------------------------------------------------------


def compact(
    *,
    rebuild: bool = False,
    progress: Callable[[int], None] | None = None,
    link_progress: chunk_links.Progress | None = None,
) -> CompactionResult:
    """Fold the delta (and tombstones) into a new snapshot version, or rebuild it all; then
    queue another compaction if changes arrived meanwhile (folding.follow_up)."""
    result = _compact(rebuild=rebuild, progress=progress, link_progress=link_progress)
    if result.outcome in ("compacted", "rebuilt"):
        folding.follow_up(embedder_for_current_tenant().name)
    return result


def _compact(
    *,
    rebuild: bool,
    progress: Callable[[int], None] | None,
    link_progress: chunk_links.Progress | None,
) -> CompactionResult:
    schema = current_schema()
    embedder = embedder_for_current_tenant()
    with TenantIndexLock(schema, wait=rebuild) as acquired:
        if not acquired:
            return CompactionResult("busy", state().version, 0)
        row = state()
        if row.embedder and row.embedder != embedder.name:
            rebuild = True
        tombstones = list(IndexTombstone.objects.values_list("id", "chunk_id"))
        directory = index_directory()
        mine = Chunk.objects.filter(document__embedder=embedder.name)
        snapshot = None if rebuild else folding.current_snapshot(row, embedder, directory)
        if snapshot is None:
            fold = folding.rebuilt(mine, row, embedder, progress)
        else:
            folded = folding.folded(snapshot, mine, row, embedder, tombstones)
            if folded is None:  # what is stored beside it may be missing (a full disk)
                _announce_compaction(schema, "unchanged")
                return CompactionResult("unchanged", row.version, snapshot.count)
            if folded.snapshot.kind == "flat" and (
                folded.snapshot.count > search_settings().index_approx_threshold
            ):
                return _compact(rebuild=True, progress=progress, link_progress=link_progress)
            fold = folded
        try:
            folding.link_and_publish(
                fold, row, embedder, mine, tombstones, link_progress, directory
            )
        except OSError as exc:
            if no_space(exc):
                raise volume_full(schema, "its new vector index was not written") from exc
            raise
        # Still under the lock: what is built next to the snapshot (the BM25 matrix, see
        # search/compaction_store.py) is written by one process at a time too.
        _announce_compaction(schema, fold.outcome)
        snap = fold.snapshot
        return CompactionResult(fold.outcome, snap.version, snap.count, fold.added, fold.removed)


def _announce_compaction(schema: str, outcome: str) -> None:
    """Tell the receivers (they store the BM25 matrix); IndexVolumeFull if one had no room."""
    full: Exception | None = None
    sent = index_compacted.send_robust(sender=compact, schema=schema, outcome=outcome)
    for receiver, failure in sent:
        if isinstance(failure, Exception) and no_space(failure):
            full = failure
        elif isinstance(failure, Exception):
            logger.error(
                "After compacting %s, %s failed: %s", schema, receiver, failure, exc_info=failure
            )
    if full is not None:
        raise volume_full(
            schema, "its new vector index is in use, but its BM25 matrix was not stored"
        ) from full


def volume_full(schema: str, what: str) -> IndexVolumeFull:
    """The sentence for an operator when a compaction found no room under INDEX_ROOT."""
    return IndexVolumeFull(
        f"The index volume (INDEX_ROOT, {search_settings().index_root}) is full, so the search "
        f"index of workspace {schema} could not be updated: {what}. Nothing half-written was "
        "left; searches keep answering from the files already there and read newer documents "
        "from the database. Free space on that volume; the update is retried every few "
        f"minutes, or run `python manage.py rebuild_index --tenant {schema}`."
    )
