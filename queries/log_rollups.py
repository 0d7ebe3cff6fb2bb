"""Quarter-hour rollups of the current tenant's query log (`QuerySlot`), for analytics.

A month's analytics report adds up the month's slots (two kinds, 96 slots a day) instead of
reading every query of the month, and reads only the queries since the last slot, which
are minutes' worth.

Slots are filled in order up to `rolled_until` (`QueryRollupState`, one row): `roll_up`
aggregates the queries between it and the last quarter hour that ended at least LATE ago,
and moves it there. Rows are written once, when their query ends, with `created_at` taken
just before the INSERT; LATE covers the time between the two, so no row can arrive in a
slot already counted. It runs before each report (a few milliseconds when nothing new has
ended) and daily from the log's maintenance task, so a report rarely has more than a day to
add. Retention removes slots with the queries they count (`forget_before`).

Slot boundaries are whole quarter hours of UTC: every time zone's offset is a multiple of
15 minutes, so a calendar day anywhere is a whole number of slots, and a report's days are
exact in any zone. A slot keeps `total_ms` of each answered query, so percentiles over any
set of slots are exact, not estimated from buckets.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from queries.models import Query, QueryRollupState, QuerySlot

SLOT = timedelta(minutes=15)
LATE = timedelta(minutes=2)  # how long after its created_at a query row may still arrive
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)

# A log row as a slot of one query: QuerySlot's columns, as the analytics report defines
# them (analytics/query_stats.py): "zero results" are answered queries that found nothing;
# a query from a person was sent with their session, not a key; failed ones have an error.
ROW_AS_SLOT = (
    ("queries", "1"),
    ("cached", "cached::int"),
    ("zero_results", "(result_count = 0 AND error = '')::int"),
    ("from_api_keys", "(api_key_prefix <> '')::int"),
    ("from_people", "(api_key_prefix = '' AND user_id IS NOT NULL)::int"),
    ("degraded", "degraded::int"),
    ("failed", "(error <> '')::int"),
    ("prompt_tokens", "prompt_tokens"),
    ("completion_tokens", "completion_tokens"),
    ("embedding_tokens", "embedding_tokens"),
    ("estimated_cost_usd", "estimated_cost_usd"),
)
ANSWERED = "error = ''"

# One statement: the ended slots' queries, by slot and kind.
_ROLL_UP_SQL = """
INSERT INTO {{slots}} (start, kind, {columns}, answered_ms)
SELECT date_bin('15 minutes', created_at, %(epoch)s) AS slot, kind, {sums},
    coalesce(array_agg(total_ms ORDER BY total_ms) FILTER (WHERE {answered}), '{{{{}}}}')
FROM {{log}}
WHERE created_at >= %(start)s AND created_at < %(end)s
GROUP BY slot, kind
""".format(
    columns=", ".join(name for name, _expression in ROW_AS_SLOT),
    sums=", ".join(f"sum({expression})" for _name, expression in ROW_AS_SLOT),
    answered=ANSWERED,
)


def slot_floor(moment: datetime) -> datetime:
    """The start of the slot `moment` falls in."""
    return moment - (moment - EPOCH) % SLOT


def slot_ceiling(moment: datetime) -> datetime:
    """The first slot start at or after `moment`."""
    floor = slot_floor(moment)
    return floor if floor == moment else floor + SLOT


def _locked_state() -> QueryRollupState:
    """The state row, locked until the caller's transaction ends (created on first use)."""
    table = connection.ops.quote_name(QueryRollupState._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} (id) VALUES (1) ON CONFLICT (id) DO NOTHING")  # noqa: S608
    return QueryRollupState.objects.select_for_update().get(pk=1)


def _aggregate(start: datetime, end: datetime) -> None:
    quote = connection.ops.quote_name
    sql = _ROLL_UP_SQL.format(
        slots=quote(QuerySlot._meta.db_table), log=quote(Query._meta.db_table)
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, {"epoch": EPOCH, "start": start, "end": end})


def rolled_until() -> datetime | None:
    """Every query created before this moment is in a slot (None: no slot yet)."""
    return QueryRollupState.objects.filter(pk=1).values_list("rolled_until", flat=True).first()


def roll_up(now: datetime | None = None) -> datetime:
    """Count the queries of every slot that has ended (LATE ago) into slots; returns the
    new `rolled_until`. Concurrent callers wait for each other: each slot is counted once."""
    target = slot_floor((now or timezone.now()) - LATE)
    if (done := rolled_until()) is not None and done >= target:
        return done  # the usual case, without taking the lock
    with transaction.atomic():
        state = _locked_state()
        start = state.rolled_until
        if start is None:
            oldest = Query.objects.order_by("created_at").values_list("created_at", flat=True)
            first = oldest.first()
            start = target if first is None else min(target, slot_floor(first))
        if start < target:
            _aggregate(start, target)
        state.rolled_until = max(start, target)
        state.save(update_fields=["rolled_until"])
        return state.rolled_until


def forget_before(cutoff: datetime) -> None:
    """After retention removed the queries created before `cutoff`: remove their slots, and
    count the slot the cut-off falls in again from the queries it still has."""
    with transaction.atomic():
        state = _locked_state()
        straddled = slot_floor(cutoff)
        table = connection.ops.quote_name(QuerySlot._meta.db_table)
        with connection.cursor() as cursor:  # one DELETE, without loading the rows first
            cursor.execute(f"DELETE FROM {table} WHERE start < %s", [straddled + SLOT])  # noqa: S608
        if state.rolled_until is not None and state.rolled_until > straddled:
            _aggregate(straddled, min(straddled + SLOT, state.rolled_until))
