"""Scans and photos of pages, uploaded through the API and read by a real Celery worker, end
up searchable with the page they came from; OCR turned off and a spent monthly allowance
fail with a sentence. The pages are drawn in the tests from known text (scans.py)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context
from fpdf import FPDF

from documents.models import Document, DocumentStatus
from tenants.models import Tenant
from tests.conftest import TenantHandle, WorkerProcess
from tests.documents import scans
from tests.documents import test_ingestion_e2e as ingestion_e2e
from tests.documents.test_ingestion_e2e import upload
from tests.factories import DocumentFactory

pytestmark = [pytest.mark.celery_worker, pytest.mark.usefixtures("celery_worker")]

FIRST = ["Turbulent boundary layers on swept wings were measured in the wind tunnel."]
SECOND = ["The zephyrometer calibration drifted by three percent after the storm."]
OCR_SECONDS = 180  # recognition takes a few seconds a page on a busy 2-core machine


def wait_final(handle: TenantHandle, document_id: int) -> Document:
    return ingestion_e2e.wait_final(handle, document_id, timeout=OCR_SECONDS)


def cited_pages(handle: TenantHandle, document_id: int, word: str) -> set[int | None]:
    response = handle.logged_in_client().post(
        "/api/v1/search/",
        {"query": word, "mode": "lexical", "no_cache": True},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    return {hit["page"] for hit in response.json()["results"] if hit["document_id"] == document_id}


def scanned_pdf() -> bytes:
    return scans.scanned_pdf([scans.page_image(FIRST), scans.page_image(SECOND)])


def mixed_pdf() -> bytes:
    """Page 1 typed (a text layer), page 2 a scan of a page."""
    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    pdf.add_page()
    for line in range(30):
        pdf.text(
            15, 20 + 8 * line, f"Typed line {line} about swept wings and their boundary layers."
        )
    pdf.add_page()
    pdf.image(scans.page_image(SECOND), x=0, y=0, w=210)
    return bytes(pdf.output())


def tiff() -> bytes:
    return scans.tiff_bytes([scans.page_image(FIRST), scans.page_image(SECOND)])


def photo() -> bytes:
    return scans.photo_jpeg(SECOND)


CASES: list[tuple[str, Callable[[], bytes], int, int]] = [
    ("scan.pdf", scanned_pdf, 2, 2),  # name, file, page of "zephyrometer", pages read by OCR
    ("fax.tiff", tiff, 2, 2),
    ("photo.jpg", photo, 1, 1),
    ("mixed.pdf", mixed_pdf, 2, 1),
]


@pytest.mark.parametrize(("name", "make", "page", "ocr_pages"), CASES, ids=[c[0] for c in CASES])
def test_a_picture_of_a_page_becomes_searchable_with_its_page(
    alpha: TenantHandle, name: str, make: Callable[[], bytes], page: int, ocr_pages: int
) -> None:
    document = wait_final(alpha, upload(alpha, name, make()))
    assert document.status == DocumentStatus.READY, document.error
    assert document.ocr_pages == ocr_pages
    assert "+ocr:tesseract" in document.extractor
    assert cited_pages(alpha, document.pk, "zephyrometer") == {page}
    if name != "photo.jpg":
        assert cited_pages(alpha, document.pk, "swept wings") == {1}


def test_past_the_plans_monthly_ocr_pages_a_scan_fails_with_a_sentence(alpha: TenantHandle) -> None:
    tenant = Tenant.objects.get(pk=alpha.tenant.pk)
    plan = tenant.plan
    Tenant.objects.filter(pk=tenant.pk).update(plan="free")  # 200 OCR pages a month
    try:
        with schema_context(alpha.schema):
            DocumentFactory(ocr_pages=199, ocr_at=timezone.now())
        document = wait_final(alpha, upload(alpha, "scan.pdf", scanned_pdf()))
    finally:
        Tenant.objects.filter(pk=tenant.pk).update(plan=plan)
    month = timezone.now().astimezone(dt.UTC)
    assert document.status == DocumentStatus.FAILED
    assert document.error.startswith(
        "This document needs text recognition (OCR) for 2 pages, but the Free plan allows 200 "
        f"OCR pages a month and 199 were used in {month:%B %Y} (UTC)."
    )


@pytest.fixture
def own_queues(settings: Any) -> str:
    """Queue names only this test's worker takes (not the session's worker)."""
    settings.QUEUE_PREFIX = f"ocroff{time.monotonic_ns()}-"
    return str(settings.QUEUE_PREFIX)


def test_with_ocr_turned_off_scans_and_pictures_fail_with_a_sentence(
    own_queues: str, alpha: TenantHandle, tmp_path: Path
) -> None:
    worker = WorkerProcess(
        tmp_path / "worker.log", concurrency=1, name="ocroff", env={"OCR_ENABLED": "false"}
    )
    worker.start()
    try:
        pdf = wait_final(alpha, upload(alpha, "scan.pdf", scanned_pdf()))
        png = wait_final(
            alpha, upload(alpha, "page.png", scans.png_bytes(scans.page_image(SECOND)))
        )
    finally:
        worker.stop()
    assert pdf.status == png.status == DocumentStatus.FAILED
    assert pdf.error.startswith("The PDF has no extractable text (scanned?).")
    assert "text recognition (OCR), which is turned off on this server" in png.error
