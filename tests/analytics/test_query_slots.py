"""The analytics report adds up quarter-hour slots of the query log: the same figures as the
queries themselves give, each query counted once, retention and odd time zones included."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import User
from analytics import query_stats, query_summary
from analytics.query_stats import Window
from queries import log_partitions, log_rollups
from queries.models import QueryKind, QuerySlot
from tests.analytics.moments import at
from tests.conftest import TenantHandle
from tests.factories import QueryFactory, QueryFeedbackFactory, UserFactory

pytestmark = pytest.mark.django_db

DAY = Window(last=date(2026, 11, 16), days=1)
KOLKATA = ZoneInfo("Asia/Kolkata")  # UTC+5:30: its midnight is a half hour of UTC


@pytest.fixture
def tenant(make_tenant) -> Iterator[TenantHandle]:
    handle = make_tenant("an_slots")
    with schema_context(handle.schema):
        yield handle


def _postgres_figures(window: Window) -> dict[str, Any]:
    """The day's figures computed by PostgreSQL from the queries themselves."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(*) FILTER (WHERE cached), "
            "count(*) FILTER (WHERE result_count = 0 AND error = ''), "
            "count(*) FILTER (WHERE api_key_prefix <> ''), count(*) FILTER (WHERE error <> ''), "
            "percentile_cont(0.5) WITHIN GROUP (ORDER BY total_ms) FILTER (WHERE error = ''), "
            "percentile_cont(0.95) WITHIN GROUP (ORDER BY total_ms) FILTER (WHERE error = ''), "
            "sum(estimated_cost_usd) "
            "FROM queries_query WHERE created_at >= %s AND created_at < %s",
            [window.start, window.end],
        )
        row = cursor.fetchone()
    names = ("queries", "cached", "zero", "keys", "failed", "p50", "p95", "cost")
    figures = dict(zip(names, row, strict=True))
    for name in ("p50", "p95"):  # rounded as the report rounds
        figures[name] = None if figures[name] is None else round(figures[name], 1)
    return figures


def _report_figures(window: Window) -> dict[str, Any]:
    totals = query_summary.totals(window)
    return {
        "queries": totals.queries,
        "cached": totals.cached,
        "zero": totals.zero_results,
        "keys": totals.from_api_keys,
        "failed": totals.failed,
        "p50": totals.p50_ms,
        "p95": totals.p95_ms,
        "cost": totals.estimated_cost_usd,
    }


def _fill_a_day(count: int = 120) -> User:
    """`count` queries on 16 November of every sort; returns the person who made some."""
    person = UserFactory()
    for n in range(count):
        QueryFactory(
            created_at=at(16, n % 24, (n * 7) % 60, n % 60),
            kind=QueryKind.ASK if n % 3 == 0 else QueryKind.SEARCH,
            total_ms=5.0 + (n * 37) % 400 + n / 10,
            cached=n % 4 == 0,
            result_count=0 if n % 9 == 0 else 3,
            error="server_error" if n % 17 == 0 else "",
            api_key_prefix="di_abc" if n % 5 == 0 else "",
            user=None if n % 5 == 0 else person,
            estimated_cost_usd=Decimal("0.000125") * (n % 3),
        )
    return person


def test_the_slots_give_the_figures_the_queries_give(tenant):
    _fill_a_day()

    assert _report_figures(DAY) == _postgres_figures(DAY)
    # Every query of the day is in a slot now, and a slot is a quarter hour of one kind.
    counted = sum(QuerySlot.objects.values_list("queries", flat=True))
    assert counted == 120
    starts = set(QuerySlot.objects.values_list("start", flat=True))
    assert all(start.minute % 15 == 0 and start.second == 0 for start in starts)


def test_a_query_made_after_the_last_slot_is_counted_at_once(tenant):
    log_rollups.roll_up()
    QueryFactory(text="just now")

    today = Window.ending(1)
    assert query_summary.totals(today).queries == 1
    # Not in a slot yet (its quarter hour has not ended): read from the log itself.
    assert not QuerySlot.objects.exists()
    assert query_summary.totals(today).queries == 1  # and counted once on the next report


def test_retention_removes_the_slots_with_their_queries(tenant):
    _fill_a_day()
    before = query_summary.totals(DAY).queries
    cutoff = at(16, 12, 7, 30)  # inside a quarter hour

    log_partitions.purge_before(cutoff)

    remaining = _postgres_figures(DAY)
    assert 0 < remaining["queries"] < before
    assert _report_figures(DAY) == remaining
    assert not QuerySlot.objects.filter(start__lt=at(16, 12, 0)).exists()


def test_a_day_in_a_half_hour_zone_is_whole_slots(tenant):
    # 23:59 and 00:01 in Kolkata on the night of 15 to 16 November.
    QueryFactory(created_at=at(15, 18, 29))
    QueryFactory(created_at=at(15, 18, 31))
    window = Window(last=date(2026, 11, 16), days=2, zone=KOLKATA)

    days = {day.day: day.searches for day in query_summary.per_day(window)}

    assert QuerySlot.objects.exists()  # read from the slots, not the log
    assert days == {date(2026, 11, 15): 1, date(2026, 11, 16): 1}


def test_feedback_is_counted_by_when_its_query_was_made(tenant):
    inside = QueryFactory(created_at=at(16, 10))
    outside = QueryFactory(created_at=at(17, 10))
    QueryFeedbackFactory(query=inside, helpful=True)
    QueryFeedbackFactory(query=outside, helpful=False)

    counts = query_stats.feedback_counts(DAY)

    assert (counts.helpful, counts.not_helpful) == (1, 0)


def test_the_daily_upkeep_brings_the_slots_up_to_date(tenant):
    QueryFactory(created_at=timezone.now() - timedelta(hours=2))

    log_partitions.maintain(now=timezone.now())

    assert sum(QuerySlot.objects.values_list("queries", flat=True)) == 1
