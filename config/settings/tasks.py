"""Celery: broker, queues, time limits and the beat schedule."""

from __future__ import annotations

import os
from datetime import timedelta

from django.core.exceptions import ImproperlyConfigured
from kombu import Exchange, Queue

from config.env import env
from config.settings.base import TESTING
from config.settings.stores import REDIS_URL

# --- background work ------------------------------------------------------------------

# kombu spells a Redis unix socket "redis+socket://"; redis-py and django-redis "unix://".
_CELERY_REDIS_URL = (
    "redis+socket://" + REDIS_URL.removeprefix("unix://")
    if REDIS_URL.startswith("unix://")
    else REDIS_URL
)
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=_CELERY_REDIS_URL)
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=_CELERY_REDIS_URL)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery's consumer, except that losing the Redis broker does not stop the worker.
CELERY_WORKER_CONSUMER = "config.worker_consumer:Consumer"
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = 3600
CELERY_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=900)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # A task not acknowledged within this window (worker killed) is redelivered.
    "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
}
# Every task runs under a time limit. The soft one raises SoftTimeLimitExceeded inside the
# task (ingestion marks its unfinished documents failed with a sentence); the hard one, a
# minute later, kills the pool process. Both stay below the visibility timeout, or a task
# still running would be delivered a second time.
CELERY_TASK_SOFT_TIME_LIMIT = env.int("TASK_SOFT_TIME_LIMIT", default=600)
CELERY_TASK_TIME_LIMIT = CELERY_TASK_SOFT_TIME_LIMIT + 60
if CELERY_TASK_TIME_LIMIT >= CELERY_VISIBILITY_TIMEOUT:
    raise ImproperlyConfigured(
        f"TASK_SOFT_TIME_LIMIT ({CELERY_TASK_SOFT_TIME_LIMIT} s) plus 60 s must stay below "
        f"CELERY_VISIBILITY_TIMEOUT ({CELERY_VISIBILITY_TIMEOUT} s); raise the latter too."
    )
# Test runs use their own queue names so a running `make run` worker never takes their tasks.
QUEUE_PREFIX = env.str("QUEUE_PREFIX", default=f"test{os.getpid()}-" if TESTING else "")
# Declared, so a worker started without -Q consumes every one of them (-Q picks a subset
# for dedicated pools); config/workers.py tracks which of them a live worker consumes.
TASK_QUEUE_NAMES = ("ingest", "default", "ingest_bulk", "maintenance")
# Each queue gets its own direct exchange and routing key, as Celery creates a missing queue;
# a bare Queue(name) would be bound to the default exchange and key, so every message sent to
# one queue would be routed to all four.
CELERY_TASK_QUEUES = tuple(
    Queue(f"{QUEUE_PREFIX}{name}", Exchange(f"{QUEUE_PREFIX}{name}"), f"{QUEUE_PREFIX}{name}")
    for name in TASK_QUEUE_NAMES
)
CELERY_TASK_DEFAULT_QUEUE = f"{QUEUE_PREFIX}default"
CELERY_TASK_ROUTES = {
    "documents.ingest_document": {"queue": f"{QUEUE_PREFIX}ingest"},
    "documents.ingest_documents": {"queue": f"{QUEUE_PREFIX}ingest_bulk"},
    "documents.sweep_stuck_documents": {"queue": f"{QUEUE_PREFIX}maintenance"},
    "search.compact_index": {"queue": f"{QUEUE_PREFIX}maintenance"},
    "search.rebuild_index": {"queue": f"{QUEUE_PREFIX}maintenance"},
}
# How often beat runs the stuck-document sweep (INGEST_STUCK_MINUTES says what is stuck).
INGEST_SWEEP_SECONDS = env.float("INGEST_SWEEP_SECONDS", default=60.0)
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "sweep-stuck-documents": {
        "task": "documents.sweep_stuck_documents",
        "schedule": INGEST_SWEEP_SECONDS,
    },
}
CELERY_BEAT_SCHEDULE["accounts-flush-expired-tokens"] = {
    "task": "accounts.flush_expired_tokens",
    "schedule": timedelta(hours=24),
    "options": {"queue": f"{QUEUE_PREFIX}maintenance"},
}
CELERY_BEAT_SCHEDULE["queries-purge-query-log"] = {
    "task": "queries.purge_query_log",
    "schedule": timedelta(hours=24),
    "options": {"queue": f"{QUEUE_PREFIX}maintenance"},
}
# Partitions for this month and the next two; daily, so a failed night has a month to recover.
CELERY_BEAT_SCHEDULE["queries-maintain-query-log-partitions"] = {
    "task": "queries.maintain_query_log_partitions",
    "schedule": timedelta(hours=24),
    "options": {"queue": f"{QUEUE_PREFIX}maintenance"},
}
CELERY_TASK_ALWAYS_EAGER = False
