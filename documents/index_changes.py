"""What ingestion tells the search index: chunks were added or removed, or every chunk must
be embedded again. The index (search/) folds the changes in at its next compaction.

Writers record a change inside their own transaction (a bumped `change_seq`, tombstones for
removed chunks); when it commits, one compaction per tenant per INDEX_COMPACT_DELAY_SECONDS
is queued, by task name, so ingestion never imports the search app that sits above it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F

from config.queueing import QueueUnavailable, send_task
from documents.models import Chunk, IndexState, IndexTombstone

logger = logging.getLogger(__name__)
COMPACT_INDEX = "search.compact_index"  # search/tasks.py
_SCHEDULED = "index:compaction-scheduled"


def chunks_changed(*, removed_ids: Sequence[int] = ()) -> None:
    """Record added/removed chunks; call inside the writing transaction."""
    if removed_ids:
        IndexTombstone.objects.bulk_create(IndexTombstone(chunk_id=i) for i in removed_ids)
    updated = IndexState.objects.filter(singleton=True).update(change_seq=F("change_seq") + 1)
    if not updated:
        IndexState.objects.get_or_create(singleton=True, defaults={"change_seq": 1})
    transaction.on_commit(schedule_compaction)


def schedule_compaction() -> None:
    """Queue one compaction per tenant per INDEX_COMPACT_DELAY_SECONDS window."""
    delay = max(1, int(settings.INDEX_COMPACT_DELAY_SECONDS))
    try:
        first = cache.add(_SCHEDULED, 1, timeout=delay)
    except Exception:  # Redis trouble: compact anyway rather than never
        logger.warning("could not debounce index compaction; scheduling it anyway")
        first = True
    if first:
        try:
            send_task(COMPACT_INDEX, queue="maintenance", countdown=delay)
        except QueueUnavailable:
            # Search reads new chunks from the delta meanwhile; a later change schedules it.
            logger.warning("could not queue index compaction: the task queue is unreachable")


def hold_compactions(seconds: int) -> None:
    """Schedule no compaction for `seconds`: one that will run then folds in every change
    made meanwhile (search/tasks.py, when the index volume is full)."""
    try:
        cache.set(_SCHEDULED, 1, timeout=max(1, int(seconds)))
    except Exception:  # Redis trouble: changes schedule compactions as usual
        logger.warning("could not hold index compactions back")


def reset_for_reindex() -> None:
    """Forget the snapshot so the next compaction rebuilds with the configured embedder."""
    with transaction.atomic():
        IndexState.objects.filter(singleton=True).update(
            embedder="", dimension=0, change_seq=F("change_seq") + 1
        )
        Chunk.objects.update(in_snapshot=False)


def access_changed() -> None:
    """Record that documents changed collections (call inside the writing transaction): the
    response cache keys on `access_seq`, so no cached answer outlives who may read what."""
    IndexState.objects.filter(singleton=True).update(access_seq=F("access_seq") + 1)
