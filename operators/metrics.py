"""Backup freshness for alerts: when the last backup succeeded, and its size.

Set by the process that finished a backup, and every five minutes by the beat task
`operators.backup_freshness` from the newest successful BackupRecord, so backups made by
`manage.py backup` in a cron job (a process nobody scrapes) show too. Alert when
`time() - backup_last_success_timestamp_seconds` exceeds a day and a bit
(docs/operations.md "Backups").
"""

from __future__ import annotations

from prometheus_client import Gauge

BACKUP_LAST_SUCCESS = Gauge(
    "backup_last_success_timestamp_seconds",
    "Unix time the newest successful backup finished (0: none yet).",
    ["kind"],
    multiprocess_mode="mostrecent",
)
BACKUP_LAST_SIZE = Gauge(
    "backup_last_success_size_bytes",
    "Size of the newest successful backup.",
    ["kind"],
    multiprocess_mode="mostrecent",
)
