"""RM3 feedback in BM25 and query-side IDF for the hashing embedder."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from django.test import override_settings
from django_tenants.utils import schema_context
from scipy import sparse  # type: ignore[import-untyped]

from documents.embedder_choice import embedder_for_current_tenant
from search import bm25, index, query_idf, retrieval
from tests.conftest import TenantHandle
from tests.factories import DocumentFactory


def _index(tf: list[list[int]]) -> bm25.Bm25Index:
    """A hand-made index: rows are chunks, columns terms 0..n (weights = tf)."""
    counts = np.asarray(tf, dtype=np.float32)
    lengths = np.maximum(counts.sum(axis=1, keepdims=True), 1)
    return bm25.Bm25Index(
        chunk_ids=np.arange(1, len(tf) + 1, dtype=np.int64),
        document_ids=np.arange(1, len(tf) + 1, dtype=np.int64),
        terms={f"t{i}": i for i in range(counts.shape[1])},
        weights=sparse.csr_matrix(counts.T),
        term_distributions=sparse.csr_matrix(counts / lengths),
        change_seq=1,
    )


def test_feedback_reaches_chunks_that_share_only_expansion_terms() -> None:
    built = _index([[2, 1, 0], [0, 1, 0], [0, 0, 1]])  # chunk 2 has only t1, the top chunk's word
    assert [c for c, _ in built.search(["t0"], 10, feedback=False)] == [1]
    hits = built.search(["t0"], 10)
    assert [c for c, _ in hits] == [1, 2]
    assert hits[0][1] > hits[1][1] > 0


def test_expansion_mixes_query_and_relevance_model_half_and_half() -> None:
    built = _index([[2, 1, 0], [0, 1, 0], [0, 0, 1]])
    scores = np.asarray([2.0, 0.0, 0.0])
    rows, weights = built.expand([0], np.ones(1), scores)
    expanded = dict(zip(rows, weights.tolist(), strict=True))
    # p(t|d1) = 2/3, 1/3: t0 = 0.5 (query) + 0.5 * 2/3, t1 = 0.5 * 1/3.
    assert expanded == pytest.approx({0: 0.5 + 0.5 * 2 / 3, 1: 0.5 / 3})
    assert sum(weights) == pytest.approx(1.0)
    # Nothing matched: the query stays as it was.
    rows, weights = built.expand([2], np.ones(1), np.zeros(3))
    assert rows == [2]
    assert weights.tolist() == [bm25.ORIGINAL_QUERY_WEIGHT]


def test_expansion_keeps_the_strongest_terms_only() -> None:
    many = _index([[1] * 30])
    rows, _ = many.expand([0], np.ones(1), np.asarray([1.0]))
    assert len(rows) == bm25.FEEDBACK_TERMS


def test_feedback_respects_the_document_filter() -> None:
    built = _index([[2, 1, 0], [0, 1, 0], [0, 0, 1]])
    # Chunk 1 may not be seen, so it cannot lend its words to the query either.
    assert built.search(["t0"], 10, document_ids=[2, 3]) == []


@pytest.fixture
def tenant(make_tenant: Any) -> Iterator[TenantHandle]:
    handle = make_tenant("feedback")
    with schema_context(handle.schema):
        yield handle


def test_lexical_search_uses_feedback_setting(tenant: TenantHandle) -> None:
    DocumentFactory(
        filename="a.txt",
        chunks=["Ablation cooling protects the nose cone during re-entry heating."],
    )
    DocumentFactory(filename="b.txt", chunks=["Nose cone heating during re-entry."])
    plain = retrieval.lexical_search("ablation", 10)  # off by default
    with override_settings(QUERY_LEXICAL_FEEDBACK=True):
        expanded = retrieval.lexical_search("ablation", 10)
    assert len(plain) == 1
    assert len(expanded) == 2  # b.txt shares the top chunk's words, not the query's


def test_hashing_queries_are_idf_weighted_and_rebuilt_on_change(tenant: TenantHandle) -> None:
    query_idf.weights.clear()
    DocumentFactory(filename="common.txt", chunks=["wing flow"] * 5)
    DocumentFactory(filename="rare.txt", chunks=["wing flutter"])
    embedder = embedder_for_current_tenant()
    assert query_idf.supports_term_weights(embedder)
    top = retrieval.retrieve("flow flutter", mode="dense", top_k=1, embedder=embedder).hits
    with override_settings(QUERY_DENSE_IDF=False):
        tf_only = retrieval.retrieve("flutter flow", mode="dense", top_k=6, embedder=embedder)
    rare_chunk = top[0][0]
    assert index.search_dense(embedder.embed_query("flutter"), 1)[0][0] == rare_chunk
    assert len(tf_only.hits) == 6
    row = index.state()
    key = f"{tenant.schema}:{row.generation}"
    get = query_idf.weights.get
    first = get(key, row.change_seq, embedder, chunk_count=6)
    assert get(key, row.change_seq, embedder, chunk_count=6) is first


def test_stale_term_weights_are_served_while_a_rebuild_runs(tenant: TenantHandle) -> None:
    query_idf.weights.clear()
    DocumentFactory(filename="a.txt", chunks=["wing flow"])
    embedder = embedder_for_current_tenant()
    row = index.state()
    key = f"{tenant.schema}:{row.generation}"
    get = query_idf.weights.get
    first = get(key, row.change_seq, embedder, chunk_count=1)  # type: ignore[arg-type]
    DocumentFactory(filename="b.txt", chunks=["flutter of panels"])
    # The index changed: the earlier table answers at once (a rebuild starts in the background).
    assert get(key, index.state().change_seq, embedder, chunk_count=2) is first  # type: ignore[arg-type]
    # A big tenant's first query does not wait for a build: plain tf until it is ready.
    assert get("other:key", 1, embedder, chunk_count=10**6) is None  # type: ignore[arg-type]
