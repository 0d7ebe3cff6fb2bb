"""The Ask page's collection picker: a question or a search asks only the ticked collections."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from accounts.models import Collection
from tests.browser.a11y import assert_accessible
from tests.browser.conftest import LiveServer, log_in
from tests.conftest import TenantHandle
from tests.factories import DocumentFactory

pytestmark = [pytest.mark.browser, pytest.mark.celery_worker, pytest.mark.slow]

QUESTION = "How many days of parental leave do staff get?"


@pytest.fixture
def two_collections(alpha: TenantHandle) -> Iterator[dict[str, Any]]:
    """Collections "HR handbook" and "Legal archive" of `alpha`, one leave document in each;
    the collections are removed afterwards (the `alpha` fixture removes the documents)."""
    with schema_context(alpha.schema):
        hr = Collection.objects.create(name="HR handbook")
        legal = Collection.objects.create(name="Legal archive")
        DocumentFactory(
            filename="hr-leave.txt",
            collections=[hr],
            chunks=["Staff get twenty days of parental leave under the HR handbook."],
        )
        DocumentFactory(
            filename="legal-leave.txt",
            collections=[legal],
            chunks=["Staff get parental leave days as the law on parental leave sets out."],
        )
    yield {"hr": hr, "legal": legal}
    with schema_context(alpha.schema):
        Collection.objects.filter(pk__in=[hr.pk, legal.pk]).delete()


def test_the_ask_page_shows_no_collection_picker_with_one_collection(
    page: Any, web_server: LiveServer, alpha: TenantHandle
) -> None:
    with schema_context(alpha.schema):
        assert Collection.objects.count() == 1
    log_in(page, web_server, alpha, alpha.admin_email, alpha.password)
    page.goto(web_server.tenant_url(alpha, "/ask/"))
    expect(page.get_by_label("Your question")).to_be_visible()
    expect(page.get_by_role("group", name="Collections")).to_have_count(0)


def test_ticking_a_collection_narrows_the_answer_and_the_search_to_it(
    page: Any, web_server: LiveServer, alpha: TenantHandle, two_collections: dict[str, Any]
) -> None:
    hr = two_collections["hr"]
    log_in(page, web_server, alpha, alpha.admin_email, alpha.password)
    page.goto(web_server.tenant_url(alpha, "/ask/"))
    picker = page.get_by_role("group", name="Collections")
    expect(picker).to_be_visible()
    expect(picker.get_by_role("checkbox")).to_have_count(3)  # the default one and both new
    assert_accessible(page, "the ask page with a collection picker")

    # Without a tick both collections are asked: both documents are cited.
    page.get_by_label("Your question").fill(QUESTION)
    with page.expect_request("**/api/v1/ask/") as asked:
        page.get_by_role("button", name="Ask", exact=True).click()
    assert "collection_ids" not in json.loads(asked.value.post_data or "{}")
    sources = page.locator("#sources")
    expect(page.locator("#answer-status")).to_contain_text("Answered", timeout=30_000)
    expect(sources).to_contain_text("hr-leave.txt")
    expect(sources).to_contain_text("legal-leave.txt")

    # With "HR handbook" ticked only the HR document is sent to the answerer and cited.
    picker.get_by_label("HR handbook").check()
    with page.expect_request("**/api/v1/ask/") as asked:
        page.get_by_role("button", name="Ask", exact=True).click()
    assert json.loads(asked.value.post_data or "{}")["collection_ids"] == [hr.pk]
    expect(page.locator("#answer-status")).to_contain_text("Answered", timeout=30_000)
    expect(sources).to_contain_text("hr-leave.txt")
    expect(sources).not_to_contain_text("legal-leave.txt")
    expect(page.locator("#answer")).to_contain_text("twenty days")

    # "Search only" is narrowed the same way.
    page.get_by_text("Search only (power users)").click()
    page.get_by_label("Keyword").check()
    with page.expect_request("**/api/v1/search/") as searched:
        page.get_by_role("button", name="Search", exact=True).click()
    assert json.loads(searched.value.post_data or "{}")["collection_ids"] == [hr.pk]
    results = page.locator("#results")
    expect(results.locator("li").first).to_contain_text("hr-leave.txt")
    expect(results).not_to_contain_text("legal-leave.txt")
    assert_accessible(page, "the ask page with search results of one collection")

    # Back from another page, the tick is there again with the results.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Documents").click()
    page.wait_for_url("**/documents/")
    page.go_back()
    expect(
        page.get_by_role("group", name="Collections").get_by_label("HR handbook")
    ).to_be_checked()
    expect(page.locator("#results")).not_to_contain_text("legal-leave.txt")
