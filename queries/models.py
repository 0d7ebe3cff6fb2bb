"""The query log (one row per search or ask, cached or not) and feedback on answers."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models


class QueryMode(models.TextChoices):
    HYBRID = "hybrid", "Hybrid (lexical + dense, fused)"
    LEXICAL = "lexical", "Lexical (full-text)"
    DENSE = "dense", "Dense (vectors)"


class QueryKind(models.TextChoices):
    SEARCH = "search", "Search"
    ASK = "ask", "Ask"


class QueryError(models.TextChoices):
    INDEX_UNAVAILABLE = "index_unavailable", "The workspace's index must be rebuilt"
    SERVER_ERROR = "server_error", "Failed on the server"
    CANCELLED = "cancelled", "The client stopped reading the streamed answer"


class Query(models.Model):
    """One search or ask. The table is partitioned by month on `created_at` (tenants/partitions.py,
    docs/operations.md): its database key is (id, created_at); Django addresses rows by id."""

    kind = models.CharField(max_length=8, choices=QueryKind.choices, default=QueryKind.SEARCH)
    text = models.TextField()
    # sha256 of the normalised text: finds repeated questions without comparing long texts.
    normalized_hash = models.CharField(max_length=64)
    mode = models.CharField(max_length=8, choices=QueryMode.choices, default=QueryMode.HYBRID)
    # The answer backend for asks ("extractive", "openai"), "" for searches.
    backend = models.CharField(max_length=32, blank=True)
    embedder = models.CharField(max_length=120, blank=True)
    result_count = models.PositiveIntegerField(default=0)
    embed_ms = models.FloatField(default=0)
    dense_ms = models.FloatField(default=0)
    lexical_ms = models.FloatField(default=0)
    fusion_ms = models.FloatField(default=0)
    answer_ms = models.FloatField(default=0)
    total_ms = models.FloatField(default=0)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    embedding_tokens = models.PositiveIntegerField(default=0)
    estimated_cost_usd = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="queries",
    )
    # A string, not a foreign key: the log outlives revoked keys and stays decoupled from them.
    api_key_prefix = models.CharField(max_length=32, blank=True)
    cached = models.BooleanField(default=False)
    degraded = models.BooleanField(default=False)
    # Blank when the search or ask was answered; else why it was not (QueryError). Refusals
    # before any work (an empty query, a bad field, a rate limit) write no row at all.
    error = models.CharField(max_length=32, choices=QueryError.choices, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["-created_at", "-id"]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["created_at"], name="query_created_idx"),
            models.Index(fields=["normalized_hash"], name="query_hash_idx"),
            models.Index(fields=["user", "created_at"], name="query_user_created_idx"),
        ]
        verbose_name_plural = "queries"

    def __str__(self) -> str:
        return f"{self.kind} {self.text[:60]!r}"


class QueryFeedback(models.Model):
    """Whether an answer or result list helped; one per query (sending again replaces it)."""

    # No database foreign key: the partitioned query log has no unique `id` to point at
    # (its key is (id, created_at)); deletes and retention remove feedback first.
    query = models.OneToOneField(
        Query, on_delete=models.CASCADE, related_name="feedback", db_constraint=False
    )
    helpful = models.BooleanField()
    comment = models.TextField(blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="query_feedback",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The query's own `created_at`, copied: analytics counts the feedback on a window's
    # queries from this table alone, without joining the (partitioned) log.
    query_created_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{'helpful' if self.helpful else 'not helpful'}: query {self.query_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.query_created_at is None:
            self.query_created_at = self.query.created_at
        super().save(*args, **kwargs)


class QuerySlot(models.Model):
    """Fifteen minutes of the query log, one row per kind: the figures the analytics report
    adds up, so a month's report reads a few thousand of these instead of every query.

    Written once the slot is over (queries/log_rollups.py) and removed with the log's
    retention. Slots start at whole quarter hours of UTC, so every time zone's midnight is a
    slot's start and a day in any zone is a whole number of slots.
    """

    start = models.DateTimeField()
    kind = models.CharField(max_length=8, choices=QueryKind.choices)
    queries = models.PositiveIntegerField(default=0)
    cached = models.PositiveIntegerField(default=0)
    zero_results = models.PositiveIntegerField(default=0)  # answered, and found nothing
    from_api_keys = models.PositiveIntegerField(default=0)
    from_people = models.PositiveIntegerField(default=0)
    degraded = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    prompt_tokens = models.BigIntegerField(default=0)
    completion_tokens = models.BigIntegerField(default=0)
    embedding_tokens = models.BigIntegerField(default=0)
    estimated_cost_usd = models.DecimalField(max_digits=18, decimal_places=6, default=0)
    # `total_ms` of every answered query in the slot: exact percentiles over any set of slots.
    answered_ms = ArrayField(models.FloatField(), default=list)

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["start", "kind"], name="query_slot_unique")
        ]

    def __str__(self) -> str:
        return f"{self.kind} from {self.start:%Y-%m-%d %H:%M}: {self.queries}"


class QueryRollupState(models.Model):
    """One row: every query created before `rolled_until` is counted in a QuerySlot."""

    rolled_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"query slots until {self.rolled_until}"
