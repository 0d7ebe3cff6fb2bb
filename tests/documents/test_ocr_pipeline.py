"""The pipeline's OCR stage in this process (real PostgreSQL and sandbox): which queue OCR
runs on, progress while pages are read, OCR turned off, the page limit and the plan's
monthly allowance. tests/documents/test_ocr_e2e.py runs the same through a real worker."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from documents import pipeline, services
from documents.models import Chunk, Document, DocumentStatus
from tenants.models import Tenant
from tests.conftest import TenantHandle
from tests.documents import scans
from tests.factories import DocumentFactory

pytestmark = pytest.mark.django_db

PAGES = [
    ["Turbulent boundary layers on swept wings were measured in the tunnel."],
    ["The zephyrometer calibration drifted by three percent after the storm."],
]


@pytest.fixture
def tenant(make_tenant: Any) -> Iterator[TenantHandle]:
    handle: TenantHandle = make_tenant("ocr_stage")
    with tenant_context(handle.tenant):
        yield handle


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, list[Any], str]]:
    """Tasks queued (name, args, queue), recorded instead of sent: nothing consumes them."""
    calls: list[tuple[str, list[Any], str]] = []
    monkeypatch.setattr(
        services,
        "send_task",
        lambda name, *, queue, args=(): calls.append((name, list(args), queue)),
    )
    return calls


def stored(name: str, data: bytes) -> Document:
    upload = services.Upload(io.BytesIO(data), name, len(data))
    return services.create_document(upload=upload, uploaded_by=None, enqueue=False)


def scan(pages: list[list[str]]) -> bytes:
    return scans.scanned_pdf([scans.page_image(page) for page in pages])


def run(document: Document) -> Document:
    pipeline.process_documents([document.pk])
    document.refresh_from_db()
    return document


def set_plan(handle: TenantHandle, plan: str) -> None:
    Tenant.objects.filter(pk=handle.tenant.pk).update(plan=plan)
    handle.tenant.plan = plan  # the object tenant_context put on the connection


# --- where OCR runs ------------------------------------------------------------------------


def test_pictures_are_queued_on_the_bulk_queue_and_text_on_the_interactive_one(
    tenant: TenantHandle, sent: list[tuple[str, list[Any], str]]
) -> None:
    png = stored("page.png", scans.png_bytes(scans.page_image(PAGES[0])))
    text = stored("notes.txt", b"Plain words.")
    services.enqueue_ingestion(png.pk)
    services.enqueue_ingestion(text.pk)
    assert sent == [
        (services.INGEST_DOCUMENT, [png.pk, False], "ingest_bulk"),
        (services.INGEST_DOCUMENT, [text.pk, True], "ingest"),
    ]


def test_a_scan_found_on_the_interactive_queue_is_sent_on_to_the_bulk_queue(
    tenant: TenantHandle,
    sent: list[tuple[str, list[Any], str]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    document = stored("scan.pdf", scan(PAGES))
    with django_capture_on_commit_callbacks(execute=True):
        (result,) = pipeline.process_documents([document.pk], ocr_in_place=False)
    document.refresh_from_db()
    assert result.outcome == "queued"
    assert (document.status, document.attempts, document.ocr_pages) == ("pending", 0, 0)
    assert sent == [(services.INGEST_DOCUMENT, [document.pk, False], "ingest_bulk")]


def test_progress_moves_while_the_pages_are_read(
    tenant: TenantHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = stored("six.pdf", scan([PAGES[i % 2] for i in range(6)]))
    seen: list[int] = []
    original = pipeline._set_progress

    def record(document_id: int, progress: int) -> None:
        seen.append(progress)
        original(document_id, progress)

    monkeypatch.setattr(pipeline, "_set_progress", record)
    document = run(document)
    assert document.status == DocumentStatus.READY, document.error
    assert seen == [21, 30, 35, 50, 85]  # 4 of 6 pages, 6 of 6, then the usual stages
    assert document.ocr_pages == 6
    assert document.extractor == "pdf:pypdfium2+ocr:tesseract"
    assert "ocr_ms" in document.timings
    pages = {c.page for c in Chunk.objects.filter(document=document) if "zephyrometer" in c.text}
    assert pages == {2, 4, 6}


# --- turned off, too long, over the plan --------------------------------------------------


def test_with_ocr_off_scans_fail_as_before_and_typed_pages_are_kept(
    tenant: TenantHandle, settings: Any
) -> None:
    settings.OCR_ENABLED = False
    pdf = run(stored("scan.pdf", scan(PAGES)))
    assert pdf.status == DocumentStatus.FAILED
    assert pdf.error.startswith("The PDF has no extractable text (scanned?).")
    png = run(stored("page.png", scans.png_bytes(scans.page_image(PAGES[0]))))
    assert png.status == DocumentStatus.FAILED
    assert "text recognition (OCR), which is turned off on this server" in png.error
    assert (pdf.ocr_pages, png.ocr_pages) == (0, 0)


def test_a_scan_over_the_page_limit_fails_with_a_sentence(
    tenant: TenantHandle, settings: Any
) -> None:
    settings.OCR_MAX_PAGES = 1
    document = run(stored("scan.pdf", scan(PAGES)))
    assert document.status == DocumentStatus.FAILED
    assert document.error == (
        "This document has 2 pages that need text recognition (OCR), over the limit of 1 "
        "page per document. Split it into smaller files and upload them."
    )


def test_the_plans_monthly_ocr_pages_are_counted_and_enforced(tenant: TenantHandle) -> None:
    set_plan(tenant, "free")  # 200 OCR pages a month
    now = timezone.now()
    DocumentFactory(ocr_pages=5_000, ocr_at=now - dt.timedelta(days=40))  # an earlier month
    DocumentFactory(ocr_pages=198, ocr_at=now)
    two_pages = run(stored("two.pdf", scan(PAGES)))
    assert two_pages.status == DocumentStatus.READY, two_pages.error
    assert two_pages.ocr_pages == 2
    third = run(stored("third.pdf", scan(PAGES[:1])))
    assert third.status == DocumentStatus.FAILED
    month = now.astimezone(dt.UTC)
    assert third.error.startswith(
        "This document needs text recognition (OCR) for 1 page, but the Free plan allows 200 "
        f"OCR pages a month and 200 were used in {month:%B %Y} (UTC)."
    )
    assert third.ocr_pages == 0
