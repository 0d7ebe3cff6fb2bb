"""Monthly usage per tenant from the rollup rows: the billing report, its CSV, the admin list.

A month's figures are sums of its days, except what is held rather than used: documents
and chunks at the month's last rolled-up day and the peak of stored bytes. Latency is the
worst day's p95 (daily percentiles cannot be added up)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from decimal import Decimal

from django.db.models import Count, Max, QuerySet, Sum

from operators.models import UsageDay


class MonthError(ValueError):
    """A month given as something other than YYYY-MM."""


def parse_month(text: str) -> tuple[dt.date, dt.date]:
    """'2026-11' → (first day, last day)."""
    try:
        first = dt.datetime.strptime(text.strip(), "%Y-%m").date()
    except ValueError:
        raise MonthError(f"{text!r} is not a month: write it as YYYY-MM, e.g. 2026-11.") from None
    following = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return first, following - dt.timedelta(days=1)


@dataclass(frozen=True)
class MonthUsage:
    tenant_schema: str
    tenant_name: str
    days: int
    searches: int
    asks: int
    failed_queries: int
    api_key_calls: int
    worst_p95_ms: float | None
    prompt_tokens: int
    completion_tokens: int
    embedding_tokens: int
    query_cost_usd: Decimal
    ingestion_cost_usd: Decimal
    cost_usd: Decimal
    documents: int
    chunks: int
    peak_stored_bytes: int
    peak_active_users: int


def _last_day_values(rows: QuerySet[UsageDay]) -> dict[str, UsageDay]:
    latest: dict[str, UsageDay] = {}
    for row in rows.order_by("tenant_schema", "-day").distinct("tenant_schema"):
        latest[row.tenant_schema] = row
    return latest


def month_usage(month: str, *, schema: str = "") -> list[MonthUsage]:
    """One line per tenant with rows in the month (or only `schema`), by schema name."""
    first, last = parse_month(month)
    rows = UsageDay.objects.filter(day__gte=first, day__lte=last)
    if schema:
        rows = rows.filter(tenant_schema=schema)
    latest = _last_day_values(rows)
    totals = rows.values("tenant_schema").annotate(
        days=Count("id"), searches=Sum("searches"), asks=Sum("asks"),
        failed=Sum("failed_queries"), keys=Sum("api_key_calls"), p95=Max("p95_ms"),
        prompt=Sum("prompt_tokens"), completion=Sum("completion_tokens"),
        query_embed=Sum("query_embedding_tokens"), ingest=Sum("ingestion_tokens"),
        query_cost=Sum("query_cost_usd"), ingest_cost=Sum("ingestion_cost_usd"),
        stored=Max("stored_bytes"), users=Max("active_users"),
    )  # fmt: skip
    out = []
    for t in totals.order_by("tenant_schema"):
        last_row = latest[t["tenant_schema"]]
        out.append(
            MonthUsage(
                tenant_schema=t["tenant_schema"], tenant_name=last_row.tenant_name,
                days=t["days"], searches=t["searches"], asks=t["asks"],
                failed_queries=t["failed"], api_key_calls=t["keys"], worst_p95_ms=t["p95"],
                prompt_tokens=t["prompt"], completion_tokens=t["completion"],
                embedding_tokens=t["query_embed"] + t["ingest"],
                query_cost_usd=t["query_cost"], ingestion_cost_usd=t["ingest_cost"],
                cost_usd=t["query_cost"] + t["ingest_cost"],
                documents=last_row.documents, chunks=last_row.chunks,
                peak_stored_bytes=t["stored"], peak_active_users=t["users"],
            )
        )  # fmt: skip
    return out


def month_csv(lines: Iterable[MonthUsage]) -> str:
    buffer = io.StringIO()
    names = [f.name for f in fields(MonthUsage)]
    writer = csv.DictWriter(buffer, fieldnames=names, lineterminator="\n")
    writer.writeheader()
    for line in lines:
        writer.writerow(asdict(line))
    return buffer.getvalue()


DAY_COLUMNS = [
    "day", "searches", "asks", "failed_queries", "cached_queries", "p50_ms", "p95_ms",
    "prompt_tokens", "completion_tokens", "query_embedding_tokens", "query_cost_usd",
    "documents_processed", "ingestion_tokens", "ingestion_cost_usd", "documents", "chunks",
    "stored_bytes", "active_users", "api_key_calls",
]  # fmt: skip


def days_csv(rows: Iterable[UsageDay]) -> str:
    """One tenant's daily rows, oldest first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(DAY_COLUMNS)
    for row in rows:
        writer.writerow([getattr(row, name) for name in DAY_COLUMNS])
    return buffer.getvalue()
