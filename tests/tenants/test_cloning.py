"""A cloned tenant schema matches the template object for object (names included)."""

from __future__ import annotations

import pytest
from django.db import connection

from tenants.cloning import _swap_schema

pytestmark = pytest.mark.django_db

CATALOG = {
    "columns": """
        SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
               a.attidentity, a.attgenerated,
               regexp_replace(coalesce(pg_get_expr(d.adbin, d.adrelid), ''), %s, 'S.', 'g')
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE n.nspname = %s AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
    """,
    "constraints": """
        SELECT c.relname, con.conname, con.contype,
               regexp_replace(pg_get_constraintdef(con.oid), %s, 'S.', 'g')
        FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s
    """,
    "indexes": """
        SELECT regexp_replace(pg_get_indexdef(i.indexrelid), %s, 'S.', 'g')
        FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
        JOIN pg_namespace n ON n.oid = t.relnamespace WHERE n.nspname = %s
    """,
    "relations": """
        SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = %s
    """,
}


def catalog(schema: str) -> dict[str, set[tuple[object, ...]]]:
    found = {}
    with connection.cursor() as cursor:
        for name, sql in CATALOG.items():
            params = [schema] if name == "relations" else [f'"?{schema}"?\\.', schema]
            cursor.execute(sql, params)
            found[name] = set(cursor.fetchall())
    return found


def test_a_clone_has_the_templates_tables_constraints_indexes_and_rows(make_tenant):
    make_tenant("clone_check")
    template, clone = catalog("tenant_template"), catalog("clone_check")
    assert template["relations"] == clone["relations"]
    assert template["columns"] == clone["columns"]
    assert template["constraints"] == clone["constraints"]
    assert template["indexes"] == clone["indexes"]
    with connection.cursor() as cursor:
        for table in ("django_migrations", "django_content_type", "auth_permission"):
            cursor.execute(
                f"SELECT (SELECT count(*) FROM tenant_template.{table}), "  # noqa: S608
                f"(SELECT count(*) FROM clone_check.{table})"
            )
            source_rows, cloned_rows = cursor.fetchone()
            assert source_rows == cloned_rows > 0
        # Identity sequences continue after the copied rows.
        cursor.execute(
            "INSERT INTO clone_check.django_content_type (app_label, model) "
            "VALUES ('x', 'y') RETURNING id"
        )
        new_id = cursor.fetchone()[0]
        cursor.execute("SELECT max(id) FROM tenant_template.django_content_type")
        assert new_id == cursor.fetchone()[0] + 1


def test_schema_names_in_definitions_are_swapped_exactly():
    definition = (
        "FOREIGN KEY (a) REFERENCES tenant_template.documents_document(id) "
        'CREATE INDEX x ON "tenant_template".t USING gin (v) -- my_tenant_template.z'
    )
    swapped = _swap_schema(definition, "tenant_template", "acme")
    assert 'REFERENCES "acme".documents_document' in swapped
    assert 'ON "acme".t' in swapped
    assert "my_tenant_template.z" in swapped
