"""Document expansion arithmetic (search/expansion.py) and neighbour-list merging."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse  # type: ignore[import-untyped]

from search import chunk_links, expansion


def _links(*pairs: tuple[int, float]) -> np.ndarray:
    links = np.zeros(len(pairs), dtype=chunk_links.LINK)
    if pairs:
        links["id"], links["cosine"] = zip(*pairs, strict=True)
    return links


def _counts(rows: list[list[float]]) -> sparse.csr_matrix:
    return sparse.csr_matrix(np.asarray(rows, dtype=np.float64))


def _matrix(
    chunk_ids: list[int], lists: list[np.ndarray | None], lengths: np.ndarray
) -> sparse.csr_matrix:
    """neighbour_matrix from per-chunk lists, laid end to end as the BM25 build does."""
    present = [(row, links) for row, links in enumerate(lists) if links is not None]
    owners = np.asarray([row for row, links in present for _ in links], dtype=np.int64)
    joined = np.concatenate([links for _, links in present]) if present else _links()
    return expansion.neighbour_matrix(
        owners, joined, np.asarray(chunk_ids, dtype=np.int64), lengths
    )


def test_a_linked_chunk_borrows_its_neighbours_words_and_keeps_its_length() -> None:
    # Chunk ids 10, 20, 30 in columns 0, 1, 2; terms t0..t3.
    counts = _counts([[2, 2, 0, 0], [1, 0, 1, 0], [0, 0, 0, 5]])
    lengths = np.asarray(counts.sum(axis=1)).ravel()
    links = [_links((20, 0.9)), None, None]  # only chunk 10 is linked, to chunk 20
    matrix = _matrix([10, 20, 30], links, lengths)
    expanded = expansion.expand(counts, matrix, weight=0.4, new_terms=30).toarray()
    # Chunk 20 (length 2) is scaled to chunk 10's length 4: t0 2, t2 2.
    assert expanded[0] == pytest.approx([0.6 * 2 + 0.4 * 2, 0.6 * 2, 0.4 * 2, 0])
    assert expanded[0].sum() == pytest.approx(4.0)
    # Unlinked chunks are exactly what they were.
    assert expanded[1:] == pytest.approx(counts.toarray()[1:])


def test_neighbour_weights_are_normalised_and_gone_or_self_links_ignored() -> None:
    lengths = np.ones(3)
    # Chunk 1 names itself, deleted chunks 0 and 99, and chunks 2 and 3 (cosines 0.6 / 0.2).
    links = [_links((1, 1.0), (0, 0.5), (99, 0.9), (2, 0.6), (3, 0.2)), None, None]
    matrix = _matrix([1, 2, 3], links, lengths).toarray()
    assert matrix[0] == pytest.approx([0, 0.75, 0.25])
    assert not matrix[1:].any()


def test_new_words_are_capped_per_chunk_but_own_words_always_kept() -> None:
    counts = _counts([[1, 0, 0, 0, 0], [1, 4, 3, 2, 1]])
    lengths = np.asarray(counts.sum(axis=1)).ravel()
    matrix = _matrix([1, 2], [_links((2, 1.0)), None], lengths)
    expanded = expansion.expand(counts, matrix, weight=0.5, new_terms=2).toarray()
    assert np.count_nonzero(expanded[0]) == 3  # its own t0 plus the two strongest new words
    assert expanded[0, 1:3].all()
    assert not expanded[0, 3:].any()


def test_expansion_off_returns_the_counts_unchanged() -> None:
    counts = _counts([[1, 0], [0, 1]])
    matrix = _matrix([1, 2], [_links((2, 1.0)), None], np.ones(2))
    assert expansion.expand(counts, matrix, weight=0.0, new_terms=30) is counts


def test_merge_keeps_the_closest_k_once_each() -> None:
    current = _links((5, 0.9), (6, 0.5), (7, 0.4))
    merged = chunk_links.merge(current, [(8, 0.7), (6, 0.8), (9, 0.1)], 3)
    assert merged["id"].tolist() == [5, 6, 8]
    assert merged["cosine"] == pytest.approx([0.9, 0.8, 0.7])


def test_links_round_trip_through_bytes() -> None:
    links = _links((3, 0.25), (1, -0.5))
    unpacked = chunk_links.unpack(chunk_links.pack(links))
    assert unpacked["id"].tolist() == [3, 1]
    assert unpacked["cosine"] == pytest.approx([0.25, -0.5])
    assert len(chunk_links.unpack(None)) == 0
