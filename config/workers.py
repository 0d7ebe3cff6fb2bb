"""Which Celery queues a live worker consumes, for hints and readiness.

Every worker's main process writes its name and queues into one Redis hash every
`HEARTBEAT_SECONDS` (and removes its entry when it stops); an entry not refreshed within
`STALE_AFTER_SECONDS` belongs to a worker that died. Reading it is one HGETALL, cheap enough
for a readiness probe or a page view, unlike Celery's broadcast `inspect()`, which waits a
full timeout for replies.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django_redis import get_redis_connection

logger = logging.getLogger(__name__)

# Queues documents wait in: single uploads, then bulk uploads and reindexing.
INGESTION_QUEUES = ("ingest", "ingest_bulk")
REGISTRY_KEY = "di:celery-workers"
HEARTBEAT_SECONDS = 10.0
STALE_AFTER_SECONDS = 35.0


def queue_name(name: str) -> str:
    """The broker's name of one of settings.TASK_QUEUE_NAMES (test runs prefix their own)."""
    return f"{settings.QUEUE_PREFIX}{name}"


def _redis() -> Any:
    return get_redis_connection("default")


def _entry_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def announce(queues: Iterable[str]) -> None:
    """Record that this process consumes `queues` (full broker names), as of now."""
    value = json.dumps({"queues": sorted(queues), "seen": time.time()})
    _redis().hset(REGISTRY_KEY, _entry_name(), value)


def forget() -> None:
    """Remove this process's entry (a worker shutting down cleanly)."""
    _redis().hdel(REGISTRY_KEY, _entry_name())


def consumed_queues() -> set[str]:
    """Full broker names of the queues at least one live worker consumes.

    Raises redis' errors when Redis cannot be read: callers decide what an unknown means.
    """
    return set(consumers())


def consumers() -> dict[str, int]:
    """Full broker name of each queue a live worker consumes -> how many live workers do."""
    now = time.time()
    consumed: dict[str, int] = {}
    stale: list[bytes] = []
    for field, raw in _redis().hgetall(REGISTRY_KEY).items():
        try:
            entry = json.loads(raw)
            seen = float(entry["seen"])
            queues = [str(queue) for queue in entry["queues"]]
        except (ValueError, KeyError, TypeError):
            stale.append(field)
            continue
        if now - seen > STALE_AFTER_SECONDS:
            stale.append(field)
        else:
            for queue in queues:
                consumed[queue] = consumed.get(queue, 0) + 1
    if stale:
        _redis().hdel(REGISTRY_KEY, *stale)
    return consumed


def unconsumed(names: Iterable[str] | None = None) -> list[str]:
    """Those of `names` (default: every declared queue) that no live worker consumes."""
    names = settings.TASK_QUEUE_NAMES if names is None else names
    consumed = consumed_queues()
    return [name for name in names if queue_name(name) not in consumed]


def problem(names: Iterable[str] = INGESTION_QUEUES) -> str | None:
    """A sentence for people waiting on `names`, or None when a worker takes each of them."""
    wanted = list(names)
    # Workers of other deployments sharing this Redis (other QUEUE_PREFIXes) do not count.
    consumed = consumed_queues() & {queue_name(name) for name in settings.TASK_QUEUE_NAMES}
    missing = [name for name in wanted if queue_name(name) not in consumed]
    if not missing:
        return None
    if not consumed:
        return "No background worker is running, so documents wait in their queue."
    listed = " and ".join(f"'{name}'" for name in missing)
    plural = "queues" if len(missing) > 1 else "queue"
    return (
        f"Background workers are running, but none takes the {listed} {plural}, "
        "so documents sent there wait."
    )


class Heartbeat:
    """The worker main process's announcer thread (started when the worker is ready)."""

    def __init__(self, queues: Iterable[str], interval: float = HEARTBEAT_SECONDS) -> None:
        self.queues = sorted(queues)
        self.interval = interval
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._beat()
        self._thread = threading.Thread(target=self._run, name="worker-heartbeat", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        try:
            forget()
        except Exception as exc:  # Redis gone: the entry goes stale by itself
            logger.info("Could not remove this worker from the registry: %s", exc)

    def _run(self) -> None:
        while not self._stopped.wait(self.interval):
            self._beat()

    def _beat(self) -> None:
        try:
            announce(self.queues)
        except Exception as exc:  # Redis down: try again at the next beat
            logger.warning("Could not announce this worker's queues: %s", exc)
