"""A full disk for the index files: documents still become ready, search keeps answering from
the files already there, nothing half-written is left, and the index catches up by itself
once there is room, without a restart.

The tenant's index folder (INDEX_ROOT/<schema>) is a small tmpfs mounted for the test, a real
full filesystem (ENOSPC) that the session's Celery worker writes to as well; mounting needs
root (as in CI), elsewhere the test is skipped unless REQUIRE_MOUNT is set.
"""

from __future__ import annotations

import errno
import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import schema_context

from config.queueing import send_task
from documents.index_changes import hold_compactions
from documents.models import Chunk, Document, DocumentStatus, IndexState
from search import bm25_store
from search.tasks import COMPACT_INDEX
from search.vectorindex import IndexSnapshot, build_index, load_snapshot, save_snapshot
from tenants.db import use_public_schema
from tenants.models import Tenant
from tenants.services import delete_tenant
from tests.conftest import TenantHandle, WorkerProcess, _provision
from tests.mounts import mount_tmpfs, unmount

VOLUME_KB = 1024
PAGE = 4096
DIMENSION = 384  # the hashing embedder's: a flat snapshot stores 4 bytes a dimension and an id


@pytest.fixture
def volume(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "indexes"
    mount_tmpfs(folder, VOLUME_KB)
    try:
        yield folder
    finally:
        unmount(folder)


@pytest.fixture
def tenant(committed_db: None) -> Iterator[TenantHandle]:
    """A committed tenant whose index folder is a 1 MB tmpfs (removed afterwards)."""
    schema = f"idxfull_{uuid.uuid4().hex[:6]}"
    folder = Path(settings.INDEX_ROOT) / schema
    mount_tmpfs(folder, VOLUME_KB)
    try:
        handle = _provision(schema)
        try:
            yield handle
        finally:
            use_public_schema()
            delete_tenant(tenant=Tenant.objects.get(pk=handle.tenant.pk))
    finally:
        unmount(folder)


def _folder(handle: TenantHandle) -> Path:
    return Path(settings.INDEX_ROOT) / handle.schema


def _upload(handle: TenantHandle, name: str, text: str) -> int:
    response = handle.logged_in_client().post(
        "/api/v1/documents/", {"file": SimpleUploadedFile(name, text.encode())}
    )
    assert response.status_code == 202, response.content
    return int(response.json()["id"])


def _wait_ready(handle: TenantHandle, document_id: int) -> Document:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with schema_context(handle.schema):
            document = Document.objects.get(pk=document_id)
        if document.status in (DocumentStatus.READY, DocumentStatus.FAILED):
            return document
        time.sleep(0.2)
    raise AssertionError(f"document {document_id} still {document.status} after 60 s")


def _up_to_date(handle: TenantHandle) -> bool:
    """Every chunk in the published snapshot and the BM25 matrix of this state stored."""
    with schema_context(handle.schema):
        state = IndexState.objects.get()
        pending = Chunk.objects.filter(in_snapshot=False).exists()
        stored = bm25_store.exists(handle.schema, str(state.generation), state.change_seq)
    return state.version > 0 and not pending and stored


def _wait_until(condition: Callable[[], bool], timeout: float, what: str) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if condition():
            return time.monotonic() - started
        time.sleep(0.25)
    raise AssertionError(f"{what} did not happen within {timeout:.0f} s")


def _names(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.iterdir())


def _fill(folder: Path, leave: int) -> Path:
    """A file that leaves `leave` bytes (rounded down to pages) free on the volume."""
    free = os.statvfs(folder)
    filler = folder / "filler.bin"
    with filler.open("wb") as handle:
        handle.truncate(0)
        handle.write(b"\0" * max(0, free.f_bavail * free.f_frsize - leave))
    return filler


def _found(handle: TenantHandle, word: str) -> set[int]:
    """The document each mode ranks first for `word` (every answer must be a 200)."""
    client = handle.logged_in_client()
    found: set[int] = set()
    for mode in ("lexical", "dense", "hybrid"):
        response = client.post(
            "/api/v1/search/",
            {"query": word, "mode": mode, "no_cache": True},
            content_type="application/json",
        )
        assert response.status_code == 200, (mode, response.content)
        found.add(response.json()["results"][0]["document_id"])
    return found


def _text(word: str, paragraphs: int) -> str:
    return "\n\n".join(
        f"Paragraph {n} about the {word}: " + " ".join(f"{word} fact{n}x{k}" for k in range(120))
        for n in range(paragraphs)
    )


def _worker_log_since(worker: WorkerProcess, offset: int) -> str:
    with worker.log_path.open("rb") as log:
        log.seek(offset)
        return log.read().decode("utf-8", "replace")


def _index_files_ready(handle: TenantHandle) -> Document:
    first = _wait_ready(handle, _upload(handle, "aardvark.txt", _text("aardvark", 2)))
    assert first.status == DocumentStatus.READY, first.error
    _wait_until(lambda: _up_to_date(handle), 60, "the first compaction")
    return first


def test_a_snapshot_is_saved_whole_or_not_at_all_on_a_full_disk(volume: Path) -> None:
    """Sizes around the free space: each save either leaves a loadable version or raises
    OSError (ENOSPC) and leaves the folder as it was: no temporary file, and no index file
    without its sidecar."""
    rng = np.random.default_rng(3)

    def snapshot(count: int, version: int) -> IndexSnapshot:
        vectors = rng.standard_normal((count, 64), dtype=np.float32)
        index = build_index(np.arange(count, dtype=np.int64), vectors)
        return IndexSnapshot(index, version=version, embedder_name="e", dimension=64)

    save_snapshot(snapshot(10, 1), volume)
    _fill(volume, leave=40 * PAGE)
    before = _names(volume)
    refused = 0
    for count in range(440, 720, 6):  # about 110 KB to 180 KB against 160 KB free
        failure: OSError | None = None
        try:
            save_snapshot(snapshot(count, 2), volume)
        except OSError as exc:
            failure = exc
        if failure is not None:
            assert failure.errno == errno.ENOSPC
            assert _names(volume) == before
            refused += 1
            continue
        assert load_snapshot(volume, 2).count == count
        (volume / "index-v2.faiss").unlink()
        (volume / "index-v2.json").unlink()
    assert 0 < refused < 47
    assert load_snapshot(volume, 1).count == 10


@pytest.mark.celery_worker
def test_a_full_index_volume_keeps_search_answering_and_catches_up_when_there_is_room(
    tenant: TenantHandle, celery_worker: WorkerProcess
) -> None:
    folder = _folder(tenant)
    first = _index_files_ready(tenant)
    before = _names(folder)
    with schema_context(tenant.schema):
        version = IndexState.objects.get().version
    filler = _fill(folder, leave=4 * PAGE)
    offset = celery_worker.log_path.stat().st_size

    # The second document needs a snapshot of 30-odd vectors (50 KB): no room for it.
    second = _wait_ready(tenant, _upload(tenant, "zeppelin.txt", _text("zeppelin", 30)))
    assert second.status == DocumentStatus.READY, second.error
    _wait_until(
        lambda: (
            f"search index of workspace {tenant.schema} could not be updated"
            in _worker_log_since(celery_worker, offset)
        ),
        60,
        "the failed compaction",
    )
    log = _worker_log_since(celery_worker, offset)
    assert "The index volume (INDEX_ROOT" in log
    assert f"rebuild_index --tenant {tenant.schema}" in log
    assert "Trying again in" in log

    # Search answers from the previous snapshot plus the chunks in PostgreSQL.
    assert _found(tenant, "zeppelin") == {second.pk}
    assert _found(tenant, "aardvark") == {first.pk}
    with schema_context(tenant.schema):
        assert IndexState.objects.get().version == version
    assert _names(folder) == sorted([*before, filler.name])  # nothing half-written
    assert tenant.client().get("/health/ready").status_code == 200

    filler.unlink()  # the operator makes room; no change, no restart
    room = time.monotonic()
    _wait_until(lambda: _up_to_date(tenant), 120, "the retried compaction")
    caught_up = time.monotonic() - room
    with schema_context(tenant.schema):
        assert IndexState.objects.get().version > version
    assert _found(tenant, "zeppelin") == {second.pk}
    assert not [name for name in _names(folder) if name.startswith(".")]
    # docs/reliability.md quotes this line.
    print(f"\nindex volume full: the index caught up {caught_up:.1f} s after room was made")


@pytest.mark.celery_worker
def test_a_snapshot_that_fits_without_its_bm25_matrix_is_completed_later(
    tenant: TenantHandle, celery_worker: WorkerProcess
) -> None:
    folder = _folder(tenant)
    first = _index_files_ready(tenant)
    with schema_context(tenant.schema):
        hold_compactions(120)  # the second document is ingested without a compaction
    second = _wait_ready(tenant, _upload(tenant, "zeppelin.txt", _text("zeppelin", 30)))
    assert second.status == DocumentStatus.READY, second.error
    with schema_context(tenant.schema):
        vectors = Chunk.objects.count()
        version = IndexState.objects.get().version
    # Room for the new snapshot and its sidecar (written in whole pages), not for the matrix.
    snapshot_pages = -(-(vectors * (DIMENSION * 4 + 8) + 512) // PAGE)
    filler = _fill(folder, leave=(snapshot_pages + 2) * PAGE)
    offset = celery_worker.log_path.stat().st_size
    with schema_context(tenant.schema):
        send_task(COMPACT_INDEX, queue="maintenance")

    _wait_until(
        lambda: "its BM25 matrix was not stored" in _worker_log_since(celery_worker, offset),
        60,
        "the compaction without room for the matrix",
    )
    with schema_context(tenant.schema):
        state = IndexState.objects.get()
        assert state.version == version + 1  # the new snapshot is published and in use
        assert not bm25_store.exists(tenant.schema, str(state.generation), state.change_seq)
    assert not [name for name in _names(folder) if name.startswith(".")]
    assert _found(tenant, "zeppelin") == {second.pk}  # the process builds the matrix itself
    assert _found(tenant, "aardvark") == {first.pk}

    filler.unlink()
    _wait_until(lambda: _up_to_date(tenant), 120, "the stored matrix")
    with schema_context(tenant.schema):
        assert IndexState.objects.get().version == version + 1  # nothing folded twice
