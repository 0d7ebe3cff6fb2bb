"""Okapi BM25 over PostgreSQL's own English analysis of each chunk (`Chunk.search_vector`).

Why not rank inside PostgreSQL: `ts_rank`/`ts_rank_cd` have no inverse document frequency,
and OR-queries over a large tenant match most rows, so ranking them all in SQL is slow. On
Cranfield ts_rank reached nDCG@10 0.463 (0.505 with an IDF-weighted sum) against 0.5+ for
BM25; see docs/search.md.

So each process keeps, per tenant, a sparse term x chunk matrix of BM25 weights built from
the stored tsvectors (the same stemming and stopwords as the GIN index and the highlights),
for the tenant's current index `change_seq` (search/bm25_cache.py): mapped from the file
the last compaction stored (search/bm25_store.py), or built here. A query is then a sum of a few
sparse rows and an argpartition: a few milliseconds for 100k chunks. Section words
(tsvector weight A) count double, a small BM25F-style boost for headings.

k1 and b are QUERY_BM25_K1 / QUERY_BM25_B (`saturation()`); docs/search.md says how the
defaults were chosen. Query term frequency counts: a word
that occurs twice in a question weighs twice (`QUERY_LEXEMES_SQL` repeats each lexeme per
occurrence); long natural-language questions depend on it (CACM: +0.04 nDCG@10). Pairs of
adjacent words are rows of the matrix too, below the words (search/phrases.py,
QUERY_PHRASE_WEIGHT).

An option, off by default: chunks that compaction linked to their nearest neighbours are
expanded with the neighbours' words before weighting (search/expansion.py,
QUERY_EXPANSION_WEIGHT); IDF stays the chunks' own.

Another, off by default: pseudo-relevance feedback (RM3, Lavrenko & Croft 2001 as run in
Anserini/Pyserini, QUERY_LEXICAL_FEEDBACK): the query is scored once, the FEEDBACK_DOCS
best chunks vote for terms with weight score(d) * tf(t, d) / |d|, the FEEDBACK_TERMS
strongest terms form an expansion model, and the chunks are scored again with
ORIGINAL_QUERY_WEIGHT * (query terms, by count, sum 1) + (1 - ORIGINAL_QUERY_WEIGHT) *
(expansion, normalised to sum 1). 10 / 10 / 0.5 are
Anserini's published defaults, not tuned here. The second pass is another sum of sparse
rows; the per-chunk term distributions (`term_distributions`, chunks x terms) double the
index's memory.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from django.db import connection
from scipy import sparse  # type: ignore[import-untyped]

from documents.models import Chunk, ChunkNeighbours
from search import bm25_parse, expansion, phrases
from search.chunk_links import LINK
from search.settings import search_settings

ANALYSIS_VERSION = 2  # of Chunk.search_vector's text analysis
SECTION_BOOST = bm25_parse.SECTION_BOOST
parse_tsvector = bm25_parse.parse_tsvector
FEEDBACK_DOCS = 10
FEEDBACK_TERMS = 10
ORIGINAL_QUERY_WEIGHT = 0.5
_READ_BATCH = 5_000


@dataclass(frozen=True)
class Lineage:
    """How a matrix came to be: chunks at its last full build, chunks appended to it since
    and chunks dropped from it since (search/bm25_append.py)."""

    full_build_chunks: int
    appended: int = 0
    removed: int = 0
    full_build_seconds: float = 0.0  # how long that full build took (0: not recorded)


@dataclass(frozen=True)
class Bm25Index:
    chunk_ids: np.ndarray  # int64, column order
    document_ids: np.ndarray  # int64, the document of each column
    terms: dict[str, int]  # lexeme -> row
    weights: sparse.csr_matrix  # terms x chunks, BM25 weight of the term in the chunk
    # chunks x terms, tf(t, d) / |d| (section words counted as in `weights`): RM3's p(t | d)
    term_distributions: sparse.csr_matrix
    change_seq: int
    # Per term row, the IDF the weights were made with, and the chunks' average length: what
    # chunks newer than the matrix are weighted with (search/bm25_fresh.py). None: unknown.
    idf: np.ndarray | None = None
    average_length: float = 0.0
    # Sorted keys of the adjacent word pairs (search/phrases.py): pair i is row len(terms) + i
    # of `weights`. None: a matrix without pairs.
    pairs: np.ndarray | None = None
    # The pairs' IDF and the chunks' average length in pairs, as for the words (None, 0: unknown)
    pair_idf: np.ndarray | None = None
    pair_average_length: float = 0.0
    lineage: Lineage = dataclasses.field(default_factory=lambda: Lineage(0))

    @property
    def nbytes(self) -> int:
        """Approximate resident size: the two sparse matrices, the id arrays, the vocabulary."""
        matrices = sum(
            matrix.data.nbytes + matrix.indices.nbytes + matrix.indptr.nbytes
            for matrix in (self.weights, self.term_distributions)
        )
        vocabulary = 100 * len(self.terms)  # a short str key and an int in a dict
        idf = sum(part.nbytes for part in (self.idf, self.pair_idf) if part is not None)
        pairs = self.pairs.nbytes if self.pairs is not None else 0
        ids = self.chunk_ids.nbytes + self.document_ids.nbytes
        return int(matrices + ids + vocabulary + idf + pairs)

    def search(
        self,
        lexemes: Sequence[str],
        depth: int,
        *,
        document_ids: Sequence[int] | None = None,
        feedback: bool = True,
        fresh: FreshScorer | None = None,
        phrase_weight: float = 0.0,
    ) -> list[tuple[int, float]]:
        """Top `depth` (chunk id, score), best first; `feedback` adds RM3 expansion.

        `fresh`: chunks newer than this matrix (search/bm25_fresh.py), scored with the same
        query weights (RM3's expansion included) and ranked among this matrix's chunks.
        """
        if depth <= 0:
            return []
        # A lexeme listed k times (query_lexemes repeats it per occurrence) weighs k: query
        # term frequency, which long natural-language questions depend on.
        counts = Counter(lexemes)
        rows = sorted({self.terms[lexeme] for lexeme in counts if lexeme in self.terms})
        found: list[tuple[int, float]] = []
        by_row = {
            self.terms[lexeme]: float(n) for lexeme, n in counts.items() if lexeme in self.terms
        }
        query = np.asarray([by_row[row] for row in rows], dtype=np.float64)
        scale = 1.0  # what one occurrence of a query word weighs in the final pass
        if rows and len(self.chunk_ids):
            allowed: np.ndarray | None = None
            if document_ids is not None:
                allowed = np.isin(self.document_ids, np.asarray(list(document_ids), dtype=np.int64))
            pair_rows, pair_query = self._pairs(lexemes, phrase_weight)
            scores = self._score(rows, query, allowed, pair_rows, pair_query)
            if feedback:
                scale = ORIGINAL_QUERY_WEIGHT / float(query.sum())
                rows, query = self.expand(rows, query, scores)
                pair_query = pair_query * scale  # pairs keep their share of the query's words
                scores = self._score(rows, query, allowed, pair_rows, pair_query)
            found = self._top(scores, depth)
        if fresh is None:
            return found
        known = dict(zip(rows, query.tolist(), strict=True))
        # Words this matrix does not know count as the query's own words do.
        unknown = {lexeme: scale * n for lexeme, n in counts.items() if lexeme not in self.terms}
        merged = found + fresh.top(known, unknown, depth, document_ids)
        merged.sort(key=lambda hit: (-hit[1], hit[0]))  # ties by chunk id, as in _top
        return merged[:depth]

    def _pairs(self, lexemes: Sequence[str], weight: float) -> tuple[list[int], np.ndarray]:
        """Rows and query weights of the query's adjacent word pairs the matrix holds."""
        if weight <= 0 or self.pairs is None:
            return [], np.zeros(0, dtype=np.float64)
        counts = phrases.query_rows(lexemes, self.terms, self.pairs, len(self.terms))
        rows = sorted(counts)
        return rows, np.asarray([weight * counts[row] for row in rows], dtype=np.float64)

    def _score(
        self,
        rows: Sequence[int],
        query_weights: np.ndarray,
        allowed: np.ndarray | None,
        pair_rows: Sequence[int] = (),
        pair_weights: np.ndarray | None = None,
    ) -> np.ndarray:
        if pair_rows and pair_weights is not None:
            rows, query_weights = [*rows, *pair_rows], np.concatenate([query_weights, pair_weights])
        scores = np.asarray(self.weights[list(rows)].T @ query_weights, dtype=np.float64).ravel()
        if allowed is not None:
            scores = np.where(allowed, scores, 0.0)
        return scores

    def expand(
        self, rows: Sequence[int], query: np.ndarray, scores: np.ndarray
    ) -> tuple[list[int], np.ndarray]:
        """RM3: the query's rows and weights (normalised to sum 1) mixed with terms of the
        best-scoring chunks."""
        total_query = float(query.sum())
        original = {
            row: ORIGINAL_QUERY_WEIGHT * float(weight) / total_query
            for row, weight in zip(rows, query, strict=True)
        }
        matched = np.flatnonzero(scores > 0)
        if not len(matched):
            return list(original), np.fromiter(original.values(), dtype=np.float64)
        if len(matched) > FEEDBACK_DOCS:
            matched = matched[np.argpartition(-scores[matched], FEEDBACK_DOCS - 1)[:FEEDBACK_DOCS]]
        # Relevance model: sum over feedback chunks of score(d) * p(t | d).
        feedback = self.term_distributions[matched].tocoo()
        votes = feedback.data.astype(np.float64) * scores[matched][feedback.row]
        terms, inverse = np.unique(feedback.col, return_inverse=True)
        relevance = np.bincount(inverse, weights=votes, minlength=len(terms))
        if len(terms) > FEEDBACK_TERMS:
            # Ties by term row, so the expansion is the same in every process.
            strongest = np.lexsort((terms, -relevance))[:FEEDBACK_TERMS]
            terms, relevance = terms[strongest], relevance[strongest]
        total = float(relevance.sum())
        expanded = dict(original)
        if total > 0:
            for term, weight in zip(terms.tolist(), relevance.tolist(), strict=True):
                expanded[term] = (
                    expanded.get(term, 0.0) + (1 - ORIGINAL_QUERY_WEIGHT) * weight / total
                )
        ordered = sorted(expanded)
        return ordered, np.asarray([expanded[row] for row in ordered], dtype=np.float64)

    def _top(self, scores: np.ndarray, depth: int) -> list[tuple[int, float]]:
        candidates = np.flatnonzero(scores > 0)
        if len(candidates) > depth:
            top = np.argpartition(-scores[candidates], depth - 1)[:depth]
            candidates = candidates[top]
        # Best score first; ties by chunk id so results are stable across processes.
        order = np.lexsort((self.chunk_ids[candidates], -scores[candidates]))
        picked = candidates[order]
        return [(int(self.chunk_ids[i]), float(scores[i])) for i in picked]


class FreshScorer(Protocol):
    """Chunks a matrix does not hold yet, weighted with its statistics (bm25_fresh.py)."""

    def top(
        self,
        base_weights: Mapping[int, float],
        new_weights: Mapping[str, float],
        depth: int,
        document_ids: Sequence[int] | None,
    ) -> list[tuple[int, float]]: ...


def build(change_seq: int) -> Bm25Index:
    """Read every chunk's tsvector in the current schema and build the weight matrix.

    Chunks with stored neighbour links are expanded with their neighbours' words first
    (search/expansion.py; QUERY_EXPANSION_WEIGHT, 0 turns it off).
    """
    table = connection.ops.quote_name(Chunk._meta.db_table)
    links_table = connection.ops.quote_name(ChunkNeighbours._meta.db_table)
    chunk_ids: list[int] = []
    document_ids: list[int] = []
    link_blobs: list[bytes] = []  # stored neighbour lists, end to end
    link_owners: list[int] = []  # the column each list's pairs belong to, once per pair
    terms: dict[str, int] = {}
    gathered = bm25_parse.Gathered()
    weight = search_settings().expansion_weight
    # The neighbour links only matter for expansion: without it, not read (120 MB and 250 MB
    # of Python lists at a million chunks).
    links = "n.links" if weight > 0 else "NULL"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT c.id, c.document_id, c.search_vector::text, {links} "  # noqa: S608
            f"FROM {table} AS c LEFT JOIN {links_table} AS n ON n.chunk_id = c.id ORDER BY c.id"
        )
        while batch := cursor.fetchmany(_READ_BATCH):
            first = len(chunk_ids)
            for offset, (chunk_id, document_id, _text, neighbours) in enumerate(batch):
                chunk_ids.append(chunk_id)
                document_ids.append(document_id)
                if neighbours:
                    link_blobs.append(bytes(neighbours))
                    link_owners += [first + offset] * (len(neighbours) // LINK.itemsize)
            bm25_parse.read_batch([row[2] for row in batch], first, terms, gathered)
    n = len(chunk_ids)
    row_array, col_array, tf_array = gathered.words()
    # Lucene's non-negative IDF: a word in most chunks still counts a little, never negatively.
    # Document frequencies are the chunks' own, before any expansion.
    doc_freq = np.bincount(row_array, minlength=len(terms)).astype(np.float64)
    idf = np.log1p((n - doc_freq + 0.5) / (doc_freq + 0.5))
    counts = sparse.csr_matrix((tf_array, (col_array, row_array)), shape=(n, len(terms)))
    del row_array, col_array, tf_array
    if weight > 0 and link_blobs:
        neighbours = expansion.neighbour_matrix(
            np.asarray(link_owners, dtype=np.int64),
            np.frombuffer(b"".join(link_blobs), dtype=LINK),
            np.asarray(chunk_ids, dtype=np.int64),  # ascending: the query orders by id
            np.asarray(counts.sum(axis=1)).ravel(),
        )
        counts = expansion.expand(
            counts,
            neighbours,
            weight=weight,
            new_terms=search_settings().expansion_terms,
        )
    weights, distributions, average = weighted_words(counts, idf)
    del counts
    pairs = phrases.weighted(*gathered.pairs(), n, *saturation())
    return Bm25Index(
        chunk_ids=np.asarray(chunk_ids, dtype=np.int64),
        document_ids=np.asarray(document_ids, dtype=np.int64),
        terms=terms,
        weights=sparse.vstack([weights, pairs.weights], format="csr"),
        term_distributions=distributions,
        change_seq=change_seq,
        idf=idf.astype(np.float32),
        average_length=average,
        pairs=pairs.keys,
        pair_idf=pairs.idf,
        pair_average_length=pairs.average_length,
        lineage=Lineage(full_build_chunks=n),
    )


def in_sorted(sorted_ids: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Per id of `ids`: whether it is in `sorted_ids` (ascending, as matrices keep their
    chunk ids)."""
    if not sorted_ids.size:
        return np.zeros(ids.size, dtype=bool)
    at = np.minimum(np.searchsorted(sorted_ids, ids), sorted_ids.size - 1)
    return np.asarray(sorted_ids[at] == ids)


def saturation() -> tuple[float, float]:
    """BM25's (k1, b): QUERY_BM25_K1 and QUERY_BM25_B."""
    current = search_settings()
    return current.bm25_k1, current.bm25_b


def build_settings() -> dict[str, float | int]:
    """Everything besides the chunks that decides the matrix `build` makes."""
    k1, b = saturation()
    return {
        "k1": k1,
        "b": b,
        "section_boost": SECTION_BOOST,
        # 2: angle brackets read as spaces (documents/migrations/0004); matrices stored from
        # version 1's vectors are not used.
        "analysis": ANALYSIS_VERSION,
        "expansion_weight": search_settings().expansion_weight,
        "expansion_terms": search_settings().expansion_terms,
    }


def weighted_words(
    counts: sparse.csr_matrix, idf: np.ndarray, average: float | None = None
) -> tuple[sparse.csr_matrix, sparse.csr_matrix, float]:
    """BM25 weights (terms x chunks), RM3's p(t | d) (chunks x terms) and the average chunk
    length from chunks x terms counts; `average`: the length to normalise by instead of the
    chunks' own (chunks appended to a matrix).

    The weights are saturated as the pairs' are (`phrases.saturated`, on the terms x chunks
    counts), the distributions on the counts' own structure: no coordinate lists, float32.
    A full build's peak memory is set here and in the pairs'."""
    n, terms = counts.shape
    counts.sum_duplicates()
    length_array = np.asarray(counts.sum(axis=1), dtype=np.float32).ravel()
    if average is None:
        average = float(length_array.mean()) if n else 1.0
    weights = phrases.saturated(counts.T.tocsr(), idf, length_array, average, *saturation())
    tf = counts.data.astype(np.float32)
    tf /= np.repeat(np.maximum(length_array, 1.0), np.diff(counts.indptr))
    distributions = sparse.csr_matrix((tf, counts.indices, counts.indptr), shape=(n, terms))
    return weights, distributions, average


# The query's lexemes as one text[] value in text order, a lexeme once per occurrence (its
# query term frequency; consecutive ones make the query's word pairs, search/phrases.py), for
# callers that read them in a statement they run anyway (the API reads them with the index
# state: one round trip less per search). Angle brackets read as spaces, as in
# Chunk.search_vector (documents.models.words_of).
QUERY_LEXEMES_SQL = (
    "(SELECT coalesce(array_agg(u.lexeme ORDER BY p.position, u.lexeme), '{}') "
    "FROM unnest(to_tsvector('english', translate(%s, '<>', '  '))) AS u, "
    "unnest(coalesce(u.positions, '{1}'::smallint[])) AS p(position))"
)


def query_lexemes(text: str) -> list[str]:
    """The query's lexemes, in text order, through the same English configuration as the
    chunks."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {QUERY_LEXEMES_SQL}", [text])
        row = cursor.fetchone()
    return list(row[0] or []) if row else []
