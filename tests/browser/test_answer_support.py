"""The Ask page marks a cited sentence its passage does not bear out, for eyes (an underline
and a title) and for screen readers (a note after it)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.a11y import assert_accessible
from tests.browser.conftest import LiveServer, log_in
from tests.conftest import TenantHandle

pytestmark = [pytest.mark.browser, pytest.mark.celery_worker, pytest.mark.slow]

ANSWER = "Leave is 25 days a year [1]. Staff also get a company car [1]."


def _done() -> dict[str, Any]:
    second = ANSWER.index("Staff")
    citation = {"marker": 1, "chunk_id": 0, "document_id": 1, "document_name": "handbook.pdf",
                "page": 4, "quote": "Employees receive 25 days of paid leave.",
                "support": "unsupported"}  # fmt: skip
    claims = [
        {"start": 0, "end": second - 1, "markers": [1], "support": "supported"},
        {"start": second, "end": len(ANSWER), "markers": [1], "support": "unsupported"},
    ]
    return {"answer": ANSWER, "citations": [citation], "backend": "openai", "degraded": False,
            "took_ms": 9.0, "cached": False, "query_id": None,
            "support": {"supported_share": 0.5, "claims": claims}}  # fmt: skip


def test_a_sentence_not_found_in_its_passage_is_marked(
    page: Any, web_server: LiveServer, alpha: TenantHandle
) -> None:
    body = f"event: done\ndata: {json.dumps(_done())}\n\n"
    log_in(page, web_server, alpha, alpha.admin_email, alpha.password)
    page.goto(web_server.tenant_url(alpha, "/ask/"))
    page.route(
        "**/api/v1/ask/",
        lambda route: route.fulfill(status=200, content_type="text/event-stream", body=body),
    )
    page.get_by_label("Your question").fill("What do staff get?")
    page.get_by_label("Your question").press("Enter")
    doubted = page.locator("#answer .claim-unsupported")
    expect(doubted).to_have_count(1)
    expect(doubted).to_have_attribute("title", "Not found in the cited passage")
    expect(doubted).to_contain_text("Staff also get a company car")
    expect(doubted).to_contain_text("(not found in the cited passage)")  # for screen readers
    assert "Leave is 25 days" not in doubted.inner_text()
    expect(page.locator("#answer button.cite")).to_have_count(2)  # markers still open sources
    assert_accessible(page, "ask with a doubted sentence")
