"""Word pairs: the phrase part of lexical scoring.

Besides each word, BM25 scores each pair of adjacent words (search/bm25.py): "boundary layer"
in a question counts for more in a chunk that says "boundary layer" than in one that says
"boundary" in one paragraph and "layer" in another. Pairs are the chunk's lexemes in position
order, stopwords left out (as the tsvector leaves them out), so "flow over a plate" yields
"flow plate"; the question's pairs are made the same way (QUERY_LEXEMES_SQL keeps its lexemes
in text order).

Pairs are rows of the same BM25 matrix, below the words, with their own IDF and their own
length normalisation (a chunk's length in pairs). A query weighs each pair `weight` times its
count (QUERY_PHRASE_WEIGHT): a sequential-dependence model's ordered-window part, with a
window of one. A pair is stored as one 64-bit key, its two words' rows, not as a string: the
vocabulary of pairs is ten times the vocabulary of words.

Chunks newer than a stored matrix (search/bm25_fresh.py) are scored on their words only until
the next compaction; feedback (RM3) adds words, never pairs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
from scipy import sparse  # type: ignore[import-untyped]

_SHIFT = np.uint64(32)


def keys(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """One sortable uint64 per (first word's row, second word's row)."""
    return (first.astype(np.uint64) << _SHIFT) | second.astype(np.uint64)


def chunk_pairs(
    columns: np.ndarray, positions: np.ndarray, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(column, pair key) of every adjacent pair, from one (column, position, row) per word
    occurrence. Occurrences sharing a position (the parts of a hyphenated word) keep their
    row order, as the query's do."""
    if not columns.size:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint64)
    order = np.lexsort((rows, positions, columns))
    columns, rows = columns[order], rows[order]
    same = columns[1:] == columns[:-1]
    return columns[1:][same].astype(np.int64), keys(rows[:-1][same], rows[1:][same])


@dataclass(frozen=True)
class WeightedPairs:
    keys: np.ndarray  # sorted distinct pair keys; key i is row i of `weights`
    weights: sparse.csr_matrix  # pairs x chunks, BM25 weights
    idf: np.ndarray  # float32, the IDF each pair was weighed with
    average_length: float  # the chunks' average length in pairs


def counted(
    pair_columns: np.ndarray, pair_keys: np.ndarray, chunks: int
) -> tuple[np.ndarray, sparse.csr_matrix]:
    """(sorted distinct pair keys, pairs x chunks counts) from every pair occurrence."""
    distinct, inverse = np.unique(pair_keys, return_inverse=True)
    rows = inverse.ravel().astype(np.int32)
    del inverse
    counts = sparse.csr_matrix(
        (np.ones(rows.size, dtype=np.float32), (rows, pair_columns)),
        shape=(distinct.size, chunks),
    )  # duplicates summed: the pair's count in the chunk
    counts.sum_duplicates()
    return distinct, counts


def saturated(
    counts: sparse.csr_matrix,
    idf: np.ndarray,
    lengths: np.ndarray,
    average: float,
    k1: float,
    b: float,
) -> sparse.csr_matrix:
    """BM25 weights of a rows x chunks count matrix (pairs, or words: bm25.weighted_words),
    given each row's IDF and each chunk's length: computed on the counts' own structure, in
    float32, in place where numpy allows."""
    norm = (k1 * (1 - b + b * lengths / max(average, 1e-9))).astype(np.float32)
    tf = counts.data.astype(np.float32)
    denominator = norm[counts.indices]
    denominator += tf
    tf *= np.float32(k1 + 1)
    tf /= denominator
    del denominator
    tf *= np.repeat(idf.astype(np.float32), np.diff(counts.indptr))
    return sparse.csr_matrix((tf, counts.indices, counts.indptr), shape=counts.shape)


def weighted(
    pair_columns: np.ndarray, pair_keys: np.ndarray, chunks: int, k1: float, b: float
) -> WeightedPairs:
    """The chunks' pairs weighed with their own statistics (a full build). Pass the arrays
    unnamed (`weighted(*gathered.pairs(), ...)`): they are let go as soon as they are counted."""
    lengths = np.bincount(pair_columns, minlength=chunks).astype(np.float64)
    distinct, counts = counted(pair_columns, pair_keys, chunks)
    del pair_columns, pair_keys
    average = float(lengths.mean()) if chunks else 1.0
    frequency = np.diff(counts.indptr).astype(np.float64)  # chunks holding each pair
    idf = np.log1p((chunks - frequency + 0.5) / (frequency + 0.5))
    weights = saturated(counts, idf, lengths, average, k1, b)
    return WeightedPairs(distinct, weights, idf.astype(np.float32), average)


def query_rows(
    lexemes: Sequence[str], terms: Mapping[str, int], pairs: np.ndarray, first_row: int
) -> Counter[int]:
    """Matrix row -> count of each pair of adjacent query lexemes the matrix holds."""
    found: Counter[int] = Counter()
    if not pairs.size:
        return found
    for first, second in pairwise(lexemes):
        if first in terms and second in terms:
            key = keys(np.asarray([terms[first]]), np.asarray([terms[second]]))[0]
            at = int(np.searchsorted(pairs, key))
            if at < pairs.size and pairs[at] == key:
                found[first_row + at] += 1
    return found
