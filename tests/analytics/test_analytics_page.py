"""The analytics page: who sees what, empty states, and typed texts stay escaped."""

from __future__ import annotations

import json
import re

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import Role
from documents.models import DocumentStatus
from tests.accounts.helpers import owner_of, signed_in
from tests.conftest import TenantHandle
from tests.factories import DocumentFactory, QueryFactory, QueryFeedbackFactory

pytestmark = pytest.mark.django_db

SCRIPT_QUERY = "<script>alert('gap')</script> parking"
SCRIPT_COMMENT = "<img src=x onerror=alert(1)> wrong answer"


def _seed(handle: TenantHandle) -> None:
    now = timezone.now()
    with schema_context(handle.schema):
        owner = owner_of(handle)
        for ms in (12.0, 30.0, 48.0):
            QueryFactory(created_at=now, text="holiday allowance", total_ms=ms, user=owner)
        gap = QueryFactory(
            created_at=now, text=SCRIPT_QUERY, kind="ask", result_count=0, user=owner
        )
        QueryFactory(
            created_at=now,
            text="invoice export",
            api_key_prefix="di_0123456789ab",
            prompt_tokens=40,
        )
        QueryFeedbackFactory(query=gap, helpful=False, comment=SCRIPT_COMMENT, updated_at=now)


def _chart_data(html: str) -> dict:
    found = re.search(r'<script id="chart-data" type="application/json">(.*?)</script>', html)
    assert found, "the chart data is missing"
    return json.loads(found.group(1))


@pytest.mark.parametrize("role", [Role.OWNER, Role.ADMIN])
def test_owners_and_admins_see_everything_with_texts_escaped(make_tenant, role):
    handle = make_tenant("an_page_admin")
    _seed(handle)
    response = signed_in(handle, role).get("/analytics/")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]  # other people's texts: never cached
    html = response.content.decode()
    for element in ("queries-chart", "latency-chart", "spend-chart", "popular-topics",
                    "content-gaps", "top-repeated", "not-helpful-comments",
                    "api-key-usage"):  # fmt: skip
        assert f'id="{element}"' in html, element
    assert 'id="limited-view"' not in html
    # Typed texts appear only escaped, never as markup.
    assert "<script>alert(" not in html
    assert "&lt;script&gt;alert(&#x27;gap&#x27;)&lt;/script&gt; parking" in html
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt; wrong answer" in html
    assert "holiday allowance" in html
    assert "di_0123456789ab" in html
    assert "<style" not in html
    assert "style=" not in html
    queries = _chart_data(html)["queries"]
    assert len(queries["labels"]) == 30
    assert queries["searches"][-1] == 4
    assert queries["asks"][-1] == 1
    assert queries["p50"][-1] == 12.0  # 10, 10, 12, 30, 48
    assert queries["tokens"][-1] == 40


@pytest.mark.parametrize("role", [Role.MEMBER, Role.VIEWER])
def test_members_and_viewers_see_figures_but_not_what_people_typed(make_tenant, role):
    handle = make_tenant("an_page_member")
    _seed(handle)
    html = signed_in(handle, role).get("/analytics/").content.decode()
    assert 'id="queries-chart"' in html
    assert 'id="latency-chart"' in html
    assert 'id="limited-view"' in html
    for private in ("spend-chart", "popular-topics", "topics-title", "content-gaps",
                    "top-repeated", "not-helpful-comments"):  # fmt: skip
        assert f'id="{private}"' not in html, private
    for text in ("holiday allowance", "parking", "wrong answer", "di_0123456789ab"):
        assert text not in html, text
    data = _chart_data(html)
    assert "tokens" not in data["queries"]
    assert "cost" not in data["queries"]
    assert data["queries"]["searches"][-1] == 4


def test_an_empty_workspace_says_what_to_do(make_tenant):
    handle = make_tenant("an_page_empty")
    html = handle.logged_in_client().get("/analytics/").content.decode()
    assert 'id="no-queries"' in html
    assert "No searches or questions in the last 30 days" in html
    assert 'id="queries-chart"' not in html
    assert _chart_data(html)["queries"]["searches"] == [0] * 30


def test_the_window_can_be_chosen_and_odd_values_fall_back(make_tenant):
    handle = make_tenant("an_page_days")
    _seed(handle)
    client = handle.logged_in_client()
    week = client.get("/analytics/?days=7").content.decode()
    assert len(_chart_data(week)["queries"]["labels"]) == 7
    assert len(_chart_data(week)["uploads"]["labels"]) == 7
    assert 'href="?days=7" class="btn btn-small btn-secondary" aria-current="page"' in week
    for odd in ("0", "-3", "abc", "100000"):
        html = client.get(f"/analytics/?days={odd}").content.decode()
        assert len(_chart_data(html)["queries"]["labels"]) == 30, odd


def test_typed_texts_keep_their_own_direction_and_counts_are_grouped(make_tenant):
    handle = make_tenant("an_page_rtl")
    now = timezone.now()
    arabic = "متى يتم إنهاء العقد؟"
    with schema_context(handle.schema):
        owner = owner_of(handle)
        gap = QueryFactory(created_at=now, text=arabic, kind="ask", result_count=0, user=owner)
        QueryFeedbackFactory(query=gap, helpful=False, comment="لا يوجد جواب", updated_at=now)
        QueryFactory(created_at=now, text="tokens", user=owner, prompt_tokens=1234567)
    html = handle.logged_in_client().get("/analytics/").content.decode()
    # An RTL text in an LTR page: its own direction, so "؟" stays at its end.
    assert f'<td class="query-text" dir="auto">{arabic}</td>' in html
    assert f"<bdi>{arabic}</bdi>" in html
    assert '<blockquote dir="auto">لا يوجد جواب</blockquote>' in html
    assert "1,234,567 prompt" in html
    assert "0 helpful, 1 not helpful" in html
    day = now.strftime("%b") + "\u00a0" + str(now.day)  # the date never breaks in two
    assert f">{day}</time>" in html


def test_popular_topics_and_document_totals_are_shown(make_tenant):
    handle = make_tenant("an_page_topics")
    DocumentFactory(tenant=handle, size=2_000_000, chunks=["Reset passwords on the portal."])
    DocumentFactory(tenant=handle, size=500, status=DocumentStatus.FAILED)
    now = timezone.now()
    with schema_context(handle.schema):
        for text in ("How do I reset my password?", "password reset", "password & reset"):
            QueryFactory(created_at=now, text=text)
        QueryFactory(created_at=now, text="How do I reset my password?")
        QueryFactory(created_at=now, text="office wifi")  # once: no topic

    html = signed_in(handle, Role.ADMIN).get("/analytics/").content.decode()

    topics = html[html.index('id="popular-topics"') :]
    topics = topics[: topics.index("</table>")]
    assert topics.count("<tr>") == 2  # the header and one topic
    assert "<bdi>How do I reset my password?</bdi>" in topics  # asked twice: the label
    assert '<td class="num">4</td>' in topics
    assert "Also: <bdi>password &amp; reset</bdi> · <bdi>password reset</bdi>" in topics
    assert "office wifi" not in topics
    assert "Grouped from the newest" not in html  # every query of the window was read
    stats = html[html.index('id="documents-title"') : html.index('id="uploads-title"')]
    assert "Documents</span><b>2</b>" in stats
    assert "Chunks indexed</span><b>1</b>" in stats
    assert "Storage used</span><b>1.9\xa0MB</b>" in stats


def test_without_repeated_topics_the_card_says_so(make_tenant):
    handle = make_tenant("an_page_no_topics")
    with schema_context(handle.schema):
        QueryFactory(text="office wifi")
        QueryFactory(text="parking")
    html = signed_in(handle, Role.OWNER).get("/analytics/").content.decode()
    assert 'id="popular-topics"' not in html
    assert "No topic asked twice yet." in html
