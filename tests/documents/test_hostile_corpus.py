"""The hostile corpus (tests/documents/hostile_corpus.py) uploaded through the API to a real
Celery worker, all in one run: each file is refused with a sentence, or fails with one, or has
its safe text indexed with nothing secret in it; no document is left in flight, the worker is
alive and still ingests a normal file afterwards, stored names are safe and stay inside the
workspace's folder, and no file is left behind (docs/ingestion.md: a refused upload keeps no
file; a failed document keeps its original until it is deleted)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client, override_settings
from django_tenants.utils import schema_context

from documents.models import Chunk, Document, DocumentStatus
from tests.conftest import TenantHandle, WorkerProcess
from tests.documents.hostile_builders import MultipartBody
from tests.documents.hostile_corpus import CORPUS, Expect, Hostile, by_category
from tests.documents.hostile_files import CANARY, Workspace

# Tests whose worker must see their rows write in autocommit (tests/conftest.py).
pytestmark = [pytest.mark.celery_worker, pytest.mark.usefixtures("committed_db")]

URL = "/api/v1/documents/"
FINAL = {DocumentStatus.READY, DocumentStatus.FAILED}
WAIT_SECONDS = 240  # the whole corpus, on 2 busy cores; it takes about a tenth of that


@dataclass
class Sent:
    item: Hostile
    status: int
    body: dict[str, Any]

    @property
    def document_id(self) -> int | None:
        return int(self.body["id"]) if self.status == 202 else None


@dataclass
class Run:
    handle: TenantHandle
    client: Client
    worker: WorkerProcess
    sent: list[Sent]
    media_before: set[Path]
    upload_temp: Path
    worker_temp: Path
    rows_before: int  # the highest document id before the run
    seconds: float = 0.0
    documents: dict[int, Document] = field(default_factory=dict)
    texts: dict[int, str] = field(default_factory=dict)
    after: list[int] = field(default_factory=list)  # normal documents uploaded afterwards

    def accepted(self) -> list[tuple[Sent, Document]]:
        return [(s, self.documents[s.document_id]) for s in self.sent if s.document_id]

    def created_ids(self) -> list[int]:
        return [*self.documents, *self.after]


def _media_files(schema: str) -> set[Path]:
    folder = Path(settings.MEDIA_ROOT) / schema
    return {path for path in folder.rglob("*") if path.is_file()} if folder.exists() else set()


def upload(client: Client, name: str, content: bytes | Path) -> tuple[int, dict[str, Any]]:
    """POST one file whose multipart name is ``name`` byte for byte, streamed."""
    body = MultipartBody("file", name, content)
    # The WSGI environment as a server hands it over: the body is read as the view reads it.
    environ: dict[str, Any] = {
        "CONTENT_TYPE": body.content_type,
        "CONTENT_LENGTH": str(body.length),
        "wsgi.input": body,
    }
    try:
        response = client.generic("POST", f"{URL}?allow_duplicate=1", **environ)
    finally:
        body.close()
    return response.status_code, response.json()


def _wait_final(schema: str, ids: list[int]) -> dict[int, Document]:
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        with schema_context(schema):
            documents = {d.pk: d for d in Document.objects.filter(pk__in=ids)}
        waiting = [d for d in documents.values() if d.status not in FINAL]
        if not waiting or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    assert not waiting, "still in flight: " + ", ".join(
        f"{d.filename} ({d.status})" for d in waiting
    )
    return documents


@pytest.fixture(scope="module")
def run(
    committed_tenants: tuple[TenantHandle, TenantHandle],
    django_db_blocker: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Run]:
    handle = committed_tenants[0]
    root = tmp_path_factory.mktemp("hostile")
    temps = upload_temp, worker_temp = root / "upload-tmp", root / "worker-tmp"
    files = root / "files"
    for folder in (*temps, files):
        folder.mkdir()
    prefix = f"hostile{os.getpid()}-"  # queues only this module's worker takes
    overridden = override_settings(QUEUE_PREFIX=prefix, FILE_UPLOAD_TEMP_DIR=str(upload_temp))
    overridden.enable()
    worker = WorkerProcess(
        root / "worker.log",
        name="hostile",
        env={"QUEUE_PREFIX": prefix, "TMPDIR": str(worker_temp)},
    )
    with django_db_blocker.unblock(), schema_context(handle.schema):
        before = Document.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    try:
        with django_db_blocker.unblock():
            worker.start()
            client = handle.logged_in_client()
            result = Run(handle, client, worker, [], _media_files(handle.schema), *temps, before)
            _upload_corpus(result, Workspace(files))
        yield result
    finally:
        worker.stop()
        overridden.disable()
        with django_db_blocker.unblock(), schema_context(handle.schema):
            Document.objects.filter(pk__gt=before).delete()  # what a failed test left


def _upload_corpus(run: Run, workspace: Workspace) -> None:
    """Upload every file, then wait until every accepted one is ready or failed."""
    started = time.monotonic()
    run.sent = [Sent(item, *upload(run.client, item.name, item.make(workspace))) for item in CORPUS]
    ids = [s.document_id for s in run.sent if s.document_id is not None]
    run.documents = _wait_final(run.handle.schema, ids)
    run.seconds = time.monotonic() - started
    with schema_context(run.handle.schema):
        for chunk in Chunk.objects.filter(document_id__in=ids).order_by("document_id", "ordinal"):
            text = " ".join(chunk.text.split())
            run.texts[chunk.document_id] = f"{run.texts.get(chunk.document_id, '')} {text}"


def _is_sentence(text: str) -> bool:
    return len(text) > 20 and text[0].isupper() and text.rstrip().endswith(".")


def test_the_corpus_is_large_and_varied() -> None:
    counts = by_category()
    assert len(CORPUS) >= 30
    assert set(counts) == {"bomb", "pdf", "entities", "size", "encoding", "name"}
    assert len({item.name for item in CORPUS}) == len(CORPUS)


def _refusal_problem(sent: Sent) -> str | None:
    expect, error = sent.item.expect, sent.body.get("error", {})
    message = str(error.get("message", ""))
    if (sent.status, error.get("code")) != (expect.http, expect.code):
        return f"{sent.status} {sent.body} instead of a {expect.http} {expect.code}"
    if not _is_sentence(message) or expect.phrases[0] not in message:
        return f"refused with {message!r}"
    return None


def _document_problem(expect: Expect, document: Document, text: str) -> str | None:
    if document.status != expect.outcome:
        return f"{document.status} ({document.error!r}), not {expect.outcome}"
    if expect.outcome == "failed":
        if not _is_sentence(document.error) or expect.phrases[0] not in document.error:
            return f"failed with {document.error!r}"
        if text or document.chunk_count:
            return f"failed but kept {document.chunk_count} chunks"
    if expect.outcome == "ready" and not all(phrase in text for phrase in expect.phrases):
        return f"ready without {expect.phrases} in {text[:200]!r}"
    return None


def test_each_hostile_file_is_refused_failed_or_read_as_expected(run: Run) -> None:
    problems = {}
    for sent in run.sent:
        if sent.item.expect.outcome == "refused":
            problems[sent.item.name] = _refusal_problem(sent)
        elif sent.document_id is None:
            problems[sent.item.name] = f"{sent.status} {sent.body} instead of being accepted"
        else:
            document = run.documents[sent.document_id]
            text = run.texts.get(document.pk, "")
            problems[sent.item.name] = _document_problem(sent.item.expect, document, text)
    wrong = [f"{name!r}: {problem}" for name, problem in problems.items() if problem]
    assert not wrong, "\n".join(wrong)
    with schema_context(run.handle.schema):  # a refused upload left no row either
        rows = Document.objects.filter(pk__gt=run.rows_before).count()
    assert rows == len(run.documents)
    outcomes = [s.item.expect.outcome for s in run.sent]
    # docs/reliability.md quotes this line.
    print(
        f"\nhostile corpus: {len(run.sent)} files ({by_category()}): "
        f"{outcomes.count('refused')} refused, {outcomes.count('failed')} failed, "
        f"{outcomes.count('ready')} read safely; all ended in {run.seconds:.1f} s"
    )


def test_each_document_ended_within_the_sandbox_limits(run: Run) -> None:
    limit = timedelta(seconds=float(settings.EXTRACT_WALL_SECONDS))
    took = {
        document.filename: document.updated_at - document.processing_started_at
        for document in run.documents.values()
        if document.processing_started_at is not None
    }
    assert len(took) == len(run.documents)  # every one was taken by the worker
    slow = {name: seconds for name, seconds in took.items() if seconds > limit}
    assert not slow, slow


def test_no_secret_or_expanded_entity_reaches_chunks_search_or_reasons(run: Run) -> None:
    leaks = []
    for sent, document in run.accepted():
        for secret in sent.item.expect.absent:
            if secret in run.texts.get(document.pk, "") or secret in document.error:
                leaks.append(f"{sent.item.name}: {secret!r}")
    assert not leaks, leaks
    for query, found in ((CANARY, False), ("hypersonic flow", True)):
        response = run.client.post(
            "/api/v1/search/",
            {"query": query, "mode": "lexical", "no_cache": True},
            content_type="application/json",
        )
        assert response.status_code == 200, response.content
        hits = [hit["text"] for hit in response.json()["results"]]
        assert bool(hits) is found, (query, hits[:3])
        assert not any(CANARY in hit for hit in hits)


def test_hostile_names_are_stored_safely_inside_the_workspace(run: Run) -> None:
    folder = (Path(settings.MEDIA_ROOT) / run.handle.schema).resolve()
    for sent, document in run.accepted():
        with schema_context(run.handle.schema):  # the storage puts files in the tenant's folder
            stored = Path(document.file.path).resolve()
        assert stored.is_relative_to(folder), stored
        assert ".." not in str(document.file.name)
        name = document.filename
        assert name.isprintable(), repr(name)  # no control or format character (RTL override)
        assert not {"/", "\\"} & set(name), repr(name)
        assert len(name) <= 255
        if sent.item.expect.filename is not None:
            assert name == sent.item.expect.filename, (sent.item.name, name)
    with schema_context(run.handle.schema):
        markup = Document.objects.get(filename__startswith="<img", pk__in=run.documents)
    page = run.client.get("/documents/", {"q": "onerror"})
    assert page.status_code == 200
    assert b"&lt;img src=x onerror=alert(1)&gt;.md" in page.content
    assert b"<img src=x" not in page.content
    download = run.client.get(f"{URL}{markup.pk}/file/")
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment;")
    assert download["Content-Disposition"].isprintable()


def test_the_worker_is_alive_and_still_ingests_a_normal_document(run: Run) -> None:
    assert run.worker.process is not None
    assert run.worker.process.poll() is None
    status, body = upload(run.client, "after.txt", b"The worker still reads a normal document.")
    assert status == 202, body
    run.after.append(int(body["id"]))
    document = _wait_final(run.handle.schema, run.after)[int(body["id"])]
    assert document.status == DocumentStatus.READY, document.error
    # No hostile file was taken for a passing outage (retried), crashed a task or the pool.
    log = run.worker.log_path.read_text(errors="replace")
    for sign in ("retrying", "Retry in", "failed unexpectedly", "WorkerLostError", "Unrecoverable"):
        assert sign not in log, sign


def _left_in(folder: Path, *also_allowed: str) -> list[str]:
    allowed = (f"runtime-{os.geteuid()}", *also_allowed)
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith(allowed))


def test_no_file_is_left_behind(run: Run) -> None:
    with schema_context(run.handle.schema):
        stored = {
            Path(document.file.path)
            for document in Document.objects.filter(pk__in=run.created_ids())
        }
    # Refused uploads left nothing; accepted ones (failed too) keep their original until deleted.
    assert _media_files(run.handle.schema) - run.media_before == stored
    assert sorted(run.upload_temp.iterdir()) == []  # files spooled while they were uploaded
    for document_id in run.created_ids():
        response = run.client.delete(f"{URL}{document_id}/")
        assert response.status_code == 204, response.content
    assert _media_files(run.handle.schema) - run.media_before == set()
    # The worker's and its sandboxes' temp dir: only the pool's own folder while it runs
    # (billiard's pymp-*, removed as it exits), nothing once it has stopped. Where the
    # suite runs on the embedded PostgreSQL (make test without DATABASE_URL), importing its
    # library makes platformdirs' empty runtime folder there (runtime-<uid>): not a file of
    # any upload, so it is left out.
    assert _left_in(run.worker_temp, "pymp-") == []
    run.worker.stop()
    assert _left_in(run.worker_temp) == []
