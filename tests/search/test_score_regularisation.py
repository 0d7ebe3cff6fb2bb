"""Neighbour re-ranking: candidates borrow score from the strong hits they resemble."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from django.test import override_settings
from django_tenants.utils import schema_context

from documents import services
from documents.embedder_choice import embedder_for_current_tenant
from documents.models import Chunk
from search import index, retrieval, score_regularisation
from search.fusion import convex_fuse
from tests.conftest import TenantHandle
from tests.queries.helpers import add_corpus


def unit(*values: float) -> np.ndarray:
    vector = np.asarray(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


# Chunks 1-3 are about one topic, 4 and 5 about another.
VECTORS = {
    1: unit(1, 0.1, 0),
    2: unit(1, 0.2, 0),
    3: unit(1, 0, 0.1),
    4: unit(0, 1, 0),
    5: unit(0, 1, 0.1),
}


def test_a_hit_like_the_strong_hits_overtakes_an_isolated_one():
    # 4 scored a little higher than 3, but 3 resembles the two best hits and 4 resembles
    # only the weak 5.
    fused = [(1, 1.0), (2, 0.9), (4, 0.5), (3, 0.45), (5, 0.1)]

    reranked = score_regularisation.regularise(fused, VECTORS, sources=5, neighbours=2, weight=0.5)

    order = [chunk_id for chunk_id, _ in reranked]
    assert order.index(3) < order.index(4)
    scores = dict(reranked)
    # 3's two nearest sources are 1 and 2: half its own score, half their weighted mean.
    sims = np.array([VECTORS[3] @ VECTORS[1], VECTORS[3] @ VECTORS[2]], dtype=np.float64)
    expected = 0.5 * 0.45 + 0.5 * float((sims * [1.0, 0.9]).sum() / sims.sum())
    assert scores[3] == pytest.approx(expected, rel=1e-5)
    assert [s for _, s in reranked] == sorted((s for _, s in reranked), reverse=True)


def test_weight_zero_or_missing_vectors_change_nothing():
    fused = [(1, 1.0), (4, 0.5), (3, 0.45)]
    assert (
        score_regularisation.regularise(fused, VECTORS, sources=3, neighbours=2, weight=0.0)
        == fused
    )
    assert score_regularisation.regularise(fused, {}, sources=3, neighbours=2, weight=0.5) == fused
    # A chunk whose vector is gone keeps its fused score; the others are still re-scored.
    partial = {k: v for k, v in VECTORS.items() if k != 4}
    reranked = dict(
        score_regularisation.regularise(fused, partial, sources=3, neighbours=1, weight=0.5)
    )
    assert reranked[4] == 0.5
    assert reranked[3] != 0.45


def test_only_the_top_sources_lend_score():
    # Sources are the 2 best hits, 1 and 2; each chunk borrows from its nearest one of them
    # (never itself): 1 and 2 from each other, 4 from 2, which is closer to it than 1 is.
    fused = [(1, 1.0), (2, 0.2), (4, 0.2)]

    reranked = dict(
        score_regularisation.regularise(fused, VECTORS, sources=2, neighbours=3, weight=0.5)
    )

    assert reranked[1] == pytest.approx(0.5 * 1.0 + 0.5 * 0.2)
    assert reranked[2] == pytest.approx(0.5 * 0.2 + 0.5 * 1.0)
    assert reranked[4] == pytest.approx(0.5 * 0.2 + 0.5 * 0.2)


@pytest.fixture
def tenant(make_tenant: Any) -> Iterator[TenantHandle]:
    handle = make_tenant("neighbours")
    with schema_context(handle.schema):
        yield handle


def test_hybrid_search_reranks_when_enabled(tenant: TenantHandle) -> None:
    add_corpus()
    text = "heat shock waves on wings and cones"  # four chunks share a word with it
    share = {"QUERY_DENSE_WEIGHT": 0.25}  # hashing's own share is 0: hybrid would be lexical
    with override_settings(QUERY_NEIGHBOUR_WEIGHT=0.5, QUERY_NEIGHBOUR_SOURCES=4, **share):
        lexical = retrieval.retrieve(text, mode="lexical", top_k=100).hits
        dense = retrieval.retrieve(text, mode="dense", top_k=100).hits
        top3 = retrieval.retrieve(text, mode="hybrid", top_k=3).hits
        everything = retrieval.retrieve(text, mode="hybrid", top_k=100).hits

    fused = convex_fuse([lexical, dense], weights=[0.75, 0.25], limit=1000)
    vectors = index.stored_vectors([c for c, _ in fused], embedder=embedder_for_current_tenant())
    assert set(vectors) == {c for c, _ in fused}  # every ready chunk has its vector stored
    expected = score_regularisation.regularise(fused, vectors, sources=4, neighbours=7, weight=0.5)
    assert [c for c, _ in everything] == [c for c, _ in expected]
    assert [s for _, s in everything] == pytest.approx([s for _, s in expected])
    assert [c for c, _ in everything] != [c for c, _ in fused]  # it did re-rank here
    assert top3 == everything[:3]  # a result's rank does not depend on top_k
    # Off (the hashing embedder's default), hybrid is the plain fusion.
    with override_settings(**share):
        plain = retrieval.retrieve(text, mode="hybrid", top_k=100).hits
    assert [c for c, _ in plain] == [c for c, _ in fused]


def test_vectors_come_from_the_index_in_memory_and_match_postgresql(tenant: TenantHandle) -> None:
    documents = add_corpus()
    embedder = embedder_for_current_tenant()
    ids = sorted(Chunk.objects.values_list("id", flat=True))
    from_sql = {
        chunk.pk: np.frombuffer(bytes(chunk.embedding or b""), dtype="<f4")
        for chunk in Chunk.objects.filter(id__in=ids)
    }
    # Before compaction every chunk is in the delta; after it, in the flat snapshot.
    in_delta = index.stored_vectors(ids, embedder=embedder)
    index.compact(rebuild=True)
    in_snapshot = index.stored_vectors(ids, embedder=embedder)
    for found in (in_delta, in_snapshot):
        assert set(found) == set(ids)
        for chunk_id in ids:
            assert np.array_equal(found[chunk_id], from_sql[chunk_id])
    # A deleted document's chunks are not handed out, even before the next compaction.
    gone = next(iter(documents.values()))
    gone_chunks = set(gone.chunks.values_list("id", flat=True))
    assert gone_chunks
    assert gone_chunks <= set(ids)
    services.delete_document(document=gone)
    left = index.stored_vectors(ids, embedder=embedder)
    assert not gone_chunks & set(left)
    assert set(left) == set(ids) - gone_chunks
