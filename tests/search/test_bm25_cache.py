"""The per-process BM25 cache: fresh for small tenants, stale-while-revalidate for big ones."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import override_settings
from django_tenants.utils import schema_context

from search import bm25, bm25_cache, index
from tests.conftest import TenantHandle
from tests.factories import DocumentFactory


@pytest.fixture
def tenant(make_tenant: Any) -> Iterator[TenantHandle]:
    handle = make_tenant("bm25cache")
    with schema_context(handle.schema):
        yield handle


def _key(tenant: TenantHandle) -> tuple[str, int]:
    row = index.state()
    return f"{tenant.schema}:{row.generation}", row.change_seq


def _found(found: bm25.Bm25Index, word: str) -> bool:
    return bool(found.search(bm25.query_lexemes(word), 10, feedback=False))


def test_a_small_tenant_is_rebuilt_before_its_next_search(tenant: TenantHandle) -> None:
    cache = bm25_cache.Bm25Cache()
    DocumentFactory(filename="a.txt", chunks=["wing flow over the flap"])
    first = cache.get(*_key(tenant))
    DocumentFactory(filename="b.txt", chunks=["flutter of thin panels"])
    fresh = cache.get(*_key(tenant))
    assert fresh is not first
    assert _found(fresh, "flutter")


@override_settings(SEARCH_LEXICAL_STORE=False)  # no compaction's matrix to wait for (below)
def test_a_big_tenant_keeps_searching_while_it_is_rebuilt(
    tenant: TenantHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = bm25_cache.Bm25Cache(sync_limit=0)  # every tenant counts as big
    started: list[Callable[[], None]] = []
    monkeypatch.setattr(cache, "spawn", lambda target, _name: started.append(target))
    DocumentFactory(filename="a.txt", chunks=["wing flow over the flap"])
    first = cache.get(*_key(tenant))  # nothing cached yet: built at once
    DocumentFactory(filename="b.txt", chunks=["flutter of thin panels"])
    key, change_seq = _key(tenant)

    stale = cache.get(key, change_seq)
    again = cache.get(key, change_seq)

    assert stale is first  # answered at once from the previous matrix ...
    assert again is first
    assert not _found(stale, "flutter")  # ... which does not know the new chunk yet
    assert len(started) == 1  # one rebuild, however many searches arrive meanwhile
    cache.warm(key, change_seq)  # what the background thread runs
    fresh = cache.get(key, change_seq)
    assert fresh.change_seq == change_seq
    assert _found(fresh, "flutter")


def test_a_big_tenant_waits_for_the_compactions_matrix_before_building_its_own(
    tenant: TenantHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [0.0]
    cache = bm25_cache.Bm25Cache(sync_limit=0, store_wait=30, clock=lambda: now[0])
    started: list[Callable[[], None]] = []
    monkeypatch.setattr(cache, "spawn", lambda target, _name: started.append(target))
    DocumentFactory(filename="a.txt", chunks=["wing flow over the flap"])
    first = cache.get(*_key(tenant))
    # schedules a compaction, not run here
    DocumentFactory(filename="b.txt", chunks=["flutter of thin panels"])
    key, change_seq = _key(tenant)

    assert cache.get(key, change_seq) is first  # the compaction will store the new one ...
    now[0] = 29.0
    assert cache.get(key, change_seq) is first
    assert started == []  # ... so no process builds it meanwhile
    now[0] = 31.0  # no compaction came in time: build one here after all
    assert cache.get(key, change_seq) is first
    assert len(started) == 1
    cache.warm(key, change_seq)  # what the background thread runs
    assert _found(cache.get(key, change_seq), "flutter")


def test_the_memory_budget_evicts_the_least_recently_used(make_tenant: Any) -> None:
    cache = bm25_cache.Bm25Cache()
    one, two = make_tenant("bm25one"), make_tenant("bm25two")
    with schema_context(one.schema):
        DocumentFactory(filename="a.txt", chunks=["wing flow"])
        key_one, seq_one = _key(one)
        cache.get(key_one, seq_one)
    with schema_context(two.schema), override_settings(SEARCH_LEXICAL_CACHE_MB=1e-6):
        DocumentFactory(filename="b.txt", chunks=["panel flutter"])
        key_two, seq_two = _key(two)
        cache.get(key_two, seq_two)
    assert list(cache._indexes) == [key_two]  # over budget: only the newest entry stays
    assert cache._indexes[key_two].nbytes > 0
