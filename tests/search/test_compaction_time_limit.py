"""A compaction runs under INDEX_COMPACT_TIME_LIMIT_SECONDS, not the time limit of other tasks
(TASK_SOFT_TIME_LIMIT): a big tenant's compaction reads, links and stores every chunk, and at
400,000 chunks it was stopped at 600 s before its BM25 matrix was stored.

A worker of its own (its own queues) with TASK_SOFT_TIME_LIMIT=1 compacts a tenant of a few
thousand chunks, which takes longer than that second."""

from __future__ import annotations

import os
import random
import re
import time
from pathlib import Path

import pytest
from celery import current_app
from django_tenants.utils import schema_context

from documents.models import Chunk, IndexState
from search import bm25_store, index
from search.tasks import COMPACT_INDEX
from tests.conftest import TenantHandle, WorkerProcess
from tests.factories import DocumentFactory

WORDS = [f"{stem}{n}" for stem in ("wing", "flow", "shell", "plate") for n in range(400)]


@pytest.mark.celery_worker
def test_a_compaction_longer_than_the_task_time_limit_is_not_stopped(
    alpha: TenantHandle, tmp_path: Path
) -> None:
    prefix = f"timelimit{os.getpid()}-"
    worker = WorkerProcess(
        tmp_path / "worker.log",
        concurrency=1,
        name="timelimit",
        env={"QUEUE_PREFIX": prefix, "TASK_SOFT_TIME_LIMIT": "1"},
    )
    worker.start()
    try:
        with schema_context(alpha.schema):
            rng = random.Random(3)
            for _ in range(4):
                DocumentFactory(chunks=[" ".join(rng.choices(WORDS, k=120)) for _ in range(1_500)])
            current_app.send_task(COMPACT_INDEX, queue=f"{prefix}maintenance", ignore_result=True)
            deadline = time.monotonic() + 240
            while not _done(worker.log_path):
                assert time.monotonic() < deadline, worker.log_path.read_text()[-2000:]
                time.sleep(0.5)
            log = worker.log_path.read_text()
            seconds = float(_done(worker.log_path))
            assert seconds > 1.0  # longer than TASK_SOFT_TIME_LIMIT
            assert "Soft time limit" not in log
            assert re.search(r"'outcome': '(rebuilt|compacted)'", log)
            row = IndexState.objects.get()
            assert row.snapshot_count >= 6_000
            assert not Chunk.objects.filter(in_snapshot=False).exists()  # all folded in
            schema = index.index_directory().name
            assert bm25_store.exists(schema, str(row.generation), row.change_seq)
    finally:
        worker.stop()


def _done(log: Path) -> str:
    found = re.search(r"search\.compact_index\[[^\]]+\] succeeded in ([0-9.]+)s", log.read_text())
    return found.group(1) if found else ""
