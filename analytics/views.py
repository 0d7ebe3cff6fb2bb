"""Dashboard analytics page: server-side aggregates, drawn by the vendored Chart.js."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from analytics import selectors
from documents.models import DocumentStatus


@login_required
def analytics_page(request: HttpRequest) -> HttpResponse:
    by_status = selectors.documents_by_status()
    per_day = selectors.uploads_per_day(days=30)
    labels = dict(DocumentStatus.choices)
    chart = {
        "status": {
            "labels": [str(labels[status]) for status in by_status],
            "values": list(by_status.values()),
        },
        "uploads": {
            "labels": [day.isoformat() for day, _ in per_day],
            "values": [count for _, count in per_day],
        },
    }
    context = {
        "active": "analytics",
        "totals": selectors.document_totals(),
        "by_status": [(labels[status], count) for status, count in by_status.items()],
        "uploads_total": sum(count for _, count in per_day),
        "chart": chart,
    }
    return render(request, "analytics/index.html", context)
