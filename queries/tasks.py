"""Query-log retention (scheduled in settings.CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from queries.models import Query
from tenants.each import for_each_tenant

logger = logging.getLogger(__name__)
_BATCH = 5_000  # rows per DELETE, so a first purge of a big log never holds one huge lock


def purge_current_tenant(*, older_than: timedelta) -> int:
    """Delete the current tenant's Query rows (and their feedback) older than `older_than`."""
    cutoff = timezone.now() - older_than
    deleted = 0
    while True:
        ids = list(
            Query.objects.filter(created_at__lt=cutoff)
            .order_by("created_at", "id")
            .values_list("id", flat=True)[:_BATCH]
        )
        if not ids:
            return deleted
        Query.objects.filter(id__in=ids).delete()  # QueryFeedback goes with its query
        deleted += len(ids)


@shared_task(name="queries.purge_query_log")
def purge_query_log() -> dict[str, int]:
    """Beat task (public schema): drop query-log rows past QUERY_LOG_RETENTION_DAYS everywhere.

    0 days keeps the log forever. Inactive tenants are purged too (their logs still age).
    """
    days = int(settings.QUERY_LOG_RETENTION_DAYS)
    totals = {"tenants": 0, "deleted": 0}
    if days <= 0:
        return totals
    purged = for_each_tenant(
        lambda _tenant: purge_current_tenant(older_than=timedelta(days=days)),
        job_name="query log purge",
        include_inactive=True,
    )
    totals["tenants"] = len(purged.results)
    totals["deleted"] = sum(purged.results.values())
    if totals["deleted"]:
        logger.info("Purged %d query-log rows older than %d days.", totals["deleted"], days)
    return totals
