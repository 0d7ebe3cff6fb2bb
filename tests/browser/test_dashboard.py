"""The dashboard and operator admin in a real Chromium, against gunicorn and a Celery worker."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.admin.models import LogEntry
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from accounts.models import Role, User
from tenants.models import OperatorAction, Tenant
from tenants.services import delete_tenant
from tests.browser.a11y import assert_accessible
from tests.browser.conftest import LiveServer, log_in
from tests.conftest import PASSWORD, TenantHandle
from tests.factories import ApiKeyFactory, QueryFactory, QueryFeedbackFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.celery_worker, pytest.mark.slow]

POLICY = (
    "Refund policy. Customers may return any product within 45 days of purchase for a full "
    "refund, provided they keep the receipt. Opened software cannot be returned.\n\n"
    "Shipping. Orders above 50 euros ship for free inside the European Union.\n"
)


# Elements reaching past the viewport's right edge (named in a failure message).
OVERFLOWING = """() => [...document.querySelectorAll("body *")]
    .filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
    .slice(0, 5).map((e) => `${e.tagName}#${e.id}.${e.className}`)"""


def _owner_page(page: Any, web_server: LiveServer, handle: TenantHandle) -> None:
    log_in(page, web_server, handle, handle.admin_email, handle.password)


def _upload(page: Any, path: Path) -> None:
    page.locator("#file-input").set_input_files(str(path))


def _wait_ready(page: Any, name: str) -> Any:
    row = page.locator("#documents-body tr", has_text=name).first
    expect(row.locator('[data-col="status"]')).to_have_text(re.compile("Ready"), timeout=60_000)
    return row


def test_log_in_and_out(page, web_server, alpha):
    page.goto(web_server.tenant_url(alpha, "/documents/"))
    expect(page).to_have_url(re.compile(r"/login/\?next=/documents/"))
    assert_accessible(page, "the login page")
    page.get_by_label("Email").fill(alpha.admin_email)
    page.get_by_label("Password").fill("wrong-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("didn't match")
    assert_accessible(page, "the login page after a wrong password")
    page.get_by_label("Password").fill(alpha.password)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/documents/$"))
    expect(page.get_by_role("navigation", name="Main")).to_contain_text("Members")
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login/$"))
    page.goto(web_server.tenant_url(alpha, "/documents/"))
    expect(page).to_have_url(re.compile(r"/login/"))


def test_upload_becomes_ready_and_a_question_gets_a_cited_streamed_answer(
    page, web_server, alpha, tmp_path, screenshot
):
    policy = tmp_path / "refund-policy.txt"
    policy.write_text(POLICY)
    _owner_page(page, web_server, alpha)
    _upload(page, policy)
    item = page.locator("#upload-list li", has_text="refund-policy.txt")
    expect(item.locator(".upload-status")).to_contain_text("Uploaded")
    expect(item.locator("progress")).to_have_attribute("value", "100")
    row = _wait_ready(page, "refund-policy.txt")
    expect(row.locator('[data-col="chunks"]')).not_to_have_text("0")
    expect(row.locator('[data-col="type"]')).to_have_text("Text")
    # One date format whether the page or the server rendered the row (local time, no "UTC").
    when = re.compile(r"^\S+@\S+\s*\d{4}-\d{2}-\d{2} \d{2}:\d{2}$")
    expect(row.locator('[data-col="uploaded"]')).to_have_text(when)
    assert_accessible(page, "the documents page after an upload")
    page.reload()
    row = page.locator("#documents-body tr", has_text="refund-policy.txt").first
    expect(row.locator('[data-col="uploaded"]')).to_have_text(when)
    screenshot(page, "documents")

    page.get_by_role("link", name="Ask").click()
    page.get_by_label("Your question").fill("Within how many days can customers return a product?")
    page.get_by_role("button", name="Ask", exact=True).click()
    answer = page.locator("#answer")
    expect(page.locator("#answer-status")).to_contain_text("Answered", timeout=30_000)
    expect(answer).to_contain_text("45 days")
    citation = answer.locator("button.cite").first
    expect(citation).to_be_visible()
    citation.click()
    panel = page.locator("#passage")
    expect(panel).to_be_visible()
    expect(page.locator("#passage-document")).to_have_text("refund-policy.txt")
    # The quote is marked inside the whole passage, which is fetched from chunks/<id>/.
    expect(page.locator("#passage-text mark")).to_contain_text("45 days")
    expect(page.locator("#passage-text")).to_contain_text("Orders above 50 euros")
    expect(page.locator("#passage-text mark")).not_to_contain_text("Orders above 50 euros")
    expect(citation).to_have_attribute("aria-expanded", "true")
    expect(page.locator("#sources")).to_contain_text("refund-policy.txt")

    page.get_by_role("button", name="Helpful", exact=True).click()
    expect(page.locator("#feedback-status")).to_have_text("Thanks for the feedback.")
    expect(page.locator("#recent")).to_contain_text("Within how many days")
    screenshot(page, "ask")
    assert_accessible(page, "the ask page with an answer and its cited passage open")

    page.get_by_text("Search only (power users)").click()
    page.get_by_label("Keyword").check()
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.locator("#results li").first).to_contain_text("refund-policy.txt")
    assert_accessible(page, "the ask page with search results")

    page.get_by_label("Your question").fill("   ")  # nothing to ask: said, not ignored
    page.get_by_role("button", name="Ask", exact=True).click()
    expect(page.locator("#answer [role=alert]")).to_have_text(
        "The question is empty; type what you want to know."
    )


def test_rejected_uploads_show_their_reason_next_to_the_file(page, web_server, alpha, tmp_path):
    fake = tmp_path / "setup.pdf"
    fake.write_bytes(b"MZ\x90\x00" + bytes(range(256)) * 8)  # a Windows program named .pdf
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    _owner_page(page, web_server, alpha)
    page.locator("#file-input").set_input_files([str(fake), str(empty)])
    fake_item = page.locator("#upload-list li", has_text="setup.pdf")
    expect(fake_item.locator(".upload-error")).to_contain_text(re.compile("PDF|type", re.I))
    empty_item = page.locator("#upload-list li", has_text="empty.txt")
    expect(empty_item.locator(".upload-error")).to_contain_text("empty")
    expect(page.locator("#documents-body")).not_to_contain_text("setup.pdf")


def test_duplicate_upload_is_explained_and_can_be_forced(page, web_server, alpha, tmp_path):
    note = tmp_path / "note.txt"
    note.write_text("A short note about the quarterly planning meeting and its outcomes.")
    _owner_page(page, web_server, alpha)
    _upload(page, note)
    expect(page.locator("#documents-body")).to_contain_text("note.txt")
    _upload(page, note)
    item = page.locator("#upload-list li", has_text="note.txt").first
    expect(item.locator(".upload-error")).to_contain_text(re.compile("already", re.I))
    item.get_by_role("button", name="Upload it anyway").click()
    expect(item.locator(".upload-ok")).to_be_visible()


@pytest.fixture
def viewer(alpha: TenantHandle) -> Iterator[User]:
    user = UserFactory(tenant=alpha, role=Role.VIEWER, email="viewer-browser@iso-alpha.test")
    yield user
    with schema_context(alpha.schema):
        User.objects.filter(pk=user.pk).delete()


def test_a_viewer_cannot_see_the_upload_control(page, web_server, alpha, viewer):
    log_in(page, web_server, alpha, viewer.email, PASSWORD)
    expect(page.locator("#file-input")).to_have_count(0)
    expect(page.get_by_text("Choose files")).to_have_count(0)
    expect(page.get_by_text("not upload documents")).to_be_visible()
    expect(page.get_by_role("link", name="Members")).to_have_count(0)
    assert_accessible(page, "the documents page of a viewer")
    page.goto(web_server.tenant_url(alpha, "/settings/members/"))
    expect(page.get_by_role("heading", name="Access refused")).to_be_visible()
    assert_accessible(page, "the 403 page")


def test_delete_asks_for_confirmation(page, web_server, alpha, tmp_path):
    doomed = tmp_path / "doomed.txt"
    doomed.write_text("This file exists only to be deleted by the browser test.")
    _owner_page(page, web_server, alpha)
    _upload(page, doomed)
    row = page.locator("#documents-body tr", has_text="doomed.txt")
    row.get_by_role("button", name="Delete").click()
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    assert_accessible(page, "the documents page asking to confirm a delete")
    dialog.get_by_role("button", name="Cancel").click()
    expect(row).to_have_count(1)
    row.get_by_role("button", name="Delete").click()
    dialog.get_by_role("button", name="Delete").click()
    expect(row).to_have_count(0)
    page.reload()
    expect(page.locator("#documents-body")).not_to_contain_text("doomed.txt")


def test_screenshots_of_the_main_pages(page, web_server, alpha, tmp_path, screenshot):
    page.goto(web_server.tenant_url(alpha, "/login/"))
    screenshot(page, "login")
    _owner_page(page, web_server, alpha)
    handbook = tmp_path / "employee-handbook.md"
    handbook.write_text("# Holidays\n\nEveryone gets 28 days of paid holiday a year.\n")
    policy = tmp_path / "refund-policy.txt"
    policy.write_text(POLICY)
    page.locator("#file-input").set_input_files([str(handbook), str(policy)])
    _wait_ready(page, "employee-handbook.md")
    _wait_ready(page, "refund-policy.txt")
    _log_queries(alpha)
    page.goto(web_server.tenant_url(alpha, "/analytics/"))
    expect(page.locator("#status-chart")).to_be_visible()
    assert page.evaluate("typeof window.Chart") == "function"  # vendored Chart.js loaded
    for chart in ("uploads-chart", "status-chart", "queries-chart", "latency-chart", "spend-chart"):
        expect(page.locator(f"#{chart}")).to_be_visible()
        assert page.evaluate(f"!!window.Chart.getChart(document.getElementById('{chart}'))"), chart
    assert page.evaluate("Object.keys(window.Chart.instances).length") == 5
    # A typed query text is shown as text, never run as markup.
    expect(page.locator("#content-gaps")).to_contain_text(GAP_QUERY)
    expect(page.locator("#not-helpful-comments")).to_contain_text("visitor parking")
    expect(page.locator("#api-key-usage")).to_contain_text("browser nightly sync")
    assert page.evaluate("document.querySelectorAll('#content-gaps b').length") == 0
    # Two wordings of one question are one topic; the documents just uploaded are counted.
    topic = page.locator("#popular-topics tbody tr", has_text="reset my password")
    expect(topic).to_contain_text("password reset")
    expect(topic.locator("td.num")).to_have_text("2")
    expect(page.locator("#popular-topics")).to_contain_text("holiday allowance")
    totals = page.locator("#document-totals b")
    assert int(totals.nth(0).inner_text().replace(",", "")) >= 2  # documents
    assert int(totals.nth(1).inner_text().replace(",", "")) >= 2  # chunks
    expect(totals.nth(2)).to_have_text(re.compile(r"^\d[\d.]*\s(bytes|KB|MB)$"))
    screenshot(page, "analytics")
    assert_accessible(page, "the analytics page with data")
    # On a phone, turned from landscape or opened there, the charts shrink with their column.
    size = page.viewport_size
    for width, reload in ((375, False), (320, True)):
        page.set_viewport_size({"width": width, "height": 740})
        if reload:
            page.reload()
            expect(page.locator("#status-chart")).to_be_visible()
        page.wait_for_timeout(300)  # Chart.js resizes on the next frames
        overflowing = page.evaluate(OVERFLOWING)
        assert page.evaluate("document.documentElement.scrollWidth") <= width, overflowing
    page.set_viewport_size(size)
    page.goto(web_server.tenant_url(alpha, "/settings/api-keys/"))
    page.get_by_label("Name").fill("browser screenshot key")
    page.get_by_role("button", name="Create key").click()
    expect(page.locator("#new-key-value")).to_contain_text("di_")
    screenshot(page, "api-keys")
    assert_accessible(page, "the API keys page showing a new key")
    page.goto(web_server.tenant_url(alpha, "/settings/members/"))
    screenshot(page, "members")
    assert_accessible(page, "the members page")


GAP_QUERY = "<b>parking</b> rules for visitors?"


def _log_queries(handle: TenantHandle) -> None:
    """A few query-log rows for today (the `alpha` fixture removes them afterwards)."""
    with schema_context(handle.schema):
        owner = User.objects.get(email=handle.admin_email)
        for text, kind, found, ms, tokens in [
            ("holiday allowance", "search", 3, 14.0, 0),
            ("holiday allowance", "search", 3, 3.0, 0),
            ("How long is parental leave?", "ask", 2, 420.0, 120),
            ("How do I reset my password?", "ask", 1, 350.0, 60),
            ("password reset", "search", 1, 11.0, 0),
            (GAP_QUERY, "ask", 0, 380.0, 90),
        ]:
            query = QueryFactory(
                kind=kind,
                text=text,
                result_count=found,
                total_ms=ms,
                user=owner,
                prompt_tokens=tokens,
            )
        QueryFeedbackFactory(query=query, comment="Nothing about visitor parking.", user=owner)
        key = ApiKeyFactory(name="browser nightly sync", created_by=owner)
        QueryFactory(
            text="invoice export",
            result_count=4,
            total_ms=9.0,
            user=owner,
            api_key_prefix=key.display_prefix,
        )


@pytest.fixture
def operator(committed_db: None) -> Iterator[tuple[str, str]]:
    email, password = "operator-browser@example.com", "Operator-browser-42"
    User.objects.create_superuser(email=email, password=password)
    yield email, password
    # A plain delete would cascade into tenant-only tables (token blacklist) absent in public.
    LogEntry.objects.filter(user__email=email).delete()
    OperatorAction.objects.filter(operator=email).delete()
    User.objects.filter(email=email)._raw_delete(using="default")
    tenant = Tenant.objects.filter(schema_name="browser_made").first()
    if tenant is not None:
        delete_tenant(tenant=tenant)


def test_operator_creates_a_tenant_in_admin_and_logs_into_it(
    page, web_server, operator, screenshot
):
    email, password = operator
    page.set_viewport_size({"width": 1280, "height": 900})  # a laptop: every column fits
    page.goto(web_server.url("localhost", "/admin/"))
    page.locator("#id_username").fill(email)
    page.locator("#id_password").fill(password)
    page.locator("input[type=submit]").click()
    page.goto(web_server.url("localhost", "/admin/tenants/tenant/"))
    expect(page.get_by_text("Queries (30 d)")).to_be_visible()
    overflow = page.eval_on_selector("#changelist", "el => el.scrollWidth - el.clientWidth")
    assert overflow <= 1, f"the tenant list is {overflow}px wider than a 1280px window"
    hidden = page.eval_on_selector(".results", "el => el.scrollWidth - el.clientWidth")
    assert hidden <= 1, f"{hidden}px of the tenant list's columns are scrolled out of view"
    box = page.get_by_role("link", name="query log").first.bounding_box()
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, "
        "document.querySelector('.results') && document.querySelector('.results').scrollWidth]"
    )
    assert box is not None
    assert box["x"] + box["width"] <= 1280, (box, widths)
    screenshot(page, "admin-tenants")
    page.goto(web_server.url("localhost", "/admin/tenants/tenant/add/"))
    page.locator("#id_schema_name").fill("browser_made")
    page.locator("#id_name").fill("Browser Made")
    page.locator("#id_domain").fill("browser-made.localhost")
    page.locator("#id_admin_email").fill("boss@browser-made.test")
    page.get_by_role("button", name="Save", exact=True).click()
    message = page.locator(".messagelist .success").first
    expect(message).to_contain_text("First admin: boss@browser-made.test / ")
    generated = re.search(r"boss@browser-made\.test / (\S+) \(shown once", message.inner_text())
    assert generated is not None

    page.goto(web_server.url("browser-made.localhost", "/login/"))
    page.get_by_label("Email").fill("boss@browser-made.test")
    page.get_by_label("Password").fill(generated.group(1))
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/documents/$"))
    expect(page.get_by_text("No documents yet")).to_be_visible()


def test_the_members_and_api_keys_pages_fit_a_phone(page, web_server, alpha):
    log_in(page, web_server, alpha, alpha.admin_email, alpha.password)
    page.set_viewport_size({"width": 390, "height": 844})
    for path in ("/settings/members/", "/settings/api-keys/"):
        page.goto(web_server.tenant_url(alpha, path))
        expect(page.locator("main h1")).to_be_visible()
        overflowing = page.evaluate(OVERFLOWING)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, (path, overflowing)


def test_the_charts_label_today_show_one_day_points_and_whole_day_tooltips(page, web_server, alpha):
    _log_queries(alpha)  # today only: the latency chart has one point per line
    _owner_page(page, web_server, alpha)
    page.goto(web_server.tenant_url(alpha, "/analytics/?days=30"))
    expect(page.locator("#latency-chart")).to_be_visible()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.reload()
    expect(page.locator("#latency-chart")).to_be_visible()
    assert not errors, errors
    # The uploads chart is drawn only when there were uploads; the query charts are today's.
    for chart in ("queries-chart", "latency-chart"):
        labels = page.evaluate(
            f"""() => {{
              const chart = window.Chart.getChart(document.getElementById('{chart}'));
              const ticks = chart.scales.x.ticks.map((tick, i) =>
                chart.scales.x.options.ticks.callback(tick.value, i, chart.scales.x.ticks));
              return {{ ticks, labels: chart.data.labels }};
            }}"""
        )
        shown = [label for label in labels["ticks"] if label]
        assert labels["ticks"][-1] == labels["labels"][-1], chart  # today is labelled
        assert 2 <= len(shown) <= 9, (chart, shown)
    radius = page.evaluate(
        "() => window.Chart.getChart(document.getElementById('latency-chart'))"
        ".data.datasets.map((set) => set.pointRadius)"
    )
    assert all(value >= 4 for value in radius)
    mode = page.evaluate(
        "() => window.Chart.getChart(document.getElementById('latency-chart'))"
        ".options.interaction.mode"
    )
    assert mode == "index"
