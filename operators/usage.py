"""The usage rollup: one `UsageDay` row per tenant and UTC day, read from each tenant's schema.

Queries come from the query log, ingestion tokens and cost from the documents processed that
day, documents, chunks and stored bytes are those created by the end of the day that still
exist when the rollup runs (a backfill cannot see deleted documents). Re-running a day
replaces its row, so the hourly beat task and `manage.py rollup_usage --since` are safe to
repeat.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection
from django.utils import timezone

from operators.models import UsageDay
from queries.models import Query
from tenants.each import for_each_tenant
from tenants.models import Tenant

UTC = dt.UTC
# The SQL below names the tables literally (documents_document, queries_query); a test keeps
# them in step with the models.
_METRICS = [
    "tenant_name", "searches", "asks", "failed_queries", "cached_queries", "p50_ms", "p95_ms",
    "prompt_tokens", "completion_tokens", "query_embedding_tokens", "query_cost_usd",
    "documents_processed", "ingestion_tokens", "ingestion_cost_usd", "documents", "chunks",
    "stored_bytes", "active_users", "api_key_calls", "computed_at",
]  # fmt: skip


@dataclass
class RollupOutcome:
    rows: int = 0
    tenants: int = 0
    failures: dict[str, str] = field(default_factory=dict)


def day_bounds(first: dt.date, last: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start of `first`, start of the day after `last`) in UTC."""
    start = dt.datetime.combine(first, dt.time.min, tzinfo=UTC)
    return start, dt.datetime.combine(last + dt.timedelta(days=1), dt.time.min, tzinfo=UTC)


def today() -> dt.date:
    return timezone.now().astimezone(UTC).date()


def rollup(
    first: dt.date, last: dt.date, *, tenants: Iterable[Tenant] | None = None
) -> RollupOutcome:
    """Compute and store the rows of every tenant (active or not) for days first..last."""
    if last < first:
        raise ValueError("The last day comes before the first.")
    visited = for_each_tenant(
        lambda tenant: tenant_days(tenant, first, last),
        job_name="usage rollup",
        include_inactive=True,
        tenants=tenants,
    )
    rows = [row for days in visited.results.values() for row in days]
    UsageDay.objects.bulk_create(
        rows,
        batch_size=500,
        update_conflicts=True,
        unique_fields=["tenant_schema", "day"],
        update_fields=_METRICS,
    )
    return RollupOutcome(rows=len(rows), tenants=len(visited.results), failures=visited.failures)


def tenant_days(tenant: Tenant, first: dt.date, last: dt.date) -> list[UsageDay]:
    """The tenant's rows (inside its schema): every day from its creation day on."""
    created = tenant.created_at.astimezone(UTC).date() if tenant.created_at else first
    first = max(first, created)
    if last < first:
        return []
    start, end = day_bounds(first, last)
    if tenant.created_at and tenant.created_at > start:
        # Activity older than the tenant is not its own: a restored copy (`restore --as`)
        # brings the original's query log, which the original's rows already count.
        start = tenant.created_at
    now = timezone.now()
    rows: dict[dt.date, UsageDay] = {}
    for day, documents, chunks, stored in _stored(first, last):
        rows[day] = UsageDay(
            tenant_schema=tenant.schema_name, tenant_name=tenant.name, day=day,
            documents=documents, chunks=chunks, stored_bytes=stored, computed_at=now,
        )  # fmt: skip
    logged = _has_query_log(tenant.schema_name)
    for day, values in _queries(start, end) if logged else []:
        _assign(rows[day], values)
    for day, values in _ingestion(start, end):
        _assign(rows[day], values)
    for day, users in _active_users(start, end, with_queries=logged):
        rows[day].active_users = users
    return list(rows.values())


def _assign(row: UsageDay, values: dict[str, Any]) -> None:
    for name, value in values.items():
        setattr(row, name, value)


def _fetch(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def _has_query_log(schema: str) -> bool:
    table = f"{connection.ops.quote_name(schema)}.{Query._meta.db_table}"
    return bool(_fetch("SELECT to_regclass(%s) IS NOT NULL", [table])[0][0])


def _stored(first: dt.date, last: dt.date) -> list[tuple[dt.date, int, int, int]]:
    sql = (
        "SELECT d::date, count(doc.id), coalesce(sum(doc.chunk_count), 0), "
        "coalesce(sum(doc.size), 0) "
        "FROM generate_series(%s::date, %s::date, interval '1 day') AS d "
        "LEFT JOIN documents_document AS doc "
        "ON doc.created_at < ((d::date + 1)::timestamp AT TIME ZONE 'UTC') GROUP BY 1"
    )
    return [(day, int(n), int(c), int(b)) for day, n, c, b in _fetch(sql, [first, last])]


_QUERY_SQL = (
    "SELECT (created_at AT TIME ZONE 'UTC')::date, "
    "count(*) FILTER (WHERE kind = 'search'), count(*) FILTER (WHERE kind = 'ask'), "
    "count(*) FILTER (WHERE error <> ''), count(*) FILTER (WHERE cached), "
    "percentile_cont(0.5) WITHIN GROUP (ORDER BY total_ms), "
    "percentile_cont(0.95) WITHIN GROUP (ORDER BY total_ms), "
    "sum(prompt_tokens), sum(completion_tokens), sum(embedding_tokens), "
    "sum(estimated_cost_usd), count(*) FILTER (WHERE api_key_prefix <> '') "
    "FROM queries_query WHERE created_at >= %s AND created_at < %s GROUP BY 1"
)


def _queries(start: dt.datetime, end: dt.datetime) -> list[tuple[dt.date, dict]]:
    out = []
    for row in _fetch(_QUERY_SQL, [start, end]):
        day, searches, asks, failed, cached, p50, p95, prompt, completion, embed, cost, keys = row
        out.append(
            (
                day,
                {
                    "searches": searches, "asks": asks, "failed_queries": failed,
                    "cached_queries": cached,
                    "p50_ms": round(p50, 2) if p50 is not None else None,
                    "p95_ms": round(p95, 2) if p95 is not None else None,
                    "prompt_tokens": int(prompt or 0), "completion_tokens": int(completion or 0),
                    "query_embedding_tokens": int(embed or 0),
                    "query_cost_usd": Decimal(cost or 0), "api_key_calls": keys,
                },
            )
        )  # fmt: skip
    return out


def _ingestion(start: dt.datetime, end: dt.datetime) -> list[tuple[dt.date, dict]]:
    sql = (
        "SELECT (processed_at AT TIME ZONE 'UTC')::date, count(*), sum(embedding_tokens), "
        "sum(embedding_cost_usd) FROM documents_document "
        "WHERE processed_at >= %s AND processed_at < %s AND status = 'ready' GROUP BY 1"
    )
    return [
        (
            day,
            {
                "documents_processed": count,
                "ingestion_tokens": int(tokens or 0),
                "ingestion_cost_usd": Decimal(cost or 0),
            },
        )
        for day, count, tokens, cost in _fetch(sql, [start, end])
    ]


def _active_users(
    start: dt.datetime, end: dt.datetime, *, with_queries: bool
) -> list[tuple[dt.date, int]]:
    """People who searched, asked or uploaded that day (API keys are counted apart)."""
    parts = [
        "SELECT created_at, uploaded_by_id AS who FROM documents_document "
        "WHERE created_at >= %s AND created_at < %s"
    ]
    params: list[Any] = [start, end]
    if with_queries:
        parts.append(
            "SELECT created_at, user_id FROM queries_query "
            "WHERE created_at >= %s AND created_at < %s"
        )
        params += [start, end]
    union = " UNION ALL ".join(parts)
    sql = (
        "SELECT (created_at AT TIME ZONE 'UTC')::date, count(DISTINCT who) "
        "FROM (" + union + ") AS seen WHERE who IS NOT NULL GROUP BY 1"
    )
    return [(day, int(users)) for day, users in _fetch(sql, params)]
