"""The steps of a compaction (search/index.py's `compact` runs them under the tenant's
index lock): load the published snapshot, fold the delta into it or rebuild it, link the
new chunks to their neighbours, then publish the new version.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from django.db import connection, transaction
from django.db.models import F

from documents import index_changes
from documents.embeddings import Embedder
from documents.models import Chunk, IndexState, IndexTombstone
from search import chunk_links
from search.index_io import read_vectors
from search.settings import search_settings
from search.vectorindex import (
    IndexSnapshot,
    SnapshotError,
    build_index,
    default_nlist,
    load_snapshot,
    prune_snapshots,
    save_snapshot,
)

logger = logging.getLogger(__name__)


@dataclass
class Fold:
    """A new snapshot not yet published, and what it changed."""

    snapshot: IndexSnapshot
    ids: np.ndarray  # the chunks it (re)added, to link to their neighbours
    vectors: np.ndarray
    added: int
    removed: int
    outcome: str  # "rebuilt" or "compacted"

    @property
    def rebuilt(self) -> bool:
        return self.outcome == "rebuilt"


def current_snapshot(row: IndexState, embedder: Embedder, directory: Path) -> IndexSnapshot | None:
    """The published snapshot to fold into, or None to rebuild (none yet, unreadable, or its
    inverted lists outgrown)."""
    if row.version <= 0:
        return None
    try:
        snapshot = load_snapshot(
            directory,
            row.version,
            expected_embedder=embedder.name,
            expected_dimension=embedder.dimension,
            schema_name=directory.name,  # INDEX_ROOT/<schema>
        )
    except SnapshotError:
        logger.warning("index v%s of %s unreadable; rebuilding", row.version, directory.name)
        return None
    if outgrown(snapshot):
        logger.info(
            "index v%s of %s holds %s vectors in %s lists made for a quarter of them or "
            "fewer; rebuilding",
            row.version, directory.name, snapshot.count, snapshot.index.nlist,
        )  # fmt: skip
        return None
    return snapshot


def outgrown(snapshot: IndexSnapshot) -> bool:
    """Whether an IVF snapshot's lists were trained for a quarter of its vectors or fewer.

    Folding adds vectors to the lists trained when the index was built, so a tenant that grew
    from 20,000 chunks to a million would hold fifty times the vectors its lists were made
    for, each list seven times longer than a fresh index's (`default_nlist` grows with the
    square root of the count): every dense search and every new chunk's neighbour search
    scans that much more. Rebuilding each time the right list
    count doubles (the tenant quadrupled) keeps lists short; the rebuilds cost a third of the
    last one's again in all.
    """
    if snapshot.kind != "ivf":
        return False
    return default_nlist(snapshot.count) >= 2 * int(snapshot.index.nlist)


def rebuilt(
    mine: Any, row: IndexState, embedder: Embedder, progress: Callable[[int], None] | None
) -> Fold:
    ids, vectors = read_vectors(mine, embedder.dimension, progress)
    index = build_index(
        ids, vectors, approximate_threshold=search_settings().index_approx_threshold
    )
    snapshot = IndexSnapshot(
        index, version=row.version + 1, embedder_name=embedder.name, dimension=embedder.dimension
    )
    return Fold(snapshot, ids, vectors, len(ids), 0, "rebuilt")


def folded(
    snapshot: IndexSnapshot,
    mine: Any,
    row: IndexState,
    embedder: Embedder,
    tombstones: list[tuple[int, int]],
) -> Fold | None:
    """The snapshot with new chunks added and deleted ones removed; None when nothing changed."""
    ids, vectors = read_vectors(mine.filter(in_snapshot=False), embedder.dimension)
    if not len(ids) and not tombstones:
        return None
    removed = snapshot.remove(np.asarray([c for _, c in tombstones], dtype=np.int64))
    snapshot.remove(ids)  # re-embedded chunks replace their old vectors
    snapshot.add(ids, vectors)
    snapshot.version = row.version + 1
    return Fold(snapshot, ids, vectors, len(ids), removed, "compacted")


def _mark_in_snapshot(ids: np.ndarray) -> None:
    """Exactly the chunks the new snapshot holds: a chunk written while it was being built
    stays in the delta for the next compaction (marking "every chunk" lost such chunks)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {connection.ops.quote_name(Chunk._meta.db_table)} "  # noqa: S608
            "SET in_snapshot = true WHERE id = ANY(%s) AND NOT in_snapshot",
            [ids.astype(np.int64).tolist()],
        )


def link_and_publish(
    fold: Fold,
    row: IndexState,
    embedder: Embedder,
    mine: Any,
    tombstones: list[tuple[int, int]],
    link_progress: chunk_links.Progress | None,
    directory: Path,
) -> None:
    """Link the new chunks to their neighbours, then write the snapshot and the state row."""
    ids, vectors = fold.ids, fold.vectors
    k = chunk_links.wanted()
    if k and not fold.rebuilt and tombstones:  # chunks that named a deleted one, too
        orphans = chunk_links.naming(c for _, c in tombstones)
        more = mine.filter(id__in=orphans).exclude(id__in=ids.tolist())
        orphan_ids, orphan_vectors = read_vectors(more, embedder.dimension)
        ids, vectors = np.concatenate([ids, orphan_ids]), np.vstack([vectors, orphan_vectors])
    snapshot = fold.snapshot
    links = chunk_links.link(
        snapshot, ids, vectors, k, rebuild=fold.rebuilt, progress=link_progress
    )
    save_snapshot(snapshot, directory)
    with transaction.atomic():
        _mark_in_snapshot(fold.ids)
        chunk_links.store(links)
        IndexTombstone.objects.filter(id__in=[t for t, _ in tombstones]).delete()
        IndexState.objects.filter(pk=row.pk).update(
            version=snapshot.version,
            embedder=embedder.name,
            dimension=embedder.dimension,
            snapshot_count=snapshot.count,
            change_seq=F("change_seq") + 1,
        )
    prune_snapshots(directory, keep_versions={snapshot.version, row.version})


def follow_up(embedder_name: str) -> None:
    """After a compaction has let go of the tenant's lock: queue one more if chunks were
    written or removed while it ran. The compactions those changes scheduled found the lock
    taken and did nothing, so without this they would wait for the next upload: a big
    tenant's compaction takes minutes, and the tens of thousands of chunks written meanwhile
    stayed in the delta, searched by brute force in every process, and past bm25_fresh.LIMIT
    not lexically at all."""
    # By the delta's own partial index (chunk_delta_idx), as ORDER BY id LIMIT 1 makes the
    # planner use it: EXISTS ran as a sequential scan of every chunk (the statistics still
    # counted the chunks a big compaction had just folded in as delta), minutes at 140,000.
    delta = Chunk.objects.filter(in_snapshot=False, document__embedder=embedder_name)
    if delta.order_by("id").values_list("id", flat=True)[:1] or IndexTombstone.objects.exists():
        index_changes.schedule_compaction()
