"""Query and document analytics for owners and admins: the dashboard's figures as JSON.

Days are calendar days in the workspace's time zone, or in `?tz=` for this request.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsTenantAdmin
from analytics.query_report import query_report
from analytics.query_stats import DEFAULT_DAYS, MAX_DAYS, Window
from analytics.query_topics import TOPIC_SAMPLE
from config.openapi import ERROR_RESPONSES
from tenants.time_zones import canonical_time_zone, zone_of

DAYS_MESSAGE = f"days must be a whole number from 1 to {MAX_DAYS}."
MS_HELP = "Milliseconds from request to answer (PostgreSQL percentile_cont); null without queries."


def _ms_field() -> serializers.FloatField:
    return serializers.FloatField(allow_null=True, help_text=MS_HELP)


def _rate_field(source: str | None = None) -> serializers.FloatField:
    return serializers.FloatField(
        source=source,
        allow_null=True,
        help_text="From 0 to 1; null when there is nothing to count.",
    )


def _usd_field() -> serializers.DecimalField:
    return serializers.DecimalField(
        max_digits=18, decimal_places=6, help_text="Estimated provider cost in US dollars."
    )


class AsciiIntegerField(serializers.IntegerField):
    """Digits 0-9 only: Python's int() would also take "٣" or "+7" and guess what was meant."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, str) and not (data.isascii() and data.isdigit()):
            self.fail("invalid")
        return super().to_internal_value(data)


class QueryAnalyticsInput(serializers.Serializer[Any]):
    days = AsciiIntegerField(
        required=False,
        default=DEFAULT_DAYS,
        min_value=1,
        max_value=MAX_DAYS,
        help_text="How many calendar days (in the response's `time_zone`), ending today, to cover.",
        error_messages=dict.fromkeys(("invalid", "min_value", "max_value"), DAYS_MESSAGE),
    )
    tz = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=64,
        help_text="An IANA time zone, e.g. `America/Los_Angeles`, to count days in for this "
        "request; the workspace's time zone when omitted.",
        error_messages={"max_length": "tz must be an IANA time zone name such as Europe/Berlin."},
    )

    def validate_tz(self, value: str) -> ZoneInfo | None:
        if not value:  # `?tz=`: the workspace's, as `?days=` is the default window
            return None
        name = canonical_time_zone(value)
        if name is None:
            raise serializers.ValidationError(
                f"tz must be an IANA time zone name such as Europe/Berlin; '{value}' is not one."
            )
        return ZoneInfo(name)


class QueryTotalsOutput(serializers.Serializer[Any]):
    queries = serializers.IntegerField()
    searches = serializers.IntegerField()
    asks = serializers.IntegerField()
    cached = serializers.IntegerField()
    cache_hit_rate = _rate_field()
    zero_results = serializers.IntegerField(help_text="Queries that found nothing.")
    zero_result_rate = _rate_field()
    degraded = serializers.IntegerField(help_text="Answers that fell back to the offline answerer.")
    failed = serializers.IntegerField(
        help_text="Searches and asks that failed after they were accepted (server error, index "
        "to rebuild, or a streamed answer the client stopped reading); not in the latencies."
    )
    from_api_keys = serializers.IntegerField()
    from_people = serializers.IntegerField(help_text="Signed-in people (dashboard or token).")
    other = serializers.IntegerField(help_text="`manage.py ask`, or people since deleted.")
    p50_ms = _ms_field()
    p95_ms = _ms_field()
    prompt_tokens = serializers.IntegerField()
    completion_tokens = serializers.IntegerField()
    embedding_tokens = serializers.IntegerField()
    estimated_cost_usd = _usd_field()


class QueryDayOutput(serializers.Serializer[Any]):
    date = serializers.DateField(source="day")
    searches = serializers.IntegerField()
    asks = serializers.IntegerField()
    cached = serializers.IntegerField()
    zero_results = serializers.IntegerField()
    from_api_keys = serializers.IntegerField()
    from_people = serializers.IntegerField()
    p50_ms = _ms_field()
    p95_ms = _ms_field()
    tokens = serializers.IntegerField(help_text="Prompt, completion and embedding tokens.")
    estimated_cost_usd = _usd_field()


class KindLatencyOutput(serializers.Serializer[Any]):
    kind = serializers.CharField(help_text="`search` or `ask`.")
    queries = serializers.IntegerField()
    p50_ms = _ms_field()
    p95_ms = _ms_field()


class RepeatedQueryOutput(serializers.Serializer[Any]):
    text = serializers.CharField(help_text="The latest wording of these queries.")
    count = serializers.IntegerField()
    last_seen = serializers.DateTimeField()


class FeedbackCommentOutput(serializers.Serializer[Any]):
    query_text = serializers.CharField()
    comment = serializers.CharField()
    updated_at = serializers.DateTimeField()


class QueryFeedbackStatsOutput(serializers.Serializer[Any]):
    helpful = serializers.IntegerField(source="feedback.helpful")
    not_helpful = serializers.IntegerField(source="feedback.not_helpful")
    helpful_rate = _rate_field("feedback.helpful_rate")
    latest_not_helpful = FeedbackCommentOutput(
        many=True, source="not_helpful_comments", help_text="Newest first, with a comment."
    )


class TopicOutput(serializers.Serializer[Any]):
    # A declared field (the metaclass takes it off the class), not Field.label.
    label = serializers.CharField(  # type: ignore[assignment]
        help_text="The most frequent wording of these queries, as last typed."
    )
    terms = serializers.ListField(
        child=serializers.CharField(),
        help_text="The key terms the queries share: English stems, stopwords left out, "
        "alphabetically.",
    )
    count = serializers.IntegerField(help_text="Queries with these key terms, any wording.")
    last_seen = serializers.DateTimeField()
    variants = serializers.ListField(
        child=serializers.CharField(),
        help_text="Up to three other wordings, most frequent first.",
    )


class DocumentStatusCountsOutput(serializers.Serializer[Any]):
    pending = serializers.IntegerField()
    processing = serializers.IntegerField()
    ready = serializers.IntegerField()
    failed = serializers.IntegerField()


class DocumentTotalsOutput(serializers.Serializer[Any]):
    count = serializers.IntegerField(source="documents")
    chunks = serializers.IntegerField(help_text="Passages indexed for search.")
    stored_bytes = serializers.IntegerField(help_text="The originals' size as uploaded.")
    by_status = DocumentStatusCountsOutput()


class TokenBudgetOutput(serializers.Serializer[Any]):
    month = serializers.CharField(help_text="The calendar month (UTC), YYYY-MM.")
    used = serializers.IntegerField(
        help_text="Provider tokens this month: prompt, completion and embedding, for queries "
        "and ingestion."
    )
    budget = serializers.IntegerField(source="limit", help_text="The plan's monthly tokens.")
    spent = serializers.BooleanField(
        help_text="True once `used` reaches `budget`: requests to the provider answer 429."
    )


class ApiKeyUsageOutput(serializers.Serializer[Any]):
    prefix = serializers.CharField()
    name = serializers.CharField(help_text="Empty once the key has been deleted.")
    queries = serializers.IntegerField()
    last_used = serializers.DateTimeField()


class QueryAnalyticsOutput(serializers.Serializer[Any]):
    time_zone = serializers.CharField(
        source="window.time_zone",
        help_text="The IANA time zone the days are calendar days of, and the times are in: "
        "`tz` when given, else the workspace's.",
    )
    days = serializers.IntegerField(source="window.days")
    first_day = serializers.DateField(source="window.first")
    last_day = serializers.DateField(source="window.last")
    totals = QueryTotalsOutput()
    per_day = QueryDayOutput(many=True, help_text="Every day of the window, oldest first.")
    latency_by_kind = KindLatencyOutput(many=True)
    feedback = QueryFeedbackStatsOutput(source="*")
    content_gaps = RepeatedQueryOutput(
        many=True, help_text="The most frequent queries that found nothing."
    )
    top_repeated = RepeatedQueryOutput(many=True, help_text="Queries made at least twice.")
    popular_topics = TopicOutput(
        many=True,
        help_text="Queries grouped by their key terms, however worded, most asked first; "
        "topics of at least two queries.",
    )
    popular_topics_from = serializers.IntegerField(
        source="topics_from",
        help_text=f"How many queries `popular_topics` were grouped from: the window's newest, "
        f"{TOPIC_SAMPLE:,} at most.",
    )
    api_keys = ApiKeyUsageOutput(many=True, help_text="Queries per API key, most first.")
    documents = DocumentTotalsOutput(
        help_text="The workspace's documents now, whatever the window: counts, chunks, storage."
    )
    token_budget = TokenBudgetOutput(
        help_text="This month's provider tokens against the plan's monthly budget."
    )


class QueryAnalyticsView(APIView):
    """Searches and questions over the last `days` days: volume, latency, gaps, popular
    topics, feedback, cost; and the workspace's document totals.

    Days are calendar days in the workspace's time zone (or `tz`); a day around a DST change
    has 23 or 25 hours and is still one entry of `per_day`. Times are in that zone too.
    """

    permission_classes = [IsTenantAdmin]

    @extend_schema(
        tags=["analytics"],
        parameters=[QueryAnalyticsInput],
        responses={200: QueryAnalyticsOutput, **ERROR_RESPONSES},
    )
    def get(self, request: Request) -> Response:
        data = QueryAnalyticsInput(data=request.query_params)
        data.is_valid(raise_exception=True)
        zone = data.validated_data.get("tz") or zone_of(getattr(request, "tenant", None))
        report = query_report(
            Window.ending(data.validated_data["days"], zone=zone), include_texts=True
        )
        with timezone.override(zone):  # last_seen, updated_at, last_used in the same zone
            return Response(QueryAnalyticsOutput(report).data)
