"""The operator's support views are operator access: they show every collection of a
workspace, say so, mark the documents of restricted collections, record what was shown, and
only operators who may view tenants reach them."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django_tenants.utils import schema_context

from accounts.models import Collection, User
from tenants.models import OperatorAction
from tests.conftest import TenantHandle
from tests.factories import DocumentFactory, QueryFactory

pytestmark = pytest.mark.django_db

BANNER = "Operator access: you see every collection of this workspace, and this access is recorded."
MARK = "restricted: operator access"


def _support(handle: TenantHandle, view: str) -> str:
    return f"/admin/tenants/tenant/{handle.tenant.pk}/support/{view}/"


def _last(action: str, schema: str) -> OperatorAction:
    entry = OperatorAction.objects.filter(action=action, tenant_schema=schema).first()
    assert entry is not None, f"no {action} entry for {schema}"
    return entry


def test_documents_of_a_restricted_collection_are_marked_and_the_visit_recorded(
    make_tenant, operator
):
    handle = make_tenant("op_access_docs")
    with schema_context(handle.schema):
        payroll = Collection.objects.create(name="Payroll <HR>")
        general = Collection.objects.get(is_default=True)
    salaries = DocumentFactory(tenant=handle, filename="salaries.txt", collections=[payroll])
    DocumentFactory(tenant=handle, filename="handbook.txt")
    # In the default collection too, so everyone reads it: not restricted.
    DocumentFactory(tenant=handle, filename="shared.txt", collections=[general, payroll])

    response = operator.get(_support(handle, "documents"))
    assert response.status_code == 200
    html = response.content.decode()
    assert BANNER in html
    assert "also of its restricted collections (Payroll &lt;HR&gt;)" in html
    assert html.count(MARK) == 1
    row = html[html.index("salaries.txt") :].split("</tr>", 1)[0]
    assert f'Payroll &lt;HR&gt; <strong class="restricted-mark">{MARK}</strong>' in row
    assert "General, Payroll &lt;HR&gt;</td>" in html  # the shared one, unmarked

    entry = _last("view_documents", handle.schema)
    assert entry.operator == "op@example.com"
    assert entry.tenant == handle.tenant
    assert entry.detail == (
        f"3 document(s) shown; 1 of restricted collections (Payroll <HR>): ids {salaries.pk}"
    )
    operator.get(_support(handle, "documents") + "?q=sal")
    assert _last("view_documents", handle.schema).detail.endswith("; name contains 'sal'")


def test_the_query_log_is_marked_and_its_visit_recorded(make_tenant, operator):
    handle = make_tenant("op_access_queries")
    with schema_context(handle.schema):
        Collection.objects.create(name="Payroll")
    first = QueryFactory(tenant=handle, text="What is the CFO's salary?")
    last = QueryFactory(tenant=handle, text="parking rules")
    html = operator.get(_support(handle, "queries")).content.decode()
    assert BANNER in html
    assert "restricted collections (Payroll)" in html
    assert "What is the CFO&#x27;s salary?" in html
    assert _last("view_queries", handle.schema).detail == (
        f"2 query text(s) shown, ids {first.pk} to {last.pk}, whatever collections their "
        "callers read"
    )


def test_people_who_are_not_operators_cannot_reach_the_support_views(make_tenant):
    handle = make_tenant("op_access_refused")
    DocumentFactory(tenant=handle, filename="salaries.txt")
    # The workspace's own owner, signed in on its host: the admin is not served there.
    assert handle.logged_in_client().get(_support(handle, "documents")).status_code == 404
    # An account of the platform without staff status is sent to the admin's sign-in.
    User.objects.create_user(email="someone@platform.test", password="Someone-pass-42")
    someone = Client(HTTP_HOST="localhost")
    assert someone.login(username="someone@platform.test", password="Someone-pass-42")
    refused = someone.get(_support(handle, "documents"))
    assert refused.status_code == 302
    assert "/admin/login/" in refused["Location"]
    # Staff without the permission to view tenants is refused too.
    staff = User.objects.create_user(
        email="staff@platform.test", password="Staff-pass-42", is_staff=True
    )
    colleague = Client(HTTP_HOST="localhost")
    assert colleague.login(username="staff@platform.test", password="Staff-pass-42")
    for view in ("documents", "queries"):
        assert colleague.get(_support(handle, view)).status_code == 403
    assert not OperatorAction.objects.filter(tenant_schema=handle.schema).exists()
    # Given that permission, the same account is an operator.
    staff.user_permissions.add(Permission.objects.get(codename="view_tenant"))
    assert colleague.get(_support(handle, "documents")).status_code == 200
    assert _last("view_documents", handle.schema).operator == "staff@platform.test"
