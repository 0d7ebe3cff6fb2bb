"""Celery tasks of the search index. Thin: they run in the sender's tenant and call index.

When the index volume is full, a compaction is tried again later rather than dropped: one
retrying compaction per tenant (a cache key names it), doubling its wait from the
compaction delay up to NO_SPACE_RETRY_MAX_SECONDS, for up to a week; meanwhile changes
schedule no compaction of their own (the retry folds them in), and searches read them from
the delta in PostgreSQL.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task
from django.conf import settings
from django.core.cache import cache

from documents.index_changes import hold_compactions
from search.index import compact
from search.index_io import IndexVolumeFull
from search.settings import search_settings
from tenants.tasks import require_tenant

logger = logging.getLogger(__name__)

COMPACT_INDEX = "search.compact_index"
REBUILD_INDEX = "search.rebuild_index"
NO_SPACE_RETRY_MAX_SECONDS = 300
NO_SPACE_RETRIES = 7 * 24 * 3600 // NO_SPACE_RETRY_MAX_SECONDS  # a week at the longest wait
_RETRYING = "index:compaction-retrying"  # the id of the compaction that retries


# A big tenant's compaction outlasts TASK_SOFT_TIME_LIMIT (config/settings/ingestion.py).
_LIMIT = int(settings.INDEX_COMPACT_TIME_LIMIT_SECONDS)


@shared_task(
    bind=True, name=COMPACT_INDEX, acks_late=True, soft_time_limit=_LIMIT, time_limit=_LIMIT + 60
)
@require_tenant
def compact_index(self: Task) -> dict[str, Any]:
    """Fold recently added/removed chunks into the tenant's index file (one writer)."""
    try:
        result = compact()
    except IndexVolumeFull as exc:
        return _retry_when_there_is_room(self, exc)
    if result.outcome == "busy" and _retrying(self.request.id):
        # Another compaction holds the lock; if it too finds no room, it leaves the retry to us.
        wait = _wait(self)
        _claim_retry(self.request.id, wait)
        raise self.retry(countdown=wait, max_retries=NO_SPACE_RETRIES)
    _done_retrying(self.request.id)
    return {"outcome": result.outcome, "version": result.version, "vectors": result.vectors}


@shared_task(name=REBUILD_INDEX, acks_late=True, soft_time_limit=_LIMIT, time_limit=_LIMIT + 60)
@require_tenant
def rebuild_index() -> dict[str, Any]:
    """Rebuild the tenant's vector index from the embeddings stored in PostgreSQL."""
    result = compact(rebuild=True)
    return {"outcome": result.outcome, "version": result.version, "vectors": result.vectors}


def _wait(task: Task) -> int:
    retries = int(task.request.retries or 0)
    delay = max(1, search_settings().index_compact_delay_seconds)
    return int(min(NO_SPACE_RETRY_MAX_SECONDS, delay * 2 ** min(retries, 16)))


def _retry_when_there_is_room(task: Task, exc: IndexVolumeFull) -> dict[str, Any]:
    wait = _wait(task)
    if not _claim_retry(task.request.id, wait):
        logger.error("%s Another compaction of this workspace is already waiting to retry.", exc)
        return {"outcome": "no_space", "retrying": False}
    logger.error("%s Trying again in %d s.", exc, wait)
    hold_compactions(wait)
    raise task.retry(exc=exc, countdown=wait, max_retries=NO_SPACE_RETRIES)


def _claim_retry(task_id: str | None, wait: int) -> bool:
    """True for the one compaction per tenant that retries (or when the cache is down)."""
    try:
        if not cache.add(_RETRYING, task_id, timeout=wait + 120) and (
            cache.get(_RETRYING) != task_id
        ):
            return False
        cache.set(_RETRYING, task_id, timeout=wait + 120)
    except Exception:  # Redis trouble: better two retrying compactions than none
        logger.warning("could not record which compaction retries; retrying anyway")
    return True


def _retrying(task_id: str | None) -> bool:
    try:
        return bool(task_id) and cache.get(_RETRYING) == task_id
    except Exception:
        return False


def _done_retrying(task_id: str | None) -> None:
    try:
        if _retrying(task_id):
            cache.delete(_RETRYING)
    except Exception:  # the key expires by itself
        logger.warning("could not clear the retrying compaction's key")
