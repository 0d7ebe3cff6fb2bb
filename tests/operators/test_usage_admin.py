"""Usage in the operator admin: sortable 30-day columns, a usage page per tenant with daily
charts and CSV months, and the monthly report of every tenant (public host, operators only)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from operators import usage
from operators.models import UsageDay
from tenants.models import OperatorAction

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/tenants/tenant/"


def _days(handle: Any, *, queries: int, cost: str, stored: int, days_ago: int = 0) -> None:
    UsageDay.objects.create(
        tenant_schema=handle.schema, tenant_name=handle.tenant.name,
        day=usage.today() - dt.timedelta(days=days_ago), searches=queries, asks=1,
        query_cost_usd=Decimal(cost), documents=3, chunks=40, stored_bytes=stored,
        active_users=2,
    )  # fmt: skip


@pytest.fixture
def cheap_and_dear(make_tenant: Any) -> tuple[Any, Any]:
    cheap, dear = make_tenant("usage_cheap"), make_tenant("usage_dear")
    _days(cheap, queries=50, cost="0.10", stored=2048)
    _days(dear, queries=5, cost="7.50", stored=1024)
    _days(dear, queries=5, cost="2.50", stored=1024, days_ago=1)
    _days(dear, queries=999, cost="99", stored=1024, days_ago=40)  # outside the 30 days
    return cheap, dear


def _column_order(html: str, names: list[str]) -> list[str]:
    return sorted(names, key=html.index)


def test_the_tenant_list_shows_30_day_queries_and_cost_and_sorts_by_them(
    cheap_and_dear, operator: Client
) -> None:
    cheap, dear = cheap_and_dear
    html = operator.get(CHANGELIST).content.decode()
    assert "Cost (30 d)" in html
    assert "$10.00" in html
    assert "$0.10" in html
    assert ">12<" in html
    assert ">51<" in html
    assert (
        "1.0\xa0KB<br><small>3 documents · 40 chunks</small>" in html
    )  # the latest row's documents, chunks and storage
    columns = operator.get(CHANGELIST).context["cl"].list_display
    cost_column = columns.index("cost_30d") - 1  # the admin numbers columns after the checkbox
    by_cost = operator.get(f"{CHANGELIST}?o=-{cost_column + 1}").content.decode()
    assert _column_order(by_cost, [cheap.domain, dear.domain]) == [dear.domain, cheap.domain]
    queries_column = columns.index("queries_30d")
    by_queries = operator.get(f"{CHANGELIST}?o=-{queries_column}").content.decode()
    assert _column_order(by_queries, [cheap.domain, dear.domain]) == [cheap.domain, dear.domain]


def test_the_usage_page_draws_daily_series_and_offers_each_month(
    cheap_and_dear, operator: Client
) -> None:
    _, dear = cheap_and_dear
    response = operator.get(f"{CHANGELIST}{dear.tenant.pk}/usage/")
    assert response.status_code == 200
    html = response.content.decode()
    series = json.loads(html.split('id="usage-data" type="application/json">')[1].split("<")[0])
    assert series["searches"] == [999, 5, 5]  # the last 90 days, oldest first
    assert series["cost"] == [99.0, 2.5, 7.5]
    assert "js/admin-usage.js" in html
    assert '<canvas id="usage-cost"' in html
    month = f"{usage.today():%Y-%m}"
    assert f"/usage/{month}.csv" in html
    assert OperatorAction.objects.filter(action="view_usage", tenant_schema=dear.schema).exists()


def test_a_tenant_month_downloads_as_csv_with_one_line_per_day(
    cheap_and_dear, operator: Client
) -> None:
    _, dear = cheap_and_dear
    today = usage.today()
    response = operator.get(f"{CHANGELIST}{dear.tenant.pk}/usage/{today:%Y-%m}.csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert f'filename="usage-{dear.schema}-{today:%Y-%m}.csv"' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    in_month = [d for d in (today, today - dt.timedelta(days=1)) if d.month == today.month]
    assert [r["day"] for r in rows] == [f"{d}" for d in sorted(in_month)]
    assert operator.get(f"{CHANGELIST}{dear.tenant.pk}/usage/2026-13.csv").status_code == 404


def test_the_monthly_report_lists_every_tenant_and_downloads_the_same_lines(
    cheap_and_dear, operator: Client
) -> None:
    cheap, dear = cheap_and_dear
    month = f"{usage.today():%Y-%m}"
    html = operator.get(f"{CHANGELIST}usage/?month={month}").content.decode()
    assert cheap.schema in html
    assert dear.schema in html
    assert "Download CSV" in html
    response = operator.get(f"{CHANGELIST}usage/{month}.csv")
    lines = {r["tenant_schema"]: r for r in csv.DictReader(io.StringIO(response.content.decode()))}
    assert Decimal(lines[cheap.schema]["cost_usd"]) == Decimal("0.10")
    assert OperatorAction.objects.filter(action="export_usage", detail=month).exists()
    refused = operator.get(f"{CHANGELIST}usage/?month=last-month").content.decode()
    assert "write it as YYYY-MM" in refused
    assert "Usage report" in operator.get(CHANGELIST).content.decode()  # linked from the list


def test_usage_pages_are_for_operators_on_the_public_host_only(cheap_and_dear) -> None:
    cheap, _ = cheap_and_dear
    anonymous = Client(HTTP_HOST="localhost").get(f"{CHANGELIST}{cheap.tenant.pk}/usage/")
    assert anonymous.status_code == 302
    assert "/admin/login/" in anonymous["Location"]
    signed_in_member = cheap.logged_in_client()
    on_tenant_host = signed_in_member.get(f"{CHANGELIST}usage/")
    assert on_tenant_host.status_code == 404
