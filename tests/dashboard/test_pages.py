"""Dashboard pages: who sees what, and document-derived strings stay escaped."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from accounts.models import Role
from analytics import selectors as analytics_selectors
from documents.models import DocumentStatus
from tests.conftest import PASSWORD
from tests.factories import DocumentFactory, UserFactory

pytestmark = pytest.mark.django_db

PAGES = ["/documents/", "/ask/", "/analytics/"]
ADMIN_PAGES = ["/settings/api-keys/", "/settings/members/"]


def _client_for(handle, role):
    user = UserFactory(tenant=handle, role=role)
    client = handle.client()
    with schema_context(handle.schema):
        assert client.login(username=user.email, password=PASSWORD)
    return client, user


@pytest.mark.parametrize("path", [*PAGES, *ADMIN_PAGES, "/"])
def test_pages_need_a_sign_in(make_tenant, path):
    handle = make_tenant("dash_anon")
    response = handle.client().get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_home_goes_to_documents_and_pages_render_with_navigation(make_tenant):
    handle = make_tenant("dash_nav")
    client = handle.logged_in_client()
    assert client.get("/")["Location"] == "/documents/"
    for path in [*PAGES, *ADMIN_PAGES]:
        response = client.get(path)
        assert response.status_code == 200, path
        html = response.content.decode()
        assert 'aria-current="page"' in html
        for link in ["/documents/", "/ask/", "/analytics/", "/settings/api-keys/"]:
            assert f'href="{link}"' in html
        assert "<style" not in html
        assert "style=" not in html
        assert "<script>" not in html  # CSP: only script files (json_script data is inert)


@pytest.mark.parametrize("role", [Role.MEMBER, Role.VIEWER])
def test_members_and_viewers_cannot_open_admin_pages_or_see_their_links(make_tenant, role):
    handle = make_tenant("dash_roles")
    client, _user = _client_for(handle, role)
    html = client.get("/documents/").content.decode()
    assert 'href="/settings/members/"' not in html
    for path in ADMIN_PAGES:
        response = client.get(path)
        assert response.status_code == 403
        assert "owners and admins" in response.content.decode()
    assert client.post("/settings/api-keys/", {"name": "x", "scopes": ["read"]}).status_code == 403


def test_viewer_sees_no_upload_control_but_member_does(make_tenant):
    handle = make_tenant("dash_upload")
    viewer, _ = _client_for(handle, Role.VIEWER)
    html = viewer.get("/documents/").content.decode()
    assert 'id="file-input"' not in html
    assert "cannot" in html or "not upload" in html
    member, _ = _client_for(handle, Role.MEMBER)
    assert 'id="file-input"' in member.get("/documents/").content.decode()


def test_document_table_escapes_names_and_errors_and_shows_progress(make_tenant):
    handle = make_tenant("dash_escape")
    DocumentFactory(
        tenant=handle,
        filename="<script>alert(1)</script>.txt",
        status=DocumentStatus.PROCESSING,
        progress=40,
    )
    DocumentFactory(
        tenant=handle,
        filename="broken.pdf",
        status=DocumentStatus.FAILED,
        error="<b>The PDF</b> is damaged.",
    )
    html = handle.logged_in_client().get("/documents/").content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;.txt" in html
    assert "&lt;b&gt;The PDF&lt;/b&gt; is damaged." in html
    assert '<progress max="100" value="40"' in html


def test_document_search_status_filter_and_pagination(make_tenant):
    handle = make_tenant("dash_pages")
    for i in range(27):
        DocumentFactory(tenant=handle, filename=f"report-{i:02d}.txt")
    DocumentFactory(
        tenant=handle, filename="invoice.txt", status=DocumentStatus.FAILED, error="bad"
    )
    client = handle.logged_in_client()
    first = client.get("/documents/").content.decode()
    assert "Page 1 of 2" in first
    second = client.get("/documents/?page=2").content.decode()
    assert "Page 2 of 2" in second
    found = client.get("/documents/?q=invoice").content.decode()
    assert "invoice.txt" in found
    assert "report-01.txt" not in found
    failed = client.get("/documents/?status=failed").content.decode()
    assert "invoice.txt" in failed
    assert "report-01.txt" not in failed
    nothing = client.get("/documents/?q=zzz").content.decode()
    assert "No documents match" in nothing


def test_empty_documents_page_tells_what_to_do(make_tenant):
    handle = make_tenant("dash_empty")
    html = handle.logged_in_client().get("/documents/").content.decode()
    assert "No documents yet" in html


def test_members_only_manage_their_own_documents_in_the_table(make_tenant):
    handle = make_tenant("dash_own")
    member, user = _client_for(handle, Role.MEMBER)
    mine = DocumentFactory(tenant=handle, filename="mine.txt", uploaded_by=user)
    DocumentFactory(tenant=handle, filename="theirs.txt")
    html = member.get("/documents/").content.decode()
    rows = html.split("<tr ")
    mine_row = next(r for r in rows if f'data-id="{mine.pk}"' in r)
    theirs_row = next(r for r in rows if "theirs.txt" in r)
    assert 'data-action="delete"' in mine_row
    assert 'data-action="delete"' not in theirs_row


def test_analytics_selectors_and_page(make_tenant):
    handle = make_tenant("dash_stats")
    DocumentFactory(tenant=handle, filename="a.txt", status=DocumentStatus.READY, chunk_count=3)
    DocumentFactory(tenant=handle, filename="b.txt", status=DocumentStatus.FAILED)
    with schema_context(handle.schema):
        assert analytics_selectors.documents_by_status() == {
            "pending": 0, "processing": 0, "ready": 1, "failed": 1,
        }  # fmt: skip
        days = analytics_selectors.uploads_per_day(days=30)
        assert len(days) == 30
        assert days[-1][1] == 2
        assert sum(count for _, count in days) == 2
        assert analytics_selectors.document_totals().chunks == 3
    html = handle.logged_in_client().get("/analytics/").content.decode()
    assert "vendor/chartjs/chart.umd.js" in html
    assert 'id="chart-data"' in html
    assert 'id="uploads-chart"' in html
