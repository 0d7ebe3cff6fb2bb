"""Deleting a tenant in Django admin: typed confirmation, files removed, audited; no bulk delete."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context

from tenants.models import Domain, OperatorAction, Tenant
from tests.factories import DocumentFactory

pytestmark = pytest.mark.django_db


def _schema_exists(schema: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [schema])
        return cursor.fetchone() is not None


def test_the_stock_delete_selected_action_is_gone(operator: Client, make_tenant: Any) -> None:
    handle = make_tenant("admdel_list")
    page = operator.get("/admin/tenants/tenant/")
    assert page.status_code == 200
    assert "delete_selected" not in page.content.decode()
    bulk = operator.post(
        "/admin/tenants/tenant/",
        {"action": "delete_selected", "_selected_action": [handle.tenant.pk]},
    )
    assert Tenant.objects.filter(schema_name="admdel_list").exists()
    assert bulk.status_code in (200, 302)


def test_deleting_needs_the_schema_name_typed_and_removes_everything(
    operator: Client, make_tenant: Any
) -> None:
    handle = make_tenant("admdel_one")
    with schema_context(handle.schema):
        DocumentFactory(filename="kept-until-deleted.txt", chunks=["wing flutter"])
        with connection.cursor() as cursor:  # the test's transaction: fire deferred checks now
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    media = Path(settings.MEDIA_ROOT) / handle.schema
    (media / "documents").mkdir(parents=True, exist_ok=True)
    (media / "documents" / "original.pdf").write_bytes(b"%PDF-1.4")
    indexes = Path(settings.INDEX_ROOT) / handle.schema
    indexes.mkdir(parents=True, exist_ok=True)
    url = f"/admin/tenants/tenant/{handle.tenant.pk}/delete/"

    page = operator.get(url)
    assert page.status_code == 200
    text = page.content.decode()
    assert "Type the schema name to confirm" in text
    assert "1 document(s)" in text

    wrong = operator.post(url, {"schema": "admdel_other"})
    assert wrong.status_code == 200
    assert "That is not this tenant&#x27;s schema name" in wrong.content.decode()
    assert Tenant.objects.filter(pk=handle.tenant.pk).exists()
    assert _schema_exists(handle.schema)

    done = operator.post(url, {"schema": handle.schema})
    assert done.status_code == 302
    assert done["Location"] == "/admin/tenants/tenant/"
    assert not Tenant.objects.filter(pk=handle.tenant.pk).exists()
    assert not Domain.objects.filter(domain=handle.domain).exists()
    assert not _schema_exists(handle.schema)
    assert not media.exists()
    assert not indexes.exists()
    record = OperatorAction.objects.get(action="delete")
    assert record.tenant_schema == handle.schema
    assert record.operator == "op@example.com"
