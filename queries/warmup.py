"""Build a process's search caches for the recently active tenants before it serves anyone.

A tenant's first search in a process pays for building its caches (search/warmup.py):
seconds for 100k chunks. gunicorn workers call `warm_before_serving()` when they start
(deploy/gunicorn.conf.py, post_worker_init), before they accept requests: up to
SEARCH_WARMUP_TENANTS tenants searched in the last SEARCH_WARMUP_DAYS, most recent first.
The worker waits at most SEARCH_WARMUP_SECONDS; a tenant still being built then finishes in
the background while the worker serves, and no further tenant is started. Tenants not warmed
are built on their first search as before. Nothing here ever stops a worker from starting:
a failure is logged and the next tenant is warmed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, connections
from django.utils import timezone
from django_tenants.utils import tenant_context

from queries.models import Query
from search.settings import search_settings
from search.warmup import warm_current_tenant
from tenants.db import use_public_schema
from tenants.models import Tenant

logger = logging.getLogger(__name__)
_BATCH = 200  # tenant schemas per query when looking for the recently active ones


@dataclass(frozen=True)
class Warmed:
    schema: str
    seconds: float
    chunks: int


def recently_active(limit: int, days: float) -> list[Tenant]:
    """Active tenants with a search or question in the last `days`, most recent first."""
    if limit <= 0:
        return []
    use_public_schema()
    tenants = {
        t.schema_name: t
        for t in Tenant.objects.filter(is_active=True).exclude(schema_name="public")
    }
    since = timezone.now() - timedelta(days=days)
    last_seen: list[tuple[datetime, str]] = []
    schemas = sorted(tenants)
    table = connection.ops.quote_name(Query._meta.db_table)
    for start in range(0, len(schemas), _BATCH):
        batch = schemas[start : start + _BATCH]
        # One statement per batch; each subquery reads the newest row of created_at's index.
        sql = " UNION ALL ".join(
            f"SELECT %s, (SELECT max(created_at) FROM {connection.ops.quote_name(s)}.{table})"  # noqa: S608
            for s in batch
        )
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql, batch)
                rows = cursor.fetchall()
        except Exception:
            logger.exception("Could not read the query logs of %d tenants to warm.", len(batch))
            continue
        last_seen += [(seen, schema) for schema, seen in rows if seen is not None and seen >= since]
    last_seen.sort(reverse=True)
    return [tenants[schema] for _seen, schema in last_seen[:limit]]


def warm_recent_tenants(*, limit: int | None = None, seconds: float | None = None) -> list[Warmed]:
    """Warm the recently active tenants, starting none after `seconds`; returns what was warmed.

    The caller closes the database connection this thread opened, if it serves no requests.
    """
    limit = search_settings().warmup_tenants if limit is None else int(limit)
    seconds = search_settings().warmup_seconds if seconds is None else float(seconds)
    started = time.monotonic()
    warmed: list[Warmed] = []
    try:
        tenants = recently_active(limit, search_settings().warmup_days)
        for tenant in tenants:
            if time.monotonic() - started >= seconds:
                logger.info(
                    "Search warm-up stopped after %.1f s; %d of %d tenants warmed.",
                    time.monotonic() - started, len(warmed), len(tenants),
                )  # fmt: skip
                break
            began = time.monotonic()
            try:
                with tenant_context(tenant):
                    chunks = warm_current_tenant()
            except Exception:
                logger.exception("Warming the search caches of %s failed.", tenant.schema_name)
                continue
            warmed.append(Warmed(tenant.schema_name, time.monotonic() - began, chunks))
    finally:
        use_public_schema()
    if warmed:
        logger.info(
            "Search caches warmed for %d tenants in %.1f s.",
            len(warmed),
            time.monotonic() - started,
        )
    return warmed


def warm_before_serving(notify: Callable[[], object]) -> list[Warmed]:
    """Warm in a thread, waiting at most SEARCH_WARMUP_SECONDS and calling `notify` each second.

    `notify` is gunicorn's worker heartbeat: a long warm-up must not look like a hung worker.
    Returns what was warmed by the time the wait ended.
    """
    seconds = search_settings().warmup_seconds
    warmed: list[Warmed] = []
    done = threading.Event()

    def run() -> None:
        try:
            warmed.extend(warm_recent_tenants(seconds=seconds))
        except Exception:
            logger.exception("The search warm-up failed; caches will be built on first use.")
        finally:
            connections.close_all()  # this thread's own connection
            done.set()

    if search_settings().warmup_tenants <= 0:
        return warmed
    threading.Thread(target=run, name="search-warmup", daemon=True).start()
    deadline = time.monotonic() + seconds
    while not done.wait(timeout=1.0) and time.monotonic() < deadline:
        notify()
    return list(warmed)
