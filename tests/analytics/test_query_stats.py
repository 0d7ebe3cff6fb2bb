"""Query analytics selectors over real rows at known dates, latencies and callers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest
from django_tenants.utils import schema_context

from accounts.models import Role
from analytics import query_lists, query_stats, query_summary
from analytics.query_report import query_report
from analytics.query_stats import Window
from tests.accounts.helpers import owner_of
from tests.analytics.moments import at
from tests.conftest import TenantHandle
from tests.factories import ApiKeyFactory, QueryFactory, QueryFeedbackFactory, UserFactory

pytestmark = pytest.mark.django_db

WEEK = Window(last=date(2026, 11, 20), days=7)  # 14 … 20 November


@pytest.fixture
def tenant(make_tenant) -> Iterator[TenantHandle]:
    handle = make_tenant("an_stats")
    with schema_context(handle.schema):
        yield handle


def test_the_window_is_whole_utc_days_ending_with_the_last():
    assert WEEK.first == date(2026, 11, 14)
    assert WEEK.start == at(14, 0)
    assert WEEK.end == at(21, 0)
    assert WEEK.dates()[0] == date(2026, 11, 14)
    assert WEEK.dates()[-1] == date(2026, 11, 20)
    assert Window.ending(30).days == 30


def test_per_day_counts_kinds_and_fills_gaps_with_zeros(tenant):
    QueryFactory(created_at=at(13, 23, 59, 59))  # the evening before the window
    QueryFactory(created_at=at(14, 0), kind="search")
    QueryFactory(created_at=at(14, 9), kind="search")
    QueryFactory(created_at=at(14, 18), kind="ask")
    QueryFactory(created_at=at(16, 12), kind="search", cached=True)
    QueryFactory(created_at=at(20, 23, 59, 59), kind="ask", result_count=0)
    QueryFactory(created_at=at(21, 0))  # the first moment after it

    days = query_summary.per_day(WEEK)

    assert [day.day for day in days] == WEEK.dates()
    by_day = {day.day.day: day for day in days}
    assert (by_day[14].searches, by_day[14].asks) == (2, 1)
    assert (by_day[16].searches, by_day[16].cached) == (1, 1)
    assert (by_day[20].asks, by_day[20].zero_results) == (1, 1)
    for empty in (15, 17, 18, 19):
        assert by_day[empty].searches == by_day[empty].asks == 0
        assert by_day[empty].p50_ms is None
        assert by_day[empty].estimated_cost_usd == Decimal(0)
    assert sum(day.searches + day.asks for day in days) == 5


def test_latency_percentiles_are_computed_per_day_per_kind_and_over_the_window(tenant):
    for ms in (10, 20, 30, 40, 50, 60, 70, 80, 90, 100):
        QueryFactory(created_at=at(15), kind="search", total_ms=ms)
    QueryFactory(created_at=at(17), kind="ask", total_ms=1000)
    QueryFactory(created_at=at(17), kind="ask", total_ms=3000)

    days = {day.day.day: day for day in query_summary.per_day(WEEK)}
    # percentile_cont interpolates: the median of 10…100 is 55, the 95th percentile 95.5.
    assert (days[15].p50_ms, days[15].p95_ms) == (55.0, 95.5)
    assert (days[17].p50_ms, days[17].p95_ms) == (2000.0, 2900.0)

    kinds = {row.kind: row for row in query_summary.latency_by_kind(WEEK)}
    assert (kinds["search"].queries, kinds["search"].p50_ms) == (10, 55.0)
    assert (kinds["ask"].queries, kinds["ask"].p95_ms) == (2, 2900.0)

    totals = query_summary.totals(WEEK)
    assert totals.queries == 12
    assert totals.p50_ms == 65.0  # 12 values: between 60 and 70
    assert totals.p95_ms == pytest.approx(1000 + 0.45 * 2000, abs=0.1)


def test_an_empty_window_has_zeros_and_no_rates(tenant):
    totals = query_summary.totals(WEEK)
    assert totals.queries == 0
    assert totals.p50_ms is None
    assert totals.cache_hit_rate is None
    assert totals.zero_result_rate is None
    assert [row.queries for row in query_summary.latency_by_kind(WEEK)] == [0, 0]
    report = query_report(WEEK, include_texts=True)
    assert report.content_gaps == report.top_repeated == report.api_keys == []


def test_cache_hit_rate_zero_result_rate_tokens_and_cost(tenant):
    QueryFactory(created_at=at(18), cached=True)
    QueryFactory(created_at=at(18), result_count=0)
    QueryFactory(
        created_at=at(18),
        kind="ask",
        prompt_tokens=1000,
        completion_tokens=200,
        embedding_tokens=10,
        estimated_cost_usd=Decimal("0.001250"),
    )
    QueryFactory(
        created_at=at(19), kind="ask", prompt_tokens=500, estimated_cost_usd=Decimal("0.000500")
    )

    totals = query_summary.totals(WEEK)
    assert totals.cache_hit_rate == 0.25
    assert totals.zero_result_rate == 0.25
    assert (totals.prompt_tokens, totals.completion_tokens, totals.embedding_tokens) == (
        1500, 200, 10,
    )  # fmt: skip
    assert totals.estimated_cost_usd == Decimal("0.001750")
    days = {day.day.day: day for day in query_summary.per_day(WEEK)}
    assert (days[18].tokens, days[18].estimated_cost_usd) == (1210, Decimal("0.001250"))
    assert (days[19].tokens, days[19].estimated_cost_usd) == (500, Decimal("0.000500"))


def test_content_gaps_group_by_normalised_text_and_show_the_latest_wording(tenant):
    QueryFactory(created_at=at(14), text="parental leave?", result_count=0)
    QueryFactory(created_at=at(15), text="Parental   LEAVE?", result_count=0)
    QueryFactory(created_at=at(16), text="parental leave?  ", result_count=0)
    # the latest: 16 Nov, higher id
    QueryFactory(created_at=at(16), text="Parental Leave?", result_count=0)
    QueryFactory(created_at=at(17), text="company car", result_count=0)
    # found something: not a gap
    QueryFactory(created_at=at(17), text="parental leave?", result_count=2)
    QueryFactory(created_at=at(12), text="company car", result_count=0)  # before the window

    gaps = query_lists.content_gaps(WEEK)

    assert [(gap.text, gap.count) for gap in gaps] == [
        ("Parental Leave?", 4),
        ("company car", 1),
    ]
    assert gaps[0].last_seen == at(16)
    assert query_summary.totals(WEEK).zero_results == 5


def test_top_repeated_needs_two_and_orders_by_count(tenant):
    for _ in range(3):
        QueryFactory(created_at=at(15), text="holiday allowance")
    QueryFactory(created_at=at(16), text="expense policy", kind="ask")
    QueryFactory(created_at=at(17), text="Expense policy", kind="search")
    QueryFactory(created_at=at(17), text="asked once")
    repeated = query_lists.top_repeated(WEEK)
    assert [(item.text, item.count) for item in repeated] == [
        ("holiday allowance", 3),
        ("Expense policy", 2),
    ]
    assert query_lists.top_repeated(WEEK, limit=1)[0].text == "holiday allowance"


def test_feedback_counts_and_the_latest_not_helpful_comments(tenant):
    a, b, c, d = (QueryFactory(created_at=at(15), text=f"question {n}", kind="ask") for n in "abcd")
    old = QueryFactory(created_at=at(10), text="older question", kind="ask")
    QueryFeedbackFactory(query=a, helpful=True, comment="great", updated_at=at(15, 13))
    QueryFeedbackFactory(
        query=b, helpful=False, comment="Quoted the wrong policy.", updated_at=at(15, 14)
    )
    # no comment: counted only
    QueryFeedbackFactory(query=c, helpful=False, comment="", updated_at=at(15, 15))
    QueryFeedbackFactory(
        query=d, helpful=False, comment="Missing the 2026 rules.", updated_at=at(16)
    )
    QueryFeedbackFactory(query=old, helpful=False, comment="outside the window", updated_at=at(16))

    counts = query_stats.feedback_counts(WEEK)
    assert (counts.helpful, counts.not_helpful) == (1, 3)
    assert counts.helpful_rate == 0.25
    comments = query_lists.not_helpful_comments(WEEK)
    assert [(item.query_text, item.comment) for item in comments] == [
        ("question d", "Missing the 2026 rules."),
        ("question b", "Quoted the wrong policy."),
    ]


def test_split_by_api_key_person_and_other_with_key_names(tenant):
    owner = owner_of(tenant)
    member = UserFactory(tenant=tenant, role=Role.MEMBER)
    prefix = ApiKeyFactory(name="nightly import", created_by=owner).display_prefix
    QueryFactory(created_at=at(15), user=member)
    QueryFactory(created_at=at(15), user=owner)
    # A key acts as its creator, so its rows carry the creator too; the prefix decides.
    for _ in range(3):
        QueryFactory(created_at=at(16), user=owner, api_key_prefix=prefix)
    QueryFactory(created_at=at(16), api_key_prefix="di_deletedkey0")
    QueryFactory(created_at=at(17))  # manage.py ask: neither

    totals = query_summary.totals(WEEK)
    assert (totals.from_people, totals.from_api_keys, totals.other) == (2, 4, 1)
    days = {day.day.day: day for day in query_summary.per_day(WEEK)}
    assert (days[15].from_people, days[15].from_api_keys) == (2, 0)
    assert (days[16].from_people, days[16].from_api_keys) == (0, 4)
    usage = query_lists.api_key_usage(WEEK)
    assert [(u.prefix, u.name, u.queries) for u in usage] == [
        (prefix, "nightly import", 3),
        ("di_deletedkey0", "", 1),
    ]


def test_the_report_leaves_texts_out_unless_asked(tenant):
    query = QueryFactory(created_at=at(20), text="secret project name", result_count=0)
    QueryFactory(created_at=at(20), text="secret project name", result_count=0)
    QueryFeedbackFactory(query=query, helpful=False, comment="nothing about it", updated_at=at(20))

    limited = query_report(WEEK, include_texts=False)
    assert limited.totals.queries == 2
    assert limited.feedback.not_helpful == 1
    assert not limited.includes_texts
    assert limited.content_gaps == limited.top_repeated == limited.not_helpful_comments == []

    full = query_report(WEEK, include_texts=True)
    assert full.content_gaps[0].text == "secret project name"
    assert full.top_repeated[0].count == 2
    assert full.not_helpful_comments[0].comment == "nothing about it"


def test_failed_queries_are_counted_apart_from_content_gaps_and_latency(tenant):
    QueryFactory(created_at=at(16), text="wing flutter", total_ms=10)
    QueryFactory(created_at=at(16), text="wing flutter", total_ms=30)
    # Failed after 5 s (a provider that hung) and at once (an index to rebuild): neither found
    # "nothing" in the documents, and neither measures how fast answers are.
    QueryFactory(
        created_at=at(16),
        text="why is search down",
        kind="ask",
        total_ms=5000,
        result_count=0,
        error="server_error",
    )
    QueryFactory(
        created_at=at(16),
        text="why is search down",
        total_ms=1,
        result_count=0,
        error="index_unavailable",
    )

    totals = query_summary.totals(WEEK)
    assert (totals.queries, totals.failed, totals.zero_results) == (4, 2, 0)
    assert (totals.p50_ms, totals.p95_ms) == (20.0, 29.0)
    kinds = {row.kind: row for row in query_summary.latency_by_kind(WEEK)}
    assert (kinds["search"].queries, kinds["search"].p50_ms) == (2, 20.0)
    assert (kinds["ask"].queries, kinds["ask"].p50_ms) == (0, None)
    [day] = [day for day in query_summary.per_day(WEEK) if day.day.day == 16]
    assert (day.searches, day.asks, day.zero_results, day.p50_ms) == (3, 1, 0, 20.0)
    assert query_report(WEEK, include_texts=True).content_gaps == []
