"""A big tenant's compactions store its BM25 matrix at most once per two builds' time
(search/compaction_store.py): under a bulk import they no longer rebuild it from every chunk
one after another; the matrix for the final state is stored once that time has passed."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.test import override_settings
from django_tenants.utils import schema_context

from search import bm25_store, index, retrieval, store_timing
from tests.conftest import TenantHandle
from tests.factories import DocumentFactory


@pytest.fixture
def tenant(make_tenant: Any) -> Iterator[TenantHandle]:
    handle = make_tenant("storespacing")
    with schema_context(handle.schema), override_settings(SEARCH_LEXICAL_STORE=True):
        cache.delete("index:lexical-store-scheduled")
        yield handle


def _stored_now() -> bool:
    row = index.state()
    return bm25_store.exists(index.index_directory().name, str(row.generation), row.change_seq)


def _as_if_built_in(where: Path, seconds: float, ago: float) -> None:
    """Make the stored matrix look like a big tenant's: built in `seconds`, `ago` seconds ago."""
    meta = json.loads((where / "meta.json").read_text())
    meta["build_seconds"] = seconds
    (where / "meta.json").write_text(json.dumps(meta))
    stamp = time.time() - ago
    os.utime(where / "meta.json", (stamp, stamp))


def test_a_big_tenants_matrix_waits_two_builds_then_is_stored(tenant: TenantHandle) -> None:
    DocumentFactory(filename="a.txt", chunks=["wing flow over the flap"])
    assert index.compact().outcome == "rebuilt"
    stored = bm25_store.directory(
        index.index_directory().name, str(index.state().generation), index.state().change_seq
    )
    assert _stored_now()
    _as_if_built_in(stored, seconds=100.0, ago=30.0)  # due again in 170 s

    DocumentFactory(filename="b.txt", chunks=["flutter of thin panels"])
    assert index.compact().outcome == "compacted"
    assert not _stored_now()  # the vectors are folded in, the matrix waits ...
    assert cache.get("index:lexical-store-scheduled") == 1  # ... with a compaction queued
    hits = retrieval.lexical_search("flutter panels", 5)  # the new chunk, found meanwhile
    assert len(hits) == 1

    _as_if_built_in(stored, seconds=100.0, ago=201.0)  # two builds' time has passed
    assert index.compact().outcome == "unchanged"  # the queued compaction, when it runs
    assert _stored_now()


def test_a_small_tenant_and_a_rebuild_store_at_once(tenant: TenantHandle) -> None:
    DocumentFactory(filename="a.txt", chunks=["wing flow over the flap"])
    index.compact()
    DocumentFactory(filename="b.txt", chunks=["flutter of thin panels"])
    assert index.compact().outcome == "compacted"
    assert _stored_now()  # built in well under STORE_SPACING_FROM_SECONDS: every time

    row = index.state()
    latest = bm25_store.directory(index.index_directory().name, str(row.generation), row.change_seq)
    _as_if_built_in(latest, seconds=100.0, ago=1.0)
    assert index.compact(rebuild=True).outcome == "rebuilt"
    assert _stored_now()
    assert (
        store_timing.spacing_left(f"{index.index_directory().name}:{row.generation}") <= 0
    )  # the rebuild's own build was quick
