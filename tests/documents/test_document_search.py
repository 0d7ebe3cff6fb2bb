"""Name search and filters with text PostgreSQL cannot store (NUL) or names never hold
(control and format characters): never a 500; the search is cleaned the way uploaded
names are, so the name typed as it was uploaded finds the document. A failure reason
holding NUL is stored without it."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django_tenants.utils import schema_context

from documents.models import Document, DocumentStatus
from documents.pipeline import mark_failed
from documents.selectors import clean_search
from tests.conftest import TenantHandle

pytestmark = pytest.mark.django_db


@pytest.fixture
def tenant(make_tenant: Any) -> TenantHandle:
    handle: TenantHandle = make_tenant("namesearch")
    client = handle.logged_in_client()
    for number, name in enumerate(("re\x00port.txt", "engine notes.txt", "wing.txt")):
        data = f"text of document {number}".encode()
        response = client.post("/api/v1/documents/", {"file": SimpleUploadedFile(name, data)})
        assert response.status_code == 202, response.content
    return handle


def _api_names(client: Client, **params: str) -> list[str]:
    response = client.get("/api/v1/documents/", params)
    assert response.status_code == 200, response.content
    return sorted(d["filename"] for d in response.json()["results"])


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("\x00", ["engine notes.txt", "report.txt", "wing.txt"]),
        ("\x00\x00 ", ["engine notes.txt", "report.txt", "wing.txt"]),
        ("re\x00port", ["report.txt"]),
        ("a\x00b", []),
        ("wing\x00", ["wing.txt"]),
        ("engine\tnotes", ["engine notes.txt"]),
        ("engine   notes", ["engine notes.txt"]),
        ("\u202ewing", ["wing.txt"]),  # a right-to-left override, dropped from names too
    ],
)
def test_api_search_with_nul_and_control_characters(
    tenant: TenantHandle, search: str, expected: list[str]
) -> None:
    assert _api_names(tenant.logged_in_client(), search=search) == expected


def test_api_search_raw_query_string_with_percent_00(tenant: TenantHandle) -> None:
    client = tenant.logged_in_client()
    for query in ("search=%00", "search=a%00b", "search=re%00port&status=pending"):
        response = client.get(f"/api/v1/documents/?{query}")
        assert response.status_code == 200, (query, response.content)
    assert client.get("/api/v1/documents/?search=re%00port").json()["count"] == 1


@pytest.mark.parametrize("value", ["%00", "ready%00", "pending%00"])
def test_api_status_filter_with_nul_is_a_400_sentence(tenant: TenantHandle, value: str) -> None:
    response = tenant.logged_in_client().get(f"/api/v1/documents/?status={value}")
    assert response.status_code == 400
    assert "use pending, processing, ready or failed" in response.content.decode()


@pytest.mark.parametrize(
    ("query", "expected"), [("page=%00", 404), ("page_size=%00", 400), ("page=1%00", 404)]
)
def test_api_pagination_parameters_with_nul_never_500(
    tenant: TenantHandle, query: str, expected: int
) -> None:
    response = tenant.logged_in_client().get(f"/api/v1/documents/?{query}")
    assert response.status_code == expected, response.content
    assert response.json()["error"]["message"].endswith(".")


@pytest.mark.parametrize(
    ("query", "shown", "hidden"),
    [
        ("q=%00", ["report.txt", "wing.txt"], []),
        ("q=a%00b", [], ["report.txt", "wing.txt"]),
        ("q=re%00port", ["report.txt"], ["wing.txt"]),
        ("q=%00&status=%00", ["report.txt", "wing.txt"], []),
        ("q=wing&status=pending%00&page=%00", ["wing.txt"], ["report.txt"]),
    ],
)
def test_dashboard_search_with_nul(
    tenant: TenantHandle, query: str, shown: list[str], hidden: list[str]
) -> None:
    response = tenant.logged_in_client().get(f"/documents/?{query}")
    assert response.status_code == 200
    html = response.content.decode()
    assert "\x00" not in html
    for name in shown:
        assert f">{name}</a></td>" in html
    for name in hidden:
        assert f">{name}</a></td>" not in html


def test_dashboard_echoes_the_cleaned_search(tenant: TenantHandle) -> None:
    html = tenant.logged_in_client().get("/documents/?q=re%00port").content.decode()
    assert 'value="report"' in html


def test_clean_search_matches_how_names_are_stored() -> None:
    assert clean_search(None) == ""
    assert clean_search(" \x00a\x00b\x00 ") == "ab"
    assert clean_search("Cafe\u0301\r\nmenu") == "Café menu"  # NFC, like stored names


def test_a_failure_reason_with_nul_is_stored(tenant: TenantHandle) -> None:
    with schema_context(tenant.schema):
        document = Document.objects.get(filename="wing.txt")
        mark_failed(document.pk, "The service said: bad\x00byte.")
        document.refresh_from_db()
    assert document.status == DocumentStatus.FAILED
    assert document.error == "The service said: badbyte."
