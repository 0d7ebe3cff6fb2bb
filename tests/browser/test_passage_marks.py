"""The cited passage marks each quoted sentence where it stands in the passage, also when
the answer quotes several sentences of one passage ("… " between them), when the passage
wraps lines the quote reads as spaces, and when a quoted sentence runs on into the next
passage."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from tests.browser.conftest import LiveServer, log_in
from tests.conftest import TenantHandle
from tests.factories import DocumentFactory

pytestmark = [pytest.mark.browser, pytest.mark.celery_worker, pytest.mark.slow]

PASSAGE = (
    "Leave is booked in the staff portal.\nUnused days carry over until the end of\nMarch. "
    "Parking is free for staff. Visitors park in the north garage after they register at"
)
QUOTE = (
    "Unused days carry over until the end of March. … Visitors park in the north garage "
    "after they register at the front desk."
)


def _done(chunk_id: int, document_id: int) -> dict[str, Any]:
    citation = {"marker": 1, "chunk_id": chunk_id, "document_id": document_id,
                "document_name": "handbook.txt", "page": None, "quote": QUOTE}  # fmt: skip
    return {"answer": "Unused days carry over until the end of March [1].",
            "citations": [citation], "backend": "extractive", "degraded": False,
            "took_ms": 5.0, "cached": False, "query_id": None}  # fmt: skip


def test_quoted_sentences_are_marked_in_place_not_repeated_above_the_passage(
    page: Any, web_server: LiveServer, alpha: TenantHandle
) -> None:
    with schema_context(alpha.schema):
        document = DocumentFactory(filename="handbook.txt", chunks=[PASSAGE])
        chunk_id = document.chunks.get().pk
    body = f"event: done\ndata: {json.dumps(_done(chunk_id, document.pk))}\n\n"
    try:
        log_in(page, web_server, alpha, alpha.admin_email, alpha.password)
        page.goto(web_server.tenant_url(alpha, "/ask/"))
        page.route(
            "**/api/v1/ask/",
            lambda route: route.fulfill(status=200, content_type="text/event-stream", body=body),
        )
        page.get_by_label("Your question").fill("Do unused days carry over?")
        page.get_by_label("Your question").press("Enter")
        page.locator("#answer button.cite").click()
        expect(page.locator("#passage-file")).to_be_visible()  # the whole passage arrived
        marks = page.locator("#passage-text mark")
        expect(marks).to_have_count(2)
        first = "Unused days carry over until the end of March."
        assert marks.nth(0).inner_text().split() == first.split(" ")
        # The second sentence ends in the next passage: this passage's words are marked.
        assert marks.nth(1).inner_text() == (
            "Visitors park in the north garage after they register at"
        )
        shown = page.locator("#passage-text").inner_text()
        assert shown.split() == PASSAGE.split()  # the passage once, nothing stacked above it
    finally:
        with schema_context(alpha.schema):
            document.delete()
