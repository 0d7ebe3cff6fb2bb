"""Usage in the operator admin: sortable 30-day columns on the tenant list, a usage page per
tenant with daily charts, and a monthly report of every tenant with CSV downloads.

Every figure comes from the rollup rows (operators/usage.py, refreshed hourly), so the list
reads one table instead of each tenant's schema."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import admin
from django.db.models import DecimalField, F, IntegerField, OuterRef, QuerySet, Subquery, Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from operators.models import UsageDay
from operators.usage import today
from operators.usage_report import MonthError, days_csv, month_csv, month_usage, parse_month
from tenants.audit import record_operator_action
from tenants.models import Tenant

WINDOW_DAYS = 30
CHART_DAYS = 90


def _recent(days: int = WINDOW_DAYS) -> QuerySet[UsageDay]:
    since = today() - dt.timedelta(days=days - 1)
    return UsageDay.objects.filter(tenant_schema=OuterRef("schema_name"), day__gte=since)


def annotate_usage(tenants: QuerySet[Tenant]) -> QuerySet[Tenant]:
    """Adds `usage_queries_30d`, `usage_cost_30d` (None without rows) and the latest row's
    `usage_documents`, `usage_chunks`, `usage_stored_bytes`, all sortable."""
    per_tenant = _recent().values("tenant_schema")
    queries = per_tenant.annotate(n=Sum(F("searches") + F("asks"))).values("n")
    cost = per_tenant.annotate(c=Sum(F("query_cost_usd") + F("ingestion_cost_usd"))).values("c")
    latest = UsageDay.objects.filter(tenant_schema=OuterRef("schema_name")).order_by("-day")
    money = DecimalField(max_digits=16, decimal_places=6)
    return tenants.annotate(
        usage_queries_30d=Subquery(queries, output_field=IntegerField()),
        usage_cost_30d=Subquery(cost, output_field=money),
        usage_documents=Subquery(latest.values("documents")[:1]),
        usage_chunks=Subquery(latest.values("chunks")[:1]),
        usage_stored_bytes=Subquery(latest.values("stored_bytes")[:1]),
    )


def _context(model_admin: admin.ModelAdmin, request: HttpRequest, title: str) -> dict[str, Any]:
    return {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": title,
    }


def _months(rows: QuerySet[UsageDay]) -> list[str]:
    return sorted({f"{day:%Y-%m}" for day in rows.values_list("day", flat=True)}, reverse=True)


def tenant_usage_view(
    model_admin: admin.ModelAdmin, request: HttpRequest, tenant_id: int
) -> HttpResponse:
    tenant = get_object_or_404(model_admin.get_queryset(request), pk=tenant_id)
    rows = UsageDay.objects.filter(tenant_schema=tenant.schema_name)
    since = today() - dt.timedelta(days=CHART_DAYS - 1)
    recent = list(rows.filter(day__gte=since).order_by("day"))
    series = {
        "labels": [f"{row.day:%Y-%m-%d}" for row in recent],
        "searches": [row.searches for row in recent],
        "asks": [row.asks for row in recent],
        "cost": [float(row.cost_usd) for row in recent],
        "stored": [row.stored_bytes for row in recent],
        "users": [row.active_users for row in recent],
    }
    record_operator_action(operator=request.user, action="view_usage", tenant=tenant)
    context = {
        **_context(model_admin, request, f"Usage: {tenant.name}"),
        "tenant": tenant,
        "rows": list(reversed(recent))[:WINDOW_DAYS],
        "series": series,
        "months": _months(rows),
        "chart_days": CHART_DAYS,
    }
    return render(request, "admin/tenants/usage_tenant.html", context)


def _month_or_404(month: str) -> str:
    try:
        parse_month(month)
    except MonthError as exc:
        raise Http404(str(exc)) from None
    return month


def tenant_usage_csv(
    model_admin: admin.ModelAdmin, request: HttpRequest, tenant_id: int, month: str
) -> HttpResponse:
    tenant = get_object_or_404(model_admin.get_queryset(request), pk=tenant_id)
    first, last = parse_month(_month_or_404(month))
    rows = UsageDay.objects.filter(
        tenant_schema=tenant.schema_name, day__gte=first, day__lte=last
    ).order_by("day")
    record_operator_action(
        operator=request.user, action="export_usage", tenant=tenant, detail=month
    )
    return _csv(days_csv(rows), f"usage-{tenant.schema_name}-{month}.csv")


def report_view(model_admin: admin.ModelAdmin, request: HttpRequest) -> HttpResponse:
    months = _months(UsageDay.objects.all())
    default = months[0] if months else f"{today():%Y-%m}"
    month = str(request.GET.get("month") or default)
    try:
        lines = month_usage(month)
        error = ""
    except MonthError as exc:
        lines, error = [], str(exc)
    title = "Usage of every tenant" + ("" if error else f", {month}")
    context = {
        **_context(model_admin, request, title),
        "month": month,
        "months": months,
        "lines": lines,
        "error": error,
        "total_cost": sum((line.cost_usd for line in lines), start=0),
        "total_queries": sum(line.searches + line.asks for line in lines),
    }
    return render(request, "admin/tenants/usage_report.html", context)


def report_csv(model_admin: admin.ModelAdmin, request: HttpRequest, month: str) -> HttpResponse:
    lines = month_usage(_month_or_404(month))
    record_operator_action(operator=request.user, action="export_usage", tenant=None, detail=month)
    return _csv(month_csv(lines), f"usage-{month}.csv")


def _csv(body: str, filename: str) -> HttpResponse:
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
