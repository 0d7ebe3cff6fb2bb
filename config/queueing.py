"""Send a task by its name to one of the declared queues.

Senders name the task instead of importing it, so a module that queues work (an upload
queueing its ingestion, a write queueing a compaction) never imports the module that does
the work, which imports it back. tenant-schemas-celery's app adds the current schema to
every message, so the task runs in the sender's tenant.

Sending never waits long on a broker that is down: a few quick retries, then
`QueueUnavailable`, a 503 with a sentence (docs/reliability.md). Results are not stored:
what queued work did is read from the database (a document's status), never from Celery.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import redis
from celery import current_app
from celery.result import AsyncResult
from django.conf import settings
from kombu.exceptions import OperationalError

from config.errors import AppError

# About a second in all before giving up (kombu's default waits up to three retries too).
SEND_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.4,
    "interval_max": 0.4,
}


class QueueUnavailable(AppError):
    """The broker did not take the message: nothing was queued."""

    status = 503
    code = "queue_unavailable"


def send_task(
    name: str, *, queue: str, args: Sequence[Any] = (), countdown: float | None = None
) -> AsyncResult:
    """Queue task `name` on `queue` (one of settings.TASK_QUEUE_NAMES, without prefix)."""
    if queue not in settings.TASK_QUEUE_NAMES:
        raise ValueError(
            f"{queue!r} is not one of the declared queues {settings.TASK_QUEUE_NAMES}."
        )
    try:
        return current_app.send_task(
            name,
            args=list(args),
            queue=f"{settings.QUEUE_PREFIX}{queue}",
            countdown=countdown,
            ignore_result=True,
            retry_policy=SEND_RETRY_POLICY,
        )
    except (OperationalError, redis.RedisError) as exc:
        raise QueueUnavailable(
            "The task queue cannot be reached right now, so this work was not queued. "
            "Try again in a minute.",
            retry_after=30,
        ) from exc
