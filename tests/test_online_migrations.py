"""New migrations of tenant apps build indexes on existing tables concurrently.

`migrate_schemas` runs each migration in every tenant's schema while the platform serves,
and a plain CREATE INDEX blocks writes to its table until the index is built: uploads and
questions of a big tenant would wait minutes. From the cut-off below, an index on a table
that existed before the migration is built with `AddIndexConcurrently` in a migration with
`atomic = False` (docs/scaling.md "Adding an index"). Indexes of tables created in the same
migration are free to build plainly: the table is empty.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

from django.conf import settings
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.state import ProjectState

# Migrations up to these numbers were written before the rule and are left as they are.
CUT_OFF = {"accounts": 3, "documents": 6, "search": 0, "queries": 2}
# (app, migration name): why it may index an existing table in place. A partitioned parent
# table, for one, cannot be indexed concurrently (index each partition, then attach).
REVIEWED: dict[tuple[str, str], str] = {}

_CREATE_INDEX = re.compile(
    r"\bcreate\s+(?:unique\s+)?index\s+(concurrently\s+)?(?:if\s+not\s+exists\s+)?"
    r"(?:[\w\"]+\s+)?on\s+(?:only\s+)?([\w.\"]+)",
    re.IGNORECASE,
)
_CREATE_TABLE = re.compile(r"\bcreate\s+table\s+(?:if\s+not\s+exists\s+)?([\w.\"]+)", re.IGNORECASE)


def _tenant_apps() -> list[str]:
    return [app for app in settings.TENANT_APPS if app in CUT_OFF]


def _indexed(field: models.Field[Any, Any] | None) -> bool:
    if field is None or field.many_to_many:
        return False  # a many-to-many field is a new table of its own
    return bool(getattr(field, "db_index", False) or field.unique) and not field.primary_key


def _database_operations(operations: Sequence[Any]) -> Iterator[Any]:
    for operation in operations:
        if isinstance(operation, migrations.SeparateDatabaseAndState):
            yield from _database_operations(operation.database_operations)
        else:
            yield operation


def _sql_texts(operation: migrations.RunSQL) -> list[str]:
    statements = operation.sql if isinstance(operation.sql, list | tuple) else [operation.sql]
    return [s[0] if isinstance(s, list | tuple) else str(s) for s in statements]


def _bare(name: str) -> str:
    return name.replace('"', "").split(".")[-1].lower()


def _problems(migration: migrations.Migration, before: ProjectState) -> list[str]:
    """What `migration` does to existing tables that blocks their writes while an index
    builds; `before` is the project state it starts from."""
    operations = list(_database_operations(migration.operations))
    created = {op.name_lower for op in operations if isinstance(op, migrations.CreateModel)}
    sql = [text for op in operations if isinstance(op, migrations.RunSQL)
           for text in _sql_texts(op)]  # fmt: skip
    new_tables = {_bare(name) for text in sql for name in _CREATE_TABLE.findall(text)}
    found: list[str] = []
    for op in operations:
        model = getattr(op, "model_name_lower", None)
        if model in created:
            continue
        if isinstance(op, AddIndexConcurrently):
            if migration.atomic:
                found.append(f"{op.describe()}: the migration needs `atomic = False`")
        elif isinstance(op, migrations.AddIndex):
            found.append(f"{op.describe()}: use AddIndexConcurrently")
        elif isinstance(op, migrations.AddConstraint) and isinstance(
            op.constraint, models.UniqueConstraint
        ):
            found.append(f"{op.describe()}: build the unique index concurrently first")
        elif isinstance(op, migrations.AddField) and _indexed(op.field):
            found.append(f"{op.describe()}: add it with db_index=False, then index concurrently")
        elif isinstance(op, migrations.AlterField) and _indexed(op.field):
            old = before.models[migration.app_label, op.model_name_lower].fields.get(op.name)
            if not _indexed(old):
                found.append(f"{op.describe()}: index it concurrently instead")
        elif isinstance(op, migrations.AlterUniqueTogether | migrations.AlterIndexTogether):
            found.append(f"{op.describe()}: use AddIndexConcurrently")
    for text in sql:
        for concurrently, table in _CREATE_INDEX.findall(text):
            if not concurrently and _bare(table) not in new_tables:
                found.append(f"RunSQL indexes {table} without CONCURRENTLY")
    return found


def _checked_migrations(loader: MigrationLoader) -> list[tuple[str, str]]:
    return sorted(
        key
        for key in loader.disk_migrations
        if key[0] in _tenant_apps()
        and key not in REVIEWED
        and int(key[1].split("_", 1)[0]) > CUT_OFF[key[0]]
    )


def test_new_tenant_migrations_index_existing_tables_concurrently() -> None:
    loader = MigrationLoader(None, ignore_no_migrations=True)
    problems = {
        f"{app}.{name}": found
        for app, name in _checked_migrations(loader)
        if (
            found := _problems(
                loader.disk_migrations[app, name], loader.project_state((app, name), at_end=False)
            )
        )
    }
    assert not problems, f"these would block writes while an index builds: {problems}"


def test_the_check_tells_a_blocking_index_from_an_online_one() -> None:
    """The check on migrations made up here, against the real migration graph's state."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    app, latest = max(key for key in loader.disk_migrations if key[0] == "documents")
    index = models.Index(fields=["created_at"], name="document_created_idx")

    before = loader.project_state((app, latest), at_end=True)

    def verdict(*operations: Any, atomic: bool = True, sql: str = "") -> list[str]:
        body, online = [*operations, *([migrations.RunSQL(sql)] if sql else [])], atomic

        class MadeUp(migrations.Migration):
            operations = body
            atomic = online

        return _problems(MadeUp("9999_made_up", app), before)

    assert verdict(migrations.AddIndex("document", index))
    assert verdict(AddIndexConcurrently("document", index))  # atomic: refused by PostgreSQL
    assert verdict(AddIndexConcurrently("document", index), atomic=False) == []
    assert verdict(migrations.AddField("document", "owner_ref", models.IntegerField(db_index=True)))
    assert verdict(migrations.AddField("document", "note", models.TextField(default=""))) == []
    assert verdict(sql="CREATE INDEX doc_idx ON documents_document (created_at)")
    assert verdict(sql="CREATE INDEX CONCURRENTLY doc_idx ON documents_document (created_at)") == []
    assert verdict(sql="CREATE TABLE t (id int); CREATE INDEX t_idx ON t (id)") == []
