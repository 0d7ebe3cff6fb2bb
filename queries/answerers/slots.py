"""How many questions one process has its answer provider working on at once.

Each holds a web thread until the provider replies or the timeout passes. Past the limit a
question gets the fallback answer at once (degraded), so a slow or failing provider holds at
most that many of a process's threads, and searches, pages and other questions keep the rest.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class ProviderBusy(Exception):
    """Every slot is taken: the fallback answers this question."""


class Slots:
    """`limit` questions at the provider at once (None or 0: no limit)."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit or None
        self._free = threading.BoundedSemaphore(limit) if limit else None

    @contextmanager
    def taken(self) -> Iterator[None]:
        """One slot for the block; ProviderBusy at once if none is free."""
        if self._free is None:
            yield
            return
        if not self._free.acquire(blocking=False):
            raise ProviderBusy(
                f"The answer provider is already working on {self.limit} questions of this "
                "process, the most it may be asked at once."
            )
        try:
            yield
        finally:
            self._free.release()
