"""Celery's worker consumer, made to survive losing a Redis broker while it holds messages.

When the broker connection breaks, Celery 5.7 first collects the broken connection (its
transport forgets the client settings) and then closes it. Closing the default channel hands
its unacknowledged messages (a task with a countdown, one being processed) back to Redis
through that transport, which then has no settings to connect with: an AttributeError that
Celery takes for an unrecoverable error, and the worker exits. Closing that channel first,
while the transport still has them, gives the messages back if Redis answers; if it does not,
they stay in Redis's unacknowledged set and are delivered again after the visibility
timeout. Either way the worker reconnects once Redis is back (docs/reliability.md).
"""

from __future__ import annotations

import contextlib
from typing import Any

from celery.worker.consumer import Consumer as CeleryConsumer


class Consumer(CeleryConsumer):
    def on_connection_error_after_connected(self, exc: Exception) -> None:
        connection: Any = self.connection
        channel = getattr(connection, "_default_channel", None)
        if channel is not None:
            with contextlib.suppress(Exception):  # Redis is down: nothing to give back to
                channel.close()
        super().on_connection_error_after_connected(exc)
