"""The documents page in a real Chromium: a very long file name wraps inside its cell
(status and actions stay on screen), and a duplicate upload is explained in words that
fit the page's "Upload it anyway" button (the API's message mentions ?allow_duplicate=1).

Uses the browser suite's fixtures (gunicorn, Chromium, the session's Celery worker).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django_tenants.utils import schema_context

from documents import services
from documents.models import Document, DocumentStatus
from tests.browser.conftest import log_in
from tests.conftest import TenantHandle

playwright_api = pytest.importorskip("playwright.sync_api")  # a dev requirement
expect = playwright_api.expect
pytestmark = [pytest.mark.browser, pytest.mark.celery_worker, pytest.mark.slow]

LONG_STEM = "quarterly-report-" + "x" * 230  # no spaces; stored names are cut at 255


def _stored_document(handle: TenantHandle, name: str) -> Document:
    with schema_context(handle.schema):
        data = f"Notes filed under {name[:40]}.".encode()
        upload = services.Upload(stream=io.BytesIO(data), name=name, size=len(data))
        document = services.create_document(
            upload=upload, uploaded_by=None, allow_duplicate=True, enqueue=False
        )
        Document.objects.filter(pk=document.pk).update(status=DocumentStatus.READY)
    return document


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
