"""What the analytics page and API report over the current tenant's query log: the window,
the figures' shapes, and feedback. The figures themselves are added up from the log's
quarter-hour rollups in analytics/query_summary.py.

Days are calendar days in the window's time zone (the workspace's, see
tenants/time_zones.py): a 23- or 25-hour day around a DST change is one day. The lists of
texts people typed are in analytics/query_lists.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from queries.models import Query, QueryFeedback
from tenants.time_zones import UTC_ZONE

DEFAULT_DAYS = 30
MAX_DAYS = 365

FROM_KEY = ~Q(api_key_prefix="")
FROM_PERSON = Q(api_key_prefix="", user__isnull=False)
ANSWERED = Q(error="")
# Answered, and found nothing; a failed query (error set) found nothing for another reason.
FOUND_NOTHING = Q(result_count=0, error="")


@dataclass(frozen=True)
class Window:
    """`days` calendar days in `zone` ending with `last` (today there by default), both
    included; each day runs from one local midnight to the next, whatever its length."""

    last: date
    days: int
    zone: ZoneInfo = UTC_ZONE

    @classmethod
    def ending(
        cls, days: int = DEFAULT_DAYS, last: date | None = None, *, zone: ZoneInfo = UTC_ZONE
    ) -> Window:
        return cls(last=last or timezone.now().astimezone(zone).date(), days=days, zone=zone)

    @property
    def time_zone(self) -> str:
        return self.zone.key

    @property
    def first(self) -> date:
        return self.last - timedelta(days=self.days - 1)

    def midnight(self, day: date) -> datetime:
        """The day's first moment in the zone (01:00 where clocks skip midnight), in UTC.

        In UTC because Python subtracts two times of one zone as wall-clock times, which
        would make a 25-hour day 24 hours long.
        """
        return datetime.combine(day, time.min, tzinfo=self.zone).astimezone(UTC_ZONE)

    @property
    def start(self) -> datetime:
        return self.midnight(self.first)

    @property
    def end(self) -> datetime:
        return self.midnight(self.last + timedelta(days=1))

    def dates(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range(self.days)]


@dataclass(frozen=True)
class DayStats:
    day: date
    searches: int = 0
    asks: int = 0
    cached: int = 0
    zero_results: int = 0
    from_api_keys: int = 0
    from_people: int = 0
    p50_ms: float | None = None
    p95_ms: float | None = None
    tokens: int = 0
    estimated_cost_usd: Decimal = Decimal(0)


@dataclass(frozen=True)
class Totals:
    queries: int
    searches: int
    asks: int
    cached: int
    zero_results: int
    degraded: int
    failed: int
    from_api_keys: int
    from_people: int
    p50_ms: float | None
    p95_ms: float | None
    prompt_tokens: int
    completion_tokens: int
    embedding_tokens: int
    estimated_cost_usd: Decimal

    @property
    def other(self) -> int:
        """Neither a key nor a person: `manage.py ask` and other callers without either."""
        return self.queries - self.from_api_keys - self.from_people

    @property
    def cache_hit_rate(self) -> float | None:
        return _rate(self.cached, self.queries)

    @property
    def zero_result_rate(self) -> float | None:
        return _rate(self.zero_results, self.queries)


@dataclass(frozen=True)
class KindLatency:
    kind: str
    queries: int
    p50_ms: float | None
    p95_ms: float | None


@dataclass(frozen=True)
class FeedbackCounts:
    helpful: int
    not_helpful: int

    @property
    def helpful_rate(self) -> float | None:
        return _rate(self.helpful, self.helpful + self.not_helpful)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def queries_in(window: Window) -> QuerySet[Query]:
    return Query.objects.filter(created_at__gte=window.start, created_at__lt=window.end)


def feedback_in(window: Window) -> QuerySet[QueryFeedback]:
    # Feedback on the window's queries, so the counts sit beside the query counts; by the
    # query's time kept on the feedback row, without reading the log.
    return QueryFeedback.objects.filter(
        query_created_at__gte=window.start, query_created_at__lt=window.end
    )


def feedback_counts(window: Window) -> FeedbackCounts:
    row = feedback_in(window).aggregate(
        # Aliases differ from the field name, or the filters would refer to the aggregate.
        yes=Count("id", filter=Q(helpful=True)),
        no=Count("id", filter=Q(helpful=False)),
    )
    return FeedbackCounts(helpful=row["yes"], not_helpful=row["no"])
