"""Dashboard analytics page: server-side aggregates, drawn by the vendored Chart.js.

Every member sees volumes, latency, cache and feedback figures; owners and admins also see
what people typed (popular topics, content gaps, repeated queries, comments), spend and API
key usage. Days are calendar days in the workspace's time zone (Tenant.time_zone).
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from accounts.permissions import ADMIN_ROLES
from analytics import selectors
from analytics.query_report import QueryReport, query_report
from analytics.query_stats import DEFAULT_DAYS, Window
from documents.models import DocumentStatus
from tenants.time_zones import zone_of

WINDOW_CHOICES = (7, 30, 90)


def window_days(raw: str | None) -> int:
    """The page offers a few windows; anything else falls back to the default."""
    return int(raw) if raw in {str(days) for days in WINDOW_CHOICES} else DEFAULT_DAYS


def document_charts(totals: selectors.DocumentTotals, days: int, zone: ZoneInfo) -> dict[str, Any]:
    by_status = totals.by_status
    per_day = selectors.uploads_per_day(days=days, zone=zone)
    labels = dict(DocumentStatus.choices)
    return {
        "status": {
            "labels": [str(labels[status]) for status in by_status],
            "values": list(by_status.values()),
        },
        "uploads": {
            "labels": [day.isoformat() for day, _ in per_day],
            "values": [count for _, count in per_day],
        },
        "by_status": [(labels[status], count) for status, count in by_status.items()],
        "uploads_total": sum(count for _, count in per_day),
    }


def query_charts(report: QueryReport, *, with_spend: bool) -> dict[str, Any]:
    """Dates and numbers only; no text anyone typed goes into the chart data."""
    days = report.per_day
    chart: dict[str, Any] = {
        "labels": [day.day.isoformat() for day in days],
        "searches": [day.searches for day in days],
        "asks": [day.asks for day in days],
        "p50": [day.p50_ms for day in days],
        "p95": [day.p95_ms for day in days],
    }
    if with_spend:
        chart["tokens"] = [day.tokens for day in days]
        chart["cost"] = [float(day.estimated_cost_usd) for day in days]
    return chart


@never_cache  # owners and admins see what other people typed: never keep it in a cache
@login_required
def analytics_page(request: HttpRequest) -> HttpResponse:
    days = window_days(request.GET.get("days"))
    is_admin = getattr(request.user, "role", None) in ADMIN_ROLES
    zone = zone_of(getattr(request, "tenant", None))
    report = query_report(Window.ending(days, zone=zone), include_texts=is_admin)
    documents = document_charts(report.documents, days, zone)
    chart = {
        "status": documents["status"],
        "uploads": documents["uploads"],
        "queries": query_charts(report, with_spend=is_admin),
    }
    context = {
        "active": "analytics",
        "days": days,
        "window_choices": WINDOW_CHOICES,
        "is_admin": is_admin,
        "totals": report.documents,
        "by_status": documents["by_status"],
        "uploads_total": documents["uploads_total"],
        "report": report,
        "chart": chart,
    }
    return render(request, "analytics/index.html", context)
