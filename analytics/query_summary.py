"""A window's totals, days and latency by kind, added up from the query log's quarter-hour
slots (queries/log_rollups.py) and the few queries since the last one.

The slots are brought up to date first, so the report counts every query up to the
request. The figures are those the queries themselves give: counts, tokens and cost are
sums; p50 and p95 are PostgreSQL's `percentile_cont` (linear interpolation) over the
answered queries' times, which the slots keep one by one.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import numpy as np
from django.db import connection

from analytics.query_stats import DayStats, KindLatency, Totals, Window
from queries import log_rollups
from queries.models import Query, QueryKind, QuerySlot

COUNTS = tuple(
    name for name, _expression in log_rollups.ROW_AS_SLOT if name != "estimated_cost_usd"
)

# The window's slots and the queries no slot counts, shaped alike, added up per day (in the
# window's zone) and kind; the answered queries' times come back as one text per group.
_SUMMARY_SQL = """
WITH pieces AS (
    SELECT start AS moment, kind, {columns}, answered_ms
    FROM {{slots}}
    WHERE start >= %(first)s AND start < %(last)s
    UNION ALL
    SELECT created_at, kind, {expressions},
        CASE WHEN {answered} THEN ARRAY[total_ms] ELSE '{{{{}}}}'::float8[] END
    FROM {{log}}
    WHERE (created_at >= %(start)s AND created_at < %(first)s)
        OR (created_at >= %(last)s AND created_at < %(end)s)
)
SELECT timezone(%(zone)s, moment)::date AS day, kind, {sums},
    string_agg(array_to_string(answered_ms, ' '), ' ')
FROM pieces
GROUP BY day, kind
""".format(  # noqa: S608 - column names and expressions of our own, no caller text
    columns=", ".join(name for name, _expression in log_rollups.ROW_AS_SLOT),
    expressions=", ".join(expression for _name, expression in log_rollups.ROW_AS_SLOT),
    sums=", ".join(f"sum({name})" for name, _expression in log_rollups.ROW_AS_SLOT),
    answered=log_rollups.ANSWERED,
)


@dataclass
class Tally:
    """Sums over some days and kinds, and the answered queries' times."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTS, 0))
    searches: int = 0
    cost: Decimal = Decimal(0)
    times: list[np.ndarray] = field(default_factory=list)

    def add(self, kind: str, counts: dict[str, int], cost: Decimal, times: np.ndarray) -> None:
        for name in COUNTS:
            self.counts[name] += counts[name]
        if kind == QueryKind.SEARCH:
            self.searches += counts["queries"]
        self.cost += cost
        self.times.append(times)

    def percentiles(self) -> tuple[float | None, float | None]:
        """p50 and p95 of the answered queries' times, to 0.1 ms; None without any."""
        values = np.concatenate(self.times) if self.times else np.empty(0)
        if not values.size:
            return None, None
        p50, p95 = np.percentile(values, [50, 95])  # linear, as percentile_cont
        return round(float(p50), 1), round(float(p95), 1)


@dataclass(frozen=True)
class Summary:
    totals: Totals
    per_day: list[DayStats]
    latency_by_kind: list[KindLatency]


def _groups(window: Window) -> list[tuple[Any, ...]]:
    """(day, kind, *sums, times) for the window, from the slots (brought up to date first)
    and the queries outside them: after the last slot, or before the first where the
    window starts inside a quarter hour."""
    rolled = log_rollups.roll_up()
    first = min(log_rollups.slot_ceiling(window.start), window.end)
    last = max(first, min(log_rollups.slot_floor(window.end), rolled))
    quote = connection.ops.quote_name
    sql = _SUMMARY_SQL.format(
        slots=quote(QuerySlot._meta.db_table), log=quote(Query._meta.db_table)
    )
    params: dict[str, datetime | str] = {
        "first": first, "last": last, "start": window.start, "end": window.end,
        "zone": window.time_zone,
    }  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def totals(window: Window) -> Totals:
    return summarize(window).totals


def per_day(window: Window) -> list[DayStats]:
    """One entry per day of the window, oldest first; days without queries are zeros."""
    return summarize(window).per_day


def latency_by_kind(window: Window) -> list[KindLatency]:
    """Searches and asks separately: an ask's answer step makes it much slower."""
    return summarize(window).latency_by_kind


def summarize(window: Window) -> Summary:
    """Totals, one entry per day (zeros for days without queries) and latency by kind."""
    total = Tally()
    days: defaultdict[date, Tally] = defaultdict(Tally)
    kinds: defaultdict[str, Tally] = defaultdict(Tally)
    for day, kind, *sums, times in _groups(window):
        counts = dict(zip(COUNTS, (int(value) for value in sums[:-1]), strict=True))
        cost = sums[-1] or Decimal(0)
        answered = np.array(times.split(), dtype=np.float64) if times else np.empty(0)
        for tally in (total, days[day], kinds[kind]):
            tally.add(kind, counts, cost, answered)
    return Summary(
        totals=_totals(total),
        per_day=[
            _day(day, days[day]) if day in days else DayStats(day=day) for day in window.dates()
        ],
        latency_by_kind=[_kind(kind, kinds.get(kind)) for kind in QueryKind.values],
    )


def _common(tally: Tally) -> dict[str, Any]:
    """The figures a day and the whole window both report."""
    counts = tally.counts
    p50, p95 = tally.percentiles()
    return {
        "searches": tally.searches,
        "asks": counts["queries"] - tally.searches,
        "cached": counts["cached"],
        "zero_results": counts["zero_results"],
        "from_api_keys": counts["from_api_keys"],
        "from_people": counts["from_people"],
        "p50_ms": p50,
        "p95_ms": p95,
        "estimated_cost_usd": tally.cost,
    }


def _totals(tally: Tally) -> Totals:
    counts = tally.counts
    return Totals(
        **_common(tally),
        queries=counts["queries"],
        degraded=counts["degraded"],
        failed=counts["failed"],
        prompt_tokens=counts["prompt_tokens"],
        completion_tokens=counts["completion_tokens"],
        embedding_tokens=counts["embedding_tokens"],
    )


def _day(day: date, tally: Tally) -> DayStats:
    counts = tally.counts
    tokens = counts["prompt_tokens"] + counts["completion_tokens"] + counts["embedding_tokens"]
    return DayStats(day=day, **_common(tally), tokens=tokens)


def _kind(kind: str, tally: Tally | None) -> KindLatency:
    if tally is None:
        return KindLatency(kind, 0, None, None)
    p50, p95 = tally.percentiles()
    return KindLatency(kind, tally.counts["queries"] - tally.counts["failed"], p50, p95)
