"""Upload → real Celery worker → ready (or failed with a reason), for every format, on real
PostgreSQL and Redis. Hostile files: tests/documents/test_hostile_corpus.py."""

from __future__ import annotations

import io
import time
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import schema_context

from documents import services
from documents.models import Chunk, Document, DocumentStatus
from documents.pipeline import process_document
from documents.tasks import sweep_tenant
from tests.conftest import TenantHandle
from tests.documents import samples

# Every test uploads to the committed tenant `alpha` (tests/conftest.py) for the session's worker.
pytestmark = [pytest.mark.celery_worker, pytest.mark.usefixtures("celery_worker")]

FINAL = {DocumentStatus.READY, DocumentStatus.FAILED}


def upload(handle: TenantHandle, name: str, data: bytes) -> int:
    response = handle.logged_in_client().post(
        "/api/v1/documents/?allow_duplicate=1", {"file": SimpleUploadedFile(name, data)}
    )
    assert response.status_code == 202, response.content
    return int(response.json()["id"])


def wait_final(handle: TenantHandle, document_id: int, timeout: float = 60) -> Document:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with schema_context(handle.schema):
            document = Document.objects.get(pk=document_id)
        if document.status in FINAL:
            return document
        time.sleep(0.2)
    raise AssertionError(f"document {document_id} still {document.status} after {timeout}s")


def chunks_of(handle: TenantHandle, document_id: int) -> list[Chunk]:
    with schema_context(handle.schema):
        return list(Chunk.objects.filter(document_id=document_id).order_by("ordinal"))


FORMATS = [
    (
        "report.pdf",
        lambda: samples.make_pdf(
            ["Turbulent boundary layers on wings.", "Heat transfer in hypersonic flow."]
        ),
    ),
    ("memo.docx", lambda: samples.make_docx()),
    ("deck.pptx", lambda: samples.make_pptx()),
    ("sheet.xlsx", lambda: samples.make_xlsx()),
    (
        "page.html",
        lambda: (
            b"<html><head><script>var secret=1;</script></head><body>"
            b"<h1>Lift</h1><p>Lift on a slender wing.</p></body></html>"
        ),
    ),
    ("notes.md", lambda: b"# Drag\n\nSkin friction drag at high Reynolds numbers.\n"),
    ("plain.txt", lambda: "Shock waves and caf\u00e9 noise.".encode("latin-1")),
    ("table.csv", lambda: b"material,density\naluminium,2.70\ntitanium,4.51\n"),
]


@pytest.mark.parametrize(("name", "make"), FORMATS, ids=[f[0] for f in FORMATS])
def test_each_format_goes_from_upload_to_ready(alpha, name, make):
    document = wait_final(alpha, upload(alpha, name, make()))
    assert document.status == DocumentStatus.READY, document.error
    assert document.progress == 100
    assert document.chunk_count >= 1
    assert {"extract_ms", "chunk_ms", "embed_ms"} <= set(document.timings)
    chunks = chunks_of(alpha, document.pk)
    assert len(chunks) == document.chunk_count
    assert all(c.embedding is not None and len(bytes(c.embedding)) == 384 * 4 for c in chunks)
    text = " ".join(c.text for c in chunks)
    assert "secret" not in text  # scripts are dropped from HTML


def test_page_numbers_survive_to_chunks(alpha):
    pdf = samples.make_pdf(
        ["Alpha page about wings.", "Beta page about engines.", "Gamma page about rockets."]
    )
    document = wait_final(alpha, upload(alpha, "three.pdf", pdf))
    assert document.status == DocumentStatus.READY, document.error
    assert document.page_count == 3
    pages = {c.page for c in chunks_of(alpha, document.pk) if "rockets" in c.text}
    assert pages == {3}


# Hostile files (bombs, entities, broken PDFs...) have a corpus of their own, uploaded the
# same way: tests/documents/test_hostile_corpus.py.
@pytest.mark.parametrize(
    ("name", "make", "reason"),
    [
        ("scan.pdf", lambda: samples.make_image_only_pdf(), "(OCR) found no text in this PDF"),
        ("blank.pdf", lambda: samples.make_blank_pdf(), "no extractable text (scanned?)"),
    ],
)
def test_pdfs_without_text_fail_with_a_reason_and_the_worker_keeps_serving(
    alpha, name, make, reason
):
    document = wait_final(alpha, upload(alpha, name, make()), timeout=30)
    assert document.status == DocumentStatus.FAILED
    assert document.error.endswith(".")
    assert reason in document.error
    follow_up = wait_final(alpha, upload(alpha, "after.txt", b"The worker still works."))
    assert follow_up.status == DocumentStatus.READY


def test_rerunning_the_pipeline_does_not_duplicate_chunks(alpha):
    document = wait_final(alpha, upload(alpha, "again.md", b"# A\n\nSome text.\n\n# B\n\nMore."))
    before = [(c.ordinal, c.text, c.page, c.section) for c in chunks_of(alpha, document.pk)]
    with schema_context(alpha.schema):
        Document.objects.filter(pk=document.pk).update(status=DocumentStatus.PENDING)
        assert process_document(document.pk).outcome == "ready"
        assert process_document(document.pk).outcome == "skipped"  # already ready
    after = [(c.ordinal, c.text, c.page, c.section) for c in chunks_of(alpha, document.pk)]
    assert after == before


def test_reindex_endpoint_runs_the_pipeline_again(alpha):
    document = wait_final(alpha, upload(alpha, "re.txt", b"reindex me please"))
    response = alpha.logged_in_client().post(f"/api/v1/documents/{document.pk}/reindex/")
    assert response.status_code == 202
    again = wait_final(alpha, document.pk)
    assert again.status == DocumentStatus.READY
    assert again.attempts == 1  # reset by reindex, then one run


def test_delete_removes_chunks(alpha):
    document = wait_final(alpha, upload(alpha, "bye.txt", b"goodbye text about nozzles"))
    assert chunks_of(alpha, document.pk)
    response = alpha.logged_in_client().delete(f"/api/v1/documents/{document.pk}/")
    assert response.status_code == 204
    assert chunks_of(alpha, document.pk) == []


def test_a_worker_killed_mid_document_does_not_strand_it(alpha, celery_worker):
    pdf = samples.make_multipage_pdf(page_count=600, sentences=40)
    document_id = upload(alpha, "long.pdf", pdf)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with schema_context(alpha.schema):
            status = Document.objects.get(pk=document_id).status
        if status == DocumentStatus.PROCESSING:
            break
        time.sleep(0.05)
    celery_worker.stop(kill=True)
    killed = time.monotonic()
    try:
        with schema_context(alpha.schema):
            assert Document.objects.get(pk=document_id).status != DocumentStatus.READY
            # The periodic sweep finds it (deadline shortened here) and queues it again.
            sweep_tenant(older_than=timedelta(seconds=0))
    finally:
        celery_worker.start()
    document = wait_final(alpha, document_id, timeout=120)
    assert document.status == DocumentStatus.READY, document.error
    assert document.page_count == 600
    # docs/reliability.md quotes this line.
    print(f"\nworker killed mid-document: ready {time.monotonic() - killed:.1f} s later")


def wait_all_final(handle: TenantHandle, document_ids: list[int], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with schema_context(handle.schema):
            done = Document.objects.filter(pk__in=document_ids, status__in=FINAL).count()
        if done == len(document_ids):
            return
        time.sleep(0.2)
    raise AssertionError(f"{len(document_ids) - done} documents still in flight after {timeout}s")


def test_a_bulk_upload_does_not_starve_another_tenants_single_upload(
    alpha, committed_tenants, celery_worker
):
    beta = committed_tenants[1]
    texts = [f"Bulk document {n} about compressible flow and wing {n}." for n in range(960)]
    # Both are queued while the worker is stopped, so the single upload arrives behind the
    # whole bulk backlog however fast this machine drains it: only queue order decides.
    celery_worker.stop()
    try:
        with schema_context(alpha.schema):
            uploads = [
                services.Upload(io.BytesIO(t.encode()), f"bulk-{n}.txt", len(t))
                for n, t in enumerate(texts)
            ]
            accepted, _ = services.create_documents(uploads=uploads, uploaded_by=None)
            bulk_ids = [d.pk for d in accepted]
        single_id = upload(beta, "urgent.txt", b"An urgent single document.")
    finally:
        celery_worker.start()
    try:
        single = wait_final(beta, single_id, timeout=120)  # includes the worker restart
        assert single.status == DocumentStatus.READY
        wait_all_final(alpha, bulk_ids)
        with schema_context(alpha.schema):
            failed = Document.objects.filter(pk__in=bulk_ids, status=DocumentStatus.FAILED)
            assert not failed.exists()
            # Database timestamps (one clock): bulk documents started after the single was done.
            overtaken = Document.objects.filter(
                pk__in=bulk_ids, processing_started_at__gt=single.processed_at
            ).count()
        # The single upload overtook most of the bulk backlog instead of waiting behind it.
        assert overtaken > len(bulk_ids) // 2, f"only {overtaken} of {len(bulk_ids)} overtaken"
    finally:
        with schema_context(beta.schema):
            Document.objects.all().delete()
