"""The query log: one `Query` row per search or ask, with its latency breakdown and cost.

In-process callers (the shell command, the dashboard, evaluation) write the row before the
call returns. The API answers first and writes afterwards: the row's id is reserved from
the table's sequence in the same round trip that reads the index state, so the response
can carry `query_id`, and the INSERT (and its commit) runs when the WSGI server closes the
response, after the last byte was sent — in the same thread, on the same connection, in
the request's tenant schema. A failing write is logged with the query id, never raised.
A client that reuses its connection is only served its next request after the write, so
its own history always holds the row.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection
from django_tenants.utils import schema_context

from accounts.models import User
from config import sqlrows
from documents.models import IndexState
from queries.metrics import QUERY_FAILURES, QUERY_RESPONSE_SECONDS
from queries.models import Query, QueryError
from search import index
from search.retrieval import normalize_query
from tenants.db import current_schema

logger = logging.getLogger(__name__)

PendingWrite = Callable[[], None]


@dataclass(frozen=True)
class Caller:
    """Who asked: a person, or an API key (which acts as its creator), and what they may read:
    the collection ids from accounts.collection_access.readable_collection_ids (None: all),
    narrowed to `chosen_collection_ids` (the request's collection_ids, as sent) when given."""

    user: User | None = None
    api_key_prefix: str = ""
    collection_ids: frozenset[int] | None = None
    chosen_collection_ids: tuple[int, ...] | None = None


@dataclass
class Entry:
    """What one search or ask did; becomes a Query row."""

    kind: str
    text: str
    mode: str
    started: float
    caller: Caller
    backend: str = ""
    embedder: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    result_count: int = 0
    usage: dict[str, int] = field(default_factory=dict)
    cached: bool = False
    degraded: bool = False
    error: str = ""  # a QueryError value when the search or ask failed
    reserved_id: int | None = None  # the API reserves the row's id before answering


def elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


def _cost(usage: dict[str, int]) -> Decimal:
    dollars = (
        usage.get("prompt_tokens", 0) * float(settings.PRICE_PROMPT_PER_MTOK)
        + usage.get("completion_tokens", 0) * float(settings.PRICE_COMPLETION_PER_MTOK)
        + usage.get("embedding_tokens", 0) * float(settings.PRICE_EMBEDDING_PER_MTOK)
    ) / 1_000_000
    return Decimal(f"{dollars:.6f}")


def _row(entry: Entry, total_ms: float, query_id: int | None) -> Query:
    return Query(
        id=query_id,
        kind=entry.kind,
        text=entry.text,
        normalized_hash=hashlib.sha256(normalize_query(entry.text).encode("utf-8")).hexdigest(),
        mode=entry.mode,
        backend=entry.backend,
        embedder=entry.embedder,
        result_count=entry.result_count,
        embed_ms=entry.timings.get("embed_ms", 0),
        dense_ms=entry.timings.get("dense_ms", 0),
        lexical_ms=entry.timings.get("lexical_ms", 0),
        fusion_ms=entry.timings.get("fusion_ms", 0),
        answer_ms=entry.timings.get("answer_ms", 0),
        total_ms=total_ms,
        prompt_tokens=entry.usage.get("prompt_tokens", 0),
        completion_tokens=entry.usage.get("completion_tokens", 0),
        embedding_tokens=entry.usage.get("embedding_tokens", 0),
        estimated_cost_usd=_cost(entry.usage),
        user=entry.caller.user,
        api_key_prefix=entry.caller.api_key_prefix,
        cached=entry.cached,
        degraded=entry.degraded,
        error=entry.error,
    )


def _finish(entry: Entry) -> float:
    """The request's total time, recorded in the metrics now (not when the row is written)."""
    total = elapsed_ms(entry.started)
    QUERY_RESPONSE_SECONDS.labels(mode=entry.mode, backend=entry.backend or "none").observe(
        total / 1000
    )
    return total


def write(entry: Entry) -> int:
    """Write the row now; returns its id."""
    return sqlrows.insert(_row(entry, _finish(entry), None), wait_for_flush=False)


def write_failed(entry: Entry, error: str) -> None:
    """Write the row of a search or ask that failed after it was accepted, now.

    Called while the failure propagates: a failing write is logged, never raised over it.
    The row keeps the timings measured before the failure; the latency histogram does not
    observe it (`query_failures` counts it instead).
    """
    entry.error = error
    QUERY_FAILURES.labels(kind=entry.kind, error=error).inc()
    try:
        row = _row(entry, elapsed_ms(entry.started), entry.reserved_id)
        sqlrows.insert(row, wait_for_flush=False)
    except Exception:
        logger.exception("The query log row of a failed %s could not be written.", entry.kind)


def error_of(exc: BaseException) -> str:
    """The QueryError a failure is logged as."""
    if isinstance(exc, GeneratorExit):
        return QueryError.CANCELLED
    if isinstance(exc, index.IndexMismatchError):
        return QueryError.INDEX_UNAVAILABLE
    return QueryError.SERVER_ERROR


@contextmanager
def failures_logged(entry: Entry) -> Iterator[Entry]:
    """Write the entry as a failed row if the block raises (then let the error through)."""
    try:
        yield entry
    except Exception as exc:
        write_failed(entry, error_of(exc))
        raise


def write_later(entry: Entry, query_id: int) -> PendingWrite:
    """Close the entry's timings now; the returned callable writes the row (id `query_id`)."""
    row = _row(entry, _finish(entry), query_id)
    schema = current_schema()

    def pending() -> None:
        try:
            if current_schema() == schema:  # as the request left it: no search path change
                sqlrows.insert(row, wait_for_flush=False)
            else:
                with schema_context(schema):
                    sqlrows.insert(row, wait_for_flush=False)
        except Exception:
            logger.exception("The query log row %s of %s could not be written.", query_id, schema)

    return pending


def state_and_reserved_id(
    extra: Sequence[str] = (), params: Sequence[Any] = ()
) -> tuple[IndexState, int, tuple[Any, ...]]:
    """The tenant's index state, a fresh query id and the values of `extra`, in one round trip."""
    reserve = "nextval(pg_get_serial_sequence(%s, 'id'))"
    table = Query._meta.db_table
    found = index.read_state([reserve, *extra], [table, *params])
    if found is not None:
        return found[0], int(found[1][0]), found[1][1:]
    state = index.state()  # a tenant's very first search creates the state row
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join([reserve, *extra])}", [table, *params])
        reserved, *values = cursor.fetchone()
    return state, int(reserved), tuple(values)
