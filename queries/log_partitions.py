"""The query log's monthly partitions in the current tenant schema: ahead, and retention.

`queries_query` is partitioned by month on `created_at` (tenants/partitions.py has the
mechanics). The maintenance beat task keeps this month and the next two ready and moves any
rows that landed in the DEFAULT partition into a partition of their month; retention drops
whole months past the cut-off and deletes, bounded to one partition, only the rows of the
month the cut-off falls in. Feedback has no database foreign key to its query (the log's
key is (id, created_at)), so every path that removes queries removes their feedback first,
and the quarter-hour rollups analytics reads (queries/log_rollups.py) go with their queries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction

from queries import log_rollups
from queries.models import Query, QueryFeedback
from tenants import partitions

AHEAD_MONTHS = 3  # this month and the next two
COLUMN = "created_at"


def _table() -> str:
    return Query._meta.db_table


@dataclass(frozen=True)
class Purged:
    """What retention removed in one schema."""

    rows: int = 0
    partitions_dropped: int = 0


def maintain(*, now: datetime) -> list[str]:
    """Create the partitions ahead, empty the DEFAULT partition and bring the analytics
    rollups up to date; returns the partitions created."""
    table = _table()
    created = partitions.ensure_months(table, COLUMN, first=now, count=AHEAD_MONTHS)
    for month in partitions.months_in_default(table, COLUMN):
        if partitions.ensure_month(table, COLUMN, month):
            created.append(partitions.partition_name(table, month))
    log_rollups.roll_up()  # by the real clock, whatever `now` the partitions are made for
    return created


def _delete_feedback_sql(partition: str, bounded: bool) -> str:
    quote = connection.ops.quote_name
    condition = f" AND q.{quote(COLUMN)} < %s" if bounded else ""
    return (
        f"DELETE FROM {quote(QueryFeedback._meta.db_table)} f USING {quote(partition)} q "  # noqa: S608
        f"WHERE f.query_id = q.id{condition}"
    )


def _drop_month(partition: partitions.Partition) -> int:
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(_delete_feedback_sql(partition.name, bounded=False))
        return partitions.drop_partition(_table(), partition)


def _delete_before(partition: partitions.Partition, cutoff: datetime) -> int:
    quote = connection.ops.quote_name
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_delete_feedback_sql(partition.name, bounded=True), [cutoff])
        cursor.execute(
            f"DELETE FROM {quote(partition.name)} WHERE {quote(COLUMN)} < %s",  # noqa: S608
            [cutoff],
        )
        return int(cursor.rowcount)


def purge_before(cutoff: datetime) -> Purged:
    """Remove the current tenant's queries (and their feedback) created before `cutoff`."""
    rows = dropped = 0
    for partition in partitions.partitions(_table()):
        if partition.end is not None and partition.end <= cutoff:
            rows += _drop_month(partition)
            dropped += 1
        elif partition.start is None or partition.start < cutoff:
            rows += _delete_before(partition, cutoff)  # straddles the cut-off, or DEFAULT
    log_rollups.forget_before(cutoff)
    return Purged(rows=rows, partitions_dropped=dropped)
