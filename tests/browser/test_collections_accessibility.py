"""The Collections page in a real Chromium: axe-core finds nothing serious, light and dark,
desktop and phone, and the page fits a phone without scrolling sideways."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from accounts.models import Collection, CollectionMember, Role, User
from tests.browser.a11y import assert_accessible
from tests.browser.conftest import LiveServer, log_in
from tests.conftest import TenantHandle
from tests.factories import DocumentFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.celery_worker, pytest.mark.slow]

# Elements reaching past the viewport's right edge (named in a failure message).
OVERFLOWING = """() => [...document.querySelectorAll("body *")]
    .filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
    .slice(0, 5).map((e) => `${e.tagName}#${e.id}.${e.className}`)"""


@pytest.fixture
def hr_collection(alpha: TenantHandle) -> Iterator[Collection]:
    """A collection with a document and a member who may upload, and one without members,
    so the page shows every part: the members table, the add form and the delete choice."""
    member = UserFactory(tenant=alpha, role=Role.MEMBER, email="collections-browser@iso-alpha.test")
    with schema_context(alpha.schema):
        hr = Collection.objects.create(name="Human resources and payroll")
        empty = Collection.objects.create(name="Board minutes")
        CollectionMember.objects.create(collection=hr, user=member, can_upload=True)
        DocumentFactory(filename="payroll-calendar.txt", collections=[hr])
    yield hr
    with schema_context(alpha.schema):
        Collection.objects.filter(pk__in=[hr.pk, empty.pk]).delete()
        User.objects.filter(pk=member.pk).delete()


def test_the_collections_page_is_accessible_and_fits_a_phone(
    page: Any, web_server: LiveServer, alpha: TenantHandle, hr_collection: Collection
) -> None:
    log_in(page, web_server, alpha, alpha.admin_email, alpha.password)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Collections").click()
    page.wait_for_url("**/collections/")
    section = page.get_by_role("region", name="Human resources and payroll")
    expect(
        section.get_by_role("cell", name="collections-browser@iso-alpha.test", exact=True)
    ).to_be_visible()
    expect(page.get_by_role("region", name="Board minutes")).to_contain_text(
        "Only owners and admins"
    )
    assert_accessible(page, "the collections page")

    page.set_viewport_size({"width": 390, "height": 844})
    overflowing = page.evaluate(OVERFLOWING)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, overflowing

    # A name left empty is refused with a sentence at the top, which axe checks too.
    page.get_by_role("button", name="Create collection").click()
    expect(page.locator(".messages .error")).to_be_visible()
    assert_accessible(page, "the collections page with a refusal")

    # Deleting asks first, in the dashboard's confirmation dialog.
    section.get_by_role("button", name="Delete collection").click()
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    assert_accessible(page, "the collections page asking to confirm a delete")
    dialog.get_by_role("button", name="Cancel").click()
    expect(page.get_by_role("region", name="Human resources and payroll")).to_be_visible()
