"""The documents list, through the API and the page: sorting (kept across pages), reindex
only once at a time, names in any script, a page that fits a phone, an upload form without
files."""

from __future__ import annotations

import re

import pytest
from django_tenants.utils import schema_context

from documents.models import Document, DocumentStatus
from tests.factories import DocumentFactory

pytestmark = pytest.mark.django_db

API = "/api/v1/documents/"


@pytest.fixture
def tenant(make_tenant):
    return make_tenant("qa_list")


@pytest.mark.parametrize("status", [DocumentStatus.PENDING, DocumentStatus.PROCESSING])
def test_reindex_refuses_a_document_still_in_flight(tenant, status):
    document = DocumentFactory(tenant=tenant, filename="busy.txt", status=status)
    response = tenant.logged_in_client().post(f"{API}{document.pk}/reindex/")
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "in_progress"
    assert error["message"].startswith("'busy.txt' is still being processed; wait until")
    with schema_context(tenant.schema):
        assert Document.objects.get(pk=document.pk).status == status


def test_reindex_of_a_finished_document_is_accepted(tenant):
    document = DocumentFactory(tenant=tenant, filename="broken.pdf", status=DocumentStatus.FAILED)
    response = tenant.logged_in_client().post(f"{API}{document.pk}/reindex/")
    assert response.status_code == 202
    assert response.json()["status"] == "pending"


def test_the_api_sorts_by_name_size_and_upload_time(tenant):
    for name, size in [("beta.txt", 30), ("alpha.txt", 10), ("gamma.txt", 20)]:
        DocumentFactory(tenant=tenant, filename=name, size=size)
    client = tenant.logged_in_client()

    def names(ordering: str) -> list[str]:
        response = client.get(API, {"ordering": ordering})
        assert response.status_code == 200, response.content
        return [row["filename"] for row in response.json()["results"]]

    assert names("name") == ["alpha.txt", "beta.txt", "gamma.txt"]
    assert names("-name") == ["gamma.txt", "beta.txt", "alpha.txt"]
    assert names("size") == ["alpha.txt", "gamma.txt", "beta.txt"]
    assert names("-created") == ["gamma.txt", "alpha.txt", "beta.txt"]
    refused = client.get(API, {"ordering": "password"})
    assert refused.status_code == 400
    assert "use name, size, status, created" in refused.json()["error"]["fields"]["ordering"][0]


def test_the_page_sorts_by_a_column_and_keeps_it_across_pages(tenant):
    for index in range(27):
        DocumentFactory(tenant=tenant, filename=f"doc-{index:02d}.txt", size=index + 1)
    client = tenant.logged_in_client()
    html = client.get("/documents/", {"sort": "name", "q": "doc"}).content.decode()
    rows = re.findall(r'title="Download the original">(doc-\d+\.txt)</a></td>', html)
    assert rows[:3] == ["doc-00.txt", "doc-01.txt", "doc-02.txt"]
    assert 'aria-sort="ascending"><a href="?q=doc&amp;sort=-name">Name' in html
    assert 'aria-sort="none"><a href="?q=doc&amp;sort=-size">Size' in html
    assert 'href="?q=doc&amp;sort=name&amp;page=2">Next' in html
    assert 'name="sort" value="name"' in html  # a new search keeps the order
    default = client.get("/documents/", {"sort": "nonsense"}).content.decode()
    assert 'aria-sort="descending"><a href="?sort=created">Uploaded' in default


def test_names_keep_their_direction_and_the_header_row_stays_in_its_box(tenant):
    DocumentFactory(tenant=tenant, filename="שלום-مرحبا.txt", size=5)
    html = tenant.logged_in_client().get("/documents/").content.decode()
    assert '<td data-col="name" dir="auto"><a href="/api/v1/documents/' in html
    assert 'title="Download the original">שלום-مرحبا.txt</a></td>' in html
    thead = html.split("<thead>")[1].split("</thead>")[0]
    # An absolutely placed hidden span in the table escapes its scroll box on a phone.
    assert "visually-hidden" not in thead
    assert '<th scope="col" aria-label="Actions"></th>' in thead


def test_choose_files_is_a_button_and_the_picker_is_out_of_the_tab_order(tenant):
    html = tenant.logged_in_client().get("/documents/").content.decode()
    assert '<button type="button" class="btn btn-secondary" id="choose-files">' in html
    picker = re.search(r'<input type="file" id="file-input"[^>]*>', html)
    assert picker is not None
    assert 'tabindex="-1"' in picker.group(0)


def test_an_upload_sent_as_a_form_without_files_is_told_to_use_multipart(tenant):
    response = tenant.logged_in_client().post(
        API, "file=report.pdf", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 415
    message = response.json()["error"]["message"]
    assert message.endswith("send it as multipart/form-data, with that Content-Type header.")
