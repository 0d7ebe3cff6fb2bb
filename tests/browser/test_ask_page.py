"""The Ask page under conditions a user meets: errors, impatience, small screens, going back.

The ask and search API are stubbed with `page.route` where the test needs a given answer, so
these run without waiting for ingestion.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.a11y import assert_accessible
from tests.browser.conftest import LiveServer, log_in
from tests.conftest import TenantHandle

pytestmark = [pytest.mark.browser, pytest.mark.celery_worker, pytest.mark.slow]

# Asks whose question contains "slow" get their response 1.5 s late, like a busy model.
SLOW_FETCH = """
(() => {
  const original = window.fetch;
  window.fetch = async (url, options) => {
    const response = await original(url, options);
    const slow = String((options || {}).body || "").includes("slow");
    if (slow) await new Promise((resolve) => setTimeout(resolve, 1500));
    return response;
  };
})();
"""


def _sse(*events: tuple[str, dict[str, Any]]) -> str:
    return "".join(f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events)


def _done(answer: str, quote: str = "") -> dict[str, Any]:
    citations = [
        {"marker": 1, "chunk_id": 0, "document_id": 1, "document_name": "policy.txt",
         "page": None, "quote": quote or answer},
    ]  # fmt: skip
    return {"answer": answer + " [1]", "citations": citations, "backend": "extractive",
            "degraded": False, "took_ms": 12.0, "cached": False, "query_id": None}  # fmt: skip


def _answer_by_question(route: Any) -> None:
    question = json.loads(route.request.post_data or "{}").get("question", "")
    text = "The slow answer." if "slow" in question else "The fast answer."
    route.fulfill(status=200, content_type="text/event-stream", body=_sse(("done", _done(text))))


def _ask(page: Any, text: str) -> None:
    page.get_by_label("Your question").fill(text)
    page.get_by_label("Your question").press("Enter")


def test_errors_cut_streams_and_impatient_askers_get_clear_answers(
    page: Any, web_server: LiveServer, alpha: TenantHandle
) -> None:
    page.add_init_script(SLOW_FETCH)
    log_in(page, web_server, alpha, alpha.admin_email, alpha.password)
    page.goto(web_server.tenant_url(alpha, "/ask/"))
    answer = page.locator("#answer")

    # An error sent before the stream starts comes as an SSE `error` event: its message shows.
    throttled = {"error": {"code": "throttled", "message": "Too many questions; wait 20 s."}}
    page.route(
        "**/api/v1/ask/",
        lambda route: route.fulfill(
            status=429, content_type="text/event-stream", body=_sse(("error", throttled))
        ),
    )
    _ask(page, "How long is the notice period?")
    expect(answer.get_by_role("alert")).to_have_text("Too many questions; wait 20 s.")
    page.unroute("**/api/v1/ask/")

    # A field error names the field instead of pointing at an API detail.
    page.evaluate("document.getElementById('question').removeAttribute('maxlength')")
    _ask(page, "x" * 2100)
    expect(answer.get_by_role("alert")).to_have_text(re.compile(r"^Question: .*2000 characters"))

    # A stream that stops half-way keeps what arrived and says it is incomplete.
    cut = _sse(("delta", {"text": "Either party may terminate"}))
    page.route(
        "**/api/v1/ask/",
        lambda route: route.fulfill(status=200, content_type="text/event-stream", body=cut),
    )
    _ask(page, "How can the contract be ended?")
    expect(answer.get_by_role("alert")).to_contain_text("stopped before it was complete")
    expect(answer).to_contain_text("Either party may terminate")
    assert_accessible(page, "the ask page with an answer cut short")
    page.unroute("**/api/v1/ask/")

    # Asking again before the first answer arrived: the newer question's answer stays.
    page.route("**/api/v1/ask/", _answer_by_question)
    _ask(page, "a slow question")
    _ask(page, "a quick question")
    expect(answer).to_contain_text("The fast answer.")
    page.wait_for_timeout(2000)  # the slow answer has arrived by now
    expect(answer).to_contain_text("The fast answer.")
    expect(answer).not_to_contain_text("The slow answer.")
    expect(page.locator("#ask-button")).to_be_enabled()

    # Back from another page shows the answer again, without asking anew.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Documents").click()
    page.wait_for_url("**/documents/")
    page.go_back()
    expect(answer).to_contain_text("The fast answer.")
    expect(page.locator("#sources")).to_contain_text("policy.txt")


def test_small_screens_right_to_left_and_the_keyboard(
    page: Any, web_server: LiveServer, alpha: TenantHandle
) -> None:
    page.set_viewport_size({"width": 375, "height": 740})
    log_in(page, web_server, alpha, alpha.admin_email, alpha.password)
    page.goto(web_server.tenant_url(alpha, "/ask/"))
    # Opening the search options must not make the page scroll sideways on a phone.
    page.get_by_text("Search only (power users)").click()
    expect(page.get_by_label("Semantic")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.get_by_text("Search only (power users)").click()  # closed again: Enter asks

    arabic = "يحصل كل موظف على ثلاثين يوما من الإجازة المدفوعة"
    body = _sse(("done", _done(arabic)))
    page.route(
        "**/api/v1/ask/",
        lambda route: route.fulfill(status=200, content_type="text/event-stream", body=body),
    )
    _ask(page, "كم يوما من الإجازة؟")
    answer = page.locator("#answer")
    expect(answer).to_contain_text(arabic)
    # Right-to-left text is laid out right to left, in the answer and the question box.
    assert page.evaluate("getComputedStyle(document.getElementById('answer')).direction") == "rtl"
    assert page.evaluate("getComputedStyle(document.getElementById('question')).direction") == (
        "rtl"
    )

    # The cited passage opens from the keyboard and Escape closes it, back on the marker.
    citation = answer.locator("button.cite")
    citation.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#passage")).to_be_visible()
    expect(page.locator("#passage")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.locator("#passage")).to_be_hidden()
    expect(citation).to_be_focused()
    expect(citation).to_have_attribute("aria-expanded", "false")

    # Recent questions that fail to load are not presented as "nothing yet".
    page.route("**/api/v1/queries/**", lambda route: route.abort())
    page.reload()
    expect(page.locator("#recent-error")).to_be_visible()
    expect(page.locator("#recent-empty")).to_be_hidden()
    assert_accessible(page, "the ask page whose recent questions failed to load")


def test_the_cited_passage_links_to_its_original(
    page: Any, web_server: LiveServer, alpha: TenantHandle
) -> None:
    from django.core.files.base import ContentFile
    from django_tenants.utils import schema_context

    from tests.factories import DocumentFactory

    with schema_context(alpha.schema):
        document = DocumentFactory(filename="leave-policy.txt", chunks=["Thirty days of leave."])
        document.file.save("leave-policy.txt", ContentFile(b"Thirty days of leave."))
        chunk_id = document.chunks.get().pk
    done = _done("Thirty days of leave.")
    done["citations"][0].update(chunk_id=chunk_id, document_id=document.pk)
    log_in(page, web_server, alpha, alpha.admin_email, alpha.password)
    page.goto(web_server.tenant_url(alpha, "/ask/"))
    page.route(
        "**/api/v1/ask/",
        lambda route: route.fulfill(
            status=200, content_type="text/event-stream", body=_sse(("done", done))
        ),
    )
    _ask(page, "How many days of leave?")
    page.locator("#answer button.cite").click()
    link = page.locator("#passage-file")
    expect(link).to_be_visible()
    expect(link).to_have_attribute("href", f"/api/v1/documents/{document.pk}/file/")
    with page.expect_download() as caught:
        link.click()
    assert caught.value.suggested_filename == "leave-policy.txt"
    with schema_context(alpha.schema):  # the browser suite's tenants keep what tests leave
        document.delete()


def test_a_cited_pdf_passage_opens_the_pdf_at_its_page(
    page: Any, web_server: LiveServer, alpha: TenantHandle
) -> None:
    from django.core.files.base import ContentFile
    from django_tenants.utils import schema_context

    from tests.factories import DocumentFactory

    body = b"%PDF-1.4\n" + b"0" * 2_000 + b"\n%%EOF\n"
    with schema_context(alpha.schema):
        document = DocumentFactory(
            filename="handbook.pdf", content_type="application/pdf", chunks=["Leave is 30 days."]
        )
        document.file.save("handbook.pdf", ContentFile(body))
        chunk = document.chunks.get()
        chunk.page = 7
        chunk.save(update_fields=["page"])
    done = _done("Leave is 30 days.")
    done["citations"][0].update(
        chunk_id=chunk.pk, document_id=document.pk, document_name="handbook.pdf", page=7
    )
    log_in(page, web_server, alpha, alpha.admin_email, alpha.password)
    page.goto(web_server.tenant_url(alpha, "/ask/"))
    page.route(
        "**/api/v1/ask/",
        lambda route: route.fulfill(
            status=200, content_type="text/event-stream", body=_sse(("done", done))
        ),
    )
    _ask(page, "How long is leave?")
    page.locator("#answer button.cite").click()
    opener = page.get_by_role("link", name="Open the PDF at page 7")
    expect(opener).to_be_visible()
    expected = f"/api/v1/documents/{document.pk}/file/?inline=1#page=7"
    expect(opener).to_have_attribute("href", expected)
    served = page.evaluate(
        """async (url) => {
          const response = await fetch(url);
          return [response.headers.get("content-type"),
                  response.headers.get("content-disposition"), (await response.text()).length];
        }""",
        expected.split("#")[0],
    )
    assert served[0] == "application/pdf"
    assert served[1].startswith("inline")
    assert served[2] == len(body)
    expect(page.locator("#passage-file")).to_be_visible()  # the download stays beside it
    with schema_context(alpha.schema):
        document.delete()


def test_focus_stays_where_the_keyboard_user_left_it(
    page: Any, web_server: LiveServer, alpha: TenantHandle
) -> None:
    page.add_init_script(SLOW_FETCH)
    log_in(page, web_server, alpha, alpha.admin_email, alpha.password)
    page.goto(web_server.tenant_url(alpha, "/ask/"))
    page.route("**/api/v1/ask/", _answer_by_question)
    page.get_by_label("Your question").fill("a slow question")
    ask = page.locator("#ask-button")
    ask.focus()
    page.keyboard.press("Enter")
    expect(ask).to_have_attribute("aria-disabled", "true")
    expect(ask).to_be_focused()  # a disabled button would have dropped focus to the page start
    expect(page.locator("#answer")).to_contain_text("The slow answer.")
    expect(ask).not_to_have_attribute("aria-disabled", "true")
    expect(ask).to_be_focused()

    # With "Search only" open, Enter in the question searches instead of asking.
    asked: list[str] = []

    def refuse(route: Any) -> None:
        asked.append(route.request.url)
        route.abort()

    page.route("**/api/v1/ask/", refuse)
    page.get_by_text("Search only (power users)").click()
    page.get_by_label("Your question").fill("notice period")
    page.get_by_label("Your question").press("Enter")
    expect(page.locator("#results-section")).to_be_visible()
    expect(page.locator("#results-status")).not_to_have_text("Searching\u2026")
    assert asked == []


def test_after_a_wrong_password_the_password_field_has_focus(
    page: Any, web_server: LiveServer, alpha: TenantHandle
) -> None:
    page.goto(web_server.tenant_url(alpha, "/login/"))
    page.get_by_label("Email").fill(alpha.admin_email)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("didn't match")
    expect(page.get_by_label("Password")).to_be_focused()
    expect(page.get_by_label("Email")).to_have_value(alpha.admin_email)
