"""The Ask page as the server renders it: the document filter, the empty-workspace notice and
what right-to-left text and assistive technology need."""

from __future__ import annotations

import re

import pytest
from django_tenants.utils import schema_context

from accounts.models import Role
from documents.models import DocumentStatus
from tests.conftest import PASSWORD, TenantHandle
from tests.factories import DocumentFactory, UserFactory

pytestmark = pytest.mark.django_db


def _ask_page(handle: TenantHandle) -> str:
    response = handle.logged_in_client().get("/ask/")
    assert response.status_code == 200
    return str(response.content.decode())


def test_the_document_filter_lists_ready_documents_by_name_escaped(make_tenant):
    handle = make_tenant("ask_filter")
    contract = DocumentFactory(
        tenant=handle, filename="supplier-contract.txt", status=DocumentStatus.READY
    )
    odd = DocumentFactory(tenant=handle, filename="<b>agenda</b>.txt", status=DocumentStatus.READY)
    DocumentFactory(tenant=handle, filename="still-coming.txt", status=DocumentStatus.PROCESSING)
    DocumentFactory(tenant=handle, filename="broken.txt", status=DocumentStatus.FAILED)
    html = _ask_page(handle)
    assert '<label for="document-filter">Documents</label>' in html
    options = re.findall(r'<option value="(\d*)">([^<]*)</option>', html)
    assert options == [
        ("", "All documents"),
        (str(odd.id), "&lt;b&gt;agenda&lt;/b&gt;.txt"),
        (str(contract.id), "supplier-contract.txt"),
    ]
    assert 'id="no-documents"' not in html


def test_an_empty_workspace_says_where_to_upload(make_tenant):
    handle = make_tenant("ask_empty")
    html = _ask_page(handle)
    assert 'id="document-filter"' not in html
    notice = re.search(r'<p class="alert alert-info" id="no-documents">(.*?)</p>', html, re.S)
    assert notice is not None
    assert "no documents to ask about yet" in notice.group(1)
    assert '<a href="/documents/">Documents</a>' in notice.group(1)

    DocumentFactory(tenant=handle, filename="arriving.txt", status=DocumentStatus.PENDING)
    html = _ask_page(handle)
    assert "still being processed" in html


def test_a_viewer_gets_the_filter_too(make_tenant):
    handle = make_tenant("ask_viewer")
    DocumentFactory(tenant=handle, filename="handbook.md", status=DocumentStatus.READY)
    viewer = UserFactory(tenant=handle, role=Role.VIEWER)
    client = handle.client()
    with schema_context(handle.schema):
        assert client.login(username=viewer.email, password=PASSWORD)
    html = client.get("/ask/").content.decode()
    assert ">handbook.md</option>" in html


def test_text_direction_labels_and_toggle_states_are_in_the_markup(make_tenant):
    html = _ask_page(make_tenant("ask_a11y"))
    # Arabic or Hebrew questions, answers and passages are laid out right to left.
    for element_id in ["question", "answer", "passage-text"]:
        tag = re.search(rf'<[a-z]+ [^>]*id="{element_id}"[^>]*>', html)
        assert tag is not None, element_id
        assert 'dir="auto"' in tag.group(0), element_id
    # The question box explains Enter and has room for the length counter.
    assert 'aria-describedby="question-help question-count"' in html
    assert "Shift+Enter starts a new line" in html
    # Helpful / not helpful are toggle buttons with a state from the start.
    assert html.count('aria-pressed="false"') == 2
    assert '<label for="feedback-text">' in html
    assert 'id="recent-error"' in html
    # The sources carry their own "[n]" numbers: not a numbered list as well.
    assert '<ul class="sources" id="sources">' in html
