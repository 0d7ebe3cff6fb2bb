"""The analytics report the dashboard page and the API both show: the query log's figures
for a window, the workspace's document totals and this month's provider tokens."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from analytics import query_lists, query_stats, query_summary, query_topics, selectors
from analytics.query_lists import ApiKeyUsage, FeedbackComment, RepeatedQuery
from analytics.query_stats import DayStats, FeedbackCounts, KindLatency, Totals, Window
from analytics.query_topics import TOPIC_SAMPLE, Topic
from analytics.selectors import DocumentTotals
from queries.budget import Budget, current_budget


@dataclass(frozen=True)
class QueryReport:
    """Aggregates for a window and the documents now; what people typed only when asked for."""

    window: Window
    totals: Totals
    per_day: list[DayStats]
    latency_by_kind: list[KindLatency]
    feedback: FeedbackCounts
    documents: DocumentTotals
    token_budget: Budget
    includes_texts: bool = False
    content_gaps: list[RepeatedQuery] = field(default_factory=list)
    top_repeated: list[RepeatedQuery] = field(default_factory=list)
    popular_topics: list[Topic] = field(default_factory=list)
    not_helpful_comments: list[FeedbackComment] = field(default_factory=list)
    api_keys: list[ApiKeyUsage] = field(default_factory=list)

    @property
    def topics_from(self) -> int:
        """How many of the window's queries the topics were grouped from (the newest ones)."""
        return min(self.totals.queries, TOPIC_SAMPLE) if self.includes_texts else 0

    @property
    def topics_sampled(self) -> bool:
        """Whether the window had more queries than the topics were grouped from."""
        return self.includes_texts and self.totals.queries > TOPIC_SAMPLE


def query_report(window: Window, *, include_texts: bool) -> QueryReport:
    """The window's aggregates; with `include_texts`, also texts, topics, comments and keys."""
    summary = query_summary.summarize(window)
    report = QueryReport(
        window=window,
        totals=summary.totals,
        per_day=summary.per_day,
        latency_by_kind=summary.latency_by_kind,
        feedback=query_stats.feedback_counts(window),
        documents=selectors.document_totals(),
        token_budget=current_budget(),
        includes_texts=include_texts,
    )
    if not include_texts or report.totals.queries == 0:
        return report
    lists = query_lists.text_lists(window)
    return replace(
        report,
        content_gaps=lists.content_gaps,
        top_repeated=lists.top_repeated,
        popular_topics=query_topics.popular_topics(window),
        not_helpful_comments=query_lists.not_helpful_comments(window),
        api_keys=lists.api_keys,
    )
