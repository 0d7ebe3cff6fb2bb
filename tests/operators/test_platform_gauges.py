"""The platform gauges the alerts read: documents by status and the oldest waiting one,
queue lengths and consumers (real Redis broker and worker registry), volume use."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone
from django_tenants.utils import schema_context
from prometheus_client import REGISTRY

from config import workers
from documents.models import Document
from operators import monitoring
from tests.factories import DocumentFactory

PREFIX = "gaugetest-"


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _documents(schema: str, **by_status: int) -> None:
    with schema_context(schema):
        for status, count in by_status.items():
            for _ in range(count):
                DocumentFactory(status=status)


def test_documents_are_counted_in_every_tenant_with_the_oldest_waiting_age(
    make_tenant: Any,
) -> None:
    monitoring.collect()
    before = {
        status: _value("documents_by_status", status=status) for status in monitoring.STATUSES
    }
    alpha, beta = make_tenant("gauge_a"), make_tenant("gauge_b")
    _documents(alpha.schema, pending=2, ready=1)
    _documents(beta.schema, failed=1, processing=1)
    with schema_context(alpha.schema):
        Document.objects.filter(status="pending").update(
            created_at=timezone.now() - timedelta(days=3)
        )
    monitoring.collect()
    added = {
        status: _value("documents_by_status", status=status) - before[status]
        for status in monitoring.STATUSES
    }
    assert added == {"pending": 2, "processing": 1, "ready": 1, "failed": 1}
    assert (
        _value("documents_oldest_waiting_seconds") >= 3 * 86400 - 600
    )  # now(): the transaction's start


@pytest.mark.django_db
def test_queue_lengths_and_consumers_come_from_the_broker_and_the_registry() -> None:
    from config.celery import app

    with override_settings(QUEUE_PREFIX=PREFIX), app.connection_for_write() as conn:
        queue = conn.SimpleQueue(workers.queue_name("ingest_bulk"))
        queue.clear()
        for n in range(3):
            queue.put({"n": n})
        workers.announce([workers.queue_name("ingest"), workers.queue_name("maintenance")])
        try:
            monitoring.collect()
        finally:
            workers.forget()
            queue.clear()
            queue.close()
    assert _value("celery_queue_length", queue="ingest_bulk") == 3
    assert _value("celery_queue_length", queue="ingest") == 0
    assert _value("celery_queue_consumers", queue="ingest") == 1
    assert _value("celery_queue_consumers", queue="maintenance") == 1
    assert _value("celery_queue_consumers", queue="ingest_bulk") == 0


@pytest.mark.django_db
def test_the_volumes_use_is_a_share() -> None:
    monitoring.collect()
    for volume in ("media", "indexes"):
        assert 0 < _value("storage_volume_used_ratio", volume=volume) < 1
