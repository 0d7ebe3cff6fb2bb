"""Documents, their chunks (with embeddings: PostgreSQL is the source of truth), index state."""

from __future__ import annotations

import uuid
from typing import ClassVar

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from django.db.models.functions import Coalesce


def words_of(text: models.Expression | models.F) -> models.Func:
    """Text as full-text search should read it: angle brackets as spaces.

    PostgreSQL's parser takes `<anything like this>` for a markup tag and drops the words
    inside, so "Replace <customer name>" or "List<String>" lost words. search/bm25.py reads
    query text the same way (QUERY_LEXEMES_SQL).
    """
    return models.Func(
        text,
        models.Value("<>"),
        models.Value("  "),
        function="translate",
        output_field=models.TextField(),
    )


class DocumentStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PROCESSING = "processing", "Processing"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class Document(models.Model):
    filename = models.CharField(
        max_length=255, help_text="Original name, sanitised; metadata only."
    )
    content_type = models.CharField(max_length=120)
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64, db_index=True)
    # Server-generated path relative to the tenant's storage folder (MEDIA_ROOT/<schema>/).
    file = models.FileField(upload_to="documents/%Y/%m/", max_length=255)
    status = models.CharField(
        max_length=16, choices=DocumentStatus.choices, default=DocumentStatus.PENDING
    )
    error = models.TextField(blank=True, help_text="Why processing failed, as a sentence.")
    progress = models.PositiveSmallIntegerField(default=0)
    page_count = models.PositiveIntegerField(null=True, blank=True)
    chunk_count = models.PositiveIntegerField(default=0)
    timings = models.JSONField(default=dict, blank=True, help_text="Milliseconds per stage.")
    attempts = models.PositiveSmallIntegerField(default=0)
    # The run (Celery task id) that last took it for processing: while it is `processing`,
    # only that run takes it again (documents/pipeline.py), so no two work on it at once.
    claimed_by = models.CharField(max_length=64, blank=True, default="")
    extractor = models.CharField(max_length=60, blank=True)
    embedder = models.CharField(max_length=120, blank=True)
    # What embedding the current chunks cost at a billing provider (0 for local embedders);
    # a reindex replaces it, the daily usage rollup keeps what each day spent.
    embedding_tokens = models.PositiveIntegerField(default=0)
    embedding_cost_usd = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    # Pages read with OCR by the last run that needed it, and when it began: the plan's
    # monthly OCR allowance counts them by ocr_at's month (documents/ocr_stage.py).
    ocr_pages = models.PositiveIntegerField(default=0)
    ocr_at = models.DateTimeField(null=True, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="documents",
    )
    # Who may read it (accounts.Collection); at least one, the default when none was chosen.
    collections = models.ManyToManyField(
        "accounts.Collection", related_name="documents", blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    processing_started_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["-created_at", "-id"]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["status", "updated_at"], name="document_status_idx"),
            models.Index(fields=["created_at"], name="document_created_idx"),
            models.Index(
                fields=["ocr_at"],
                name="document_ocr_at_idx",
                condition=models.Q(ocr_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.filename} ({self.status})"


class Chunk(models.Model):
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="chunks")
    ordinal = models.PositiveIntegerField()
    text = models.TextField()
    page = models.PositiveIntegerField(null=True, blank=True)
    section = models.CharField(max_length=500, blank=True)
    char_start = models.PositiveIntegerField(default=0)
    char_end = models.PositiveIntegerField(default=0)
    token_count = models.PositiveIntegerField(default=0)
    # float32 little-endian bytes; the FAISS index is a cache rebuilt from these.
    embedding = models.BinaryField(null=True, blank=True)
    # False until a compaction folds this chunk into the tenant's FAISS snapshot.
    in_snapshot = models.BooleanField(default=False)
    search_vector = models.GeneratedField(
        expression=SearchVector(
            words_of(Coalesce("section", models.Value(""))), weight="A", config="english"
        )
        + SearchVector(words_of(models.F("text")), weight="B", config="english"),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    class Meta:
        ordering: ClassVar[list[str]] = ["document_id", "ordinal"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["document", "ordinal"], name="chunk_document_ordinal"),
        ]
        indexes: ClassVar[list[models.Index]] = [
            GinIndex(fields=["search_vector"], name="chunk_search_gin"),
            models.Index(
                fields=["id"], name="chunk_delta_idx", condition=models.Q(in_snapshot=False)
            ),
        ]

    def __str__(self) -> str:
        return f"chunk {self.ordinal} of document {self.document_id}"


class ChunkNeighbours(models.Model):
    """A chunk's nearest chunks in its tenant, found by compaction (search/chunk_links.py).

    Packed (id int64, cosine float32) pairs, best first; derived data like the FAISS snapshot,
    used to expand the chunk for lexical search. A table of its own, so rewriting a list never
    rewrites the chunk row (and its full-text index entries).
    """

    chunk = models.OneToOneField(
        Chunk, on_delete=models.CASCADE, primary_key=True, related_name="neighbour_list"
    )
    links = models.BinaryField()

    def __str__(self) -> str:
        return f"neighbours of chunk {self.pk}"


class IndexState(models.Model):
    """The tenant's vector index: one row per tenant schema (a singleton)."""

    singleton = models.BooleanField(default=True, unique=True, editable=False)
    # Distinguishes this row from one of a deleted tenant that had the same schema name, so
    # per-process caches keyed by schema never serve a previous tenant's vectors.
    generation = models.UUIDField(default=uuid.uuid4, editable=False)
    version = models.PositiveIntegerField(default=0, help_text="Snapshot file version on disk.")
    embedder = models.CharField(max_length=120, blank=True)
    dimension = models.PositiveIntegerField(default=0)
    snapshot_count = models.PositiveIntegerField(default=0)
    # Bumped whenever chunks are added or removed, so readers refresh their delta cheaply.
    change_seq = models.BigIntegerField(default=0)
    # Bumped whenever documents change collections, so cached responses (keyed on it) never
    # show a document to someone who may no longer read it.
    access_seq = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"index v{self.version} ({self.embedder}, {self.snapshot_count} vectors)"


class IndexTombstone(models.Model):
    """A chunk id removed from PostgreSQL that the FAISS snapshot may still hold.

    Searches filter these out; the next compaction removes them from the snapshot and
    deletes the tombstones it handled.
    """

    chunk_id = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"removed chunk {self.chunk_id}"
