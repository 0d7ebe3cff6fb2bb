"""Send a task by its name to one of the declared queues.

Senders name the task instead of importing it, so a module that queues work (an upload
queueing its ingestion, a write queueing a compaction) never imports the module that does
the work, which imports it back. tenant-schemas-celery's app adds the current schema to
every message, so the task runs in the sender's tenant.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from celery import current_app
from celery.result import AsyncResult
from django.conf import settings


def send_task(
    name: str, *, queue: str, args: Sequence[Any] = (), countdown: float | None = None
) -> AsyncResult:
    """Queue task `name` on `queue` (one of settings.TASK_QUEUE_NAMES, without prefix)."""
    if queue not in settings.TASK_QUEUE_NAMES:
        raise ValueError(
            f"{queue!r} is not one of the declared queues {settings.TASK_QUEUE_NAMES}."
        )
    return current_app.send_task(
        name, args=list(args), queue=f"{settings.QUEUE_PREFIX}{queue}", countdown=countdown
    )
