"""Query-log upkeep: monthly partitions ahead, and retention (both in CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from queries import log_partitions
from tenants.each import for_each_tenant

logger = logging.getLogger(__name__)


@shared_task(name="queries.purge_query_log")
def purge_query_log() -> dict[str, int]:
    """Beat task (public schema): drop query-log rows past QUERY_LOG_RETENTION_DAYS everywhere.

    Whole months past the cut-off go as partitions (detached, dropped); only the month the
    cut-off falls in loses rows by DELETE. 0 days keeps the log forever. Inactive tenants
    are purged too (their logs still age).
    """
    days = int(settings.QUERY_LOG_RETENTION_DAYS)
    totals = {"tenants": 0, "deleted": 0, "partitions_dropped": 0}
    if days <= 0:
        return totals
    cutoff = timezone.now() - timedelta(days=days)
    purged = for_each_tenant(
        lambda _tenant: log_partitions.purge_before(cutoff),
        job_name="query log purge",
        include_inactive=True,
    )
    totals["tenants"] = len(purged.results)
    totals["deleted"] = sum(result.rows for result in purged.results.values())
    totals["partitions_dropped"] = sum(r.partitions_dropped for r in purged.results.values())
    if totals["deleted"]:
        logger.info("Purged %d query-log rows older than %d days.", totals["deleted"], days)
    return totals


@shared_task(name="queries.maintain_query_log_partitions")
def maintain_query_log_partitions() -> dict[str, int]:
    """Beat task (public schema): every tenant's query log gets its partitions for this month
    and the next two, and rows that fell into the DEFAULT partition move to their month's."""
    now = timezone.now()
    done = for_each_tenant(
        lambda _tenant: log_partitions.maintain(now=now),
        job_name="query log partitions",
        include_inactive=True,
    )
    created = sum(len(names) for names in done.results.values())
    if created:
        logger.info("Created %d query-log partitions.", created)
    return {"tenants": len(done.results), "created": created, "failed": len(done.failures)}
