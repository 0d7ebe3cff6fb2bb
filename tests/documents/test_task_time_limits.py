"""Every task runs under Celery's time limits; ingestion past its soft limit fails its
documents with a sentence instead of holding a worker process, and a document whose task
keeps being interrupted stops coming back."""

from __future__ import annotations

import io
import os
import time

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django_tenants.utils import schema_context

from config.celery import app
from documents import pipeline, services, tasks
from documents.models import Document, DocumentStatus
from tests.conftest import WorkerProcess
from tests.factories import DocumentFactory


def test_every_task_has_a_soft_and_a_hard_time_limit_below_the_visibility_timeout():
    app.autodiscover_tasks(force=True)
    assert app.conf.task_soft_time_limit == settings.CELERY_TASK_SOFT_TIME_LIMIT > 0
    assert app.conf.task_time_limit == app.conf.task_soft_time_limit + 60
    assert app.conf.task_time_limit < app.conf.broker_transport_options["visibility_timeout"]
    ours = [
        t
        for n, t in app.tasks.items()
        if n.split(".")[0] in {"documents", "search", "tenants", "accounts", "queries"}
    ]
    assert len(ours) >= 8
    for task in ours:  # None means "the app's default"; 0 would opt out
        assert task.soft_time_limit is None or task.soft_time_limit > 0, task.name
        assert task.time_limit is None or task.time_limit > 0, task.name


@pytest.fixture
def own_queues(settings) -> str:
    """Queue names only this test's worker takes (not the session's worker, if one runs)."""
    settings.QUEUE_PREFIX = f"limits{os.getpid()}-"
    return settings.QUEUE_PREFIX


@pytest.mark.celery_worker
def test_ingestion_past_the_soft_time_limit_fails_with_a_sentence(
    own_queues, alpha, tmp_path, monkeypatch
):
    # Limits travel in the task message, from the sender's settings: this process sends.
    # (Celery caches a task's execution options at its first send: drop that copy too.)
    for task in (tasks.ingest_document, tasks.ingest_documents):  # single or bulk queue
        monkeypatch.setattr(task, "soft_time_limit", 2)
        monkeypatch.setattr(task, "time_limit", 62)
        monkeypatch.setattr(task, "_exec_options", None)
    worker = WorkerProcess(
        tmp_path / "worker.log", concurrency=1, name="limits", env={"TASK_SOFT_TIME_LIMIT": "2"}
    )
    worker.start()
    try:
        # Twelve megabytes of punctuation: about six seconds of chunking on 2 cores.
        data = b"." * 12_000_000
        with schema_context(alpha.schema):
            accepted, rejected = services.create_documents(
                uploads=[services.Upload(io.BytesIO(data), "dots.txt", len(data))],
                uploaded_by=None,
                allow_duplicate=True,
            )
            assert not rejected
            document_id = accepted[0].pk
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            with schema_context(alpha.schema):
                document = Document.objects.get(pk=document_id)
            if document.status in (DocumentStatus.READY, DocumentStatus.FAILED):
                break
            time.sleep(0.2)
        assert document.status == DocumentStatus.FAILED, document.status
        assert document.error.startswith(
            "Processing took longer than 2 seconds, so it was stopped."
        )
        assert worker.process is not None
        assert worker.process.poll() is None
    finally:
        worker.stop()


def test_a_soft_time_limit_in_a_batch_keeps_the_documents_already_ready(make_tenant, monkeypatch):
    tenant = make_tenant("limit_batch")
    with schema_context(tenant.schema):
        ready = DocumentFactory(filename="a.txt", status=DocumentStatus.READY)
        waiting = DocumentFactory(filename="b.txt", status=DocumentStatus.PROCESSING)

        def overrun(ids, **options):  # what Celery raises inside the task at the soft limit
            raise SoftTimeLimitExceeded()

        monkeypatch.setattr(tasks, "process_documents", overrun)
        result = tasks.ingest_documents.apply(args=([ready.pk, waiting.pk],)).get()
        assert result == {"failed": [ready.pk, waiting.pk]}
        ready.refresh_from_db()
        waiting.refresh_from_db()
        assert ready.status == DocumentStatus.READY
        assert waiting.status == DocumentStatus.FAILED
        assert "took longer than 10 minutes" in waiting.error


def test_a_redelivered_document_interrupted_too_often_fails_instead_of_running_again(make_tenant):
    tenant = make_tenant("limit_again")
    with schema_context(tenant.schema):
        document = DocumentFactory(
            filename="a.txt",
            status=DocumentStatus.PROCESSING,
            attempts=settings.INGEST_MAX_ATTEMPTS,
            claimed_by="the-task",
        )
        results = pipeline.process_documents([document.pk], claim="the-task")
        document.refresh_from_db()
    assert document.status == DocumentStatus.FAILED
    assert document.error.startswith(
        f"Processing was interrupted {settings.INGEST_MAX_ATTEMPTS} times, so we stopped trying."
    )
    assert [r.outcome for r in results] == ["skipped"]
