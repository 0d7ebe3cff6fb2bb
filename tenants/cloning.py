"""Copy the migrated template schema into a new tenant schema, fast.

django-tenants ships a general-purpose `clone_schema` PL/pgSQL function; it walks the
catalogs object by object and took 0.3-0.5 s per tenant here, and several seconds once a
long-lived connection had created and rolled back many schemas (catalog bloat). Our tenant
schemas hold only tables, identity sequences, constraints and indexes, so this module
copies exactly those, keeping every object's name (later migrations refer to names):

1. `CREATE TABLE … (LIKE template.t INCLUDING DEFAULTS IDENTITY GENERATED …)` — columns,
   NOT NULL, defaults, generated columns and fresh identity sequences;
2. the template's rows (content types, permissions, migration records), identities reset;
3. primary key, unique, check and exclusion constraints, then plain indexes, then foreign
   keys, each from the template's own definition with the schema name swapped.

A partitioned table (the query log) is created with its partition key, its partitions as
`PARTITION OF` it with their bounds; constraints and indexes are declared on the parent
only (with `ON ONLY` removed) and PostgreSQL gives every partition its own, named as in the
template.

Everything runs in the caller's transaction. `tests/tenants/test_cloning.py` compares a
clone's catalog with the template's, so a new kind of object cannot slip through unseen.
"""

from __future__ import annotations

import re
from typing import Any

from django.db import connection

_LIKE_OPTIONS = (
    "INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING GENERATED INCLUDING STORAGE "
    "INCLUDING COMMENTS INCLUDING COMPRESSION"
)


class UnsupportedTemplate(RuntimeError):
    """The template holds an object this cloner does not copy (fall back to the slow path)."""


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _rows(sql: str, params: list[str]) -> list[tuple[object, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def _check_supported(source: str) -> None:
    unsupported = _rows(
        """
        SELECT c.relname, c.relkind FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = %s AND c.relkind NOT IN ('r', 'p', 'i', 'I', 'S')
        UNION ALL
        SELECT p.proname, 'f' FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = %s
        UNION ALL
        SELECT a.attname, 'd' FROM pg_attrdef d
        JOIN pg_class c ON c.oid = d.adrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
        WHERE n.nspname = %s AND pg_get_expr(d.adbin, d.adrelid) LIKE 'nextval(%%'
        """,
        [source, source, source],
    )
    if unsupported:
        raise UnsupportedTemplate(f"template objects not handled here: {unsupported[:5]}")


def _swap_schema(definition: str, source: str, target: str) -> str:
    # Definitions name the template's objects as `tenant_template.x` or `"tenant_template".x`.
    pattern = re.compile(rf'(?<![\w"])("?){re.escape(source)}\1\.')
    return pattern.sub(_quote(target).replace("\\", "\\\\") + ".", definition)


def clone_schema(source: str, target: str) -> None:
    """Create schema `target` as a copy of `source` (structure and rows)."""
    _check_supported(source)
    src, dst = _quote(source), _quote(target)
    tables = _rows(
        "SELECT c.relname, CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND NOT c.relispartition "
        "ORDER BY c.relname",
        [source],
    )
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE SCHEMA {dst}")
        for table, partition_key in tables:
            name = _quote(str(table))
            partitioned = f" PARTITION BY {partition_key}" if partition_key else ""
            cursor.execute(
                f"CREATE TABLE {dst}.{name} (LIKE {src}.{name} {_LIKE_OPTIONS}){partitioned}"
            )
        _create_partitions(cursor, source, target)
        _copy_rows(cursor, source, target, [str(row[0]) for row in tables])
        constraints = _rows(
            """
            SELECT c.relname, con.conname, con.contype, pg_get_constraintdef(con.oid)
            FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = %s AND con.contype IN ('p', 'u', 'c', 'x', 'f')
            AND con.conparentid = 0 AND NOT (con.contype = 'c' AND con.coninhcount > 0)
            ORDER BY con.contype = 'f', c.relname, con.conname
            """,
            [source],
        )
        for owner, constraint, _kind, definition in constraints:
            cursor.execute(
                f"ALTER TABLE {dst}.{_quote(str(owner))} ADD CONSTRAINT {_quote(str(constraint))} "
                + _swap_schema(str(definition), source, target)
            )
        indexes = _rows(
            """
            SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i
            JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace
            WHERE n.nspname = %s AND NOT EXISTS (
                SELECT 1 FROM pg_constraint con WHERE con.conindid = i.indexrelid
            ) AND NOT EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhrelid = i.indexrelid)
            """,
            [source],
        )
        for (definition,) in indexes:
            # A partitioned table's index reads `ON ONLY parent`; without ONLY it reaches
            # every partition, as it does in the template.
            definition = re.sub(r" ON ONLY ", " ON ", str(definition), count=1)
            cursor.execute(_swap_schema(definition, source, target))


def _create_partitions(cursor: Any, source: str, target: str) -> None:
    partitions = _rows(
        """
        SELECT c.relname, p.relname, pg_get_expr(c.relpartbound, c.oid)
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_inherits h ON h.inhrelid = c.oid JOIN pg_class p ON p.oid = h.inhparent
        WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND c.relispartition
        ORDER BY c.relname
        """,
        [source],
    )
    dst = _quote(target)
    for name, parent, bounds in partitions:
        cursor.execute(
            f"CREATE TABLE {dst}.{_quote(str(name))} PARTITION OF {dst}.{_quote(str(parent))} "
            f"{bounds}"
        )


def _copy_rows(cursor: Any, source: str, target: str, tables: list[str]) -> None:
    src, dst = _quote(source), _quote(target)
    for table in tables:
        name = _quote(table)
        if not _rows(f"SELECT 1 FROM {src}.{name} LIMIT 1", []):  # noqa: S608 - catalog names
            continue
        columns = [
            _quote(str(r[0]))
            for r in _rows(
                "SELECT a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
                "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s "
                "AND c.relname = %s AND a.attnum > 0 AND NOT a.attisdropped "
                "AND a.attgenerated = '' ORDER BY a.attnum",
                [source, table],
            )
        ]
        column_list = ", ".join(columns)
        cursor.execute(
            f"INSERT INTO {dst}.{name} ({column_list}) OVERRIDING SYSTEM VALUE "  # noqa: S608
            f"SELECT {column_list} FROM {src}.{name}"
        )
        identities = _rows(
            "SELECT a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s "
            "AND c.relname = %s AND a.attidentity <> ''",
            [target, table],
        )
        for (column,) in identities:
            qualified = f"{dst}.{name}"
            maximum = f"(SELECT max({_quote(str(column))}) FROM {qualified})"  # noqa: S608
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence(%s, %s), {maximum})",
                [qualified, str(column)],
            )
