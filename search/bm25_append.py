"""A big tenant's next BM25 matrix made from its stored one: new chunks appended, deleted
ones dropped, instead of parsing every chunk again.

A full build (search/bm25.py) parses every chunk's tsvector in Python: about 0.75 ms and,
at its peak, 20 KB of memory per chunk, so 13 minutes and 20 GB at a million chunks, for
every compaction that stores a matrix. Appending reads only the chunks the stored matrix
lacks and weighs them as `bm25_fresh` scores them between compactions: the words and pairs
the matrix knows with the IDF it stored, new ones with the IDF their frequency among the new
chunks gives out of all chunks, lengths normalised by the stored averages. The stored
columns are copied as they are (sparse arrays joined in C, no parsing), so a compaction that
adds 10,000 chunks to a million costs seconds.

Statistics drift as the tenant grows: a word's IDF stays what it was at the last full
build. So a matrix is built in full again once more chunks have been appended since its
last full build than that build held (the tenant has doubled), or more than a tenth of
them removed, and always for tenants below APPEND_FROM chunks (a full build takes seconds
there, and evaluations of search quality run at that size) and when the stored matrix lacks
what appending needs (an older format, other settings, neighbour expansion on). A rebuild
(`rebuild_index`) appends too when the stored matrix is usable: at a million chunks a full
build beside the rebuild's own vectors took 17 GB and was killed for lack of memory.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from django.db import connection
from scipy import sparse  # type: ignore[import-untyped]

from documents.models import Chunk
from search import bm25, bm25_parse, bm25_store, phrases
from search.settings import search_settings

APPEND_FROM = 20_000  # chunks in the stored matrix below which every matrix is built in full
REBUILD_GROWTH = 1.0  # appended since the last full build, as a share of that build's chunks
REBUILD_REMOVED = 0.1  # removed since the last full build, as a share of that build's chunks
_READ_BATCH = 5_000


@dataclass(frozen=True)
class Appended:
    index: bm25.Bm25Index
    new_chunk_ids: np.ndarray  # ascending: the chunks read and weighed
    removed: int  # columns of the stored matrix dropped (their chunks are gone)


def can_append(base: bm25.Bm25Index) -> bool:
    """Whether `base` carries what appending needs and is big enough for it to pay."""
    return (
        base.idf is not None
        and base.pairs is not None
        and base.pair_idf is not None
        and base.lineage.full_build_chunks > 0
        and base.chunk_ids.size >= APPEND_FROM
        and search_settings().expansion_weight <= 0
    )


def extend(base: bm25.Bm25Index, change_seq: int) -> Appended | None:
    """`base` brought up to the current schema's chunks; None when a full build is due."""
    if not can_append(base):
        return None
    for _attempt in range(3):  # chunks deleted while they were read: read their ids again
        try:
            return _extended(base, change_seq)
        except _Changed:
            continue
    return None


def _extended(base: bm25.Bm25Index, change_seq: int) -> Appended | None:
    held = np.asarray(base.chunk_ids)
    current = _chunk_ids()
    kept = bm25.in_sorted(current, held)  # per column of `base`: is its chunk still there
    new_ids = current[~bm25.in_sorted(held, current)]
    removed = int(held.size - kept.sum())
    lineage = dataclasses.replace(
        base.lineage,
        appended=base.lineage.appended + int(new_ids.size),
        removed=base.lineage.removed + removed,
    )
    if not _within_drift(lineage):
        return None
    joined = _joined(base, kept, new_ids, change_seq, lineage)
    return Appended(joined, new_ids, removed)


def _within_drift(lineage: bm25.Lineage) -> bool:
    return (
        lineage.appended <= REBUILD_GROWTH * lineage.full_build_chunks
        and lineage.removed <= REBUILD_REMOVED * lineage.full_build_chunks
    )


def next_store_appends(schema: str, generation: str) -> bool:
    """Whether the tenant's next stored matrix will likely be appended to its newest one (so
    storing it costs seconds, whatever its last full build took): judged from that matrix's
    meta.json and the number of chunks now, ignoring deletions since."""
    meta = bm25_store.newest_meta(schema, generation)
    if meta is None or meta.get("settings") != bm25.build_settings():
        return False
    held = int(meta.get("chunks", 0))
    lineage = bm25.Lineage(**meta["lineage"])
    grown = dataclasses.replace(lineage, appended=lineage.appended + Chunk.objects.count() - held)
    return (
        held >= APPEND_FROM
        and lineage.full_build_chunks > 0
        and search_settings().expansion_weight <= 0
        and _within_drift(grown)
    )


def _chunk_ids() -> np.ndarray:
    table = connection.ops.quote_name(Chunk._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM {table} ORDER BY id")  # noqa: S608
        return np.asarray([row[0] for row in cursor.fetchall()], dtype=np.int64)


@dataclass(frozen=True)
class _NewChunks:
    document_ids: np.ndarray
    terms: dict[str, int]  # the stored vocabulary, new words after it
    gathered: bm25_parse.Gathered


def _read(base: bm25.Bm25Index, new_ids: np.ndarray) -> _NewChunks:
    """Parse the new chunks' tsvectors (columns 0.. in id order); none when there are none."""
    table = connection.ops.quote_name(Chunk._meta.db_table)
    terms = dict(base.terms)
    gathered = bm25_parse.Gathered()
    document_ids: list[int] = []
    with connection.cursor() as cursor:
        for start in range(0, new_ids.size, _READ_BATCH):
            wanted = new_ids[start : start + _READ_BATCH].tolist()
            cursor.execute(
                f"SELECT document_id, search_vector::text FROM {table} "  # noqa: S608
                "WHERE id = ANY(%s) ORDER BY id",
                [wanted],
            )
            batch = cursor.fetchall()
            if len(batch) != len(wanted):
                raise _Changed()
            bm25_parse.read_batch([text for _, text in batch], start, terms, gathered)
            document_ids += [document_id for document_id, _ in batch]
    return _NewChunks(np.asarray(document_ids, dtype=np.int64), terms, gathered)


class _Changed(Exception):
    """Chunks were deleted between reading their ids and their words."""


def _idf_of_new(frequency: np.ndarray, chunks: int) -> np.ndarray:
    return np.log1p((chunks - frequency + 0.5) / (frequency + 0.5))


def _joined(
    base: bm25.Bm25Index,
    kept: np.ndarray,
    new_ids: np.ndarray,
    change_seq: int,
    lineage: bm25.Lineage,
) -> bm25.Bm25Index:
    assert base.idf is not None
    assert base.pairs is not None
    assert base.pair_idf is not None
    fresh = _read(base, new_ids)
    k = int(new_ids.size)
    chunks = int(kept.sum()) + k
    old_terms, terms = len(base.terms), len(fresh.terms)
    rows, cols, tfs = fresh.gathered.words()
    # Words: the stored IDF; new words' from their frequency among the new chunks.
    idf = np.zeros(terms, dtype=np.float64)
    idf[:old_terms] = base.idf
    frequency = np.bincount(rows, minlength=terms)[old_terms:].astype(np.float64)
    idf[old_terms:] = _idf_of_new(frequency, chunks)
    counts = sparse.csr_matrix((tfs.astype(np.float64), (cols, rows)), shape=(k, terms))
    word_weights, distributions, _ = bm25.weighted_words(counts, idf, base.average_length)
    # Pairs: the stored keys and new ones, merged in key order (rows len(terms) + i).
    pair_columns, pair_keys = fresh.gathered.pairs()
    distinct, pair_counts = phrases.counted(pair_columns, pair_keys, k)
    old_pairs = np.asarray(base.pairs)
    merged = np.union1d(old_pairs, distinct)
    old_at, new_at = np.searchsorted(merged, old_pairs), np.searchsorted(merged, distinct)
    pair_idf = np.zeros(merged.size, dtype=np.float64)
    pair_idf[old_at] = base.pair_idf
    pair_frequency = np.diff(pair_counts.indptr).astype(np.float64)
    new_pair_idf = np.where(
        bm25.in_sorted(old_pairs, distinct), pair_idf[new_at], _idf_of_new(pair_frequency, chunks)
    )
    pair_idf[new_at] = new_pair_idf
    lengths = np.bincount(pair_columns, minlength=k).astype(np.float64)
    new_pairs = phrases.saturated(
        pair_counts, new_pair_idf, lengths, base.pair_average_length, *bm25.saturation()
    )
    # The new chunks' block: rows of the joined vocabulary, k columns.
    height = terms + merged.size
    new_block = sparse.vstack(
        [word_weights, _rows_moved(new_pairs, new_at, merged.size)], format="csr"
    )
    # The stored block: its rows moved to the joined vocabulary (an order-keeping move, so
    # only the row offsets change), the columns of deleted chunks dropped.
    old_rows = np.concatenate([np.arange(old_terms), terms + old_at])
    old_block = _rows_moved(base.weights, old_rows, height)
    old_distributions = base.term_distributions
    if not kept.all():
        old_block = old_block[:, np.flatnonzero(kept)]
        old_distributions = old_distributions[np.flatnonzero(kept)]
    old_distributions = sparse.csr_matrix(
        (old_distributions.data, old_distributions.indices, old_distributions.indptr),
        shape=(old_distributions.shape[0], terms),
    )
    weights = sparse.hstack([old_block, new_block], format="csr")
    distributions = sparse.vstack([old_distributions, distributions], format="csr")
    chunk_ids = np.concatenate([np.asarray(base.chunk_ids)[kept], new_ids])
    document_ids = np.concatenate([np.asarray(base.document_ids)[kept], fresh.document_ids])
    if chunk_ids.size > 1 and not np.all(chunk_ids[1:] > chunk_ids[:-1]):
        # A chunk committed late has an id below the stored matrix's highest: keep id order.
        order = np.argsort(chunk_ids, kind="stable")
        weights, distributions = weights[:, order], distributions[order]
        chunk_ids, document_ids = chunk_ids[order], document_ids[order]
    weights.sort_indices()
    distributions.sort_indices()
    return bm25.Bm25Index(
        chunk_ids=chunk_ids,
        document_ids=document_ids,
        terms=fresh.terms,
        weights=weights,
        term_distributions=distributions,
        change_seq=change_seq,
        idf=idf.astype(np.float32),
        average_length=base.average_length,
        pairs=merged,
        pair_idf=pair_idf.astype(np.float32),
        pair_average_length=base.pair_average_length,
        lineage=lineage,
    )


def _rows_moved(matrix: sparse.csr_matrix, to: np.ndarray, height: int) -> sparse.csr_matrix:
    """`matrix` with row i moved to row to[i] of a `height`-row matrix; `to` ascending."""
    lengths = np.zeros(height, dtype=np.int64)
    lengths[to] = np.diff(matrix.indptr)
    indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(matrix.indptr.dtype)
    return sparse.csr_matrix(
        (matrix.data, matrix.indices, indptr), shape=(height, matrix.shape[1]), copy=False
    )
