"""Operator records kept in the public schema."""

from __future__ import annotations

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
