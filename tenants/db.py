"""Typed access to the schema-switching methods django-tenants adds to the DB connection."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Protocol, cast

from django.db import connection
from django_tenants.models import TenantMixin
from django_tenants.utils import schema_context

logger = logging.getLogger(__name__)


class _TenantAwareConnection(Protocol):
    schema_name: str

    def set_schema_to_public(self) -> None: ...

    def set_tenant(self, tenant: TenantMixin, include_public: bool = True) -> None: ...


def _conn() -> _TenantAwareConnection:
    return cast(_TenantAwareConnection, connection)


def current_schema() -> str:
    """The schema the default connection currently points at."""
    return _conn().schema_name


def use_public_schema() -> None:
    _conn().set_schema_to_public()


def current_tenant() -> TenantMixin | None:
    """The tenant the connection is set to (None in the public schema)."""
    tenant = getattr(connection, "tenant", None)
    if tenant is None or getattr(tenant, "schema_name", "public") == "public":
        return None
    return cast(TenantMixin, tenant)


def background_job(
    schema: str, work: Callable[[], object], *, what: str, on_exit: Callable[[], None]
) -> Callable[[], None]:
    """A thread target that runs `work` in `schema`, logs its failure as "`what` for <schema>
    failed.", closes the thread's own database connection and then calls `on_exit`."""

    def run() -> None:
        try:
            with schema_context(schema):
                work()
        except Exception:
            logger.exception("%s for %s failed.", what, schema)
        finally:
            connection.close()
            on_exit()

    return run


def start_thread(target: Callable[[], None], name: str) -> None:
    threading.Thread(target=target, name=name, daemon=True).start()


class BackgroundRebuilds:
    """At most one background rebuild per key at a time, each run in the schema that asked.

    For per-process caches that serve a stale entry while a fresh one is built
    (stale-while-revalidate): `start` returns at once and does nothing while a rebuild
    for the same key is still running.
    """

    def __init__(self, what: str, thread_prefix: str) -> None:
        self.what, self.thread_prefix = what, thread_prefix
        self._running: set[str] = set()
        self._lock = threading.Lock()

    def start(
        self,
        key: str,
        work: Callable[[], object],
        spawn: Callable[[Callable[[], None], str], None] = start_thread,
    ) -> None:
        with self._lock:
            if key in self._running:
                return
            self._running.add(key)
        schema = current_schema()

        def done() -> None:
            with self._lock:
                self._running.discard(key)

        job = background_job(schema, work, what=self.what, on_exit=done)
        spawn(job, f"{self.thread_prefix}-{schema}")
