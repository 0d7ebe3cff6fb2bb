"""The documents page on a phone, by keyboard, and while an upload is still sending.

Uses the browser suite's fixtures (gunicorn, Chromium, the session's Celery worker).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import log_in
from tests.conftest import TenantHandle

playwright_api = pytest.importorskip("playwright.sync_api")  # a dev requirement
expect = playwright_api.expect
pytestmark = [pytest.mark.browser, pytest.mark.celery_worker, pytest.mark.slow]


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
