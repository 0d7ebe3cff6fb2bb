"""The operator's support view of a workspace with a restricted collection, in Chromium:
the operator-access banner and the marked document are shown, and axe-core finds nothing
serious on it (light and dark, desktop and phone)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from accounts.models import Collection
from tests.browser.a11y import assert_accessible
from tests.browser.conftest import LiveServer
from tests.browser.test_dashboard import operator
from tests.conftest import TenantHandle
from tests.factories import DocumentFactory

pytestmark = [pytest.mark.browser, pytest.mark.celery_worker, pytest.mark.slow]
__all__ = ["operator"]


@pytest.fixture
def restricted_document(alpha: TenantHandle) -> Iterator[None]:
    """A document of `alpha` only in the collection "Board minutes" (removed afterwards)."""
    with schema_context(alpha.schema):
        board = Collection.objects.create(name="Board minutes")
        DocumentFactory(filename="board-2026-11.txt", collections=[board])
    yield
    with schema_context(alpha.schema):
        board.delete()


def test_the_support_view_says_it_is_operator_access(
    page: Any,
    web_server: LiveServer,
    operator: tuple[str, str],
    alpha: TenantHandle,
    restricted_document: None,
) -> None:
    email, password = operator
    page.goto(web_server.url("localhost", "/admin/"))
    page.locator("#id_username").fill(email)
    page.locator("#id_password").fill(password)
    page.locator("input[type=submit]").click()
    page.goto(
        web_server.url("localhost", f"/admin/tenants/tenant/{alpha.tenant.pk}/support/documents/")
    )
    expect(page.get_by_role("note")).to_contain_text(
        "Operator access: you see every collection of this workspace, and this access is recorded."
    )
    row = page.get_by_role("row").filter(has_text="board-2026-11.txt")
    expect(row).to_contain_text("Board minutes restricted: operator access")
    assert_accessible(page, "a support view with a restricted collection's document")
