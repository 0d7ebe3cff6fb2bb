"""Uploads, extraction limits, chunking, ingestion batches and the vector index."""

from __future__ import annotations

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
# A document pending/processing for longer than this is re-queued by the sweep.
INGEST_STUCK_MINUTES = env.int("INGEST_STUCK_MINUTES", default=15)
INGEST_MAX_ATTEMPTS = env.int("INGEST_MAX_ATTEMPTS", default=3)
# Vector index: exact (flat) up to this many vectors, approximate (IVF) past it.
INDEX_APPROX_THRESHOLD = env.int("INDEX_APPROX_THRESHOLD", default=20_000)
# Loaded tenant indexes kept in each process's memory (least recently used evicted).
INDEX_MEMORY_BUDGET_MB = env.int("INDEX_MEMORY_BUDGET_MB", default=1024)
# New chunks are folded into the index file at most this often per tenant.
INDEX_COMPACT_DELAY_SECONDS = env.int("INDEX_COMPACT_DELAY_SECONDS", default=5)
# Each chunk's nearest neighbours linked at compaction (search/chunk_links.py), for
# lexical document expansion; 0 links none.
INDEX_NEIGHBOURS = env.int("INDEX_NEIGHBOURS", default=7)
# Documents per bulk ingestion task (uploads of many files, `manage.py ingest`).
INGEST_BATCH_SIZE = env.int("INGEST_BATCH_SIZE", default=32)
# Past this many documents in flight, a tenant's new work goes to the bulk queue.
INGEST_BULK_THRESHOLD = env.int("INGEST_BULK_THRESHOLD", default=20)
