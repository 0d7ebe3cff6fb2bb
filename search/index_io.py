"""Compaction's PostgreSQL side: the per-tenant writer lock and reading stored vectors; and
what a compaction raises when the index volume is full."""

from __future__ import annotations

import errno
from collections.abc import Callable

import numpy as np
from django.db import connection

_LOCK_NAMESPACE = 0x7E4A_0003
_READ_BATCH = 5_000
_NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})


class IndexVolumeFull(Exception):
    """A compaction could not write the tenant's index files: INDEX_ROOT has no room left.

    Nothing half-written stays behind and the previous files keep serving; the message says
    so and what the operator does (search/tasks.py retries the compaction meanwhile).
    """


def no_space(exc: BaseException) -> bool:
    """Whether `exc` is a write refused for lack of room (a full disk, or a quota)."""
    return isinstance(exc, OSError) and exc.errno in _NO_SPACE


class TenantIndexLock:
    """PostgreSQL session advisory lock: one index writer per tenant at a time."""

    def __init__(self, schema: str, *, wait: bool) -> None:
        self.schema, self.wait, self.acquired = schema, wait, False

    def __enter__(self) -> bool:
        function = "pg_advisory_lock" if self.wait else "pg_try_advisory_lock"
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {function}(%s, hashtext(%s))", [_LOCK_NAMESPACE, self.schema])
            row = cursor.fetchone()
        self.acquired = True if self.wait else bool(row and row[0])
        return self.acquired

    def __exit__(self, *exc: object) -> None:
        if self.acquired:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_advisory_unlock(%s, hashtext(%s))", [_LOCK_NAMESPACE, self.schema]
                )


def read_vectors(
    queryset: object, dimension: int, progress: Callable[[int], None] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    ids: list[int] = []
    blobs: list[bytes] = []
    rows = queryset.values_list("id", "embedding")  # type: ignore[attr-defined]
    for chunk_id, blob in rows.iterator(chunk_size=_READ_BATCH):
        if blob is None:
            continue
        ids.append(chunk_id)
        blobs.append(bytes(blob))
        if progress and len(ids) % _READ_BATCH == 0:
            progress(len(ids))
    if progress:
        progress(len(ids))
    vectors = np.frombuffer(b"".join(blobs), dtype="<f4").reshape(len(blobs), dimension)
    return np.asarray(ids, dtype=np.int64), vectors
