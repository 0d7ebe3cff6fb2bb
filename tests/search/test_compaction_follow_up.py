"""Chunks written while a compaction runs get a compaction of their own, although the one their
write scheduled found the tenant's index lock taken (search/folding.py `follow_up`): with a
big tenant's compaction taking minutes, they would otherwise wait for the next upload."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.db import transaction
from django.test import override_settings
from django_tenants.utils import schema_context

from documents import index_changes
from documents.models import Chunk
from search import folding, index
from tests.conftest import TenantHandle, WorkerProcess
from tests.factories import DocumentFactory

DELAY = 1  # INDEX_COMPACT_DELAY_SECONDS here and in the worker (its tasks carry countdowns)


@pytest.mark.celery_worker
@override_settings(INDEX_COMPACT_DELAY_SECONDS=DELAY)
def test_chunks_written_during_a_compaction_are_compacted_without_another_upload(
    alpha: TenantHandle, celery_worker: WorkerProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_read = folding.read_vectors
    late: list[int] = []
    offset = celery_worker.log_path.stat().st_size

    def read_then_someone_uploads(*args: Any, **kwargs: Any) -> Any:
        read = real_read(*args, **kwargs)
        if not late:
            with transaction.atomic():  # an upload's chunks, committed as ingestion does
                document = DocumentFactory(filename="late.txt", chunks=["late flutter note"])
                index_changes.chunks_changed()  # schedules a compaction in DELAY seconds
            late.append(document.chunks.get().pk)
            # The worker runs that compaction while this one holds the lock: "busy".
            deadline = time.monotonic() + 30
            while b"'outcome': 'busy'" not in _log(celery_worker, offset):
                assert time.monotonic() < deadline, "the worker ran no compaction"
                time.sleep(0.2)
        return read

    with schema_context(alpha.schema):
        DocumentFactory(filename="first.txt", chunks=["wing flow", "shock waves"])
        monkeypatch.setattr(folding, "read_vectors", read_then_someone_uploads)
        assert index.compact().outcome in {"rebuilt", "compacted"}
        monkeypatch.setattr(folding, "read_vectors", real_read)
        assert Chunk.objects.get(pk=late[0]).in_snapshot is False  # not in this compaction

        deadline = time.monotonic() + 60
        while not Chunk.objects.get(pk=late[0]).in_snapshot:  # no upload, no other change
            assert time.monotonic() < deadline, "the late chunk was never compacted"
            time.sleep(0.3)


def _log(worker: WorkerProcess, offset: int) -> bytes:
    with worker.log_path.open("rb") as log:
        log.seek(offset)
        return log.read()
