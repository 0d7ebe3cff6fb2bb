"""Periodic account maintenance (scheduled in settings.CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

from celery import shared_task
from django.core.management import call_command

from tenants.each import for_each_tenant


@shared_task(name="accounts.flush_expired_tokens")
def flush_expired_tokens() -> int:
    """Run simplejwt's `flushexpiredtokens` in every tenant schema (the blacklist lives there).

    Idempotent; returns the number of schemas flushed (a schema that fails is logged and
    the others still run).
    """
    flushed = for_each_tenant(
        lambda _tenant: call_command("flushexpiredtokens", verbosity=0),
        job_name="flush of expired tokens",
        include_inactive=True,  # their tokens expire too
    )
    return len(flushed.results)
