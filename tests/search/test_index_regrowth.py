"""A growing tenant's IVF index is rebuilt when it has outgrown its inverted lists
(search/folding.py `outgrown`), so dense searches keep scanning short lists."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import override_settings
from django_tenants.utils import schema_context

from documents.embedder_choice import embedder_for_current_tenant
from documents.models import Chunk
from search import index
from search.folding import current_snapshot
from search.vectorindex import default_nlist
from tests.conftest import TenantHandle
from tests.factories import DocumentFactory

WORDS = [f"{stem}{n}" for stem in ("wing", "flow", "shell", "plate") for n in range(500)]


@pytest.fixture
def tenant(make_tenant: Any) -> Iterator[TenantHandle]:
    handle = make_tenant("regrowth")
    with schema_context(handle.schema), override_settings(INDEX_APPROX_THRESHOLD=1_000):
        yield handle


def _add(count: int, rng: random.Random) -> None:
    texts = [" ".join(rng.choices(WORDS, k=30)) for _ in range(count)]
    DocumentFactory(chunks=texts)


def _lists() -> int:
    row = index.state()
    embedder = embedder_for_current_tenant()
    snapshot = current_snapshot(row, embedder, index.index_directory())
    return -1 if snapshot is None else int(snapshot.index.nlist)


def test_an_ivf_index_is_rebuilt_with_more_lists_once_the_tenant_quadrupled(
    tenant: TenantHandle,
) -> None:
    rng = random.Random(11)
    _add(1_200, rng)
    assert index.compact().outcome == "rebuilt"
    trained = index.state()
    first_lists = int(_lists())
    assert first_lists == default_nlist(1_200)

    _add(1_000, rng)  # less than four times: folded into the same lists
    assert index.compact().outcome == "compacted"
    _add(3_000, rng)
    assert index.compact().outcome == "compacted"
    assert index.state().snapshot_count == 5_200  # four times and more what the lists were for

    _add(10, rng)  # the next change rebuilds, with lists for every chunk
    result = index.compact()
    assert result.outcome == "rebuilt"
    assert result.vectors == 5_210
    assert index.state().version > trained.version
    assert _lists() == default_nlist(5_210) >= 2 * first_lists

    chunk = Chunk.objects.order_by("?").first()
    assert chunk is not None
    vector = embedder_for_current_tenant().embed_query(chunk.text)
    assert index.search_dense(vector, 1)[0][0] == chunk.pk
