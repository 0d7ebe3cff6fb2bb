"""The documents page in a real Chromium: a very long file name wraps inside its cell
(status and actions stay on screen), a duplicate upload is explained in words that
fit the page's "Upload it anyway" button (the API's message mentions ?allow_duplicate=1),
an upload lands where the filter, sort and page put it (or the page says where it went),
rows deleted elsewhere are announced, with focus kept in the table; the page on a phone, by
keyboard and while an upload is still sending, and a failed upload announced with its reason.

Uses the browser suite's fixtures (gunicorn, Chromium, the session's Celery worker).
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from django_tenants.utils import schema_context

from documents import services
from documents.models import Document, DocumentStatus
from documents.services import delete_document
from tests.browser.a11y import assert_accessible
from tests.browser.conftest import log_in
from tests.conftest import TenantHandle

playwright_api = pytest.importorskip("playwright.sync_api")  # a dev requirement
expect = playwright_api.expect
pytestmark = [pytest.mark.browser, pytest.mark.celery_worker, pytest.mark.slow]

# The page looks for rows deleted elsewhere every 5 s (documents_sync.js IDLE_MS).
REFRESH_WAIT_MS = 12_000
LONG_STEM = "quarterly-report-" + "x" * 230  # no spaces; stored names are cut at 255


def _stored_document(
    handle: TenantHandle, name: str, status: str = DocumentStatus.READY
) -> Document:
    with schema_context(handle.schema):
        data = f"Notes filed under {name[:40]}.".encode()
        upload = services.Upload(stream=io.BytesIO(data), name=name, size=len(data))
        document = services.create_document(
            upload=upload, uploaded_by=None, allow_duplicate=True, enqueue=False
        )
        Document.objects.filter(pk=document.pk).update(status=status)
    return document


def _deleted_elsewhere(handle: TenantHandle, *documents: Document) -> None:
    """As another user or an API client would: not through this page."""
    with schema_context(handle.schema):
        for document in documents:
            delete_document(document=Document.objects.get(pk=document.pk))


def _names(page: Any) -> Any:
    return page.locator('#documents-body td[data-col="name"]')


def _right_edge(locator: Any) -> float:
    box = locator.bounding_box()
    assert box is not None
    return float(box["x"] + box["width"])


def _assert_row_fits(page: Any, row: Any) -> None:
    width = page.viewport_size["width"]
    assert _right_edge(row.locator('[data-col="status"]')) <= width
    assert _right_edge(row.locator('[data-col="actions"]')) <= width
    delete = row.get_by_role("button", name="Delete")
    expect(delete).to_be_visible()
    assert _right_edge(delete) <= width
    overflow = page.eval_on_selector(".table-wrap", "el => el.scrollWidth - el.clientWidth")
    assert overflow <= 1, f"the documents table is {overflow}px wider than its box"


def test_a_long_name_without_spaces_keeps_actions_on_screen(
    page: Any, web_server: Any, alpha: TenantHandle, tmp_path: Path
) -> None:
    stored = _stored_document(alpha, LONG_STEM + "y" * 60 + ".txt")  # cut to 255 characters
    assert len(stored.filename) == 255
    log_in(page, web_server, alpha, alpha.admin_email, alpha.password)
    row = page.locator(f'#documents-body tr[data-id="{stored.pk}"]')
    expect(row.locator('[data-col="name"]')).to_have_text(stored.filename)
    _assert_row_fits(page, row)

    # A row the page adds itself after an upload wraps the same way.
    uploaded = tmp_path / (LONG_STEM[:200] + ".txt")
    uploaded.write_text("A note about the long file name layout check.")
    page.locator("#file-input").set_input_files(str(uploaded))
    item = page.locator("#upload-list li", has_text=uploaded.name[:60])
    expect(item.locator(".upload-ok")).to_be_visible()
    new_row = page.locator("#documents-body tr", has_text=uploaded.name).first
    expect(new_row).to_be_visible()
    _assert_row_fits(page, new_row)
    assert _right_edge(item) <= page.viewport_size["width"]


def test_duplicate_upload_message_fits_the_button(
    page: Any, web_server: Any, alpha: TenantHandle, tmp_path: Path
) -> None:
    note = tmp_path / "duplicate-note.txt"
    note.write_text("A short note about the duplicate upload wording in the dashboard.")
    log_in(page, web_server, alpha, alpha.admin_email, alpha.password)
    page.locator("#file-input").set_input_files(str(note))
    expect(page.locator("#documents-body")).to_contain_text("duplicate-note.txt")
    page.locator("#file-input").set_input_files(str(note))
    item = page.locator("#upload-list li", has_text="duplicate-note.txt").first
    error = item.locator(".upload-error")
    expect(error).to_contain_text("already uploaded as \u201cduplicate-note.txt\u201d.")
    expect(error).not_to_contain_text("allow_duplicate")
    expect(error).not_to_contain_text("?")
    item.get_by_role("button", name="Upload it anyway").click()
    expect(item.locator(".upload-ok")).to_be_visible()


@pytest.mark.parametrize(
    ("query", "clear_href"),
    [
        ("?status=failed&q=no-such-words", "/documents/"),
        ("?q=no-such-words&sort=name", "/documents/?sort=name"),
    ],
)
def test_an_upload_the_filter_hides_is_not_listed_and_the_page_says_why(
    page: Any, web_server: Any, alpha: TenantHandle, tmp_path: Path, query: str, clear_href: str
) -> None:
    shown = _stored_document(alpha, "no-such-words-failed.txt", DocumentStatus.FAILED)
    note = tmp_path / "hidden-by-filter.txt"
    note.write_text("A note that the current filter does not show.")
    log_in(page, web_server, alpha, alpha.admin_email, alpha.password)
    page.goto(web_server.tenant_url(alpha, "/documents/" + query))
    expect(_names(page)).to_have_text([shown.filename])

    page.locator("#file-input").set_input_files(str(note))
    status = page.locator("#upload-list li", has_text=note.name).locator(".upload-ok")
    expect(status).to_have_text(
        "Uploaded; processing in the background. It is not listed below because it does not "
        "match the current filter. Clear filter."
    )
    expect(_names(page)).to_have_text([shown.filename])
    clear = status.get_by_role("link", name="Clear filter")
    assert clear.get_attribute("href") == clear_href
    clear.click()
    expect(page.locator("#documents-body tr", has_text=note.name)).to_have_count(1)


def test_an_upload_lands_where_the_sort_puts_it(
    page: Any, web_server: Any, alpha: TenantHandle, tmp_path: Path
) -> None:
    first = _stored_document(alpha, "placed-aaa.txt")
    last = _stored_document(alpha, "placed-zzz.txt")
    note = tmp_path / "placed-mmm.txt"
    note.write_text("A note that sorts between the other two by name.")
    log_in(page, web_server, alpha, alpha.admin_email, alpha.password)
    page.goto(web_server.tenant_url(alpha, "/documents/?q=placed-&sort=name"))
    expect(_names(page)).to_have_text([first.filename, last.filename])

    page.locator("#file-input").set_input_files(str(note))
    expect(_names(page)).to_have_text([first.filename, note.name, last.filename])
    expect(page.locator("#upload-list li", has_text=note.name).locator(".upload-ok")).to_have_text(
        "Uploaded; processing in the background."
    )
    # The new row is kept current like the others: it becomes ready without a reload.
    row = page.locator("#documents-body tr", has_text=note.name)
    expect(row.locator(".badge")).to_have_text("Ready", timeout=30_000)


def test_an_upload_sorted_onto_another_page_is_not_listed_here(
    page: Any, web_server: Any, alpha: TenantHandle, tmp_path: Path
) -> None:
    stored = [_stored_document(alpha, f"paged-{number:02}.txt") for number in range(25)]
    note = tmp_path / "paged-99.txt"
    note.write_text("A note that sorts onto the second page by name.")
    log_in(page, web_server, alpha, alpha.admin_email, alpha.password)
    page.goto(web_server.tenant_url(alpha, "/documents/?q=paged-&sort=name"))
    expect(_names(page)).to_have_count(len(stored))

    page.locator("#file-input").set_input_files(str(note))
    expect(page.locator("#upload-list li", has_text=note.name).locator(".upload-ok")).to_have_text(
        "Uploaded; processing in the background. Sorted by name (A to Z), it is on another "
        "page of the list."
    )
    expect(_names(page)).to_have_count(len(stored))
    expect(page.locator("#documents-body tr", has_text=note.name)).to_have_count(0)


def test_rows_deleted_elsewhere_are_announced_and_focus_stays_in_the_table(
    page: Any, web_server: Any, alpha: TenantHandle
) -> None:
    first = _stored_document(alpha, "elsewhere-a.txt")
    focused = _stored_document(alpha, "elsewhere-b-" + "x" * 80 + ".txt")  # wraps on a phone
    last = _stored_document(alpha, "elsewhere-c.txt")
    page.set_viewport_size({"width": 320, "height": 700})
    log_in(page, web_server, alpha, alpha.admin_email, alpha.password)
    page.goto(web_server.tenant_url(alpha, "/documents/?q=elsewhere-&sort=name"))
    expect(_names(page)).to_have_text([first.filename, focused.filename, last.filename])
    page.get_by_role("button", name=f"Delete {focused.filename}").focus()

    _deleted_elsewhere(alpha, focused)
    notices = page.locator("#list-notices")
    expect(notices).to_have_text(
        f"\u201c{focused.filename}\u201d was deleted by someone else or in another tab.",
        timeout=REFRESH_WAIT_MS,
    )
    expect(_names(page)).to_have_text([first.filename, last.filename])
    assert_accessible(page, "the documents page announcing a row deleted elsewhere")
    # Focus moves to the same button one row down, not to the top of the page.
    expect(page.get_by_role("button", name=f"Delete {last.filename}")).to_be_focused()
    assert notices.get_attribute("aria-live") == "polite"
    assert page.evaluate("document.documentElement.scrollWidth") <= 320

    _deleted_elsewhere(alpha, first, last)
    expect(notices.locator("p").last).to_have_text(
        f"2 documents were deleted by someone else or in another tab: \u201c{first.filename}"
        f"\u201d and \u201c{last.filename}\u201d.",
        timeout=REFRESH_WAIT_MS,
    )
    expect(_names(page)).to_have_count(0)
    expect(page.locator("#documents-empty")).to_contain_text("No documents are left on this page.")
    # No row is left to hold focus: the notices, which say what happened, get it.
    expect(notices).to_be_focused()


def test_phone_width_keyboard_picker_and_leaving_mid_upload(
    page: Any, web_server: Any, alpha: TenantHandle, tmp_path: Path
) -> None:
    note = tmp_path / "keyboard-note.txt"
    note.write_text("A note uploaded without touching the mouse.")
    # Listening from the start: enabling the interception right before the key press races.
    page.on("filechooser", lambda chooser: chooser.set_files(str(note)))
    held: list[Any] = []
    page.route("**/api/v1/documents/", lambda route: held.append(route))
    page.set_viewport_size({"width": 375, "height": 800})
    log_in(page, web_server, alpha, alpha.admin_email, alpha.password)
    # The table scrolls inside its own box; the page itself never scrolls sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= 375

    # Keyboard only: the picker opens from a focusable button that shows its focus ring.
    page.get_by_role("button", name="Choose files").focus()
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    page.keyboard.press("Enter")
    expect(page.locator("#upload-list li", has_text="keyboard-note.txt")).to_contain_text(
        "Uploading"
    )

    # Leaving while the upload is still sending asks first (it would be lost).
    dialogs: list[str] = []

    def stay(dialog: Any) -> None:
        dialogs.append(dialog.type)
        dialog.dismiss()

    page.once("dialog", stay)
    page.evaluate("window.location.reload()")
    page.wait_for_timeout(500)
    assert dialogs == ["beforeunload"]
    for route in held:
        route.continue_()
    page.unroute("**/api/v1/documents/")
    expect(page.locator("#upload-list .upload-ok")).to_be_visible()


def test_a_failed_upload_is_announced_with_its_reason(
    page: Any, web_server: Any, alpha: TenantHandle, tmp_path: Path
) -> None:
    broken = tmp_path / "announced-broken.pdf"
    broken.write_bytes(b"%PDF-1.4 this is not really a PDF " + tmp_path.name.encode())
    log_in(page, web_server, alpha, alpha.admin_email, alpha.password)
    page.locator("#file-input").set_input_files(str(broken))
    row = page.locator("#documents-body tr", has_text="announced-broken.pdf").first
    expect(row.locator(".error-reason")).to_contain_text("damaged or incomplete")
    expect(page.locator("#table-status")).to_contain_text(
        "announced-broken.pdf failed: The PDF is damaged or incomplete"
    )
    assert_accessible(page, "the documents page with a failed document")


def test_a_documents_name_downloads_its_original(
    page: Any, web_server: Any, alpha: TenantHandle
) -> None:
    stored = _stored_document(alpha, "board-minutes.txt")
    log_in(page, web_server, alpha, alpha.admin_email, alpha.password)
    link = page.locator(f'#documents-body tr[data-id="{stored.pk}"] [data-col="name"] a')
    expect(link).to_have_text("board-minutes.txt")
    with page.expect_download() as caught:
        link.click()
    download = caught.value
    assert download.suggested_filename == "board-minutes.txt"
    assert Path(download.path()).read_bytes() == b"Notes filed under board-minutes.txt."


def test_each_uploaded_line_follows_its_document_and_can_be_dismissed(
    page: Any, web_server: Any, alpha: TenantHandle, tmp_path: Path
) -> None:
    good = tmp_path / "travel-policy.txt"
    good.write_text("Travel is booked through the portal and approved by a manager.")
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer\n%%EOF\n" * 3)
    refused = tmp_path / "empty.txt"
    refused.write_bytes(b"")
    log_in(page, web_server, alpha, alpha.admin_email, alpha.password)
    page.locator("#file-input").set_input_files([str(good), str(broken), str(refused)])

    good_line = page.locator("#upload-list li", has_text="travel-policy.txt")
    expect(good_line.locator(".upload-outcome")).to_have_text(
        re.compile(r"^Ready: \d+ passages? to search\.$"), timeout=60_000
    )
    broken_line = page.locator("#upload-list li", has_text="broken.pdf")
    expect(broken_line.locator(".upload-outcome")).to_contain_text("Failed: ", timeout=60_000)
    expect(broken_line.locator(".upload-ok")).to_have_count(0)  # no longer green
    refused_line = page.locator("#upload-list li", has_text="empty.txt")
    expect(refused_line.locator(".upload-error")).to_contain_text("empty")
    assert refused_line.locator("progress").evaluate("bar => bar.value") == 0
    assert_accessible(page, "the documents page with ready, failed and refused uploads")

    refused_line.get_by_role("button", name="Dismiss empty.txt").click()
    expect(page.locator("#upload-list li", has_text="empty.txt")).to_have_count(0)


def test_on_a_phone_every_detail_and_action_of_a_row_is_on_screen(
    page: Any, web_server: Any, alpha: TenantHandle
) -> None:
    stored = _stored_document(alpha, "phone-check.txt")
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, web_server, alpha, alpha.admin_email, alpha.password)
    row = page.locator(f'#documents-body tr[data-id="{stored.pk}"]')
    for column in ("name", "status", "chunks", "uploaded", "actions"):
        cell = row.locator(f'[data-col="{column}"]')
        expect(cell).to_be_visible()
        assert _right_edge(cell) <= 390, column
    delete = row.get_by_role("button", name="Delete")
    expect(delete).to_be_visible()
    assert _right_edge(delete) <= 390
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    overflow = page.eval_on_selector(".table-wrap", "el => el.scrollWidth - el.clientWidth")
    assert overflow <= 1
    header = page.locator("#documents-table thead")
    expect(header.get_by_role("link", name="Uploaded")).to_be_visible()  # sorting stays


def test_an_upload_read_a_moment_too_early_is_still_placed_in_the_list(
    page: Any, web_server: Any, alpha: TenantHandle, tmp_path: Path
) -> None:
    """The page asks the server where a new upload goes; if that first answer was read before
    the upload showed in the list, the page asks again instead of sending it elsewhere."""
    note = tmp_path / "placed-late.txt"
    note.write_text("A note whose first placement answer comes back without it.")
    log_in(page, web_server, alpha, alpha.admin_email, alpha.password)
    stale: list[bool] = []

    def first_answer_stale(route: Any) -> None:
        if stale or "ordering=" not in route.request.url:
            route.continue_()
            return
        stale.append(True)
        route.fulfill(
            status=200, content_type="application/json",
            body='{"count": 0, "next": null, "previous": null, "results": []}',
        )  # fmt: skip

    page.route("**/api/v1/documents/?*", first_answer_stale)
    page.locator("#file-input").set_input_files(str(note))
    expect(page.locator("#documents-body tr", has_text=note.name)).to_have_count(1)
    assert stale == [True]  # the stale answer was given, and the row came all the same
    status = page.locator("#upload-list li", has_text=note.name).locator(".upload-status")
    expect(status).not_to_contain_text("another page")
