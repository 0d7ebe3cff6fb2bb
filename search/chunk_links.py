"""Each chunk's nearest neighbours in its tenant, found at compaction and kept in PostgreSQL.

Lexical search expands every chunk with words of its semantic neighbours (document
expansion, search/expansion.py), so a chunk can match a query word that only chunks very
like it use. The neighbours are what the tenant's vector index finds nearest to the chunk's
own embedding, so they are computed where that index is built:

* a compaction links the chunks it folds in (their `INDEX_NEIGHBOURS` nearest in the new
  snapshot, themselves excluded) and offers each of them to the lists of the older chunks
  they came close to, which keep the closest `INDEX_NEIGHBOURS` of old and new;
* a rebuild links every chunk afresh;
* a chunk that lost a neighbour to a deletion is linked afresh by the compaction that
  removes the deleted chunk from the snapshot (until then the BM25 build skips the gone id).

A list is stored beside the chunk (`ChunkNeighbours`, so rewriting it never rewrites the
chunk row and its full-text index entries) as packed (id int64, cosine float32) pairs, best
first, written in the compaction's own
transaction, so the `change_seq` bump that publishes the snapshot also tells every process
to rebuild its BM25 matrix with them. The search is the tenant's own index, so a list never
names another tenant's chunk.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np
from django.db import connection

from documents.models import Chunk, ChunkNeighbours
from search.settings import search_settings
from search.vectorindex import IndexSnapshot

logger = logging.getLogger(__name__)

LINK = np.dtype([("id", "<i8"), ("cosine", "<f4")])
_WRITE_BATCH = 5_000
_SEARCH_BATCH = 1_024
# Inverted lists an IVF snapshot visits per chunk when linking: approximate neighbours are
# enough for expansion, and the serving nprobe (most lists, for hashing vectors) would cost
# ~12 minutes per 100k chunks on 2 cores; 32 costs ~45 s (docs/search.md).
_LINK_NPROBE = 32

Links = dict[int, np.ndarray]  # chunk id -> LINK array, best first


def wanted() -> int:
    """How many neighbours compaction links for each chunk (0: none)."""
    return max(0, search_settings().index_neighbours)


def pack(links: np.ndarray) -> bytes:
    return np.ascontiguousarray(links, dtype=LINK).tobytes()


def unpack(blob: bytes | memoryview | None) -> np.ndarray:
    if not blob:
        return np.zeros(0, dtype=LINK)
    return np.frombuffer(bytes(blob), dtype=LINK)


Progress = Callable[[int, int], None]  # (chunks linked so far, chunks to link)


def nearest(
    snapshot: IndexSnapshot,
    ids: np.ndarray,
    vectors: np.ndarray,
    k: int,
    progress: Progress | None = None,
) -> Links:
    """The `k` nearest other chunks of each given chunk in `snapshot` (which holds them)."""
    found: Links = {}
    for start in range(0, len(ids), _SEARCH_BATCH):
        if progress:
            progress(start, len(ids))
        batch_ids = ids[start : start + _SEARCH_BATCH]
        scores, hits = snapshot.search_many(
            vectors[start : start + _SEARCH_BATCH], k + 1, nprobe=_LINK_NPROBE
        )
        for chunk_id, row_ids, row_scores in zip(batch_ids.tolist(), hits, scores, strict=True):
            keep = (row_ids >= 0) & (row_ids != chunk_id)
            links = np.zeros(int(keep.sum()), dtype=LINK)
            links["id"], links["cosine"] = row_ids[keep], row_scores[keep]
            found[chunk_id] = links[:k]
    if progress:
        progress(len(ids), len(ids))
    return found


def merge(current: np.ndarray, offered: Iterable[tuple[int, float]], k: int) -> np.ndarray:
    """`current` plus `offered` links, one per id (the higher cosine), the best `k` first."""
    best = {int(i): float(c) for i, c in zip(current["id"], current["cosine"], strict=True)}
    for chunk_id, cosine in offered:
        if cosine > best.get(chunk_id, -np.inf):
            best[chunk_id] = cosine
    ordered = sorted(best.items(), key=lambda item: (-item[1], item[0]))[:k]
    links = np.zeros(len(ordered), dtype=LINK)
    if ordered:
        links["id"], links["cosine"] = zip(*ordered, strict=True)
    return links


def link(
    snapshot: IndexSnapshot,
    ids: np.ndarray,
    vectors: np.ndarray,
    k: int,
    *,
    rebuild: bool,
    progress: Progress | None = None,
) -> Links:
    """New lists for the chunks in `ids`, and for older chunks that gained a closer one."""
    if k <= 0 or not len(ids):
        return {}
    started = time.perf_counter()
    links = nearest(snapshot, ids, vectors, k, progress)
    logger.info(
        "found the %d nearest neighbours of %d chunks in %.1f s",
        k,
        len(ids),
        time.perf_counter() - started,
    )
    if rebuild:
        return links
    fresh = set(links)
    offers: dict[int, list[tuple[int, float]]] = {}
    for chunk_id, own in links.items():
        for neighbour, cosine in zip(own["id"].tolist(), own["cosine"].tolist(), strict=True):
            if neighbour not in fresh:
                offers.setdefault(neighbour, []).append((chunk_id, cosine))
    current_lists = stored(offers)
    for chunk_id, offered in offers.items():
        current = current_lists.get(chunk_id, unpack(None))
        updated = merge(current, offered, k)
        if not np.array_equal(updated, current):
            links[chunk_id] = updated
    return links


def naming(removed_ids: Iterable[int]) -> list[int]:
    """Chunks whose stored list names one of `removed_ids`: they need neighbours again."""
    removed = np.fromiter(set(removed_ids), dtype=np.int64)
    if not removed.size:
        return []
    owners: list[int] = []
    blobs: list[bytes] = []
    rows = ChunkNeighbours.objects.values_list("chunk_id", "links")
    for chunk_id, blob in rows.iterator(chunk_size=_WRITE_BATCH):
        if blob:
            blobs.append(bytes(blob))
            owners += [chunk_id] * (len(blobs[-1]) // LINK.itemsize)
    if not blobs:
        return []
    links = np.frombuffer(b"".join(blobs), dtype=LINK)
    hit = np.isin(links["id"], removed)
    return sorted(set(np.asarray(owners, dtype=np.int64)[hit].tolist()))


def stored(chunk_ids: Iterable[int]) -> dict[int, np.ndarray]:
    """The stored lists of those `chunk_ids` that have one."""
    wanted_ids = list(chunk_ids)
    found: dict[int, np.ndarray] = {}
    for start in range(0, len(wanted_ids), _WRITE_BATCH):
        batch = wanted_ids[start : start + _WRITE_BATCH]
        rows = ChunkNeighbours.objects.filter(chunk_id__in=batch).values_list("chunk_id", "links")
        found.update((chunk_id, unpack(blob)) for chunk_id, blob in rows)
    return found


def store(links: Mapping[int, np.ndarray]) -> int:
    """Write the lists (call inside the compaction's transaction); returns rows written.

    A chunk deleted meanwhile is skipped (the join), and its list would go with it anyway.
    """
    table = connection.ops.quote_name(ChunkNeighbours._meta.db_table)
    chunks = connection.ops.quote_name(Chunk._meta.db_table)
    items: Sequence[tuple[int, np.ndarray]] = sorted(links.items())
    written = 0
    with connection.cursor() as cursor:
        for start in range(0, len(items), _WRITE_BATCH):
            batch = items[start : start + _WRITE_BATCH]
            cursor.execute(
                f"INSERT INTO {table} (chunk_id, links) "  # noqa: S608 - model tables
                f"SELECT u.id, u.links FROM unnest(%s::bigint[], %s::bytea[]) AS u(id, links) "
                f"JOIN {chunks} AS c ON c.id = u.id "
                "ON CONFLICT (chunk_id) DO UPDATE SET links = EXCLUDED.links",
                [[chunk_id for chunk_id, _ in batch], [pack(links) for _, links in batch]],
            )
            written += cursor.rowcount
    return written
