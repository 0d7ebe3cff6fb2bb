"""Monthly range partitions of a table in the current tenant schema (the query log uses them).

A table declared `PARTITION BY RANGE (<timestamp column>)` holds one partition per calendar
month in UTC, named `<table>_yYYYYmMM`, and a DEFAULT partition `<table>_default` that
takes the rows of a month without a partition of its own, so an insert never fails.
Creating a month's partition moves that month's rows out of the DEFAULT partition in the
same transaction (PostgreSQL refuses to attach a range the DEFAULT partition still holds
rows of). Writers to the table wait while it does (a SHARE ROW EXCLUSIVE lock on the parent;
readers do not): an insert routed to the DEFAULT partition meanwhile either made the attach
fail or, waiting for it, was refused afterwards as outside the DEFAULT partition's new range,
and the row was lost. Dropping a month detaches its partition and drops it: no row-by-row
DELETE.

Everything works on the connection's current schema and takes an advisory lock per table,
so a beat task, provisioning and a second worker never create the same month twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import connection, transaction

_LOCK_NAMESPACE = 0x7E4A_0002  # advisory lock class of this module (tenants/services uses 0001)


@dataclass(frozen=True)
class Partition:
    """One partition of a table; `start`/`end` are None for the DEFAULT partition."""

    name: str
    start: datetime | None
    end: datetime | None

    @property
    def is_default(self) -> bool:
        return self.start is None


def month_start(moment: datetime) -> datetime:
    """The first instant (UTC) of the month `moment` falls in."""
    utc = moment.astimezone(UTC)
    return datetime(utc.year, utc.month, 1, tzinfo=UTC)


def add_months(month: datetime, count: int) -> datetime:
    index = month.year * 12 + month.month - 1 + count
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def partition_name(table: str, month: datetime) -> str:
    return f"{table}_y{month:%Y}m{month:%m}"


def default_partition_name(table: str) -> str:
    return f"{table}_default"


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def partitioned_tables() -> dict[str, str]:
    """The current schema's range-partitioned tables and their partition key column."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, a.attname FROM pg_partitioned_table p "
            "JOIN pg_class c ON c.oid = p.partrelid "
            "JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0] "
            "WHERE c.relnamespace = current_schema()::regnamespace AND p.partstrat = 'r' "
            "AND p.partnatts = 1 AND NOT c.relispartition"
        )
        return {str(table): str(column) for table, column in cursor.fetchall()}


def partitions(table: str) -> list[Partition]:
    """The table's partitions, oldest month first, the DEFAULT partition (if any) last."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname, bounds[1]::timestamptz, bounds[2]::timestamptz
            FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            LEFT JOIN LATERAL regexp_match(
                pg_get_expr(c.relpartbound, c.oid), 'FROM \\(''([^'']+)''\\) TO \\(''([^'']+)''\\)'
            ) AS bounds ON true
            WHERE i.inhparent = (quote_ident(current_schema()) || '.' || quote_ident(%s))::regclass
            ORDER BY bounds[1]::timestamptz NULLS LAST
            """,
            [table],
        )
        return [Partition(str(name), start, end) for name, start, end in cursor.fetchall()]


def _lock(table: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, hashtext(current_schema() || '.' || %s))",
            [_LOCK_NAMESPACE, table],
        )


def _exists(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT to_regclass(quote_ident(current_schema()) || '.' || quote_ident(%s))", [name]
        )
        row = cursor.fetchone()
    return bool(row and row[0])


def ensure_month(table: str, column: str, month: datetime) -> bool:
    """Give `month` (a month_start) its partition, moving its rows out of the DEFAULT
    partition; False when the partition already existed."""
    start, end = month, add_months(month, 1)
    name = partition_name(table, start)
    with transaction.atomic():
        _lock(table)
        if _exists(name):
            return False
        parent, part = _quote(table), _quote(name)
        default = default_partition_name(table)
        with connection.cursor() as cursor:
            # Writers wait from here to the commit; they then route by the new partitions.
            cursor.execute(f"LOCK TABLE ONLY {parent} IN SHARE ROW EXCLUSIVE MODE")
            cursor.execute(
                f"CREATE TABLE {part} (LIKE {parent} INCLUDING DEFAULTS INCLUDING CONSTRAINTS "
                "INCLUDING STORAGE INCLUDING COMMENTS)"
            )
            if _exists(default):
                in_range = f"{_quote(column)} >= %s AND {_quote(column)} < %s"
                cursor.execute(
                    f"WITH moved AS (DELETE FROM {_quote(default)} WHERE {in_range} "  # noqa: S608
                    f"RETURNING *) INSERT INTO {part} SELECT * FROM moved",
                    [start, end],
                )
            cursor.execute(
                f"ALTER TABLE {parent} ATTACH PARTITION {part} FOR VALUES FROM (%s) TO (%s)",
                [start, end],
            )
    return True


def ensure_months(table: str, column: str, *, first: datetime, count: int) -> list[str]:
    """Partitions for `count` months from `first`'s month; returns the ones created."""
    start = month_start(first)
    months = [add_months(start, offset) for offset in range(count)]
    return [partition_name(table, m) for m in months if ensure_month(table, column, m)]


def months_in_default(table: str, column: str) -> list[datetime]:
    """The months the DEFAULT partition holds rows of (they belong in partitions of their own)."""
    default = default_partition_name(table)
    if not _exists(default):
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT date_trunc('month', {_quote(column)} AT TIME ZONE 'UTC') "  # noqa: S608
            f"FROM {_quote(default)}"
        )
        return [month.replace(tzinfo=UTC) for (month,) in cursor.fetchall()]


def drop_partition(table: str, partition: Partition) -> int:
    """Detach and drop one month's partition; returns how many rows it held."""
    with transaction.atomic():
        _lock(table)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {_quote(partition.name)}")  # noqa: S608
            rows = int(cursor.fetchone()[0])
            cursor.execute(f"ALTER TABLE {_quote(table)} DETACH PARTITION {_quote(partition.name)}")
            cursor.execute(f"DROP TABLE {_quote(partition.name)}")
    return rows


def ensure_upcoming(*, now: datetime, months: int) -> list[str]:
    """Partitions for this month and the next `months - 1` in every range-partitioned
    table of the current schema (what provisioning gives a new tenant)."""
    created: list[str] = []
    for table, column in partitioned_tables().items():
        created += ensure_months(table, column, first=now, count=months)
    return created
