"""Building a big tenant's BM25 matrix holds memory in proportion to its entries, not to Python
objects per word: what it reads is gathered one batch of chunks at a time into arrays
(search/bm25.py), and the matrix is the same as one built from a single batch."""

from __future__ import annotations

import random
import tracemalloc
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from django_tenants.utils import schema_context

from search import bm25, index
from tests.conftest import TenantHandle
from tests.factories import DocumentFactory

# A vocabulary as big as a technical collection's: most words of a chunk are distinct.
WORDS = [f"{stem}{n}" for stem in ("flow", "wing", "shock", "plate", "layer") for n in range(600)]


def _chunk(rng: random.Random) -> str:
    sentences = [" ".join(rng.choices(WORDS, k=rng.randint(8, 20))) + "." for _ in range(12)]
    return " ".join(sentences)


@pytest.fixture
def tenant(make_tenant: Any) -> Iterator[TenantHandle]:
    handle = make_tenant("bm25scale")
    rng = random.Random(5)
    with schema_context(handle.schema):
        for number in range(20):
            DocumentFactory(
                filename=f"report-{number}.txt", chunks=[_chunk(rng) for _ in range(150)]
            )
        yield handle


def _same(first: bm25.Bm25Index, second: bm25.Bm25Index) -> None:
    assert first.terms == second.terms
    assert np.array_equal(first.chunk_ids, second.chunk_ids)
    assert np.array_equal(first.pairs, second.pairs)  # type: ignore[arg-type]
    for name in ("weights", "term_distributions"):
        difference = getattr(first, name) - getattr(second, name)
        assert abs(difference).max() == 0, name


def test_a_matrix_built_in_batches_is_the_one_built_at_once(
    tenant: TenantHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    change_seq = index.state().change_seq
    whole = bm25.build(change_seq)
    monkeypatch.setattr(bm25, "_READ_BATCH", 7)  # batches that split documents
    _same(bm25.build(change_seq), whole)
    assert whole.chunk_ids.size == 3_000
    assert whole.pairs is not None
    assert whole.pairs.size > 0


def test_building_holds_arrays_not_python_objects_per_word(
    tenant: TenantHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """3,000 chunks of ~170 words: about 500,000 word entries and as many pairs. Gathered as
    Python lists and position strings, building peaked at 39 KB per chunk here (and 45 KB per
    chunk of the big-tenant bench's: 45 GB for a million chunks); as arrays, at about half."""
    monkeypatch.setattr(bm25, "_READ_BATCH", 300)
    change_seq = index.state().change_seq
    tracemalloc.start()
    try:
        built = bm25.build(change_seq)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    per_chunk = peak / built.chunk_ids.size
    assert per_chunk < 25_000, f"building peaked at {per_chunk / 1000:.0f} KB per chunk"
