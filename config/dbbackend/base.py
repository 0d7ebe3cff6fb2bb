"""django-tenants' PostgreSQL backend, with a connection health check without a round trip.

With CONN_HEALTH_CHECKS, Django checks a persistent connection before its first use in each
request, and PostgreSQL's check is a `SELECT 1`: one more round trip on every request.
Here the check first looks at the connection locally. When the server ends a connection
(a restart, `pg_terminate_backend`, an idle timeout), it sends an error and closes the
socket, so an idle connection whose socket has something to read is suspect; only then, or
when the connection has been idle for HEALTH_CHECK_IDLE_SECONDS, does the `SELECT 1` run.
A connection that psycopg already knows is broken, closed or inside a failed transaction is
dropped without asking.
A link that dies silently (no FIN from a vanished host) is no better served by `SELECT 1`,
which would wait for the network timeout as the request's own query does.
"""

from __future__ import annotations

import select
import time
from typing import Any

from django_tenants.postgresql_backend.base import DatabaseWrapper as TenantDatabaseWrapper
from psycopg.pq import TransactionStatus

HEALTH_CHECK_IDLE_SECONDS = 30.0


def has_pending_input(raw: Any) -> bool:
    """True when the server has sent something to an idle connection (or closed it)."""
    try:
        readable, _writable, _errors = select.select([raw.fileno()], [], [], 0)
    except (OSError, ValueError):
        return True  # no usable socket
    return bool(readable)


class DatabaseWrapper(TenantDatabaseWrapper):
    def is_usable(self) -> bool:
        raw = self.connection
        if raw is None or raw.closed or raw.broken:
            return False
        if raw.info.transaction_status in (TransactionStatus.INERROR, TransactionStatus.UNKNOWN):
            return False  # a failed transaction (SELECT 1 would fail too) or a lost link
        idle = time.monotonic() - getattr(self, "_checked_at", 0.0)
        if idle < HEALTH_CHECK_IDLE_SECONDS and not has_pending_input(raw):
            return True
        usable = bool(super().is_usable())  # SELECT 1
        if usable:
            self._checked_at = time.monotonic()
        return usable

    def close_if_health_check_failed(self) -> None:
        super().close_if_health_check_failed()
        if self.connection is not None and self.health_check_done:
            # The connection serves this request; it counts as checked from now on.
            self._checked_at = time.monotonic()

    def connect(self) -> None:
        super().connect()
        self._checked_at = time.monotonic()
