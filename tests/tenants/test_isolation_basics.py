"""Cache keys and Celery tasks stay within their tenant."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django_tenants.utils import schema_context, tenant_context

from tenants.db import use_public_schema
from tenants.tasks import MissingTenantError, report_schema

pytestmark = pytest.mark.django_db


def test_cache_keys_are_per_tenant(make_tenant):
    alpha = make_tenant("cache_a")
    beta = make_tenant("cache_b")
    with tenant_context(alpha.tenant):
        cache.set("greeting", "hello from A", 60)
        assert cache.get("greeting") == "hello from A"
    with tenant_context(beta.tenant):
        assert cache.get("greeting") is None
        cache.set("greeting", "hello from B", 60)
    with tenant_context(alpha.tenant):
        assert cache.get("greeting") == "hello from A"
        cache.delete("greeting")
    with tenant_context(beta.tenant):
        cache.delete("greeting")


def test_task_without_a_tenant_refuses_to_run():
    use_public_schema()
    with pytest.raises(MissingTenantError, match="needs a tenant"):
        report_schema.apply().get()


@pytest.mark.celery_worker
def test_task_sent_in_a_tenant_runs_in_that_schema(committed_tenants, celery_worker):
    alpha, beta = committed_tenants
    with tenant_context(alpha.tenant):
        result_a = report_schema.delay()
    with tenant_context(beta.tenant):
        result_b = report_schema.delay()
    assert result_a.get(timeout=30) == alpha.schema
    assert result_b.get(timeout=30) == beta.schema


@pytest.mark.celery_worker
def test_task_sent_from_public_fails_in_the_worker(committed_tenants, celery_worker):
    with schema_context("public"):
        result = report_schema.delay()
    with pytest.raises(MissingTenantError):
        result.get(timeout=30)


@pytest.mark.celery_worker
def test_a_task_for_a_deleted_tenant_is_skipped_not_failed(committed_tenants, celery_worker):
    """E.g. a compaction scheduled seconds before the tenant was dropped (evaluate does that)."""
    result = report_schema.apply_async(headers={"_schema_name": "tenant_deleted_meanwhile"})
    assert result.get(timeout=30) is None  # skipped, not MissingTenantError
    eager = report_schema.apply(headers={"_schema_name": "tenant_deleted_meanwhile"})
    assert eager.successful()
    assert eager.get() is None
