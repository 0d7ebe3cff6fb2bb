"""GET /api/v1/documents/<id>/file/: the original, as an attachment, to members and keys."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django_tenants.utils import schema_context

from documents.models import Document
from tests.accounts.helpers import bearer, key_header, owner_of
from tests.conftest import TenantHandle
from tests.factories import ApiKeyFactory, DocumentFactory, UserFactory

PDF = b"%PDF-1.4\n" + b"0" * 200_000 + b"\n%%EOF\n"


@pytest.fixture
def tenant(make_tenant: Any) -> Iterator[TenantHandle]:
    handle = make_tenant("docfile")
    with schema_context(handle.schema):
        yield handle


def _stored(filename: str, body: bytes, content_type: str) -> Document:
    document = DocumentFactory(filename=filename, content_type=content_type, size=len(body))
    document.file.save(filename, ContentFile(body))
    return document


def _client(tenant: TenantHandle) -> Any:
    return tenant.client()


def _body(response: Any) -> bytes:
    return b"".join(response.streaming_content)


def test_a_member_downloads_the_original_under_its_name(tenant: TenantHandle) -> None:
    document = _stored("Q3 report (final).pdf", PDF, "application/pdf")
    member = UserFactory()
    url = f"/api/v1/documents/{document.pk}/file/"
    response = _client(tenant).get(url, **bearer(tenant, member))
    assert response.status_code == 200
    assert _body(response) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert 'filename="Q3 report (final).pdf"' in response["Content-Disposition"]
    assert response["Content-Length"] == str(len(PDF))
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]


def test_html_is_sent_as_a_download_never_rendered(tenant: TenantHandle) -> None:
    page = b"<script>alert(document.cookie)</script>"
    document = _stored("page.html", page, "text/html")
    key = ApiKeyFactory(tenant=tenant, scopes=["read"]).raw
    response = _client(tenant).get(f"/api/v1/documents/{document.pk}/file/", **key_header(key))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert "sandbox" in response["Content-Security-Policy"]
    assert _body(response) == page


def test_an_unknown_type_is_octet_stream(tenant: TenantHandle) -> None:
    document = _stored("data.bin", b"\x00\x01", "application/x-unknown")
    response = _client(tenant).get(
        f"/api/v1/documents/{document.pk}/file/", **bearer(tenant, owner_of(tenant))
    )
    assert response["Content-Type"] == "application/octet-stream"


def test_a_missing_original_or_document_is_a_json_404_with_a_sentence(tenant: TenantHandle) -> None:
    document = DocumentFactory(filename="gone.txt")
    headers = bearer(tenant, owner_of(tenant))
    response = _client(tenant).get(f"/api/v1/documents/{document.pk}/file/", **headers)
    assert response.status_code == 404
    message = response.json()["error"]["message"]
    assert message == "The original of 'gone.txt' is not stored any more."
    assert _client(tenant).get("/api/v1/documents/999999/file/", **headers).status_code == 404


def test_without_credentials_it_is_401(tenant: TenantHandle) -> None:
    document = _stored("a.txt", b"hello", "text/plain")
    assert _client(tenant).get(f"/api/v1/documents/{document.pk}/file/").status_code == 401


def test_a_pdf_opens_inline_on_request_and_nothing_else_does(tenant: TenantHandle) -> None:
    """The Ask page opens a cited PDF at its page (`?inline=1#page=N`); HTML stays a download."""
    headers = bearer(tenant, UserFactory())
    pdf = _stored("manual.pdf", PDF, "application/pdf")
    response = _client(tenant).get(f"/api/v1/documents/{pdf.pk}/file/?inline=1", **headers)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("inline;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert _body(response) == PDF
    page = _stored("page.html", b"<script>alert(1)</script>", "text/html")
    response = _client(tenant).get(f"/api/v1/documents/{page.pk}/file/?inline=1", **headers)
    assert response["Content-Disposition"].startswith("attachment;")
    assert "sandbox" in response["Content-Security-Policy"]
