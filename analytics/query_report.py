"""The query analytics report the dashboard page and the API both show."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from analytics import query_lists, query_stats
from analytics.query_lists import ApiKeyUsage, FeedbackComment, RepeatedQuery
from analytics.query_stats import DayStats, FeedbackCounts, KindLatency, Totals, Window


@dataclass(frozen=True)
class QueryReport:
    """Aggregates for a window; the lists of what people typed only when asked for."""

    window: Window
    totals: Totals
    per_day: list[DayStats]
    latency_by_kind: list[KindLatency]
    feedback: FeedbackCounts
    includes_texts: bool = False
    content_gaps: list[RepeatedQuery] = field(default_factory=list)
    top_repeated: list[RepeatedQuery] = field(default_factory=list)
    not_helpful_comments: list[FeedbackComment] = field(default_factory=list)
    api_keys: list[ApiKeyUsage] = field(default_factory=list)


def query_report(window: Window, *, include_texts: bool) -> QueryReport:
    """The window's aggregates; with `include_texts`, also query texts, comments and keys."""
    report = QueryReport(
        window=window,
        totals=query_stats.totals(window),
        per_day=query_stats.per_day(window),
        latency_by_kind=query_stats.latency_by_kind(window),
        feedback=query_stats.feedback_counts(window),
        includes_texts=include_texts,
    )
    if not include_texts or report.totals.queries == 0:
        return report
    return replace(
        report,
        content_gaps=query_lists.content_gaps(window),
        top_repeated=query_lists.top_repeated(window),
        not_helpful_comments=query_lists.not_helpful_comments(window),
        api_keys=query_lists.api_key_usage(window),
    )
