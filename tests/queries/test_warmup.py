"""Warming a process's search caches for recently active tenants (gunicorn workers at start)."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone
from django_tenants.utils import schema_context

from documents.embedder_choice import embedder_for_current_tenant
from queries import services, warmup
from queries.models import Query
from search import bm25_cache, index, query_idf
from tenants.services import set_tenant_active
from tests.queries.helpers import add_corpus

pytestmark = pytest.mark.django_db


def _searched(handle: Any, *, days_ago: float = 0) -> None:
    with schema_context(handle.schema):
        add_corpus()
        body = services.search(text="swept wing", caller=services.Caller())
        Query.objects.filter(pk=body["query_id"]).update(
            created_at=timezone.now() - timedelta(days=days_ago)
        )


def test_recently_active_tenants_most_recent_first(make_tenant: Any) -> None:
    names = ("warm_old", "warm_new", "warm_stale", "warm_idle", "warm_off")
    older, newer, stale, idle, off = (make_tenant(name) for name in names)
    _searched(older, days_ago=2)
    _searched(newer, days_ago=1)
    _searched(stale, days_ago=30)
    _searched(off)
    set_tenant_active(tenant=off.tenant, active=False)
    del idle  # never searched
    schemas = [t.schema_name for t in warmup.recently_active(limit=10, days=7)]
    assert schemas == ["warm_new", "warm_old"]
    assert [t.schema_name for t in warmup.recently_active(limit=1, days=7)] == ["warm_new"]
    assert warmup.recently_active(limit=0, days=7) == []


def test_warming_builds_what_a_first_search_would(make_tenant: Any) -> None:
    handle = make_tenant("warm_build")
    _searched(handle)
    bm25_cache.indexes.clear()
    query_idf.weights.clear()
    index.snapshot_cache().clear()
    warmed = warmup.warm_recent_tenants(limit=5, seconds=60)
    assert [w.schema for w in warmed] == ["warm_build"]
    assert warmed[0].chunks == 5
    with schema_context(handle.schema):
        row = index.state()
        key = f"{handle.schema}:{row.generation}"
        cached = bm25_cache.indexes._indexes.get(key)
        assert cached is not None
        assert cached.change_seq == row.change_seq
        embedder: Any = embedder_for_current_tenant()
        weights = query_idf.weights.get(key, row.change_seq, embedder, chunk_count=10**9)
        assert weights is not None  # built, although above the synchronous-build limit


def test_the_time_budget_stops_before_the_next_tenant(make_tenant: Any) -> None:
    handle = make_tenant("warm_budget")
    _searched(handle)
    assert warmup.warm_recent_tenants(limit=5, seconds=0) == []


def test_warm_before_serving_waits_at_most_the_budget_and_sends_heartbeats(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    beats: list[float] = []

    def slow(**_kwargs: Any) -> list[warmup.Warmed]:
        time.sleep(2.5)
        return [warmup.Warmed("slow", 2.5, 1)]

    monkeypatch.setattr(warmup, "warm_recent_tenants", slow)
    started = time.monotonic()
    with override_settings(SEARCH_WARMUP_TENANTS=3, SEARCH_WARMUP_SECONDS=1.2):
        assert warmup.warm_before_serving(lambda: beats.append(time.monotonic())) == []
    assert time.monotonic() - started < 2.4  # served before the slow tenant was done
    assert len(beats) >= 1
    with override_settings(SEARCH_WARMUP_TENANTS=0):
        assert warmup.warm_before_serving(lambda: beats.append(0.0)) == []
