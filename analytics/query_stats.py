"""Reads over the current tenant's query log for the analytics page and API.

Everything is aggregated in PostgreSQL (counts, sums, `percentile_cont`); Python only fills
in the days without queries. Days are calendar days in the window's time zone (the
workspace's, see tenants/time_zones.py): a 23- or 25-hour day around a DST change is one day.
The lists of texts people typed are in analytics/query_lists.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Count, F, FloatField, Q, QuerySet, Sum
from django.db.models.aggregates import Aggregate
from django.db.models.functions import TruncDate
from django.utils import timezone

from queries.models import Query, QueryFeedback, QueryKind
from tenants.time_zones import UTC_ZONE

DEFAULT_DAYS = 30
MAX_DAYS = 365

FROM_KEY = ~Q(api_key_prefix="")
FROM_PERSON = Q(api_key_prefix="", user__isnull=False)
ANSWERED = Q(error="")
# Answered, and found nothing; a failed query (error set) found nothing for another reason.
FOUND_NOTHING = Q(result_count=0, error="")


class Percentile(Aggregate):
    """PostgreSQL's `percentile_cont(fraction) WITHIN GROUP (ORDER BY expression)`."""

    function = "percentile_cont"
    name = "Percentile"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression: Any, fraction: float, **extra: Any) -> None:
        if not 0 < fraction < 1:
            raise ValueError("A percentile is a fraction between 0 and 1, e.g. 0.95.")
        # A formatted float, never caller text: safe to place in the SQL.
        super().__init__(expression, fraction=f"{fraction:.4f}", **extra)


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
        """Neither a key nor a person: `manage.py ask`, or a person since deleted."""
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


def _ms(value: float | None) -> float | None:
    return None if value is None else round(float(value), 1)


def queries_in(window: Window) -> QuerySet[Query]:
    return Query.objects.filter(created_at__gte=window.start, created_at__lt=window.end)


def _counts() -> dict[str, Any]:
    """Aggregates shared by the per-day series and the window's totals.

    No alias may be a field's name (`cached`): the filters would then refer to the aggregate.
    """
    return {
        "searches": Count("id", filter=Q(kind=QueryKind.SEARCH)),
        "asks": Count("id", filter=Q(kind=QueryKind.ASK)),
        "cache_hits": Count("id", filter=Q(cached=True)),
        "zero_results": Count("id", filter=FOUND_NOTHING),
        "from_api_keys": Count("id", filter=FROM_KEY),
        "from_people": Count("id", filter=FROM_PERSON),
        # Latency of the answered ones: a failure's time says nothing about the service's speed.
        "p50": Percentile("total_ms", 0.5, filter=ANSWERED),
        "p95": Percentile("total_ms", 0.95, filter=ANSWERED),
        "cost": Sum("estimated_cost_usd"),
    }


def per_day(window: Window) -> list[DayStats]:
    """One entry per day of the window, oldest first; days without queries are zeros."""
    rows = (
        queries_in(window)
        .annotate(day=TruncDate("created_at", tzinfo=window.zone))
        .values("day")
        .annotate(
            **_counts(),
            tokens=Sum(F("prompt_tokens") + F("completion_tokens") + F("embedding_tokens")),
        )
        .order_by("day")
    )
    found = {row["day"]: _day_stats(row) for row in rows}
    return [found.get(day, DayStats(day=day)) for day in window.dates()]


def _day_stats(row: Mapping[str, Any]) -> DayStats:
    return DayStats(
        day=row["day"],
        searches=row["searches"],
        asks=row["asks"],
        cached=row["cache_hits"],
        zero_results=row["zero_results"],
        from_api_keys=row["from_api_keys"],
        from_people=row["from_people"],
        p50_ms=_ms(row["p50"]),
        p95_ms=_ms(row["p95"]),
        tokens=int(row["tokens"] or 0),
        estimated_cost_usd=row["cost"] or Decimal(0),
    )


def totals(window: Window) -> Totals:
    row = queries_in(window).aggregate(
        **_counts(),
        queries=Count("id"),
        degraded_answers=Count("id", filter=Q(degraded=True)),
        failures=Count("id", filter=~ANSWERED),
        prompt=Sum("prompt_tokens"),
        completion=Sum("completion_tokens"),
        embedding=Sum("embedding_tokens"),
    )
    return Totals(
        queries=row["queries"],
        searches=row["searches"],
        asks=row["asks"],
        cached=row["cache_hits"],
        zero_results=row["zero_results"],
        degraded=row["degraded_answers"],
        failed=row["failures"],
        from_api_keys=row["from_api_keys"],
        from_people=row["from_people"],
        p50_ms=_ms(row["p50"]),
        p95_ms=_ms(row["p95"]),
        prompt_tokens=int(row["prompt"] or 0),
        completion_tokens=int(row["completion"] or 0),
        embedding_tokens=int(row["embedding"] or 0),
        estimated_cost_usd=row["cost"] or Decimal(0),
    )


def latency_by_kind(window: Window) -> list[KindLatency]:
    """Searches and asks separately: an ask's answer step makes it much slower."""
    rows = (
        queries_in(window)
        .filter(ANSWERED)
        .values("kind")
        .annotate(n=Count("id"), p50=Percentile("total_ms", 0.5), p95=Percentile("total_ms", 0.95))
        .order_by("kind")
    )
    found = {
        row["kind"]: KindLatency(row["kind"], row["n"], _ms(row["p50"]), _ms(row["p95"]))
        for row in rows
    }
    return [found.get(kind, KindLatency(kind, 0, None, None)) for kind in QueryKind.values]


def feedback_in(window: Window) -> QuerySet[QueryFeedback]:
    # Feedback on the window's queries, so the counts sit beside the query counts.
    return QueryFeedback.objects.filter(
        query__created_at__gte=window.start, query__created_at__lt=window.end
    )


def feedback_counts(window: Window) -> FeedbackCounts:
    row = feedback_in(window).aggregate(
        # Aliases differ from the field name, or the filters would refer to the aggregate.
        yes=Count("id", filter=Q(helpful=True)),
        no=Count("id", filter=Q(helpful=False)),
    )
    return FeedbackCounts(helpful=row["yes"], not_helpful=row["no"])
