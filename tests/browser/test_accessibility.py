"""axe-core on the pages the other browser tests do not reach: account settings, the
invitation's password page, the forgotten-password and log-out pages, a deactivated
workspace and the 404 pages. The pages they do reach (login, documents, ask, search,
analytics, members, API keys, the 403 page) are checked inside their flows; see a11y.py.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.test import override_settings
from django_tenants.utils import get_public_schema_name, schema_context
from playwright.sync_api import expect

from accounts.models import User
from tenants.services import set_tenant_active
from tests.browser.a11y import assert_accessible
from tests.browser.conftest import SUPPORT_EMAIL, LiveServer, log_in
from tests.conftest import TenantHandle

pytestmark = [pytest.mark.browser, pytest.mark.celery_worker, pytest.mark.slow]

INVITED = "invited-a11y@iso-alpha.test"


@pytest.fixture
def no_invited_member(alpha: TenantHandle) -> Iterator[None]:
    yield
    with schema_context(alpha.schema):
        User.objects.filter(email=INVITED).delete()


def test_account_settings_forgotten_password_and_log_out_pages(
    page, web_server: LiveServer, alpha: TenantHandle
) -> None:
    page.goto(web_server.tenant_url(alpha, "/password/forgot/"))
    assert_accessible(page, "the forgotten-password page")
    page.get_by_label("Email").fill("not an address")
    page.get_by_role("button", name="Send the link").click()
    expect(page.locator("#email-error")).to_be_visible()
    assert_accessible(page, "the forgotten-password page with an error")
    page.get_by_label("Email").fill("nobody-a11y@iso-alpha.test")
    page.get_by_role("button", name="Send the link").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    assert_accessible(page, "the link-sent page")

    log_in(page, web_server, alpha, alpha.admin_email, alpha.password)
    page.goto(web_server.tenant_url(alpha, "/settings/account/"))
    assert_accessible(page, "the account page")
    page.get_by_label("Old password").fill("not the password")
    page.get_by_role("button", name="Change password").click()
    expect(page.locator("[aria-invalid=true]").first).to_be_visible()
    assert_accessible(page, "the account page with password errors")
    page.get_by_role("button", name="Save name").click()
    expect(page.get_by_role("status")).to_contain_text("Your name is saved.")
    assert_accessible(page, "the account page with a confirmation")

    page.goto(web_server.tenant_url(alpha, "/logout/"))
    assert_accessible(page, "the log-out question")
    page.get_by_role("main").get_by_role("button", name="Log out").click()
    page.goto(web_server.tenant_url(alpha, "/logout/"))
    expect(page.get_by_role("heading", name="You are logged out")).to_be_visible()
    assert_accessible(page, "the logged-out page")


def test_an_invitations_password_page(
    page, web_server: LiveServer, alpha: TenantHandle, no_invited_member: None
) -> None:
    log_in(page, web_server, alpha, alpha.admin_email, alpha.password)
    page.goto(web_server.tenant_url(alpha, "/settings/members/"))
    page.get_by_label("Email").fill(INVITED)
    page.get_by_role("button", name="Invite").click()
    expect(page.locator("#invite-link")).to_be_visible()
    assert_accessible(page, "the members page showing an invitation link")
    link = urlsplit(page.locator("#invite-link").inner_text().strip()).path
    page.get_by_role("button", name="Log out").click()

    page.goto(web_server.tenant_url(alpha, link))
    expect(page.get_by_role("heading", name="Choose a password")).to_be_visible()
    assert_accessible(page, "the invitation's password page")
    page.get_by_label("New password").fill("Short-1")
    page.get_by_label("Repeat it").fill("Different-2")
    page.get_by_role("button", name="Set password").click()
    expect(page.get_by_role("alert")).to_be_visible()
    assert_accessible(page, "the invitation's password page with errors")

    page.goto(web_server.tenant_url(alpha, "/password/set/MTIz/set-password/"))
    expect(page.get_by_role("heading", name="This link no longer works")).to_be_visible()
    assert_accessible(page, "a used invitation link")


@pytest.fixture
def deactivated(
    committed_tenants: tuple[TenantHandle, TenantHandle], committed_db: None
) -> Iterator[TenantHandle]:
    """The committed tenant `iso_beta`, deactivated for the test. Each server process keeps a
    tenant for TENANT_CACHE_SECONDS, so the test waits for the refusal, and afterwards for the
    cached inactive tenant to expire before other tests use it."""
    handle = committed_tenants[1]
    set_tenant_active(tenant=handle.tenant, active=False)
    try:
        yield handle
    finally:
        with schema_context(get_public_schema_name()):  # the test may have left a tenant's
            set_tenant_active(tenant=handle.tenant, active=True)
        time.sleep(float(settings.TENANT_CACHE_SECONDS) + 0.5)


# The 404 is rendered in this process with DEBUG off, where WhiteNoise warns that
# collectstatic has not run (the test server serves the static files itself).
@pytest.mark.filterwarnings("ignore:No directory at:UserWarning")
def test_the_deactivated_workspace_and_not_found_pages(
    page, web_server: LiveServer, deactivated: TenantHandle, alpha: TenantHandle
) -> None:
    deadline = time.monotonic() + float(settings.TENANT_CACHE_SECONDS) + 10
    while page.goto(web_server.tenant_url(deactivated, "/login/")).status != 403:
        assert time.monotonic() < deadline, "the workspace was not refused"
        time.sleep(0.5)
    expect(page.get_by_role("link", name=f"Write to {SUPPORT_EMAIL}")).to_be_visible()
    assert_accessible(page, "the deactivated workspace's page")

    response = page.goto(web_server.url("nobody.localhost", "/login/"))
    assert response is not None
    assert response.status == 404
    assert_accessible(page, "the page of a host with no workspace")

    # The test server runs with DEBUG on, where Django answers a missing page with its
    # technical page; people get templates/404.html, rendered here with DEBUG off and handed
    # to the browser at the same address (its stylesheet comes from the server).
    with override_settings(DEBUG=False):
        missing = alpha.logged_in_client().get("/no-such-page/", HTTP_ACCEPT="text/html")
    assert missing.status_code == 404
    url = web_server.tenant_url(alpha, "/no-such-page/")
    page.route(
        url,
        lambda route: route.fulfill(
            status=404, body=missing.content, headers={"Content-Type": "text/html; charset=utf-8"}
        ),
    )
    response = page.goto(url)
    assert response is not None
    assert response.status == 404
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    assert_accessible(page, "the 404 page")
