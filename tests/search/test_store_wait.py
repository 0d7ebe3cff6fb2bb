"""A big tenant's web processes wait for its compaction's BM25 matrix as long as building one
takes there (store_timing.CompactionWait), instead of each building a copy of their own after a
minute while the compaction is still at it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import override_settings
from django_tenants.utils import schema_context

from search import bm25_cache, compaction_store, index, store_timing
from tests.conftest import TenantHandle
from tests.factories import DocumentFactory


@pytest.fixture
def tenant(make_tenant: Any) -> Iterator[TenantHandle]:
    handle = make_tenant("storewait")
    with schema_context(handle.schema), override_settings(INDEX_COMPACT_DELAY_SECONDS=5):
        yield handle


def _key() -> tuple[str, int]:
    row = index.state()
    return f"{index.index_directory().name}:{row.generation}", row.change_seq


@override_settings(SEARCH_LEXICAL_STORE=True)
def test_processes_wait_four_builds_longer_for_a_tenant_whose_build_takes_minutes(
    tenant: TenantHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    DocumentFactory(filename="a.txt", chunks=["wing flow over the flap"])
    stored = compaction_store.persist_current()
    meta = json.loads((stored / "meta.json").read_text())
    assert meta["build_seconds"] >= 0  # what the compaction measured
    meta["build_seconds"] = 100.0  # as a big tenant's build takes
    (stored / "meta.json").write_text(json.dumps(meta))
    now = [0.0]
    cache = bm25_cache.Bm25Cache(sync_limit=0, clock=lambda: now[0])
    started: list[Callable[[], None]] = []
    monkeypatch.setattr(cache, "spawn", lambda target, _name: started.append(target))
    first = cache.get(*_key())  # the stored matrix, mapped
    DocumentFactory(filename="b.txt", chunks=["flutter of thin panels"])  # its compaction: later
    key, change_seq = _key()
    assert store_timing.last_build_seconds(key) == 100.0

    assert cache.get(key, change_seq) is first
    now[0] = 5 + 60 + 1.0  # a small tenant's process would have started its own build here
    assert cache.get(key, change_seq) is first
    now[0] = 5 + 60 + 4 * 100 - 1.0
    assert cache.get(key, change_seq) is first
    assert started == []
    now[0] = 5 + 60 + 4 * 100 + 1.0  # no compaction stored it in that time: build after all
    assert cache.get(key, change_seq) is first
    assert len(started) == 1


@override_settings(SEARCH_LEXICAL_STORE=True)
def test_without_a_recorded_build_time_the_wait_is_the_minute_past_the_delay(
    tenant: TenantHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    DocumentFactory(filename="a.txt", chunks=["wing flow over the flap"])
    key, _change_seq = _key()
    assert store_timing.last_build_seconds(key) == 0.0  # nothing stored yet
    now = [0.0]
    cache = bm25_cache.Bm25Cache(sync_limit=0, clock=lambda: now[0])
    started: list[Callable[[], None]] = []
    monkeypatch.setattr(cache, "spawn", lambda target, _name: started.append(target))
    first = cache.get(*_key())  # built here: nothing stored
    DocumentFactory(filename="b.txt", chunks=["flutter of thin panels"])
    key, change_seq = _key()
    assert cache.get(key, change_seq) is first
    now[0] = 5 + 60 + 1.0
    assert cache.get(key, change_seq) is first
    assert len(started) == 1
