"""The API-keys page's collection picker in Chromium: a key made for one collection reads
that collection's documents through the API and nothing of another; axe finds nothing
serious on the picker or its refusal."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from accounts.models import ApiKey, Collection
from tests.browser.a11y import assert_accessible
from tests.browser.conftest import LiveServer, log_in
from tests.conftest import TenantHandle
from tests.factories import DocumentFactory

pytestmark = [pytest.mark.browser, pytest.mark.celery_worker, pytest.mark.slow]

KEY_NAME = "browser helpdesk key"  # the `alpha` fixture removes keys named "browser …"


@pytest.fixture
def two_collections(alpha: TenantHandle) -> Iterator[dict[str, Any]]:
    """Collections "Helpdesk" and "Payroll" of `alpha` with a document each; removed after
    (the `alpha` fixture removes the documents)."""
    with schema_context(alpha.schema):
        helpdesk = Collection.objects.create(name="Helpdesk")
        payroll = Collection.objects.create(name="Payroll")
        faq = DocumentFactory(
            filename="helpdesk-faq.txt",
            collections=[helpdesk],
            chunks=["Reset a password from the sign-in page's forgotten-password link."],
        )
        salaries = DocumentFactory(
            filename="salaries-2026.txt",
            collections=[payroll],
            chunks=["Salaries are paid on the 25th; the password for the payroll tool rotates."],
        )
    yield {"helpdesk": helpdesk, "faq": faq, "salaries": salaries}
    with schema_context(alpha.schema):
        Collection.objects.filter(pk__in=[helpdesk.pk, payroll.pk]).delete()


def test_a_key_made_for_one_collection_reads_nothing_of_another(
    page: Any, web_server: LiveServer, alpha: TenantHandle, two_collections: dict[str, Any]
) -> None:
    log_in(page, web_server, alpha, alpha.admin_email, alpha.password)
    page.goto(web_server.tenant_url(alpha, "/settings/api-keys/"))
    picker = page.get_by_role("group", name="Collections the key reads")
    everything = picker.get_by_role("radio", name="All collections, also those made later")
    only = picker.get_by_role("radio", name="Only the ticked collections")
    expect(everything).to_be_checked()
    assert_accessible(page, "the API keys page with a collection picker")

    # "Only the ticked collections" with none ticked is refused, in the page's words.
    page.get_by_label("Name").fill(KEY_NAME)
    only.check()
    page.get_by_role("button", name="Create key").click()
    error = page.locator("#key-collections-error")
    expect(error).to_contain_text("Choose “All collections”, or tick at least one collection")
    assert_accessible(page, "the API keys page refusing a key for no collection")

    # Ticking a collection chooses "only the ticked"; choosing "all" unticks it again.
    picker = page.get_by_role("group", name="Collections the key reads")
    helpdesk = picker.get_by_role("checkbox", name="Helpdesk")
    picker.get_by_role("radio", name="All collections, also those made later").check()
    expect(helpdesk).not_to_be_checked()
    helpdesk.check()
    expect(picker.get_by_role("radio", name="Only the ticked collections")).to_be_checked()
    page.get_by_role("button", name="Create key").click()
    raw_key = page.locator("#new-key-value").inner_text().strip()
    assert raw_key.startswith("di_")
    row = page.get_by_role("row").filter(has_text=KEY_NAME)
    expect(row.get_by_role("cell", name="Helpdesk", exact=True)).to_be_visible()
    assert_accessible(page, "the API keys page listing a key's collections")
    with schema_context(alpha.schema):
        key = ApiKey.objects.get(name=KEY_NAME)
        assert [c.pk for c in key.collections.all()] == [two_collections["helpdesk"].pk]

    # Through the API (a script with the key, no cookies), it reads the helpdesk document
    # and nothing of payroll.
    def api(method: str, path: str, body: Any = None) -> tuple[int, Any]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{web_server.port}{path}",
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={
                "Host": f"{alpha.domain}:{web_server.port}",
                "Authorization": f"Api-Key {raw_key}",
                "Accept": "application/json",
                "Content-Type": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as refused:
            return refused.code, json.loads(refused.read())

    faq, salaries = two_collections["faq"], two_collections["salaries"]
    assert api("GET", f"/api/v1/documents/{faq.pk}/")[0] == 200
    status, body = api("GET", f"/api/v1/documents/{salaries.pk}/")
    assert status == 404, body
    status, body = api("GET", "/api/v1/documents/")
    assert [d["filename"] for d in body["results"]] == ["helpdesk-faq.txt"]
    status, body = api("POST", "/api/v1/search/", {"query": "password", "mode": "lexical"})
    assert status == 200, body
    assert {hit["document_name"] for hit in body["results"]} == {"helpdesk-faq.txt"}
