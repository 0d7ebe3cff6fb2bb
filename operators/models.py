"""Operator records kept in the public schema."""

from __future__ import annotations

from typing import Any

from django.db import models


class BackupRecord(models.Model):
    """One run of `manage.py backup` or the scheduled backup, and how it ended."""

    class Kind(models.TextChoices):
        PLATFORM = "platform", "whole platform"
        TENANT = "tenant", "one tenant"

    class Outcome(models.TextChoices):
        RUNNING = "running", "running"
        SUCCEEDED = "succeeded", "succeeded"
        FAILED = "failed", "failed"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    tenant_schema = models.CharField(max_length=63, blank=True)
    destination = models.CharField(max_length=500, help_text="Where it was asked to go.")
    location = models.CharField(
        max_length=600, blank=True, help_text="The backup itself: give this to `restore --from`."
    )
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.RUNNING)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    size_bytes = models.BigIntegerField(null=True, blank=True)
    seconds = models.FloatField(null=True, blank=True)
    detail = models.TextField(blank=True, help_text="Why it failed.")

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["outcome", "-started_at"])]

    def __str__(self) -> str:
        what = self.tenant_schema or "platform"
        return f"backup of {what} at {self.started_at:%Y-%m-%d %H:%M} ({self.outcome})"


class UsageDay(models.Model):
    """One tenant's usage on one UTC day, written by the usage rollup (operators/usage.py).

    Rows stay when a tenant is deleted (billing needs them); re-running the rollup for a day
    replaces its row. Documents, chunks and stored bytes are those at the end of the day."""

    tenant_schema = models.CharField(max_length=63)
    tenant_name = models.CharField(max_length=200, blank=True)
    day = models.DateField()
    searches = models.PositiveIntegerField(default=0)
    asks = models.PositiveIntegerField(default=0)
    failed_queries = models.PositiveIntegerField(default=0)
    cached_queries = models.PositiveIntegerField(default=0)
    p50_ms = models.FloatField(null=True, blank=True)
    p95_ms = models.FloatField(null=True, blank=True)
    prompt_tokens = models.BigIntegerField(default=0)
    completion_tokens = models.BigIntegerField(default=0)
    query_embedding_tokens = models.BigIntegerField(default=0)
    query_cost_usd = models.DecimalField(max_digits=14, decimal_places=6, default=0)
    documents_processed = models.PositiveIntegerField(default=0)
    ingestion_tokens = models.BigIntegerField(default=0)
    ingestion_cost_usd = models.DecimalField(max_digits=14, decimal_places=6, default=0)
    documents = models.PositiveIntegerField(default=0)
    chunks = models.BigIntegerField(default=0)
    stored_bytes = models.BigIntegerField(default=0)
    active_users = models.PositiveIntegerField(default=0)
    api_key_calls = models.PositiveIntegerField(default=0)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-day", "tenant_schema"]
        constraints = [
            models.UniqueConstraint(fields=["tenant_schema", "day"], name="usage_day_unique"),
        ]
        indexes = [models.Index(fields=["day"], name="usage_day_idx")]
        verbose_name = "usage day"

    def __str__(self) -> str:
        return f"usage of {self.tenant_schema} on {self.day:%Y-%m-%d}"

    @property
    def queries(self) -> int:
        return self.searches + self.asks

    @property
    def tokens(self) -> int:
        return (
            self.prompt_tokens
            + self.completion_tokens
            + self.query_embedding_tokens
            + self.ingestion_tokens
        )

    @property
    def cost_usd(self) -> Any:
        return self.query_cost_usd + self.ingestion_cost_usd
