"""The pipeline's OCR stage: pages without a usable text layer, recognised in the sandbox.

Extraction lists the pages to read in ``ExtractionResult.ocr_pages``: every page of a PNG,
JPEG or TIFF, and each PDF page whose text layer is missing, thin or garbage
(extractors/text_layer.py). ``complete`` then, in order:

1. with OCR_ENABLED off, keeps what text there is, or fails with the sentence a scanned PDF
   always got ("no extractable text (scanned?)");
2. refuses more than OCR_MAX_PAGES pages, and a document that would pass the plan's
   ``ocr_pages_per_month`` (UTC calendar month), with a sentence naming the allowance and the
   month; the pages are reserved on the document (``ocr_pages``, ``ocr_at``) under a
   per-tenant lock, so two workers cannot both take the last pages;
3. has the pages recognised OCR_BATCH_PAGES at a time, each batch in a fresh sandbox worker
   under the OCR limits (OCR_CPU_SECONDS_PER_PAGE per page, three times that of wall clock,
   OCR_MEMORY_MB), reporting progress after each batch;
4. replaces those pages' blocks with the recognised text, pages in order, each block
   keeping its page number for citations.

Where it runs: only in a single-document task on the bulk queue. A document found to need
OCR anywhere else (an interactive upload's task, a batch) is handed back as ``NeedsBulkQueue``
and queued alone on ``ingest_bulk`` (documents/pipeline.py), so slow recognition never
holds up other tenants' uploads on ``ingest``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone

from documents import formats
from documents.extractors.base import ExtractionResult, TextBlock
from documents.extractors.text_layer import NO_TEXT_LAYER
from documents.models import Document
from documents.sandbox import recognise_in_sandbox
from tenants.db import current_tenant
from tenants.plans import get_plan

__all__ = [
    "OCR_BATCH_PAGES",
    "NeedsBulkQueue",
    "OcrRefused",
    "complete",
    "month_start",
    "needs_ocr",
]

OCR_BATCH_PAGES = 4  # pages per sandbox worker: progress after each, one engine load each
ENGINE_START_CPU_SECONDS = 5  # loading the model, on top of the per-page allowance
_OCR_LOCK_NAMESPACE = 0x7E4A_0003  # with hashtext(current_schema()): one per tenant
Progress = Callable[[int, int], None]  # (pages done, pages in all)


class NeedsBulkQueue(Exception):
    """The document needs OCR and must run alone on the bulk queue."""


class OcrRefused(Exception):
    """OCR cannot or may not read this document; the message is shown to the user."""


def needs_ocr(result: ExtractionResult) -> bool:
    return bool(result.ocr_pages) and bool(settings.OCR_ENABLED)


def complete(document: Document, result: ExtractionResult, progress: Progress) -> ExtractionResult:
    """The extraction result with its ``ocr_pages`` recognised (see the module docstring)."""
    pages = list(result.ocr_pages)
    if not pages:
        return result
    if not settings.OCR_ENABLED:
        return _without_ocr(document, result)
    limit = int(settings.OCR_MAX_PAGES)
    if len(pages) > limit:
        raise OcrRefused(
            f"This document has {len(pages):,} pages that need text recognition (OCR), over "
            f"the limit of {limit:,} page{'s' if limit != 1 else ''} per document. Split it "
            "into smaller files and upload them."
        )
    _reserve(document, len(pages))
    recognised = _recognise(document, pages, progress)
    ocr_pages = set(pages)
    kept = [block for block in result.blocks if block.page not in ocr_pages]
    blocks = sorted([*kept, *recognised], key=lambda block: block.page or 0)
    if not any(block.text.strip() for block in blocks):
        noun = formats.BY_CONTENT_TYPE[document.content_type].noun
        raise OcrRefused(
            f"Text recognition (OCR) found no text in this {noun}. If its pages hold text, "
            "scan or photograph them again, upright, in focus and at 300 dpi or more, and "
            "upload the new file."
        )
    engine = str(settings.OCR_ENGINE)
    return ExtractionResult(blocks, result.page_count, f"{result.extractor}+ocr:{engine}")


def _without_ocr(document: Document, result: ExtractionResult) -> ExtractionResult:
    if any(block.text.strip() for block in result.blocks):
        return ExtractionResult(result.blocks, result.page_count, result.extractor)
    if document.content_type in formats.IMAGE_TYPES:
        raise OcrRefused(
            "Pictures of pages are read with text recognition (OCR), which is turned off on "
            "this server, so this image has no text to search. Upload the document as a PDF "
            "with a text layer, or ask the operator to turn OCR on (OCR_ENABLED)."
        )
    raise OcrRefused(NO_TEXT_LAYER)


def month_start(now: dt.datetime | None = None) -> dt.datetime:
    """The start of the current UTC calendar month (the plan allowance's period)."""
    now = (now or timezone.now()).astimezone(dt.UTC)
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _reserve(document: Document, pages: int) -> None:
    """Count this month's OCR pages with these and refuse past the plan's allowance."""
    plan = get_plan(str(getattr(current_tenant(), "plan", "")))
    start = month_start()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, hashtext(current_schema()))",
                [_OCR_LOCK_NAMESPACE],
            )
        allowance = plan.ocr_pages_per_month
        if allowance:
            others = Document.objects.filter(ocr_at__gte=start).exclude(pk=document.pk)
            used = int(others.aggregate(total=Sum("ocr_pages"))["total"] or 0)
            if used + pages > allowance:
                raise OcrRefused(_over_allowance(plan.label, allowance, used, pages, start))
        Document.objects.filter(pk=document.pk).update(ocr_pages=pages, ocr_at=timezone.now())


def _over_allowance(label: str, allowance: int, used: int, pages: int, start: dt.datetime) -> str:
    following = (start + dt.timedelta(days=32)).replace(day=1)
    plural = "s" if pages != 1 else ""
    return (
        f"This document needs text recognition (OCR) for {pages:,} page{plural}, but the "
        f"{label} plan allows {allowance:,} OCR pages a month and {used:,} were used in "
        f"{start:%B %Y} (UTC). Use Reindex after {following:%B} 1, upgrade the plan, or upload "
        "a PDF that already has a text layer."
    )


def _recognise(document: Document, pages: list[int], progress: Progress) -> list[TextBlock]:
    path = Path(document.file.path)
    options = {
        "engine": str(settings.OCR_ENGINE),
        "languages": str(settings.OCR_LANGUAGES),
        "dpi": int(settings.OCR_DPI),
        "tessdata_dir": str(settings.OCR_TESSDATA_DIR),
    }
    per_page = int(settings.OCR_CPU_SECONDS_PER_PAGE)
    blocks: list[TextBlock] = []
    for start in range(0, len(pages), OCR_BATCH_PAGES):
        batch = pages[start : start + OCR_BATCH_PAGES]
        cpu_seconds = per_page * len(batch) + ENGINE_START_CPU_SECONDS
        part = recognise_in_sandbox(
            path,
            document.content_type,
            {**options, "pages": batch},
            cpu_seconds=cpu_seconds,
            memory_bytes=int(settings.OCR_MEMORY_MB) * 1024 * 1024,
            wall_seconds=3.0 * cpu_seconds,
        )
        blocks.extend(block for block in part.blocks if block.page in batch)
        progress(start + len(batch), len(pages))
    return blocks
