"""Query-log rows at chosen times, latencies and callers, for the analytics tests."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from accounts.models import User
from queries.models import Query, QueryFeedback
from search.retrieval import normalize_query


def at(day: int, hour: int = 12, minute: int = 0, second: int = 0) -> datetime:
    """A moment in November 2026, UTC."""
    return datetime(2026, 11, day, hour, minute, second, tzinfo=UTC)


def log_query(
    when: datetime,
    text: str = "termination clause",
    *,
    kind: str = "search",
    total_ms: float = 10.0,
    result_count: int = 3,
    user: User | None = None,
    api_key_prefix: str = "",
    **fields: Any,
) -> Query:
    """A row as the query log writes it, then moved to `when` (created_at is auto_now_add)."""
    query = Query.objects.create(
        kind=kind,
        text=text,
        normalized_hash=hashlib.sha256(normalize_query(text).encode()).hexdigest(),
        total_ms=total_ms,
        result_count=result_count,
        user=user,
        api_key_prefix=api_key_prefix,
        **fields,
    )
    Query.objects.filter(pk=query.pk).update(created_at=when)
    query.created_at = when
    return query


def give_feedback(query: Query, *, helpful: bool, comment: str = "", when: datetime) -> None:
    feedback = QueryFeedback.objects.create(query=query, helpful=helpful, comment=comment)
    QueryFeedback.objects.filter(pk=feedback.pk).update(updated_at=when)
