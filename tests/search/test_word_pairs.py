"""Adjacent word pairs in BM25: a phrase in the question ranks the chunk that says it first."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from django.test import override_settings
from django_tenants.utils import schema_context

from documents.models import Chunk
from search import bm25, bm25_cache, bm25_store, index, retrieval
from tests.conftest import TenantHandle
from tests.factories import DocumentFactory


@pytest.fixture
def tenant(make_tenant: Any) -> Iterator[TenantHandle]:
    handle = make_tenant("wordpairs")
    with schema_context(handle.schema):
        # Same words, same length; only one says "boundary layer".
        DocumentFactory(
            filename="apart.txt",
            chunks=["The layer of paint on the boundary wall cracked in the cold winter."],
        )
        DocumentFactory(
            filename="phrase.txt",
            chunks=["The boundary layer of the wing cracked the cold paint in winter."],
        )
        yield handle


def _ranked(text: str) -> list[str]:
    names = dict(Chunk.objects.values_list("id", "document__filename"))
    return [names[chunk_id] for chunk_id, _ in retrieval.lexical_search(text, 10)]


def test_the_chunk_with_the_phrase_ranks_first(tenant: TenantHandle) -> None:
    assert _ranked("boundary layer") == ["phrase.txt", "apart.txt"]
    assert _ranked("layer boundary")[0] == "apart.txt"  # "layer of ... boundary": that order
    with override_settings(QUERY_PHRASE_WEIGHT=0.0):
        bm25_cache.indexes.clear()
        words_only = retrieval.lexical_search("boundary layer", 10)
    assert words_only[0][1] == pytest.approx(words_only[1][1], rel=0.05)  # a near tie without


def test_query_lexemes_keep_text_order_and_repeats(tenant: TenantHandle) -> None:
    assert bm25.query_lexemes("Wing flow over the wing: flows") == ["wing", "flow", "wing", "flow"]
    assert bm25.query_lexemes("the of and") == []


def test_the_pairs_are_stored_and_read_back_with_the_matrix(tenant: TenantHandle) -> None:
    if not bm25_store.enabled():
        pytest.skip("SEARCH_LEXICAL_STORE is off")
    index.compact()
    row = index.state()
    built = bm25.build(row.change_seq)
    stored = bm25_store.load(index.index_directory().name, str(row.generation), row.change_seq)
    assert stored is not None
    assert built.pairs is not None
    assert stored.pairs is not None
    assert built.pairs.size > 10  # every adjacent pair of both chunks
    assert np.array_equal(np.asarray(stored.pairs), built.pairs)
    assert (stored.weights != built.weights).nnz == 0
    assert stored.search(["boundari", "layer"], 2, phrase_weight=0.3) == built.search(
        ["boundari", "layer"], 2, phrase_weight=0.3
    )
