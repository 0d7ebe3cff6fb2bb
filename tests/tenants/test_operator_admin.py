"""Operator admin: usage columns, audited actions, read-only support views."""

from __future__ import annotations

import json
import os

import pytest
from django.test import Client
from django_redis import get_redis_connection
from django_tenants.utils import schema_context

from documents.models import Document, DocumentStatus
from operators.selectors import tenant_usage
from tenants.models import OperatorAction, Tenant
from tests.factories import DocumentFactory, QueryFactory

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/tenants/tenant/"


def test_tenant_list_shows_usage_from_each_schema(make_tenant, operator):
    handle = make_tenant("op_usage")
    DocumentFactory(tenant=handle, filename="a.txt", size=2048, chunk_count=7)
    DocumentFactory(tenant=handle, filename="b.txt", size=2048, chunk_count=5)
    usage = tenant_usage(handle.tenant)
    assert (usage.documents, usage.chunks, usage.storage_bytes) == (2, 12, 4096)
    assert usage.queries_30d == 0
    html = operator.get(CHANGELIST).content.decode()
    assert "Queries (30 d)" in html
    assert "op-usage.localhost" in html
    assert "4.0\xa0KB<br><small>2 documents · 12 chunks</small>" in html
    assert "/support/documents/" in html
    # The tenant's own page shows the same usage and the support links.
    change = operator.get(f"{CHANGELIST}{handle.tenant.pk}/change/").content.decode()
    assert "4.0\xa0KB<br><small>2 documents · 12 chunks</small>" in change
    assert f"/admin/tenants/tenant/{handle.tenant.pk}/support/queries/" in change


def test_actions_are_applied_and_audited(make_tenant, operator, django_capture_on_commit_callbacks):
    handle = make_tenant("op_actions")
    DocumentFactory(tenant=handle, filename="a.txt")
    pk = handle.tenant.pk

    def act(action):
        return operator.post(CHANGELIST, {"action": action, "_selected_action": [pk]})

    assert act("set_plan_free").status_code == 302
    assert Tenant.objects.get(pk=pk).plan == "free"
    act("deactivate")
    assert Tenant.objects.get(pk=pk).is_active is False
    act("reactivate")
    assert Tenant.objects.get(pk=pk).is_active is True
    with django_capture_on_commit_callbacks() as callbacks:
        act("reindex_tenant")
    assert callbacks  # the ingestion tasks are queued after commit
    with schema_context(handle.schema):
        assert Document.objects.get().status == DocumentStatus.PENDING

    actions = list(
        OperatorAction.objects.filter(tenant_schema="op_actions").values_list("action", "operator")
    )
    assert [a for a, _ in reversed(actions)] == [
        "change_plan", "deactivate", "reactivate", "reindex",
    ]  # fmt: skip
    assert {who for _, who in actions} == {"op@example.com"}
    log = operator.get("/admin/tenants/operatoraction/").content.decode()
    assert "reindex" in log
    assert operator.get("/admin/tenants/operatoraction/add/").status_code == 403


def test_rebuild_index_action_queues_a_task_in_the_tenant(make_tenant, operator, settings):
    handle = make_tenant("op_rebuild")
    settings.QUEUE_PREFIX = prefix = f"oprebuild{os.getpid()}-"  # no worker takes it
    redis = get_redis_connection("default")
    operator.post(
        CHANGELIST, {"action": "rebuild_tenant_index", "_selected_action": [handle.tenant.pk]}
    )
    raw = redis.lpop(f"{prefix}maintenance")
    assert raw is not None, "nothing was queued on the maintenance queue"
    headers = json.loads(raw)["headers"]
    assert headers["task"] == "search.rebuild_index"
    assert headers["_schema_name"] == "op_rebuild"  # it runs in the tenant
    assert OperatorAction.objects.filter(
        action="rebuild_index", tenant_schema="op_rebuild"
    ).exists()


def test_support_views_are_read_only_escaped_and_audited(make_tenant, operator):
    handle = make_tenant("op_support")
    DocumentFactory(
        tenant=handle,
        filename="<img src=x onerror=alert(1)>.txt",
        status=DocumentStatus.FAILED,
        error="bad",
    )
    pk = handle.tenant.pk
    docs = operator.get(f"{CHANGELIST}{pk}/support/documents/")
    html = docs.content.decode()
    assert docs.status_code == 200
    assert "Read-only support view" in html
    assert "&lt;img src=x onerror=alert(1)&gt;.txt" in html
    assert "<img src=x" not in html
    found = operator.get(f"{CHANGELIST}{pk}/support/documents/?q=%3Cimg%00")  # NUL: no 500
    assert found.status_code == 200
    assert "&lt;img src=x" in found.content.decode()
    QueryFactory(tenant=handle, text="why <b>down</b>", error="server_error")
    queries = operator.get(f"{CHANGELIST}{pk}/support/queries/")
    assert queries.status_code == 200
    html = queries.content.decode()
    assert "Read-only support view" in html
    assert "why &lt;b&gt;down&lt;/b&gt;" in html
    assert "<td>server_error</td>" in html  # a failed search shows why
    assert set(
        OperatorAction.objects.filter(tenant_schema="op_support").values_list("action", flat=True)
    ) == {"view_documents", "view_queries"}
    # Back in the public schema after switching into the tenant's.
    assert operator.get(CHANGELIST).status_code == 200


def test_support_views_need_an_operator(make_tenant):
    handle = make_tenant("op_anon")
    response = Client(HTTP_HOST="localhost").get(
        f"{CHANGELIST}{handle.tenant.pk}/support/documents/"
    )
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_creating_a_tenant_in_admin_is_audited(db, operator):
    response = operator.post(
        "/admin/tenants/tenant/add/",
        {
            "schema_name": "op_created",
            "name": "Created Co",
            "plan": "pro",
            "domain": "op-created.localhost",
            "admin_email": "boss@created.test",
            "admin_password": "",
        },
        follow=True,
    )
    assert response.status_code == 200
    assert "First admin: boss@created.test / " in response.content.decode()
    entry = OperatorAction.objects.get(action="create")
    assert entry.tenant_schema == "op_created"
    assert "boss@created.test" in entry.detail


def test_a_domain_typed_in_capitals_in_admin_is_stored_as_routing_reads_it(db, operator):
    response = operator.post(
        "/admin/tenants/tenant/add/",
        {
            "schema_name": "op_caps",
            "name": "Caps Co",
            "plan": "pro",
            "time_zone": "UTC",
            "domain": " Op-Caps.LOCALHOST. ",
            "admin_email": "boss@caps.test",
            "admin_password": "",
        },
        follow=True,
    )
    assert response.status_code == 200
    assert "is ready at op-caps.localhost" in response.content.decode()
    assert Client(HTTP_HOST="OP-CAPS.localhost").get("/login/").status_code == 200


def test_a_tenant_added_without_a_domain_gets_the_default_one(db, operator):
    response = operator.post(
        "/admin/tenants/tenant/add/",
        {"schema_name": "op_nodomain", "name": "No Domain Co", "plan": "pro",
         "admin_email": "boss@nodomain.test", "admin_password": ""},
        follow=True,
    )  # fmt: skip
    assert response.status_code == 200
    assert "is ready at op-nodomain.localhost" in response.content.decode()
    assert Tenant.objects.get(schema_name="op_nodomain").domains.get().domain == (
        "op-nodomain.localhost"
    )


def test_an_invalid_schema_name_is_one_error_not_two(db, operator):
    response = operator.post(
        "/admin/tenants/tenant/add/",
        {"schema_name": "Bad Name!", "name": "Bad", "plan": "pro",
         "admin_email": "boss@bad.test", "admin_password": ""},
    )  # fmt: skip
    text = response.content.decode()
    assert response.status_code == 200
    assert "The schema name &#x27;&#x27; is not valid" not in text
    assert "The schema name '' is not valid" not in text
    assert text.count('class="errorlist') == 1


def test_the_reindex_hint_names_the_tenants_schema(make_tenant, operator):
    handle = make_tenant("op_hint")
    page = operator.get(f"/admin/tenants/tenant/{handle.tenant.pk}/change/")
    assert "manage.py reindex --tenant op_hint" in page.content.decode()
