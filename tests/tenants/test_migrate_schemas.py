"""migrate_schemas hands Django's migrate only the tenant schemas that are behind."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection

from tenants.migration_state import expected_tenant_migrations, schemas_behind

pytestmark = pytest.mark.django_db


def _latest_row(schema: str) -> tuple[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT app, name FROM "{schema}".django_migrations '  # noqa: S608 - test schema
            "WHERE app = 'documents' ORDER BY name DESC LIMIT 1"
        )
        app, name = cursor.fetchone()
    return app, name


def _forget(schema: str, app: str, name: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f'DELETE FROM "{schema}".django_migrations WHERE app = %s AND name = %s',  # noqa: S608
            [app, name],
        )


def test_up_to_date_schemas_are_skipped_and_a_schema_behind_is_migrated(make_tenant: Any):
    current, stale = make_tenant("mig_current"), make_tenant("mig_stale")
    expected = expected_tenant_migrations()
    assert ("documents", _latest_row(current.schema)[1]) in expected
    assert schemas_behind([current.schema, stale.schema], expected) == []

    app, name = _latest_row(stale.schema)
    _forget(stale.schema, app, name)  # as if that migration were new on disk
    assert schemas_behind([current.schema, stale.schema], expected) == [stale.schema]
    assert schemas_behind(["no_such_schema"], expected) == ["no_such_schema"]

    out = io.StringIO()
    # --fake records the migration without running it (its column already exists here).
    call_command("migrate_schemas", tenant=True, fake=True, interactive=False, stdout=out)
    summary = re.search(
        r"(\d+) of (\d+) tenant schemas are at the latest migration", out.getvalue()
    )
    assert summary is not None, out.getvalue()
    assert int(summary[2]) - int(summary[1]) == 1  # only the stale one went to Django
    assert "migrating 1." in out.getvalue()
    assert schemas_behind([current.schema, stale.schema], expected) == []
    assert _latest_row(stale.schema) == (app, name)
