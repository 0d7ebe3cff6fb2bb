"""A big tenant's compaction (and rebuild_index) appends the new chunks to its stored BM25
matrix instead of reading every chunk again (search/bm25_append.py); it builds in full again
once the tenant has doubled since the last full build, or lost a tenth of it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from django.test import override_settings
from django_tenants.utils import schema_context

from documents.embedder_choice import embedder_for_current_tenant
from documents.embeddings.hashing import FeatureCounts
from documents.models import Chunk, Document
from documents.services import delete_document
from search import bm25, bm25_append, bm25_store, index, query_idf, retrieval, store_timing
from tests.conftest import TenantHandle
from tests.factories import DocumentFactory

TOPICS = [
    "boundary layer transition on a swept wing",
    "heat transfer in hypersonic flow past a blunt body",
    "flutter of thin panels in supersonic flow",
    "buckling of cylindrical shells under axial load",
    "shock wave interaction with a turbulent boundary layer",
    "laminar flow over a flat plate with suction",
    "compiler optimisation of loops for vector machines",
    "sorting records on magnetic tape with few passes",
]


@pytest.fixture
def tenant(make_tenant: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[TenantHandle]:
    monkeypatch.setattr(bm25_append, "APPEND_FROM", 20)  # "big" from 20 chunks on
    handle = make_tenant("bm25append")
    with schema_context(handle.schema), override_settings(SEARCH_LEXICAL_STORE=True):
        yield handle


def _documents(count: int, start: int = 0) -> list[Document]:
    made = []
    for n in range(start, start + count):
        texts = [f"{TOPICS[(n + i) % len(TOPICS)]} case {n} part {i}" for i in range(3)]
        made.append(DocumentFactory(filename=f"d{n}.txt", chunks=texts))
    return made


def _stored() -> bm25.Bm25Index:
    row = index.state()
    found = bm25_store.load(index.index_directory().name, str(row.generation), row.change_seq)
    assert found is not None, "the compaction stored no matrix for the current state"
    return found


def _counts(matrix: bm25.Bm25Index | None = None) -> tuple[int, int, int]:
    """(chunks at the last full build, appended since, removed since) of a matrix (the stored
    one of the current state by default)."""
    lineage = (matrix or _stored()).lineage
    return lineage.full_build_chunks, lineage.appended, lineage.removed


def _chunk_ids() -> list[int]:
    return list(Chunk.objects.order_by("id").values_list("id", flat=True))


def test_new_chunks_are_appended_and_rank_as_a_full_build_ranks_them(
    tenant: TenantHandle,
) -> None:
    _documents(10)  # 30 chunks
    assert index.compact().outcome == "rebuilt"
    first = _stored()
    assert _counts(first) == (30, 0, 0)

    delete_document(document=Document.objects.get(filename="d3.txt"))
    DocumentFactory(filename="new.txt", chunks=["zephyrine gusts load the tailplane"])
    _documents(2, start=10)
    index.compact()
    appended = _stored()

    assert _counts(appended) == (30, 7, 3)
    assert appended.chunk_ids.tolist() == _chunk_ids()  # every chunk once, in id order
    held = dict(zip(first.chunk_ids.tolist(), range(first.chunk_ids.size), strict=True))
    for column, chunk_id in enumerate(appended.chunk_ids.tolist()[:27]):  # copied as stored
        old = first.weights[:, held[chunk_id]]
        new = appended.weights[: len(first.terms), column]
        assert (old[: len(first.terms)] != new).nnz == 0
    # A word only the new document holds, and a new word pair, are found through the stored
    # matrix alone; the deleted document's chunks are not in it.
    hits = appended.search(bm25.query_lexemes("zephyrine"), 5, feedback=False)
    assert len(hits) == 1
    full = bm25.build(index.state().change_seq)
    for question in ["boundary layer", "tailplane gusts", "flutter panels case 11", "tape"]:
        lexemes = bm25.query_lexemes(question)
        ours = [chunk for chunk, _ in appended.search(lexemes, 5, phrase_weight=0.5)]
        theirs = [chunk for chunk, _ in full.search(lexemes, 5, phrase_weight=0.5)]
        assert ours == theirs, question
    assert retrieval.lexical_search("zephyrine", 5)  # what users search goes through it


def test_the_query_idf_counts_are_carried_forward(tenant: TenantHandle) -> None:
    _documents(8)
    index.compact()
    _documents(3, start=8)
    index.compact()
    assert _stored().lineage.appended == 9
    embedder = embedder_for_current_tenant()
    assert query_idf.weighs(embedder)
    row = index.state()
    stored = bm25_store.load_feature_counts(
        index.index_directory().name, str(row.generation), row.change_seq, embedder.name
    )
    counted = query_idf.count(embedder)
    assert stored is not None
    assert stored.documents == counted.documents == 33
    assert np.array_equal(stored.features, counted.features)
    assert np.array_equal(stored.frequencies, counted.frequencies)


def test_a_doubled_tenant_and_a_shrunk_one_are_built_in_full_a_rebuild_appends(
    tenant: TenantHandle,
) -> None:
    _documents(7)  # 21 chunks
    index.compact()
    _documents(7, start=7)  # 42: appended 21, as many as the full build held
    index.compact()
    assert _counts() == (21, 21, 0)
    _documents(1, start=14)  # now more: read in full
    index.compact()
    assert _counts() == (45, 0, 0)

    for gone in Document.objects.filter(filename__in=["d0.txt", "d1.txt"]):  # 6 of 45: > 1/10
        delete_document(document=gone)
    index.compact()
    assert _counts() == (39, 0, 0)

    _documents(1, start=15)
    index.compact()  # appended
    assert _counts() == (39, 3, 0)
    _documents(1, start=16)
    index.compact(rebuild=True)  # rebuild_index appends too (vectors rebuilt, words kept)
    assert _counts() == (39, 6, 0)


def test_a_small_tenant_is_always_built_in_full(
    tenant: TenantHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bm25_append, "APPEND_FROM", 1_000)
    _documents(8)
    index.compact()
    _documents(1, start=8)
    index.compact()
    assert _counts() == (27, 0, 0)


def test_a_matrix_that_will_be_appended_to_is_stored_at_once(tenant: TenantHandle) -> None:
    """The spacing of stores (two full builds' time) is for full builds: appending costs
    seconds, so a big tenant's upload gets its matrix at the next compaction."""
    _documents(10)
    index.compact()
    row = index.state()
    where = bm25_store.directory(index.index_directory().name, str(row.generation), row.change_seq)
    meta = json.loads((where / "meta.json").read_text())
    meta["build_seconds"] = meta["lineage"]["full_build_seconds"] = 300.0  # a big tenant's
    (where / "meta.json").write_text(json.dumps(meta))
    key = f"{index.index_directory().name}:{row.generation}"
    assert store_timing.spacing_left(key) > 500  # a full build would wait ten minutes
    assert store_timing.last_build_seconds(key) == 300.0  # and web processes wait for it

    _documents(1, start=10)
    index.compact()
    assert _stored().lineage.appended == 3  # stored at once, appended
    assert store_timing.last_build_seconds(key) == 300.0  # the full build's time is kept

    _documents(11, start=11)  # past doubling: a full build (not spaced: the last store, an
    index.compact()  # append, took no time)
    assert _counts() == (66, 0, 0)


def test_chunks_written_during_a_full_build_are_counted_once(
    tenant: TenantHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The query IDF stored with a matrix counts that matrix's chunks: those written while it
    was built come with the next matrix, appended, and are not counted twice."""
    _documents(8)
    build = bm25.build

    def build_while_uploading(change_seq: int) -> bm25.Bm25Index:
        built = build(change_seq)
        _documents(1, start=50)  # written after the matrix read the chunks
        return built

    monkeypatch.setattr(bm25, "build", build_while_uploading)
    index.compact()
    monkeypatch.setattr(bm25, "build", build)
    embedder = embedder_for_current_tenant()
    assert query_idf.weighs(embedder)

    def newest() -> tuple[bm25.Bm25Index, FeatureCounts]:
        where = (index.index_directory().name, str(index.state().generation))
        matrix = bm25_store.newest(*where)
        assert matrix is not None
        stored = bm25_store.load_feature_counts(*where, matrix.change_seq, embedder.name)
        assert stored is not None
        return matrix, stored

    matrix, stored = newest()
    assert matrix.chunk_ids.size == stored.documents == 24
    index.compact()  # appends the 3 chunks written meanwhile
    matrix, stored = newest()
    assert _counts(matrix) == (24, 3, 0)
    counted = query_idf.count(embedder)
    assert stored.documents == counted.documents == 27
    assert np.array_equal(stored.frequencies, counted.frequencies)
