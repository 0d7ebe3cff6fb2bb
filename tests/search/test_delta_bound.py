"""A web process keeps the delta (chunks not in the snapshot yet) of at most DELTAS_KEPT
tenants, least recently searched dropped first, and one generation per tenant: serving every
tenant of a large deployment no longer grows it by one entry per tenant for good."""

from __future__ import annotations

from typing import Any

import pytest
from django_tenants.utils import schema_context

from documents.embedder_choice import embedder_for_current_tenant
from search import index, retrieval
from tests.factories import DocumentFactory


def _dense(text: str) -> list[Any]:
    embedder = embedder_for_current_tenant()
    return retrieval.dense_search(embedder.embed_query(text), 3, embedder=embedder)


def test_deltas_are_kept_for_the_most_recent_tenants_only(
    make_tenant: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(index, "DELTAS_KEPT", 2)
    monkeypatch.setattr(index, "_deltas", type(index._deltas)())
    words = {"deltaone": "glider", "deltatwo": "turbine", "deltathree": "nozzle"}
    for schema, word in words.items():
        make_tenant(schema)
        with schema_context(schema):
            DocumentFactory(filename=f"{word}.txt", chunks=[f"the {word} of this workspace"])
    for schema, word in words.items():
        with schema_context(schema):
            hits = _dense(f"the {word}")
            assert len(hits) == 1  # its own chunk, from its delta
    assert [key.partition(":")[0] for key in index._deltas] == ["deltatwo", "deltathree"]

    with schema_context("deltaone"):  # dropped, read again when searched
        assert len(_dense("the glider")) == 1
        index.compact(rebuild=True)  # a new generation: its old delta goes
        DocumentFactory(filename="more.txt", chunks=["another glider"])
        assert len(_dense("glider")) == 2
    assert [key.partition(":")[0] for key in index._deltas] == ["deltathree", "deltaone"]
