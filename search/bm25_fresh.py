"""Chunks newer than a big tenant's BM25 matrix, scored with that matrix's statistics.

A tenant over the synchronous build limit (search/bm25_cache.py) keeps searching its previous
matrix after an upload until the compaction stores the new one (about 30 s at 100k chunks;
longer when compactions queue up). Without this, its newest chunks were missing from lexical
results meanwhile: a word that only the document just uploaded contains found nothing.

`FreshTracker` follows one stale matrix: at each new `change_seq` it reads the ids of the
chunks the matrix may lack (ids above its highest, and the vector index's delta,
`in_snapshot = false`; one query), drops those the matrix holds, and reads the tsvectors of
the ones it has not parsed yet (a second query, usually a few rows). `FreshChunks` is their
small matrix of BM25 weights, made with the big matrix's IDF and average chunk length, so the
scores rank among the big matrix's (`Bm25Index.search(fresh=...)`). A word the big matrix
does not know gets the IDF its frequency among the fresh chunks gives out of all chunks. New
chunks have no neighbour links yet (compaction makes them), so they are not expanded; RM3's
feedback terms come from the big matrix's best chunks and score the fresh chunks too.

Above LIMIT fresh chunks (a bulk import) the tracker gives up until the next matrix:
hybrid and dense search find them through the vector index's delta, as before. Deleted chunks
drop out at the next `change_seq` here, and are never shown (results are read from the
database).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from django.db import connection
from scipy import sparse  # type: ignore[import-untyped]

from documents.models import Chunk
from search import bm25

logger = logging.getLogger(__name__)

# Most new chunks followed per tenant and process: parsing them costs up to ~0.5 s of a
# request once, and their parsed words some 25 MB.
LIMIT = 5_000


@dataclass(frozen=True)
class FreshChunks:
    chunk_ids: np.ndarray  # int64, ascending: the columns of `weights`
    document_ids: np.ndarray  # int64
    base_rows: dict[int, int]  # the big matrix's term row -> row of `weights`
    new_terms: dict[str, int]  # lexemes the big matrix does not know -> row of `weights`
    weights: sparse.csr_matrix  # terms x fresh chunks, BM25 weights

    def top(
        self,
        base_weights: Mapping[int, float],
        new_weights: Mapping[str, float],
        depth: int,
        document_ids: Sequence[int] | None,
    ) -> list[tuple[int, float]]:
        """Top `depth` (chunk id, score) for a query given as term weights, best first."""
        rows: list[int] = []
        values: list[float] = []
        for base_row, weight in base_weights.items():
            if (row := self.base_rows.get(base_row)) is not None:
                rows.append(row)
                values.append(weight)
        for lexeme, weight in new_weights.items():
            if (row := self.new_terms.get(lexeme)) is not None:
                rows.append(row)
                values.append(weight)
        if not rows or depth <= 0:
            return []
        query = np.asarray(values, dtype=np.float64)
        scores = np.asarray(self.weights[rows].T @ query, dtype=np.float64).ravel()
        if document_ids is not None:
            allowed = np.isin(self.document_ids, np.asarray(list(document_ids), dtype=np.int64))
            scores = np.where(allowed, scores, 0.0)
        candidates = np.flatnonzero(scores > 0)
        order = np.lexsort((self.chunk_ids[candidates], -scores[candidates]))[:depth]
        return [(int(self.chunk_ids[i]), float(scores[i])) for i in candidates[order]]


@dataclass(frozen=True)
class Parsed:
    """One new chunk's words, looked up in the matrix's vocabulary once, when it is read."""

    document_id: int
    base_rows: np.ndarray  # int64, the matrix's rows of the words it knows
    base_tfs: np.ndarray  # float64, their term frequencies
    unknown: list[tuple[str, int]]  # (lexeme, tf) of the words it does not know


def parse(base: bm25.Bm25Index, document_id: int, tsvector_text: str) -> Parsed:
    rows: list[int] = []
    tfs: list[int] = []
    unknown: list[tuple[str, int]] = []
    for lexeme, tf in bm25.parse_tsvector(tsvector_text):
        row = base.terms.get(lexeme)
        if row is None:
            unknown.append((lexeme, tf))
        else:
            rows.append(row)
            tfs.append(tf)
    return Parsed(
        document_id, np.asarray(rows, dtype=np.int64), np.asarray(tfs, np.float64), unknown
    )


def weigh(base: bm25.Bm25Index, parsed: Mapping[int, Parsed]) -> FreshChunks:
    """BM25 weights of the `parsed` chunks (by chunk id) in `base`'s statistics."""
    if base.idf is None:
        raise ValueError("the matrix does not carry its IDF")
    ordered = sorted(parsed)
    chunks = [parsed[chunk_id] for chunk_id in ordered]
    known = np.concatenate([c.base_rows for c in chunks])
    # The matrix's rows the new chunks use, renumbered 0..k-1 in row order.
    distinct, known_rows = np.unique(known, return_inverse=True)
    new_terms: dict[str, int] = {}
    unknown_rows: list[int] = []
    unknown_columns: list[int] = []
    unknown_tfs: list[int] = []
    for column, chunk in enumerate(chunks):
        for lexeme, tf in chunk.unknown:
            unknown_rows.append(new_terms.setdefault(lexeme, distinct.size + len(new_terms)))
            unknown_columns.append(column)
            unknown_tfs.append(tf)
    sizes = [c.base_rows.size for c in chunks]
    row_array = np.concatenate([known_rows, np.asarray(unknown_rows, dtype=np.int64)])
    column_array = np.concatenate(
        [np.repeat(np.arange(len(chunks)), sizes), np.asarray(unknown_columns, dtype=np.int64)]
    )
    tf_array = np.concatenate([*(c.base_tfs for c in chunks), np.asarray(unknown_tfs, np.float64)])
    terms = distinct.size + len(new_terms)
    idf = np.zeros(terms, dtype=np.float64)
    idf[: distinct.size] = base.idf[distinct]
    if new_terms:  # as bm25.build counts it, over all chunks, from the fresh ones' frequencies
        total = len(base.chunk_ids) + len(chunks)
        frequency = np.bincount(row_array, minlength=terms)[distinct.size :].astype(np.float64)
        idf[distinct.size :] = np.log1p((total - frequency + 0.5) / (frequency + 0.5))
    lengths = np.bincount(column_array, weights=tf_array, minlength=len(chunks))
    k1, b = bm25.saturation()
    norm = k1 * (1 - b + b * lengths / max(base.average_length, 1e-9))
    data = idf[row_array] * tf_array * (k1 + 1) / (tf_array + norm[column_array])
    weights = sparse.csr_matrix(
        (data.astype(np.float32), (row_array, column_array)), shape=(terms, len(chunks))
    )
    return FreshChunks(
        chunk_ids=np.asarray(ordered, dtype=np.int64),
        document_ids=np.asarray([c.document_id for c in chunks], dtype=np.int64),
        base_rows=dict(zip(distinct.tolist(), range(distinct.size), strict=True)),
        new_terms=new_terms,
        weights=weights,
    )


class FreshTracker:
    """The chunks one stale matrix lacks, kept up to date per `change_seq` (thread-safe)."""

    def __init__(self, base: bm25.Bm25Index, limit: int) -> None:
        self.base, self.limit = base, limit
        self._lock = threading.Lock()
        self._change_seq: int | None = None
        self._current: FreshChunks | None = None
        self._parsed: dict[int, Parsed] = {}
        self._gave_up = False

    def at(self, change_seq: int) -> FreshChunks | None:
        """The fresh chunks as of `change_seq` (read in the current schema); None if none."""
        with self._lock:
            if self._change_seq != change_seq:
                self._current = self._read()
                self._change_seq = change_seq
            return self._current

    def _read(self) -> FreshChunks | None:
        table = connection.ops.quote_name(Chunk._meta.db_table)
        held = np.asarray(self.base.chunk_ids)
        highest = int(held[-1]) if held.size else 0
        with connection.cursor() as cursor:
            # Two branches, so each uses its index (the primary key; the delta's partial one).
            cursor.execute(
                f"SELECT id FROM {table} WHERE id > %s "  # noqa: S608
                f"UNION SELECT id FROM {table} WHERE NOT in_snapshot",
                [highest],
            )
            found = np.asarray([row[0] for row in cursor.fetchall()], dtype=np.int64)
            ids = found[~bm25.in_sorted(held, found)]
            if ids.size > self.limit:
                if not self._gave_up:
                    self._gave_up = True
                    logger.info(
                        "%s chunks are newer than the BM25 matrix; lexical search finds them "
                        "once the next matrix is built.",
                        ids.size,
                    )
                self._parsed.clear()
                return None
            wanted = set(ids.tolist())
            self._parsed = {i: found for i, found in self._parsed.items() if i in wanted}
            missing = sorted(wanted.difference(self._parsed))
            if missing:
                cursor.execute(
                    f"SELECT id, document_id, search_vector::text FROM {table} "  # noqa: S608
                    "WHERE id = ANY(%s)",
                    [missing],
                )
                for chunk_id, document_id, text in cursor.fetchall():
                    self._parsed[chunk_id] = parse(self.base, document_id, text or "")
        return weigh(self.base, self._parsed) if self._parsed else None
