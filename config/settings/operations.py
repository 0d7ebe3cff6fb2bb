"""Operations: backups (operators/backups/: the schedule, where they go, S3 options, client
binaries) and the beat entries of the platform gauges (operators/monitoring.py, metrics.py)."""

from __future__ import annotations

from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from config.env import env
from config.settings.tasks import CELERY_BEAT_SCHEDULE, QUEUE_PREFIX

# Folder of pg_dump / pg_restore when they are not found beside the embedded PostgreSQL, in
# /usr/lib/postgresql/<major>/bin or on PATH.
BACKUP_PG_BIN_DIR = env.str("BACKUP_PG_BIN_DIR", default="")
# Where a backup is assembled (and a restore unpacked) before it is sent; the system's
# temporary folder when empty. Needs room for one whole backup.
BACKUP_STAGING_DIR = env.str("BACKUP_STAGING_DIR", default="")
# S3-compatible stores: the endpoint of MinIO, Ceph, R2... (empty: AWS), and server-side
# encryption ("AES256" or "aws:kms" with an optional key id). Credentials come from the usual
# AWS environment variables, shared files or the instance/pod role.
BACKUP_S3_ENDPOINT_URL = env.str("BACKUP_S3_ENDPOINT_URL", default="")
BACKUP_S3_SSE = env.str("BACKUP_S3_SSE", default="")
if BACKUP_S3_SSE not in ("", "AES256", "aws:kms"):
    raise ImproperlyConfigured(
        f"BACKUP_S3_SSE is {BACKUP_S3_SSE!r}; set it to AES256 or aws:kms, or leave it empty."
    )
BACKUP_S3_KMS_KEY_ID = env.str("BACKUP_S3_KMS_KEY_ID", default="")

# The scheduled backup of the whole platform (a beat task): a cron expression in UTC,
# "minute hour day-of-month month day-of-week", e.g. "30 2 * * *"; empty turns it off.
BACKUP_SCHEDULE = env.str("BACKUP_SCHEDULE", default="")
BACKUP_DESTINATION = env.str("BACKUP_DESTINATION", default="")
# What the scheduled backup keeps at its destination: a count ("7": the 7 newest) or an age
# ("14d": those made in the last 14 days; the newest is always kept).
BACKUP_RETENTION = env.str("BACKUP_RETENTION", default="7")
BACKUP_WITH_INDEXES = env.bool("BACKUP_WITH_INDEXES", default=False)
# The scheduled backup's time limit in the worker (seconds).
BACKUP_TIME_LIMIT = env.int("BACKUP_TIME_LIMIT", default=4 * 3600)

if not (
    BACKUP_RETENTION.isdigit()
    or (BACKUP_RETENTION[:-1].isdigit() and BACKUP_RETENTION.endswith("d"))
):
    raise ImproperlyConfigured(
        f"BACKUP_RETENTION is {BACKUP_RETENTION!r}; give a count (7) or a number of days (14d)."
    )

# Documents, queues, workers and volumes for the alerts (operators/monitoring.py).
CELERY_BEAT_SCHEDULE["operators-platform-gauges"] = {
    "task": "operators.collect_platform_gauges",
    "schedule": 60.0,
    "options": {"queue": f"{QUEUE_PREFIX}maintenance"},
}
# The freshness gauges (operators/metrics.py) follow backups made anywhere, cron jobs too.
# Usage rows per tenant and day (operators/usage.py) for the admin and billing reports.
CELERY_BEAT_SCHEDULE["operators-usage-rollup"] = {
    "task": "operators.rollup_usage",
    "schedule": crontab(minute=10),
    "options": {"queue": f"{QUEUE_PREFIX}maintenance"},
}

CELERY_BEAT_SCHEDULE["operators-backup-freshness"] = {
    "task": "operators.backup_freshness",
    "schedule": 300.0,
    "options": {"queue": f"{QUEUE_PREFIX}maintenance"},
}


def _cron(expression: str) -> crontab:
    fields = expression.split()
    if len(fields) != 5:
        raise ImproperlyConfigured(
            f"BACKUP_SCHEDULE is {expression!r}; give a cron expression of five fields, "
            "e.g. '30 2 * * *' (02:30 UTC every day)."
        )
    try:
        return crontab(*fields)
    except ValueError as error:
        raise ImproperlyConfigured(f"BACKUP_SCHEDULE {expression!r}: {error}") from error


if BACKUP_SCHEDULE:
    if not BACKUP_DESTINATION:
        raise ImproperlyConfigured(
            "BACKUP_SCHEDULE is set but BACKUP_DESTINATION is not; give a directory or an "
            "s3://bucket/prefix address."
        )
    CELERY_BEAT_SCHEDULE["operators-backup"] = {
        "task": "operators.scheduled_backup",
        "schedule": _cron(BACKUP_SCHEDULE),
        "options": {"queue": f"{QUEUE_PREFIX}maintenance"},
    }
