"""`celery -A config worker` with no -Q takes every queue; when no live worker takes the
queue documents wait in, readiness, the documents page and `manage.py ingest` say so."""

from __future__ import annotations

import html
import json
import os
import time

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django_redis import get_redis_connection
from django_tenants.utils import schema_context

from config import workers
from documents.models import Document, DocumentStatus
from tests.conftest import TenantHandle, WorkerProcess
from tests.documents import samples
from tests.factories import DocumentFactory

pytestmark = [pytest.mark.celery_worker]


def _wait_final(handle: TenantHandle, ids: list[int], timeout: float = 60) -> list[Document]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with schema_context(handle.schema):
            documents = list(Document.objects.filter(pk__in=ids).order_by("pk"))
        if all(d.status in (DocumentStatus.READY, DocumentStatus.FAILED) for d in documents):
            return documents
        time.sleep(0.2)
    raise AssertionError(f"documents {ids} did not finish within {timeout} s")


def test_a_worker_started_without_q_processes_single_and_bulk_uploads(alpha, celery_worker):
    assert celery_worker.process is not None
    assert "-Q" not in celery_worker.process.args  # started as `celery -A config worker`
    wanted = {workers.queue_name(name) for name in settings.TASK_QUEUE_NAMES}
    assert wanted <= workers.consumed_queues()
    client = alpha.logged_in_client()
    single = client.post(
        "/api/v1/documents/?allow_duplicate=1",
        {"file": SimpleUploadedFile("memo.pdf", samples.make_pdf(["Plain workers ingest PDFs."]))},
    )
    assert single.status_code == 202, single.content
    bulk = client.post(  # two files in one request go to the ingest_bulk queue
        "/api/v1/documents/?allow_duplicate=1",
        {
            "file": [
                SimpleUploadedFile("one.txt", b"Bulk uploads reach a plain worker."),
                SimpleUploadedFile("two.txt", b"So do their siblings."),
            ]
        },
    )
    assert bulk.status_code == 202, bulk.content
    ids = [single.json()["id"], *(d["id"] for d in bulk.json()["documents"])]
    documents = _wait_final(alpha, ids)
    assert [d.status for d in documents] == [DocumentStatus.READY] * 3
    assert documents[0].chunk_count >= 1


@pytest.fixture
def own_queues(settings) -> str:
    """Queue names of this test only: the session's worker takes none of them."""
    settings.QUEUE_PREFIX = f"own{os.getpid()}-"
    return settings.QUEUE_PREFIX


def test_readiness_page_and_ingest_name_the_queue_no_worker_takes(
    own_queues, make_tenant, tmp_path, caplog, committed_tenants
):
    assert workers.problem() == (
        "No background worker is running, so documents wait in their queue."
    )
    worker = WorkerProcess(
        tmp_path / "worker.log", concurrency=1, queues=["maintenance"], name="maint"
    )
    worker.start()
    try:
        problem = workers.problem()
        assert problem == (
            "Background workers are running, but none takes the 'ingest' and 'ingest_bulk' "
            "queues, so documents sent there wait."
        )
        response = Client(HTTP_HOST="localhost").get("/health/ready")
        assert response.status_code == 200  # serving goes on; an operator must act
        body = response.json()
        assert body["status"] == "degraded"
        assert body["checks"]["workers"] == {
            "ok": False,
            "status": "degraded",
            "ms": body["checks"]["workers"]["ms"],
        }
        assert body["checks"]["database"]["status"] == "ok"
        assert "ingest" not in response.content.decode()  # details go to the log only
        assert "consumes the queue(s) ingest, default, ingest_bulk" in caplog.text

        tenant = make_tenant("waiting")
        (tmp_path / "a.txt").write_text("Waiting for a worker.")
        with pytest.raises(CommandError, match="still queued"):
            call_command(
                "ingest", "--tenant", tenant.schema, "--timeout", "0.5", str(tmp_path / "a.txt")
            )
        page = html.unescape(tenant.logged_in_client().get("/documents/").content.decode())
        assert problem in page
        assert "please tell the platform's operators" in page
    finally:
        worker.stop()
    # A worker that stops cleanly takes its entry with it.
    assert workers.problem() == "No background worker is running, so documents wait in their queue."


def test_a_worker_that_died_without_saying_so_is_forgotten(own_queues):
    redis = get_redis_connection("default")
    field = "gone-host:1"
    queues = [workers.queue_name(name) for name in settings.TASK_QUEUE_NAMES]
    entry = {"queues": queues, "seen": time.time() - workers.STALE_AFTER_SECONDS - 1}
    redis.hset(workers.REGISTRY_KEY, field, json.dumps(entry))
    assert workers.unconsumed() == list(settings.TASK_QUEUE_NAMES)
    assert not redis.hexists(workers.REGISTRY_KEY, field)  # cleaned up by the reader
    entry["seen"] = time.time()
    redis.hset(workers.REGISTRY_KEY, field, json.dumps(entry))
    try:
        assert workers.unconsumed() == []
        assert workers.problem() is None
    finally:
        redis.hdel(workers.REGISTRY_KEY, field)


@pytest.mark.usefixtures("celery_worker")
def test_documents_page_says_nothing_while_a_worker_takes_the_queues(alpha):
    DocumentFactory(tenant=alpha, filename="queued.txt", status=DocumentStatus.PENDING)
    page = alpha.logged_in_client().get("/documents/").content.decode()
    assert "waiting-notice" not in page


@pytest.mark.usefixtures("celery_worker")
def test_each_queue_is_bound_to_its_own_routing_key_in_the_broker(alpha):
    # A shared binding would route a message sent to one queue into all of them (Redis
    # transport: kombu keeps the bindings of exchange X in the set "_kombu.binding.X").
    redis = get_redis_connection("default")
    for name in settings.TASK_QUEUE_NAMES:
        queue = workers.queue_name(name)
        members = redis.smembers(f"_kombu.binding.{queue}")
        assert members, f"no binding for {queue}"
        for member in members:
            routing_key, _pattern, bound_queue = member.decode().split("\x06\x16")
            assert (routing_key, bound_queue) == (queue, queue)
