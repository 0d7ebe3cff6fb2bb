"""The usage rollup: one row per tenant and UTC day, idempotent and backfillable, and the
monthly report operators bill from (`rollup_usage`, `usage_report`)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django_tenants.utils import schema_context

from documents.models import Document
from operators import tasks, usage
from operators.models import UsageDay
from queries.models import Query, QueryKind
from tenants.models import Tenant
from tests.conftest import TenantHandle
from tests.factories import DocumentFactory, QueryFactory, UserFactory

UTC = dt.UTC
DAY1 = dt.date(2026, 11, 3)
DAY2 = dt.date(2026, 11, 4)


def _at(day: dt.date, hour: int = 12) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=UTC)


def _born(handle: TenantHandle, day: dt.date) -> None:
    Tenant.objects.filter(pk=handle.tenant.pk).update(created_at=_at(day, 0))
    handle.tenant.refresh_from_db()


def _activity(handle: TenantHandle) -> None:
    """Day 1: 3 searches (one failed, one cached, one by API key), 2 asks with tokens, two
    people; a document of 100 bytes processed with 500 embedding tokens. Day 2: nothing."""
    member = UserFactory(tenant=handle)
    uploader = UserFactory(tenant=handle, role="admin")
    QueryFactory(tenant=handle, created_at=_at(DAY1), user=member, total_ms=10)
    QueryFactory(tenant=handle, created_at=_at(DAY1), error="server_error", total_ms=30)
    QueryFactory(tenant=handle, created_at=_at(DAY1), cached=True, api_key_prefix="dik_ab")
    for tokens in (1000, 3000):
        QueryFactory(
            tenant=handle, created_at=_at(DAY1, 23), kind=QueryKind.ASK, total_ms=200,
            prompt_tokens=tokens, completion_tokens=100, estimated_cost_usd=Decimal("0.001"),
            user=member,
        )  # fmt: skip
    document = DocumentFactory(
        tenant=handle, created_at=_at(DAY1), size=100, chunk_count=4, embedding_tokens=500,
        uploaded_by=uploader,
        embedding_cost_usd=Decimal("0.00001"),
    )  # fmt: skip
    DocumentFactory(tenant=handle, created_at=_at(DAY1), processed_at=_at(DAY1), size=1)
    with schema_context(handle.schema):
        Document.objects.filter(pk=document.pk).update(processed_at=_at(DAY1))


def _row(schema: str, day: dt.date) -> UsageDay:
    return UsageDay.objects.get(tenant_schema=schema, day=day)


@pytest.fixture
def two_tenants(make_tenant: Any) -> tuple[TenantHandle, TenantHandle]:
    busy, quiet = make_tenant("usage_busy"), make_tenant("usage_quiet")
    for handle in (busy, quiet):
        _born(handle, DAY1)
    _activity(busy)
    return busy, quiet


def test_a_day_of_activity_becomes_one_row_with_its_counts_tokens_and_cost(two_tenants):
    busy, quiet = two_tenants
    call_command("rollup_usage", "--since", str(DAY1), "--until", str(DAY2), stdout=io.StringIO())
    row = _row(busy.schema, DAY1)
    assert (row.searches, row.asks, row.failed_queries, row.cached_queries) == (3, 2, 1, 1)
    assert row.api_key_calls == 1
    assert row.active_users == 2  # the member who searched and asked, the uploader
    assert (row.prompt_tokens, row.completion_tokens) == (4000, 200)
    assert row.query_cost_usd == Decimal("0.002")
    assert (row.documents_processed, row.ingestion_tokens) == (2, 500)
    assert row.ingestion_cost_usd == Decimal("0.00001")
    assert (row.documents, row.chunks, row.stored_bytes) == (2, 4, 101)
    assert row.p50_ms == 30
    assert row.p95_ms == 200
    # The next day holds what is stored, and no activity; the quiet tenant has its own rows.
    after = _row(busy.schema, DAY2)
    assert (after.searches, after.asks, after.documents, after.stored_bytes) == (0, 0, 2, 101)
    assert _row(quiet.schema, DAY1).searches == 0
    assert _row(quiet.schema, DAY1).documents == 0


def test_rolling_a_day_up_again_replaces_its_row(two_tenants):
    busy, _ = two_tenants
    call_command("rollup_usage", "--since", str(DAY1), "--until", str(DAY1), stdout=io.StringIO())
    QueryFactory(tenant=busy, created_at=_at(DAY1, 20))
    out = io.StringIO()
    call_command("rollup_usage", "--since", str(DAY1), "--until", str(DAY1), stdout=out)
    assert UsageDay.objects.filter(tenant_schema=busy.schema, day=DAY1).count() == 1
    assert _row(busy.schema, DAY1).searches == 4
    assert "Rolled up 1 day(s) (2026-11-03 to 2026-11-03)" in out.getvalue()


def test_days_before_a_tenant_existed_get_no_rows(make_tenant):
    handle = make_tenant("usage_young")
    _born(handle, DAY2)
    call_command(
        "rollup_usage", "--since", str(DAY1), "--until", str(DAY2), "--tenant", handle.schema,
        stdout=io.StringIO(),
    )  # fmt: skip
    assert list(
        UsageDay.objects.filter(tenant_schema=handle.schema).values_list("day", flat=True)
    ) == [DAY2]


def test_the_hourly_task_rolls_up_yesterday_and_today(make_tenant):
    handle = make_tenant("usage_hourly")
    QueryFactory(tenant=handle)  # now
    result = tasks.rollup_usage()
    assert result["failed"] == 0
    today = usage.today()
    assert _row(handle.schema, today).searches == 1
    assert settings.CELERY_BEAT_SCHEDULE["operators-usage-rollup"]["task"] == (
        "operators.rollup_usage"
    )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--since", "03/11/2026"], "write the day as YYYY-MM-DD"),
        (["--since", "2026-11-04", "--until", "2026-11-03"], "comes after --until"),
        (["--until", "2999-01-01"], "has not come yet"),
        (["--tenant", "nosuchtenant"], "There is no tenant with the schema 'nosuchtenant'"),
    ],
)
@pytest.mark.django_db
def test_rollup_refuses_bad_days_with_a_sentence(arguments, message):
    with pytest.raises(CommandError, match=message):
        call_command("rollup_usage", *arguments, stdout=io.StringIO())


def test_the_monthly_report_sums_the_days_as_a_table_and_as_csv(two_tenants):
    busy, quiet = two_tenants
    call_command("rollup_usage", "--since", str(DAY1), "--until", str(DAY2), stdout=io.StringIO())
    table = io.StringIO()
    call_command("usage_report", "--month", "2026-11", stdout=table)
    text = table.getvalue()
    assert "Usage 2026-11-01 to 2026-11-30" in text
    busy_line = next(line for line in text.splitlines() if line.startswith(busy.schema))
    assert busy_line.split()[1:5] == ["2", "3", "2", "1"]  # days, searches, asks, failed
    assert "2 tenant(s), estimated cost 0.0020 USD in all." in text
    out = io.StringIO()
    call_command("usage_report", "--month", "2026-11", "--csv", stdout=out)
    lines = {r["tenant_schema"]: r for r in csv.DictReader(io.StringIO(out.getvalue()))}
    assert set(lines) == {busy.schema, quiet.schema}
    billed = lines[busy.schema]
    assert (billed["searches"], billed["asks"], billed["days"]) == ("3", "2", "2")
    assert int(billed["prompt_tokens"]) == 4000
    assert int(billed["embedding_tokens"]) == 500
    assert Decimal(billed["cost_usd"]) == Decimal("0.00201")
    assert int(billed["peak_stored_bytes"]) == 101
    assert lines[quiet.schema]["searches"] == "0"


@pytest.mark.django_db
def test_a_month_without_rows_says_how_to_fill_it_and_a_bad_month_is_refused():
    out = io.StringIO()
    call_command("usage_report", "--month", "2020-02", stdout=out)
    assert "rollup_usage --since 2020-02-01 --until 2020-02-29" in out.getvalue()
    with pytest.raises(CommandError, match="write it as YYYY-MM"):
        call_command("usage_report", "--month", "November", stdout=io.StringIO())


def test_the_rollup_sql_names_the_models_tables():
    assert Document._meta.db_table == "documents_document"
    assert Query._meta.db_table == "queries_query"


def test_activity_older_than_the_tenant_is_not_counted_as_its_own(make_tenant):
    """A copy restored with `--as` holds the original's query log; it must not bill it again."""
    copy = make_tenant("usage_copy")
    born = dt.datetime.combine(DAY1, dt.time(12), tzinfo=UTC)
    Tenant.objects.filter(pk=copy.tenant.pk).update(created_at=born)
    copy.tenant.refresh_from_db()
    QueryFactory(tenant=copy, created_at=born - dt.timedelta(hours=2))  # the original's
    QueryFactory(tenant=copy, created_at=born + dt.timedelta(hours=2))  # the copy's own
    usage.rollup(DAY1, DAY1, tenants=[copy.tenant])
    assert _row(copy.schema, DAY1).searches == 1
