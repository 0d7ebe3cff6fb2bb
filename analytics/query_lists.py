"""What people typed, for owners and admins: content gaps, repeated queries, comments, keys.

Grouping and counting run in PostgreSQL; only the few texts shown are read back.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db import connection

from accounts.models import ApiKey
from analytics.query_stats import Window, feedback_in, queries_in
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


# One pass over the window's queries for the three lists: groups by wording (repeated
# queries, and those that found nothing: content gaps) and by API key, each list its top few.
_LISTS_SQL = """
WITH grouped AS (
    SELECT GROUPING(normalized_hash) AS by_key, normalized_hash, api_key_prefix,
        count(*) AS n, max(created_at) AS last_seen, max(id) AS latest_id,
        count(*) FILTER (WHERE {nothing}) AS gaps,
        max(created_at) FILTER (WHERE {nothing}) AS gap_seen,
        max(id) FILTER (WHERE {nothing}) AS gap_id
    FROM {table}
    WHERE created_at >= %(start)s AND created_at < %(end)s
    GROUP BY GROUPING SETS ((normalized_hash), (api_key_prefix))
)
(SELECT 'repeated', normalized_hash, n, last_seen, latest_id FROM grouped
    WHERE by_key = 0 AND n >= 2 ORDER BY n DESC, last_seen DESC, normalized_hash
    LIMIT %(limit)s)
UNION ALL
(SELECT 'gap', normalized_hash, gaps, gap_seen, gap_id FROM grouped
    WHERE by_key = 0 AND gaps >= 1 ORDER BY gaps DESC, gap_seen DESC, normalized_hash
    LIMIT %(limit)s)
UNION ALL
(SELECT 'key', api_key_prefix, n, last_seen, NULL FROM grouped
    WHERE by_key = 1 AND api_key_prefix <> '' ORDER BY n DESC, api_key_prefix
    LIMIT %(limit)s)
"""
# FOUND_NOTHING (analytics/query_stats.py) as SQL: answered, and found nothing.
_FOUND_NOTHING_SQL = "result_count = 0 AND error = ''"


@dataclass(frozen=True)
class TextLists:
    content_gaps: list[RepeatedQuery]
    top_repeated: list[RepeatedQuery]
    api_keys: list[ApiKeyUsage]


def text_lists(window: Window, *, limit: int = LIST_LIMIT) -> TextLists:
    """Content gaps, the most repeated queries and the busiest API keys, in one read."""
    sql = _LISTS_SQL.format(
        table=connection.ops.quote_name(Query._meta.db_table), nothing=_FOUND_NOTHING_SQL
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, {"start": window.start, "end": window.end, "limit": limit})
        rows = cursor.fetchall()
    # The few texts shown, by id within the window (so only its partitions are read).
    latest_ids = [row[4] for row in rows if row[0] != "key"]
    texts = dict(queries_in(window).filter(id__in=latest_ids).order_by().values_list("id", "text"))
    lists: dict[str, list[RepeatedQuery]] = {"repeated": [], "gap": []}
    keys = []
    for kind, group, count, last_seen, latest_id in rows:
        if kind == "key":
            keys.append((group, count, last_seen))
        else:
            lists[kind].append(RepeatedQuery(texts.get(latest_id, ""), count, last_seen))
    names = _key_names(prefix for prefix, _n, _at in keys)
    return TextLists(
        content_gaps=lists["gap"],
        top_repeated=lists["repeated"],
        api_keys=[
            ApiKeyUsage(prefix=prefix, name=names.get(prefix, ""), queries=n, last_used=at)
            for prefix, n, at in keys
        ],
    )


def content_gaps(window: Window, *, limit: int = LIST_LIMIT) -> list[RepeatedQuery]:
    """The most frequent queries that found nothing: what the documents do not cover."""
    return text_lists(window, limit=limit).content_gaps


def top_repeated(window: Window, *, limit: int = LIST_LIMIT) -> list[RepeatedQuery]:
    """Searches and questions asked at least twice, most frequent first."""
    return text_lists(window, limit=limit).top_repeated


def api_key_usage(window: Window, *, limit: int = LIST_LIMIT) -> list[ApiKeyUsage]:
    """The API keys that searched or asked most in the window."""
    return text_lists(window, limit=limit).api_keys


def not_helpful_comments(window: Window, *, limit: int = LIST_LIMIT) -> list[FeedbackComment]:
    rows = (
        feedback_in(window)
        .filter(helpful=False)
        .exclude(comment="")
        .order_by("-updated_at", "-id")
        .values_list("query__text", "comment", "updated_at")[:limit]
    )
    return [FeedbackComment(query_text=t, comment=c, updated_at=at) for t, c, at in rows]


def _key_names(prefixes: Iterable[str]) -> dict[str, str]:
    """The log keeps the displayed prefix (`di_<prefix>`); the key table the bare one."""
    bare = {prefix.removeprefix("di_"): prefix for prefix in prefixes}
    keys = ApiKey.objects.filter(prefix__in=list(bare)).values_list("prefix", "name")
    return {bare[prefix]: name for prefix, name in keys}
