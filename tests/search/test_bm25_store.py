"""BM25 matrices stored at compaction and memory-mapped by processes (search/bm25_store.py)."""

from __future__ import annotations

import logging
import mmap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.test import override_settings
from django_tenants.utils import schema_context

from documents.embedder_choice import embedder_for_current_tenant
from documents.embeddings.hashing import HashingEmbedder, TermWeights
from search import bm25, bm25_cache, bm25_store, index, query_idf
from tests.conftest import TenantHandle
from tests.factories import DocumentFactory
from tests.queries.helpers import add_corpus

QUERIES = ["swept wing shock", "heat transfer", "shells buckle under compression", "cooling"]


@pytest.fixture
def tenant(make_tenant: Any) -> Iterator[TenantHandle]:
    handle = make_tenant("bm25store")
    with schema_context(handle.schema):
        add_corpus()
        yield handle


def _key() -> tuple[str, int]:
    row = index.state()
    return f"{index.index_directory().name}:{row.generation}", row.change_seq


def _stored_directories(schema: str) -> list[Path]:
    """This tenant's stored matrices (schema names repeat across tests; generations do not)."""
    root = index.index_directory(schema)
    mine = f"{bm25_store.PREFIX}{index.state().generation}-"
    return sorted(path for path in root.iterdir() if path.name.startswith(mine))


def _mapped(array: np.ndarray) -> bool:
    """Whether the array's memory is a file mapping (not a private copy)."""
    base: Any = array
    while base is not None:
        if isinstance(base, (np.memmap, mmap.mmap)):
            return True
        base = getattr(base, "base", None)
    return False


def _refuse_to_build(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(change_seq: int) -> bm25.Bm25Index:
        raise AssertionError("the matrix was built although a stored one fits")

    monkeypatch.setattr(bm25, "build", refuse)


def test_a_compaction_stores_the_matrix_and_processes_map_it_instead_of_building(
    tenant: TenantHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    DocumentFactory(
        filename="flow.txt", chunks=["Über die Strömung am Flügel: naïve résumé of the flow."]
    )
    index.compact()
    key, change_seq = _key()
    built = bm25.build(change_seq)  # what each process used to build for itself
    _refuse_to_build(monkeypatch)
    (directory,) = _stored_directories(tenant.schema)
    assert directory.stat().st_mode & 0o005 == 0o005  # other users' processes may map it too

    loaded = bm25_cache.Bm25Cache().get(key, change_seq)  # a process that starts now

    assert _mapped(loaded.weights.data)  # pages shared, not a private copy
    assert loaded.change_seq == change_seq
    assert loaded.terms == built.terms
    assert any(not term.isascii() for term in loaded.terms)  # written and read as UTF-8
    assert (loaded.weights != built.weights).nnz == 0
    assert (loaded.term_distributions != built.term_distributions).nnz == 0
    assert loaded.idf is not None
    assert built.idf is not None
    assert _mapped(loaded.idf)
    assert np.array_equal(loaded.idf, built.idf)
    assert loaded.average_length == pytest.approx(built.average_length)
    some_document = int(built.document_ids[0])
    for text in QUERIES:
        lexemes = bm25.query_lexemes(text)
        for feedback in (True, False):
            for documents in (None, [some_document]):
                expected = built.search(lexemes, 5, document_ids=documents, feedback=feedback)
                assert expected or documents
                assert loaded.search(lexemes, 5, document_ids=documents, feedback=feedback) == (
                    expected
                )


def test_a_big_tenant_maps_the_new_matrix_at_once_after_a_compaction(
    tenant: TenantHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = bm25_cache.Bm25Cache(sync_limit=0)  # every tenant counts as big
    started: list[Callable[[], None]] = []
    monkeypatch.setattr(cache, "spawn", lambda target, _name: started.append(target))
    index.compact()
    first = cache.get(*_key())
    DocumentFactory(filename="flutter.txt", chunks=["Flutter of thin panels in supersonic flow."])
    index.compact()

    fresh = cache.get(*_key())

    assert fresh is not first
    assert started == []  # no background rebuild: the stored matrix was there to map
    assert fresh.search(bm25.query_lexemes("flutter"), 5)


def test_an_unusable_stored_matrix_is_built_instead(
    tenant: TenantHandle, caplog: pytest.LogCaptureFixture
) -> None:
    index.compact()
    key, change_seq = _key()
    (directory,) = _stored_directories(tenant.schema)
    (directory / "weights.indices.npy").write_bytes(b"not an array")

    with caplog.at_level(logging.WARNING, logger="search.bm25_store"):
        found = bm25_cache.Bm25Cache().get(key, change_seq)

    assert "could not be used" in caplog.text
    assert not _mapped(found.weights.data)
    assert found.search(bm25.query_lexemes("ablation cooling"), 5)


def test_only_the_two_newest_matrices_are_kept(tenant: TenantHandle) -> None:
    for n in range(3):
        DocumentFactory(filename=f"more-{n}.txt", chunks=[f"Panel number {n} vibrates."])
        index.compact()
    key, change_seq = _key()
    kept = _stored_directories(tenant.schema)
    assert len(kept) == 2
    assert bm25_store.directory(tenant.schema, key.split(":")[1], change_seq) in kept


def test_nothing_is_stored_when_the_setting_is_off(
    tenant: TenantHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    with override_settings(SEARCH_LEXICAL_STORE=False):
        index.compact()
        assert _stored_directories(tenant.schema) == []
        assert bm25_cache.Bm25Cache().get(*_key()).search(bm25.query_lexemes("wing"), 5)


def test_a_matrix_stored_with_other_settings_is_not_used(
    tenant: TenantHandle, caplog: pytest.LogCaptureFixture
) -> None:
    DocumentFactory(filename="nose.txt", chunks=["The nose cone heats during re-entry."])
    with override_settings(QUERY_EXPANSION_WEIGHT=0.4):
        index.compact()  # stored with document expansion on
    key, change_seq = _key()
    with override_settings(QUERY_EXPANSION_WEIGHT=0.0):
        with caplog.at_level(logging.WARNING, logger="search.bm25_store"):
            found = bm25_cache.Bm25Cache().get(key, change_seq)
        fresh = bm25.build(change_seq)
        assert found.weights.shape == fresh.weights.shape
        assert (found.weights != fresh.weights).nnz == 0  # built with the setting
    assert "other settings" in caplog.text
    assert not _mapped(found.weights.data)


def test_the_query_term_weights_are_stored_too_and_read_instead_of_counted(
    tenant: TenantHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    index.compact()
    key, change_seq = _key()
    embedder = embedder_for_current_tenant()
    assert isinstance(embedder, HashingEmbedder)
    counted = query_idf.build(embedder)

    def refuse(_embedder: HashingEmbedder) -> TermWeights:
        raise AssertionError("the weights were counted although a stored table fits")

    monkeypatch.setattr(query_idf, "build", refuse)
    # A big tenant's first query would otherwise get no weights until a background count.
    found = query_idf.TermWeightCache().get(key, change_seq, embedder, chunk_count=10**6)

    assert found is not None
    assert np.array_equal(found.features, counted.features)
    assert np.array_equal(found.idf, counted.idf)
    schema, generation = key.split(":")
    assert bm25_store.load_term_weights(schema, generation, change_seq, "another-embedder") is None
