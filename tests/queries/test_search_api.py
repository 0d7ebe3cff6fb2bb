"""POST /api/v1/search/: modes, filters, fusion, highlights, cache, Redis down, query log."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.test import override_settings
from django_tenants.utils import schema_context

from queries.models import Query
from search import retrieval
from tests.conftest import TenantHandle
from tests.factories import DocumentFactory
from tests.queries.helpers import add_corpus

URL = "/api/v1/search/"


@pytest.fixture
def tenant(make_tenant: Any) -> Iterator[TenantHandle]:
    handle = make_tenant("searching")
    with schema_context(handle.schema):
        yield handle


def search(client: Any, **body: Any) -> Any:
    return client.post(URL, body, content_type="application/json")


def test_every_mode_finds_the_matching_chunk(tenant: TenantHandle) -> None:
    documents = add_corpus()
    client = tenant.logged_in_client()
    for mode in ("lexical", "dense", "hybrid"):
        response = search(client, query="shock waves on a swept wing", mode=mode, no_cache=True)
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["cached"] is False
        top = body["results"][0]
        assert top["document_id"] == documents["wings.txt"].pk, mode
        assert top["document_name"] == "wings.txt"
        assert "swept wing" in top["text"]
        assert set(top) == {
            "chunk_id", "document_id", "document_name", "page", "section", "text", "highlight",
            "score",
        }  # fmt: skip


def test_lexical_needs_no_word_in_common_with_every_query_word(tenant: TenantHandle) -> None:
    add_corpus()
    # A long question: an AND of every word would match nothing.
    body = search(
        tenant.logged_in_client(),
        query="what happens to thin cylindrical shells when they are compressed axially?",
        mode="lexical",
    ).json()
    assert body["results"]
    assert "cylindrical shells" in body["results"][0]["text"]


def test_highlight_is_plain_text_with_markers(tenant: TenantHandle) -> None:
    DocumentFactory(
        filename="html.txt", chunks=["<b>Ablation</b> cooling of the nose cone & heat shields"]
    )
    body = search(tenant.logged_in_client(), query="ablation cooling", mode="lexical").json()
    highlight = body["results"][0]["highlight"]
    # Plain text as written (angle brackets are text, not markup) with « » around matches.
    assert highlight.startswith("<b>«Ablation»</b> «cooling» of the nose cone & heat shields")


def test_filter_by_document_ids(tenant: TenantHandle) -> None:
    documents = add_corpus()
    wanted = documents["heat.txt"].pk
    for mode in ("lexical", "dense", "hybrid"):
        body = search(
            tenant.logged_in_client(), query="wing lift", mode=mode, document_ids=[wanted]
        ).json()
        assert {hit["document_id"] for hit in body["results"]} <= {wanted}, mode


def _lists(text: str) -> tuple[list[tuple[int, float]], list[tuple[int, float]]]:
    lexical = retrieval.retrieve(text, mode="lexical", top_k=100).hits
    dense = retrieval.retrieve(text, mode="dense", top_k=100).hits
    return lexical, dense


def test_hybrid_is_the_convex_fusion_of_the_two_lists(tenant: TenantHandle) -> None:
    add_corpus()
    text = "heat transfer on a wing"
    lexical, dense = _lists(text)
    share = 0.25
    with override_settings(QUERY_DENSE_WEIGHT=share):
        hybrid = retrieval.retrieve(text, mode="hybrid", top_k=5).hits

    def normalised(ranked: list[tuple[int, float]], chunk_id: int) -> float:
        scores = dict(ranked)
        if chunk_id not in scores:
            return 0.0
        low, high = min(scores.values()), max(scores.values())
        return (scores[chunk_id] - low) / (high - low) if high > low else 1.0

    def convex(chunk_id: int) -> float:
        return (1 - share) * normalised(lexical, chunk_id) + share * normalised(dense, chunk_id)

    assert lexical
    assert dense
    assert hybrid
    assert [s for _, s in hybrid] == sorted((s for _, s in hybrid), reverse=True)
    assert all(abs(score - convex(chunk_id)) < 1e-9 for chunk_id, score in hybrid)
    assert 0.0 <= hybrid[-1][1] <= hybrid[0][1] <= 1.0


def test_hashing_hybrid_ranks_as_lexical_then_adds_the_dense_only_candidates(
    tenant: TenantHandle,
) -> None:
    add_corpus()
    text = "heat transfer on a wing"
    lexical, dense = _lists(text)
    hybrid = [c for c, _ in retrieval.retrieve(text, mode="hybrid", top_k=100).hits]
    # The hashing embedder's own share of the dense list is 0 (docs/benchmarks.md, Ablation).
    assert hybrid[: len(lexical)] == [c for c, _ in lexical]
    only_dense = [c for c, _ in dense if c not in dict(lexical)]
    assert hybrid[len(lexical) :] == only_dense


def test_rrf_fusion_and_dense_weight_are_settings(tenant: TenantHandle) -> None:
    add_corpus()
    text = "heat transfer on a wing"
    lexical, dense = _lists(text)
    with override_settings(QUERY_FUSION="rrf", QUERY_DENSE_WEIGHT=0.5):
        hybrid = retrieval.retrieve(text, mode="hybrid", top_k=5).hits

    def rrf(chunk_id: int) -> float:
        score = 0.0
        for ranked in (lexical, dense):
            ids = [c for c, _ in ranked]
            if chunk_id in ids:
                score += 0.5 / (settings.QUERY_RRF_K + ids.index(chunk_id) + 1)
        return score

    assert hybrid
    assert all(abs(score - rrf(chunk_id)) < 1e-9 for chunk_id, score in hybrid)
    # A dense share of 1.0 makes hybrid rank exactly as dense search does (lexical-only
    # candidates follow, with nothing added to their score).
    with override_settings(QUERY_DENSE_WEIGHT=1.0):
        only_dense = retrieval.retrieve(text, mode="hybrid", top_k=5).hits
    expected = [c for c, _ in dense[:5]]
    assert [c for c, _ in only_dense][: len(expected)] == expected


def test_empty_query_is_400(tenant: TenantHandle) -> None:
    response = search(tenant.logged_in_client(), query="   ")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "empty_query"
    assert response.json()["error"]["message"].endswith(".")


def test_no_documents_gives_a_hint(tenant: TenantHandle) -> None:
    response = search(tenant.logged_in_client(), query="anything at all")
    assert response.status_code == 200
    assert response.json()["results"] == []
    assert "no searchable documents" in response.json()["hint"]


def test_anonymous_is_refused(tenant: TenantHandle) -> None:
    assert search(tenant.client(), query="wing").status_code == 401


def test_cache_hit_then_invalidated_by_a_new_document(tenant: TenantHandle) -> None:
    add_corpus()
    client = tenant.logged_in_client()
    first = search(client, query="nose cone ablation").json()
    second = search(client, query="  Nose cone   ABLATION ").json()
    assert (first["cached"], second["cached"]) == (False, True)
    assert second["results"] == first["results"]
    DocumentFactory(filename="new.txt", chunks=["Nose cone ablation measured in flight."])
    third = search(client, query="nose cone ablation").json()
    assert third["cached"] is False
    assert any(hit["document_name"] == "new.txt" for hit in third["results"])
    rows = list(Query.objects.order_by("id").values_list("cached", flat=True))
    assert rows == [False, True, False]


def test_redis_down_still_answers(tenant: TenantHandle) -> None:
    add_corpus()
    dead = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "KEY_FUNCTION": "django_tenants.cache.make_key",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
        }
    }
    client = tenant.logged_in_client()
    # override_settings swaps the cache handlers (Django's setting_changed hook).
    with override_settings(CACHES=dead):
        for _ in range(2):
            response = search(client, query="swept wing")
            assert response.status_code == 200, response.content
            assert response.json()["cached"] is False
            assert response.json()["results"]


def test_hybrid_ranks_the_same_whether_bm25_runs_beside_the_vector_search_or_not(
    tenant: TenantHandle,
) -> None:
    documents = add_corpus()
    DocumentFactory(
        filename="more.txt",
        chunks=[f"Wing number {n} and its boundary layer heat." for n in range(30)],
    )
    some = [documents["heat.txt"].pk, documents["wings.txt"].pk]
    for text in ("heat transfer on a wing", "ablation cooling of the nose", "wing"):
        for document_ids in (None, some):
            together = retrieval.retrieve(text, mode="hybrid", top_k=8, document_ids=document_ids)
            with override_settings(QUERY_PARALLEL_HYBRID=False):
                apart = retrieval.retrieve(text, mode="hybrid", top_k=8, document_ids=document_ids)
            assert together.hits == apart.hits
            assert together.hits
            assert together.timings["lexical_ms"] > 0
            assert apart.timings["lexical_ms"] > 0


def test_query_rows_record_the_latency_breakdown(tenant: TenantHandle) -> None:
    add_corpus()
    body = search(tenant.logged_in_client(), query="swept wing shock", no_cache=True).json()
    row = Query.objects.get(pk=body["query_id"])
    assert row.kind == "search"
    assert row.mode == "hybrid"
    assert row.result_count == len(body["results"])
    assert row.user is not None
    assert row.user.email == tenant.admin_email
    assert row.lexical_ms > 0
    assert row.dense_ms > 0
    assert row.embed_ms > 0
    assert row.fusion_ms >= 0
    # Hybrid scores BM25 while it searches the vectors (QUERY_PARALLEL_HYBRID): the stages
    # overlap, so the total covers the longer of them, not their sum.
    assert row.total_ms >= max(row.lexical_ms, row.embed_ms + row.dense_ms)
    assert len(row.normalized_hash) == 64
    assert row.cached is False


def test_top_k_is_bounded(tenant: TenantHandle) -> None:
    response = search(tenant.logged_in_client(), query="wing", top_k=101)
    assert response.status_code == 400
    assert "top_k" in response.json()["error"]["fields"]


def test_document_ids_beyond_any_id_are_400_in_every_mode(tenant: TenantHandle) -> None:
    add_corpus()
    client = tenant.logged_in_client()
    for mode in ("lexical", "dense", "hybrid"):
        response = search(client, query="wing", mode=mode, document_ids=[2**63])
        assert response.status_code == 400, (mode, response.content)
        assert "document_ids" in response.json()["error"]["fields"]
    ask = client.post(
        "/api/v1/ask/", {"question": "wing?", "document_ids": [2**63]}, "application/json"
    )
    assert ask.status_code == 400
    largest = search(client, query="wing", document_ids=[2**63 - 1])  # exists nowhere: no hits
    assert largest.status_code == 200
    assert largest.json()["results"] == []


def test_nothing_in_common_is_no_result_in_every_mode(tenant: TenantHandle) -> None:
    """Chunks sharing no word with the query are not returned (dense scored them 0)."""
    add_corpus()
    client = tenant.logged_in_client()
    for mode in ("lexical", "dense", "hybrid"):
        response = search(client, query="xylophone quartz", mode=mode, no_cache=True)
        assert response.status_code == 200
        assert response.json()["results"] == [], mode
        assert "Nothing matched" in response.json()["hint"]


def test_words_in_angle_brackets_are_searchable(tenant: TenantHandle) -> None:
    """PostgreSQL's parser reads `<customer name>` as a markup tag; we read it as words."""
    template = DocumentFactory(
        filename="template.txt",
        chunks=["Replace <customer name> and <invoice number> in the template before sending."],
    )
    code = DocumentFactory(
        filename="code.txt", chunks=["The method returns a List<String> of account handles."]
    )
    client = tenant.logged_in_client()
    for query, expected in (("customer name", template), ("invoice", template), ("String", code)):
        response = search(client, query=query, mode="lexical", no_cache=True)
        results = response.json()["results"]
        assert results, query
        assert results[0]["document_id"] == expected.pk, query
    # The query is read the same way: brackets typed into it do not hide its words.
    response = search(client, query="<invoice number>", mode="lexical", no_cache=True)
    assert response.json()["results"][0]["document_id"] == template.pk
