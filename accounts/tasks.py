"""Periodic account maintenance (scheduled in settings.CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

from celery import shared_task
from django.core.management import call_command
from django_tenants.utils import get_public_schema_name, tenant_context

from tenants.models import Tenant


@shared_task(name="accounts.flush_expired_tokens")
def flush_expired_tokens() -> int:
    """Run simplejwt's `flushexpiredtokens` in every tenant schema (the blacklist lives there).

    Idempotent; returns the number of schemas flushed.
    """
    count = 0
    for tenant in Tenant.objects.exclude(schema_name=get_public_schema_name()).order_by("pk"):
        with tenant_context(tenant):
            call_command("flushexpiredtokens", verbosity=0)
        count += 1
    return count
