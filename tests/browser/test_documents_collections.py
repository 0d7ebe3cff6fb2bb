"""The documents page with collections in a real Chromium: each row names its collections,
an owner moves a document between them in a dialog (the API's sentence when none is
ticked), a list filtered by a collection loses a document moved out of it, and a bad
`?collection=` is said in a notice; axe finds nothing serious on the column, the dialog, its
refusal or the notices."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from accounts.models import Collection
from documents.models import Document
from tests.browser.a11y import assert_accessible
from tests.browser.conftest import LiveServer, log_in
from tests.conftest import TenantHandle
from tests.factories import DocumentFactory

pytestmark = [pytest.mark.browser, pytest.mark.celery_worker, pytest.mark.slow]


@pytest.fixture
def contracts(alpha: TenantHandle) -> Iterator[dict[str, Any]]:
    """Collections "Legal" and "Payroll" of `alpha`, and a document in the default one;
    removed after (the `alpha` fixture removes the document)."""
    with schema_context(alpha.schema):
        legal = Collection.objects.create(name="Legal")
        payroll = Collection.objects.create(name="Payroll")
        document = DocumentFactory(filename="supplier-contract.txt")
    yield {"legal": legal, "payroll": payroll, "document": document}
    with schema_context(alpha.schema):
        Collection.objects.filter(pk__in=[legal.pk, payroll.pk]).delete()


def _collections_of(handle: TenantHandle, document: Document) -> list[str]:
    with schema_context(handle.schema):
        return sorted(
            Document.objects.get(pk=document.pk).collections.values_list("name", flat=True)
        )


def test_an_owner_moves_a_document_between_collections(
    page: Any, web_server: LiveServer, alpha: TenantHandle, contracts: dict[str, Any]
) -> None:
    log_in(page, web_server, alpha, alpha.admin_email, alpha.password)
    row = page.locator("#documents-body tr").filter(has_text="supplier-contract.txt")
    expect(page.get_by_role("columnheader", name="Collections")).to_be_visible()
    expect(row.locator('[data-col="collections"]')).to_have_text("General")

    row.get_by_role("button", name="Move supplier-contract.txt to other collections").click()
    dialog = page.get_by_role("dialog", name="Collections of supplier-contract.txt")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("checkbox", name="General")).to_be_checked()
    assert_accessible(page, "the documents page's move dialog")

    # Nothing ticked: the API's sentence, and the dialog stays open.
    dialog.get_by_role("checkbox", name="General").uncheck()
    dialog.get_by_role("button", name="Save").click()
    refusal = dialog.get_by_role("alert")
    expect(refusal).to_contain_text("must stay in at least one collection")
    assert_accessible(page, "the move dialog refusing no collection")

    dialog.get_by_role("checkbox", name="Legal").check()
    dialog.get_by_role("checkbox", name="Payroll").check()
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    expect(row.locator('[data-col="collections"]')).to_have_text("Legal, Payroll")
    assert _collections_of(alpha, contracts["document"]) == ["Legal", "Payroll"]

    # Filtered by Payroll, a document moved out of it leaves the list, with a notice.
    page.get_by_label("Collection", exact=True).select_option("Payroll")
    page.get_by_role("button", name="Search").click()
    row = page.locator("#documents-body tr").filter(has_text="supplier-contract.txt")
    row.get_by_role("button", name="Move supplier-contract.txt to other collections").click()
    dialog.get_by_role("checkbox", name="Payroll").uncheck()
    dialog.get_by_role("button", name="Save").click()
    expect(row).to_have_count(0)
    expect(page.locator("#list-notices")).to_contain_text(
        "“supplier-contract.txt” left this collection: it is now in Legal."
    )
    assert _collections_of(alpha, contracts["document"]) == ["Legal"]


def test_a_bad_collection_filter_is_said_and_an_unknown_one_lists_nothing(
    page: Any, web_server: LiveServer, alpha: TenantHandle, contracts: dict[str, Any]
) -> None:
    log_in(page, web_server, alpha, alpha.admin_email, alpha.password)
    page.goto(web_server.tenant_url(alpha, "/documents/?collection=abc"))
    notice = page.locator("#collection-notice")
    expect(notice).to_have_text(
        "The collection filter “abc” is not a collection id, so documents of every collection "
        "are listed."
    )
    expect(page.get_by_label("Collection", exact=True)).to_have_value("")
    expect(page.get_by_role("cell", name="supplier-contract.txt", exact=True)).to_be_visible()

    response = page.goto(web_server.tenant_url(alpha, "/documents/?collection=99999999"))
    assert response is not None
    assert response.status == 200
    expect(notice).to_contain_text(
        "There is no collection 99999999 that you can read, so no document is listed."
    )
    expect(page.locator("#documents-body tr")).to_have_count(0)
    expect(page.get_by_label("Collection", exact=True)).to_have_value("99999999")
    assert_accessible(page, "the documents page with an unknown collection filter")
    notice.get_by_role("link", name="Show every collection").click()
    expect(page.get_by_role("cell", name="supplier-contract.txt", exact=True)).to_be_visible()
    expect(page.locator("#collection-notice")).to_have_count(0)
