"""Operator beat tasks: the scheduled backup, the platform gauges and the usage rollup."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.core.cache import cache

from operators import monitoring, usage
from operators.backups import destinations, history
from operators.backups.create import backup, prune

logger = logging.getLogger(__name__)
_LOCK = "operators:scheduled-backup"


@shared_task(
    name="operators.scheduled_backup",
    soft_time_limit=settings.BACKUP_TIME_LIMIT,
    time_limit=settings.BACKUP_TIME_LIMIT + 60,
)
def scheduled_backup() -> str:
    """Back the whole platform up to BACKUP_DESTINATION, then apply BACKUP_RETENTION.

    A backup that outlives the broker's visibility timeout is delivered again; the lock
    (held for the task's time limit) makes the second delivery a no-op."""
    if not cache.add(_LOCK, "1", timeout=settings.BACKUP_TIME_LIMIT + 60):
        logger.info("a scheduled backup is already running; this one is skipped")
        return "skipped"
    try:
        destination = destinations.parse(settings.BACKUP_DESTINATION)
        made = history.recorded(
            lambda: backup(destination, with_indexes=settings.BACKUP_WITH_INDEXES),
            kind="platform",
            tenant="",
            destination=settings.BACKUP_DESTINATION,
        )
        deleted = prune(destination, settings.BACKUP_RETENTION)
        logger.info(
            "scheduled backup %s: %d bytes in %.1f s to %s; deleted %d older",
            made.name, made.size, made.seconds, made.where, len(deleted),
        )  # fmt: skip
        return made.where
    finally:
        cache.delete(_LOCK)


@shared_task(name="operators.backup_freshness")
def backup_freshness() -> None:
    """Every five minutes: the freshness gauges from the database (operators/metrics.py)."""
    history.refresh_gauges()


@shared_task(name="operators.collect_platform_gauges")
def collect_platform_gauges() -> None:
    """Every minute: documents, queues, workers and volumes for the alerts."""
    monitoring.collect()


@shared_task(name="operators.rollup_usage")
def rollup_usage() -> dict[str, int]:
    """Every hour: yesterday's and today's usage rows of every tenant (operators/usage.py).

    Yesterday is settled by the first run after midnight UTC; today's row grows during the
    day, so the admin's figures are at most an hour old."""
    last = usage.today()
    outcome = usage.rollup(last - timedelta(days=1), last)
    return {"rows": outcome.rows, "tenants": outcome.tenants, "failed": len(outcome.failures)}
