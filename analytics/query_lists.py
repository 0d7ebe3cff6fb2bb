"""What people typed, for owners and admins: content gaps, repeated queries, comments, keys.

Grouping and counting run in PostgreSQL; only the few texts shown are read back.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Max, QuerySet

from accounts.models import ApiKey
from analytics.query_stats import FOUND_NOTHING, FROM_KEY, Window, feedback_in, queries_in
from queries.models import Query

LIST_LIMIT = 10


@dataclass(frozen=True)
class RepeatedQuery:
    """Queries with the same normalised text; `text` is the latest wording."""

    text: str
    count: int
    last_seen: datetime


@dataclass(frozen=True)
class FeedbackComment:
    query_text: str
    comment: str
    updated_at: datetime


@dataclass(frozen=True)
class ApiKeyUsage:
    prefix: str
    name: str  # "" once the key row is gone
    queries: int
    last_used: datetime


def _repeated(queries: QuerySet[Query], *, min_count: int, limit: int) -> list[RepeatedQuery]:
    groups = list(
        queries.values("normalized_hash")
        .annotate(n=Count("id"), last_seen=Max("created_at"), latest_id=Max("id"))
        .filter(n__gte=min_count)
        .order_by("-n", "-last_seen", "normalized_hash")[:limit]
    )
    # Two small queries instead of a correlated subquery per row: the latest wording by id.
    texts = dict(
        Query.objects.filter(id__in=[g["latest_id"] for g in groups]).values_list("id", "text")
    )
    return [
        RepeatedQuery(text=texts.get(g["latest_id"], ""), count=g["n"], last_seen=g["last_seen"])
        for g in groups
    ]


def content_gaps(window: Window, *, limit: int = LIST_LIMIT) -> list[RepeatedQuery]:
    """The most frequent queries that found nothing: what the documents do not cover."""
    return _repeated(queries_in(window).filter(FOUND_NOTHING), min_count=1, limit=limit)


def top_repeated(window: Window, *, limit: int = LIST_LIMIT) -> list[RepeatedQuery]:
    """Searches and questions asked at least twice, most frequent first."""
    return _repeated(queries_in(window), min_count=2, limit=limit)


def not_helpful_comments(window: Window, *, limit: int = LIST_LIMIT) -> list[FeedbackComment]:
    rows = (
        feedback_in(window)
        .filter(helpful=False)
        .exclude(comment="")
        .order_by("-updated_at", "-id")
        .values_list("query__text", "comment", "updated_at")[:limit]
    )
    return [FeedbackComment(query_text=t, comment=c, updated_at=at) for t, c, at in rows]


def api_key_usage(window: Window, *, limit: int = LIST_LIMIT) -> list[ApiKeyUsage]:
    rows = list(
        queries_in(window)
        .filter(FROM_KEY)
        .values("api_key_prefix")
        .annotate(n=Count("id"), last_used=Max("created_at"))
        .order_by("-n", "api_key_prefix")[:limit]
    )
    names = _key_names(row["api_key_prefix"] for row in rows)
    return [
        ApiKeyUsage(
            prefix=row["api_key_prefix"],
            name=names.get(row["api_key_prefix"], ""),
            queries=row["n"],
            last_used=row["last_used"],
        )
        for row in rows
    ]


def _key_names(prefixes: Iterable[str]) -> dict[str, str]:
    """The log keeps the displayed prefix (`di_<prefix>`); the key table the bare one."""
    bare = {prefix.removeprefix("di_"): prefix for prefix in prefixes}
    keys = ApiKey.objects.filter(prefix__in=list(bare)).values_list("prefix", "name")
    return {bare[prefix]: name for prefix, name in keys}
