"""Platform gauges the alerts read (deploy/prometheus/alerts.yml), collected once a minute.

The beat task `operators.collect_platform_gauges` runs on a worker and sets, from one
statement over every active tenant's documents, one passive declare per Celery queue, the
worker heartbeat registry (config/workers.py) and two `statvfs` calls:

- `documents_by_status{status}` and `documents_oldest_waiting_seconds` (the oldest document
  still pending or processing; 0 when none waits);
- `celery_queue_length{queue}` and `celery_queue_consumers{queue}`;
- `storage_volume_used_ratio{volume="media"|"indexes"}`.

A request never pays for them; in multiprocess mode the newest value wins.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import connection
from prometheus_client import Gauge

from config import workers
from tenants.models import Tenant

logger = logging.getLogger(__name__)
_BATCH = 200  # schemas per statement
STATUSES = ("pending", "processing", "ready", "failed")
WAITING = ("pending", "processing")

DOCUMENTS = Gauge(
    "documents_by_status", "Documents in every active tenant, by status.", ["status"],
    multiprocess_mode="mostrecent",
)  # fmt: skip
OLDEST_WAITING = Gauge(
    "documents_oldest_waiting_seconds",
    "Age of the oldest document still pending or processing in any tenant (0: none waits).",
    multiprocess_mode="mostrecent",
)
QUEUE_LENGTH = Gauge(
    "celery_queue_length", "Tasks waiting in each Celery queue.", ["queue"],
    multiprocess_mode="mostrecent",
)  # fmt: skip
QUEUE_CONSUMERS = Gauge(
    "celery_queue_consumers", "Live workers consuming each Celery queue.", ["queue"],
    multiprocess_mode="mostrecent",
)  # fmt: skip
VOLUME_USED = Gauge(
    "storage_volume_used_ratio",
    "Used share (0-1) of the file system holding the uploaded files or the index files.",
    ["volume"],
    multiprocess_mode="mostrecent",
)


def _batches(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), _BATCH):
        yield items[start : start + _BATCH]


def document_counts() -> tuple[dict[str, int], float]:
    """Documents per status over every active tenant, and the oldest waiting one's age (s)."""
    schemas = list(
        Tenant.objects.exclude(schema_name="public")
        .filter(is_active=True)
        .values_list("schema_name", flat=True)
    )
    counts = dict.fromkeys(STATUSES, 0)
    oldest = 0.0
    with connection.cursor() as cursor:
        for batch in _batches(schemas):
            union = " UNION ALL ".join(
                f'SELECT status, created_at FROM "{schema}".documents_document'  # noqa: S608
                for schema in batch
            )
            cursor.execute(
                "SELECT status, count(*), coalesce(extract(epoch FROM now() - "  # noqa: S608
                f"min(created_at)), 0) FROM ({union}) AS d GROUP BY status"
            )
            for status, count, age in cursor.fetchall():
                counts[status] = counts.get(status, 0) + int(count)
                if status in WAITING:
                    oldest = max(oldest, float(age))
    return counts, oldest


def queue_lengths() -> dict[str, int]:
    """Messages waiting in each declared queue (a passive declare: nothing is created)."""
    lengths: dict[str, int] = {}
    with current_app.connection_for_read() as conn:
        for name in settings.TASK_QUEUE_NAMES:
            # A channel each: on AMQP a failed passive declare closes its channel.
            channel: Any = conn.channel()  # kombu's typing stops at StdChannel
            try:
                declared = channel.queue_declare(queue=workers.queue_name(name), passive=True)
                lengths[name] = int(declared.message_count)
            except conn.channel_errors:
                lengths[name] = 0  # never declared, or (on Redis) declared and empty
            finally:
                channel.close()
    return lengths


def collect() -> None:
    """Set every platform gauge; a part that cannot be read keeps its previous value."""
    try:
        counts, oldest = document_counts()
        for status, count in counts.items():
            DOCUMENTS.labels(status).set(count)
        OLDEST_WAITING.set(oldest)
    except Exception:
        logger.exception("could not count the documents for the platform gauges")
    try:
        for name, length in queue_lengths().items():
            QUEUE_LENGTH.labels(name).set(length)
    except Exception:
        logger.exception("could not read the Celery queue lengths")
    try:
        live = workers.consumers()
        for name in settings.TASK_QUEUE_NAMES:
            QUEUE_CONSUMERS.labels(name).set(live.get(workers.queue_name(name), 0))
    except Exception:
        logger.exception("could not read the worker registry")
    for volume, root in (("media", settings.MEDIA_ROOT), ("indexes", settings.INDEX_ROOT)):
        path = Path(root)
        while not path.exists() and path != path.parent:
            path = path.parent  # a folder not made yet lives on its parent's file system
        usage = shutil.disk_usage(path)
        VOLUME_USED.labels(volume).set(usage.used / usage.total if usage.total else 0.0)
