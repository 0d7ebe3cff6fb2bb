"""Convex and reciprocal-rank fusion, and per-document collapsing."""

from __future__ import annotations

import pytest

from search.fusion import DocumentHit, best_per_document, convex_fuse, rrf_fuse


def test_scores_are_sums_of_reciprocal_ranks():
    fused = rrf_fuse([[1, 2, 3], [3, 1]], k=60, limit=10)

    assert [item for item, _ in fused] == [1, 3, 2]
    scores = dict(fused)
    assert scores[1] == pytest.approx(1 / 61 + 1 / 62)
    assert scores[3] == pytest.approx(1 / 63 + 1 / 61)
    assert scores[2] == pytest.approx(1 / 62)


def test_limit_cuts_the_result():
    assert [item for item, _ in rrf_fuse([[5, 6, 7, 8]], limit=2)] == [5, 6]
    assert rrf_fuse([[5, 6]], limit=0) == []


def test_weights_scale_each_list():
    # The dense list counts double, so its top hit wins over the lexical top hit.
    fused = rrf_fuse([[1, 2], [2, 1]], weights=[1.0, 2.0], k=0, limit=2)

    assert fused == [(2, pytest.approx(1 / 2 + 2 / 1)), (1, pytest.approx(1 / 1 + 2 / 2))]


def test_zero_weight_list_only_adds_candidates():
    fused = rrf_fuse([[1], [2]], weights=[1.0, 0.0], limit=5)

    assert [item for item, _ in fused] == [1, 2]
    assert fused[1][1] == 0.0


def test_ties_break_by_best_rank_then_list_then_id():
    # 10 and 20 swap places between lists: same score, same best rank; 10 got it in list 0.
    assert [i for i, _ in rrf_fuse([[10, 20], [20, 10]], limit=5)] == [10, 20]
    assert [i for i, _ in rrf_fuse([[20, 10], [10, 20]], limit=5)] == [20, 10]
    # Same score, both first in their list: the one from the earlier list leads.
    assert [i for i, _ in rrf_fuse([[7], [3]], limit=5)] == [7, 3]
    assert [i for i, _ in rrf_fuse([[], [9, 4], [4, 9]], limit=5)] == [9, 4]


def test_order_is_independent_of_float_summation_order():
    lists = [[1, 2, 3], [2, 3, 1], [3, 1, 2]]
    fused = rrf_fuse(lists, limit=3)

    # All three have the same score; best rank 1 each, reached in lists 0, 1, 2.
    assert [i for i, _ in fused] == [1, 2, 3]
    assert fused[0][1] == pytest.approx(fused[2][1])


def test_repeats_within_a_list_count_once_at_their_best_rank():
    fused = rrf_fuse([[1, 1, 2]], limit=5)

    assert fused == [(1, pytest.approx(1 / 61)), (2, pytest.approx(1 / 63))]


def test_empty_input():
    assert rrf_fuse([], limit=5) == []
    assert rrf_fuse([[], []], limit=5) == []


def test_bad_arguments_say_what_to_fix():
    with pytest.raises(ValueError, match="one weight per list"):
        rrf_fuse([[1], [2]], weights=[1.0], limit=5)
    with pytest.raises(ValueError, match="zero or positive"):
        rrf_fuse([[1], [2]], weights=[1.0, -1.0], limit=5)
    with pytest.raises(ValueError, match="k must be"):
        rrf_fuse([[1]], k=-1, limit=5)
    with pytest.raises(ValueError, match="limit must be"):
        rrf_fuse([[1]], limit=-1)
    with pytest.raises(ValueError, match="limit must be"):
        best_per_document([], {}, limit=-1)


def test_best_per_document_keeps_first_chunk_of_each_document():
    hits = [(100, 0.9), (101, 0.8), (200, 0.7), (102, 0.6), (300, 0.5)]
    document_of = {100: 1, 101: 1, 102: 1, 200: 2, 300: 3}

    assert best_per_document(hits, document_of) == [
        DocumentHit(document_id=1, chunk_id=100, score=0.9),
        DocumentHit(document_id=2, chunk_id=200, score=0.7),
        DocumentHit(document_id=3, chunk_id=300, score=0.5),
    ]
    assert [h.document_id for h in best_per_document(hits, document_of, limit=2)] == [1, 2]


def test_best_per_document_skips_unknown_chunks():
    hits = [(999, 1.0), (100, 0.5)]

    assert best_per_document(hits, {100: 1}) == [DocumentHit(1, 100, 0.5)]


def test_fuse_then_collapse():
    fused = rrf_fuse([[100, 101, 200], [200, 100]], limit=10)

    documents = best_per_document(fused, {100: 1, 101: 1, 200: 2})

    assert [(d.document_id, d.chunk_id) for d in documents] == [(1, 100), (2, 200)]


def test_convex_fusion_adds_min_max_normalised_scores():
    lexical = [(1, 12.0), (2, 8.0), (3, 2.0)]  # normalised: 1.0, 0.6, 0.0
    dense = [(3, 0.9), (1, 0.5), (4, 0.4)]  # normalised: 1.0, 0.2, 0.0

    fused = convex_fuse([lexical, dense], weights=[0.75, 0.25], limit=10)

    scores = dict(fused)
    assert scores[1] == pytest.approx(0.75 * 1.0 + 0.25 * 0.2)
    assert scores[2] == pytest.approx(0.75 * 0.6)
    assert scores[3] == pytest.approx(0.25 * 1.0)
    assert scores[4] == pytest.approx(0.0)
    assert [item for item, _ in fused] == [1, 2, 3, 4]


def test_convex_fusion_keeps_margins_that_ranks_lose():
    # Lexically, 1 is far ahead of 2; densely, 2 is barely ahead of 1. RRF with equal
    # weights calls it a tie broken by id; the convex combination keeps 1 first.
    lexical = [(1, 10.0), (2, 1.0), (3, 0.0)]
    dense = [(2, 0.81), (1, 0.80), (3, 0.10)]

    assert convex_fuse([lexical, dense], limit=3)[0][0] == 1
    assert (
        rrf_fuse([[1, 2, 3], [2, 1, 3]], limit=3)[0][1]
        == rrf_fuse([[1, 2, 3], [2, 1, 3]], limit=3)[1][1]
    )


def test_convex_fusion_edge_cases():
    assert convex_fuse([], limit=5) == []
    assert convex_fuse([[], []], limit=5) == []
    # One candidate (or equal scores): every id of that list gets the full share.
    assert convex_fuse([[(7, 3.0)], []], weights=[0.5, 0.5], limit=5) == [(7, 0.5)]
    # Repeats count once, at their first (best) position; the limit cuts.
    assert convex_fuse([[(1, 2.0), (2, 1.0), (1, 0.5)]], limit=1) == [(1, 1.0)]
    # Exact ties: best rank, then earliest list, then smaller id.
    assert [i for i, _ in convex_fuse([[(5, 1.0), (6, 0.0)], [(6, 1.0), (5, 0.0)]], limit=2)] == [
        5,
        6,
    ]
    with pytest.raises(ValueError, match="one weight per list"):
        convex_fuse([[(1, 1.0)], [(2, 1.0)]], weights=[1.0], limit=5)
    with pytest.raises(ValueError, match="zero or positive"):
        convex_fuse([[(1, 1.0)]], weights=[-1.0], limit=5)
    with pytest.raises(ValueError, match="zero or positive"):
        convex_fuse([[(1, 1.0)]], limit=-1)
