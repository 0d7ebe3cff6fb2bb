"""The operator's usage views in Chromium: the tenant's daily charts drawn, the monthly
report of every tenant and its CSV download (the README's admin screenshots come from here)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from operators import usage
from operators.models import UsageDay
from tests.browser.a11y import assert_accessible
from tests.browser.conftest import LiveServer
from tests.browser.test_dashboard import operator
from tests.conftest import TenantHandle

pytestmark = [pytest.mark.browser, pytest.mark.celery_worker, pytest.mark.slow]
__all__ = ["operator"]


@pytest.fixture
def usage_rows(alpha: TenantHandle) -> Iterator[None]:
    """Two weeks of usage of the committed tenant `alpha`, as the rollup writes them."""
    today = usage.today()
    for back in range(14):
        UsageDay.objects.create(
            tenant_schema=alpha.schema, tenant_name=alpha.tenant.name,
            day=today - dt.timedelta(days=back), searches=40 + 3 * back, asks=10 + back,
            query_cost_usd=Decimal("0.35") + Decimal(back) / 100, documents=120 - back,
            chunks=4_800 - 40 * back, stored_bytes=(300 - 5 * back) * 1024 * 1024,
            active_users=6 + back % 3, prompt_tokens=90_000, completion_tokens=12_000,
        )  # fmt: skip
    yield
    UsageDay.objects.filter(tenant_schema=alpha.schema).delete()


def _sign_in(page: Any, server: LiveServer, operator: tuple[str, str]) -> None:
    email, password = operator
    page.goto(server.url("localhost", "/admin/"))
    page.locator("#id_username").fill(email)
    page.locator("#id_password").fill(password)
    page.locator("input[type=submit]").click()


def test_operator_reads_a_tenants_usage_charts_and_downloads_the_month(
    page, web_server, operator, alpha, usage_rows, screenshot
):
    page.set_viewport_size({"width": 1280, "height": 900})
    _sign_in(page, web_server, operator)
    page.goto(web_server.url("localhost", "/admin/tenants/tenant/"))
    row = page.locator("#result_list tr", has_text=alpha.domain)
    expect(row).to_contain_text("$")  # the 30-day cost column from the rollup
    row.get_by_role("link", name="usage").click()
    expect(page.get_by_text("Searches and questions per day")).to_be_visible()
    drawn = page.evaluate(
        "() => [...document.querySelectorAll('.usage-chart canvas')]"
        ".map((c) => Boolean(window.Chart.getChart(c)))"
    )
    assert drawn == [True, True, True, True]
    expect(page.locator("#result_list tbody tr")).to_have_count(14)
    screenshot(page, "admin-usage")

    page.get_by_role("link", name="monthly usage report").click()
    expect(page.locator("#result_list")).to_contain_text(alpha.schema)
    screenshot(page, "admin-usage-report")
    with page.expect_download() as caught:
        page.get_by_role("link", name="Download CSV").click()
    download = caught.value
    assert download.suggested_filename == f"usage-{usage.today():%Y-%m}.csv"
    text = Path(download.path()).read_text(encoding="utf-8")
    assert text.splitlines()[0].startswith("tenant_schema,tenant_name,days,searches")
    assert any(line.startswith(f"{alpha.schema},") for line in text.splitlines())


def test_the_operator_admin_pages_are_accessible(page, web_server, operator, alpha, usage_rows):
    """Zero serious or critical axe-core findings on the operator's pages, light and dark."""
    _sign_in(page, web_server, operator)
    for path, name in [
        ("/admin/", "admin home"),
        ("/admin/tenants/tenant/", "the tenant list"),
        (f"/admin/tenants/tenant/{alpha.tenant.pk}/change/", "a tenant with its domains"),
        ("/admin/tenants/tenant/add/", "adding a tenant"),
        (f"/admin/tenants/tenant/{alpha.tenant.pk}/usage/", "a tenant's usage"),
        ("/admin/tenants/tenant/usage/", "the usage report"),
        (f"/admin/tenants/tenant/{alpha.tenant.pk}/support/queries/", "a support view"),
        ("/admin/operators/backuprecord/", "the backups"),
    ]:
        page.goto(web_server.url("localhost", path))
        assert_accessible(page, name)
