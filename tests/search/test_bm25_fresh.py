"""Lexical search on a big tenant finds chunks newer than its BM25 matrix (bm25_fresh.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import override_settings
from django_tenants.utils import schema_context

from documents.models import Document
from documents.services import delete_document
from search import bm25, bm25_cache, bm25_fresh, index
from search.retrieval import lexical_search
from tests.conftest import TenantHandle
from tests.factories import DocumentFactory

PANELS = "Flutter of thin panels in supersonic flow needs stiffer skins."


@pytest.fixture
def stale(make_tenant: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[TenantHandle]:
    """A tenant whose matrix is never rebuilt: every tenant counts as big, no store, no thread."""
    cache = bm25_cache.Bm25Cache(sync_limit=0)
    monkeypatch.setattr(cache, "spawn", lambda _target, _name: None)
    monkeypatch.setattr(bm25_cache, "indexes", cache)
    handle = make_tenant("bm25fresh")
    with schema_context(handle.schema), override_settings(SEARCH_LEXICAL_STORE=False):
        DocumentFactory(filename="wings.txt", chunks=["Supersonic flow over a swept wing.", PANELS])
        DocumentFactory(filename="heat.txt", chunks=["Heat transfer in laminar boundary layers."])
        row = index.state()
        cache.get(f"{handle.schema}:{row.generation}", row.change_seq)  # the matrix, kept
        yield handle


def _matrix(tenant: TenantHandle) -> bm25.Bm25Index:
    row = index.state()
    return bm25_cache.indexes.get(f"{tenant.schema}:{row.generation}", row.change_seq)


def _chunk_ids(document: Document) -> list[int]:
    return list(document.chunks.order_by("ordinal").values_list("id", flat=True))


def test_a_chunk_newer_than_the_matrix_is_found_at_once(stale: TenantHandle) -> None:
    new = DocumentFactory(
        filename="skins.txt", chunks=["Zyzzogeton skins were riveted to the spar."]
    )

    found = [chunk_id for chunk_id, _ in lexical_search("zyzzogeton skins", 5)]

    assert _matrix(stale).change_seq < index.state().change_seq  # still the old matrix ...
    assert found[0] == _chunk_ids(new)[0]  # ... yet the new chunk comes first


@pytest.mark.parametrize("feedback", [True, False])
def test_a_new_chunk_scores_as_it_would_in_the_matrix(stale: TenantHandle, feedback: bool) -> None:
    """The same words in an old and a new chunk give the same score: one scale for both."""
    old = Document.objects.get(filename="wings.txt")
    new = DocumentFactory(filename="copy.txt", chunks=[PANELS])

    with override_settings(QUERY_LEXICAL_FEEDBACK=feedback):
        hits = dict(lexical_search("flutter of panels", 10))

    old_chunk, new_chunk = _chunk_ids(old)[1], _chunk_ids(new)[0]
    assert hits[new_chunk] == pytest.approx(hits[old_chunk], rel=1e-5)
    assert set(list(hits)[:2]) == {old_chunk, new_chunk}  # above every other chunk


def test_document_filters_apply_to_new_chunks(stale: TenantHandle) -> None:
    old = Document.objects.get(filename="wings.txt")
    new = DocumentFactory(filename="copy.txt", chunks=[PANELS])

    only_old = lexical_search("flutter panels", 10, document_ids=[old.pk])
    only_new = lexical_search("flutter panels", 10, document_ids=[new.pk])

    assert only_old[0][0] == _chunk_ids(old)[1]
    assert {chunk_id for chunk_id, _ in only_old} <= set(_chunk_ids(old))
    assert [chunk_id for chunk_id, _ in only_new] == _chunk_ids(new)


def test_deleted_and_changed_chunks_follow_each_change(stale: TenantHandle) -> None:
    first = DocumentFactory(filename="one.txt", chunks=["Zyzzogeton one."])
    assert [c for c, _ in lexical_search("zyzzogeton", 5)] == _chunk_ids(first)
    second = DocumentFactory(filename="two.txt", chunks=["Zyzzogeton two, twice: zyzzogeton."])
    assert [c for c, _ in lexical_search("zyzzogeton", 5)] == _chunk_ids(second) + _chunk_ids(first)

    delete_document(document=second)

    assert [c for c, _ in lexical_search("zyzzogeton", 5)] == _chunk_ids(first)


def test_too_many_new_chunks_wait_for_the_next_matrix(stale: TenantHandle) -> None:
    DocumentFactory(filename="bulk.txt", chunks=["Zyzzogeton a.", "Zyzzogeton b.", "Zyzzogeton c."])
    matrix = _matrix(stale)

    assert bm25_fresh.FreshTracker(matrix, limit=2).at(index.state().change_seq) is None
    tracked = bm25_fresh.FreshTracker(matrix, limit=3).at(index.state().change_seq)
    assert tracked is not None
    assert tracked.chunk_ids.size == 3


def test_nothing_is_read_while_the_matrix_is_current(
    stale: TenantHandle, django_assert_num_queries: Any
) -> None:
    matrix = _matrix(stale)
    with django_assert_num_queries(0):
        assert bm25_cache.indexes.fresh("any", matrix, matrix.change_seq) is None
