"""Neighbour links written at compaction, and the lexical document expansion they drive."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from django.db import connection
from django.test import override_settings
from django_tenants.utils import schema_context

from documents import services
from documents.models import Chunk, ChunkNeighbours
from search import bm25_cache, chunk_links, index, retrieval
from tests.conftest import TenantHandle
from tests.factories import DocumentFactory
from tests.search.test_index import TEXTS


@pytest.fixture
def tenant(make_tenant: Any) -> Iterator[TenantHandle]:
    handle = make_tenant("links")
    with schema_context(handle.schema):
        bm25_cache.indexes.clear()
        yield handle


def _stored() -> dict[int, list[int]]:
    """Every chunk's stored neighbour ids ([] where it has no list)."""
    lists = dict(ChunkNeighbours.objects.values_list("chunk_id", "links"))
    return {
        chunk_id: chunk_links.unpack(lists.get(chunk_id))["id"].tolist()
        for chunk_id in Chunk.objects.values_list("id", flat=True)
    }


def _vectors() -> dict[int, np.ndarray]:
    return {
        chunk_id: np.frombuffer(bytes(blob), dtype="<f4")
        for chunk_id, blob in Chunk.objects.values_list("id", "embedding")
        if blob is not None
    }


@override_settings(INDEX_NEIGHBOURS=2)
def test_compaction_links_each_chunk_to_its_nearest_others(tenant: TenantHandle) -> None:
    DocumentFactory(filename="a.txt", chunks=TEXTS)
    assert all(not links for links in _stored().values())  # nothing until compaction
    index.compact()
    vectors = _vectors()
    for chunk_id, links in _stored().items():
        others = sorted(
            (other for other in vectors if other != chunk_id),
            key=lambda other: -float(vectors[chunk_id] @ vectors[other]),
        )
        assert len(links) == 2
        assert chunk_id not in links
        cosines = [float(vectors[chunk_id] @ vectors[other]) for other in links]
        best = [float(vectors[chunk_id] @ vectors[other]) for other in others[:2]]
        assert cosines == pytest.approx(best, abs=1e-5)


@override_settings(INDEX_NEIGHBOURS=1)
def test_a_later_closer_chunk_replaces_an_older_chunks_neighbour(tenant: TenantHandle) -> None:
    first = DocumentFactory(filename="shells.txt", chunks=[TEXTS[2]])
    DocumentFactory(filename="others.txt", chunks=[TEXTS[0], TEXTS[1]])
    index.compact(rebuild=True)
    shell = Chunk.objects.get(document=first).pk
    before = _stored()[shell]
    twin = DocumentFactory(
        filename="twin.txt", chunks=["buckling of thin cylindrical shells under axial loads"]
    )
    assert index.compact().outcome == "compacted"
    twin_chunk = Chunk.objects.get(document=twin).pk
    assert _stored()[twin_chunk] == [shell]
    assert _stored()[shell] == [twin_chunk] != before


@override_settings(QUERY_LEXICAL_FEEDBACK=False, INDEX_NEIGHBOURS=1)
@override_settings(QUERY_EXPANSION_WEIGHT=0.4)  # an option, off by default
def test_lexical_search_finds_a_chunk_through_its_neighbours_words(
    tenant: TenantHandle,
) -> None:
    DocumentFactory(
        filename="ablation.txt",
        chunks=["ablation cooling of the nose cone during re-entry heating"],
    )
    DocumentFactory(
        filename="nose.txt", chunks=["the nose cone during re-entry heating and cooling"]
    )
    DocumentFactory(filename="shells.txt", chunks=[TEXTS[2]])
    names = dict(Chunk.objects.values_list("id", "document__filename"))
    # Before compaction nothing is linked: only the chunk that says "ablation" matches.
    assert [names[c] for c, _ in retrieval.lexical_search("ablation", 10)] == ["ablation.txt"]
    index.compact()
    found = [names[c] for c, _ in retrieval.lexical_search("ablation", 10)]
    assert found == ["ablation.txt", "nose.txt"]  # the paraphrase, below the chunk that says it
    with override_settings(QUERY_EXPANSION_WEIGHT=0.0):
        bm25_cache.indexes.clear()
        plain = retrieval.lexical_search("ablation", 10)
    assert [names[c] for c, _ in plain] == ["ablation.txt"]


@override_settings(QUERY_EXPANSION_WEIGHT=0.4, INDEX_NEIGHBOURS=1)
def test_a_deleted_chunk_takes_its_words_and_its_place_in_lists_with_it(
    tenant: TenantHandle,
) -> None:
    source = DocumentFactory(
        filename="ablation.txt", chunks=["ablation cooling of the nose cone during re-entry"]
    )
    nose = DocumentFactory(
        filename="nose.txt", chunks=["the nose cone during re-entry heating and cooling"]
    )
    shells = DocumentFactory(filename="shells.txt", chunks=[TEXTS[2]])
    index.compact()
    names = dict(Chunk.objects.values_list("id", "document__filename"))
    assert len(retrieval.lexical_search("ablation", 10)) == 2
    gone = Chunk.objects.get(document=source).pk
    paraphrase = Chunk.objects.get(document=nose).pk
    assert _stored()[paraphrase] == [gone]
    services.delete_document(document=source)
    assert not ChunkNeighbours.objects.filter(chunk_id=gone).exists()
    # Until the next compaction the paraphrase still names the deleted chunk; the BM25
    # build skips it, so the word has gone from the results at once.
    assert retrieval.lexical_search("ablation", 10) == []
    assert [names[c] for c, _ in retrieval.lexical_search("cooling", 10)] == ["nose.txt"]
    assert index.compact().outcome == "compacted"
    assert _stored()[paraphrase] == [Chunk.objects.get(document=shells).pk]


@override_settings(QUERY_LEXICAL_FEEDBACK=False, INDEX_NEIGHBOURS=1)
def test_neighbours_and_expansion_stay_inside_the_tenant(make_tenant: Any) -> None:
    # Tenant A holds the word; tenant B only a paraphrase, with the same chunk ids.
    for schema, texts in (
        ("links_a", ["ablation cooling of the nose cone during re-entry heating", TEXTS[2]]),
        ("links_b", ["the nose cone during re-entry heating and cooling", TEXTS[2]]),
    ):
        handle = make_tenant(schema)
        with schema_context(handle.schema):
            bm25_cache.indexes.clear()
            DocumentFactory(filename="doc.txt", chunks=texts)
            index.compact()
    with schema_context("links_b"):
        own = set(Chunk.objects.values_list("id", flat=True))
        assert all(set(links) <= own for links in _stored().values())
        assert retrieval.lexical_search("ablation", 10) == []


@override_settings(INDEX_NEIGHBOURS=0)
def test_no_links_when_turned_off(tenant: TenantHandle) -> None:
    DocumentFactory(filename="a.txt", chunks=TEXTS)
    index.compact()
    assert all(not links for links in _stored().values())


def test_a_chunk_deleted_by_any_statement_takes_its_neighbour_list_with_it(
    tenant: TenantHandle,
) -> None:
    DocumentFactory(filename="a.txt", chunks=TEXTS[:2])
    DocumentFactory(filename="b.txt", chunks=TEXTS[2:])
    index.compact()
    listed = ChunkNeighbours.objects.values_list("chunk_id", flat=True).first()
    assert listed is not None
    with connection.cursor() as cursor:
        # A plain DELETE, with no Django cascade in front: what a deletion looks like to a list
        # that a compaction committed after Django looked for the chunk's lists.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"DELETE FROM {Chunk._meta.db_table} WHERE id = %s", [listed])  # noqa: S608
    assert not ChunkNeighbours.objects.filter(chunk_id=listed).exists()
