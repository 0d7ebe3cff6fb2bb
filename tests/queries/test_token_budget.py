"""The plan's monthly token budget: once a workspace has spent it, searches and questions
that would reach the billing provider are refused with a 429 sentence until the month ends;
lexical search and other workspaces keep working."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.cache import cache
from django.test import override_settings
from django_tenants.utils import tenant_context

from queries import budget
from tests.accounts.helpers import fresh_rate_limits
from tests.factories import DocumentFactory, QueryFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limits")]
__all__ = ["fresh_rate_limits"]
FREE_BUDGET = 1_000_000  # tenants/plans.py


def _post(client: Any, url: str, body: dict[str, Any]) -> Any:
    return client.post(url, body, content_type="application/json")


@pytest.fixture
def spent(make_tenant: Any) -> Any:
    """A Free workspace that spent its month: 900k prompt tokens and 100k embedding tokens."""
    handle = make_tenant("budget_spent")
    handle.tenant.plan = "free"
    handle.tenant.save(update_fields=["plan"])
    QueryFactory(tenant=handle, kind="ask", prompt_tokens=900_000)
    DocumentFactory(
        tenant=handle, chunks=["Expense claims are filed within thirty days."],
        embedding_tokens=100_000, processed_at=dt.datetime.now(dt.UTC),
    )  # fmt: skip
    # Last month's tokens do not count against this one.
    QueryFactory(tenant=handle, prompt_tokens=5_000_000, created_at=budget.month_start()
                 - dt.timedelta(days=2))  # fmt: skip
    cache.clear()
    return handle


def test_a_spent_budget_refuses_questions_to_the_provider_with_a_sentence(spent: Any) -> None:
    client = spent.logged_in_client()
    with override_settings(ANSWER_BACKEND="openai", OPENAI_API_KEY="test-key"):
        refused = _post(client, "/api/v1/ask/", {"question": "When are expense claims due?"})
    assert refused.status_code == 429
    error = refused.json()["error"]
    assert error["code"] == "token_budget_spent"
    assert "1,000,000 provider tokens" in error["message"]
    assert "(1,000,000 used)" in error["message"]
    assert "renews on 1 " in error["message"]
    resets = budget.month_start() + dt.timedelta(days=32)
    assert 0 < int(refused["Retry-After"]) <= (resets - budget.month_start()).total_seconds()
    # The extractive answer costs nothing and still answers.
    answered = _post(client, "/api/v1/ask/", {"question": "When are expense claims due?"})
    assert answered.status_code == 200, answered.content


def test_searches_that_embed_at_the_provider_are_refused_but_lexical_ones_work(
    spent: Any,
) -> None:
    spent.tenant.embedding_backend = "openai"
    spent.tenant.save(update_fields=["embedding_backend"])
    client = spent.logged_in_client()
    hybrid = _post(client, "/api/v1/search/", {"query": "expense claims", "mode": "hybrid"})
    assert hybrid.status_code == 429
    assert hybrid.json()["error"]["code"] == "token_budget_spent"
    lexical = _post(client, "/api/v1/search/", {"query": "expense claims", "mode": "lexical"})
    assert lexical.status_code == 200, lexical.content
    assert lexical.json()["results"]


def test_a_budget_left_and_other_workspaces_are_not_refused(spent: Any, make_tenant: Any) -> None:
    other = make_tenant("budget_other")
    other.tenant.plan = "free"
    other.tenant.save(update_fields=["plan"])
    QueryFactory(tenant=other, kind="ask", prompt_tokens=999_999)
    with override_settings(ANSWER_BACKEND="openai", OPENAI_API_KEY="test-key"):
        with tenant_context(other.tenant):
            left = budget.current_budget()
            assert (left.used, left.limit, left.spent) == (999_999, FREE_BUDGET, False)
            budget.check(embeds_query=True, answerer="openai")  # no refusal
        with tenant_context(spent.tenant), pytest.raises(budget.TokenBudgetSpent):
            budget.check(embeds_query=True, answerer="openai")


def test_analytics_show_admins_the_month_used_against_the_budget(spent: Any) -> None:
    client = spent.logged_in_client()
    body = client.get("/api/v1/analytics/queries/").json()
    assert body["token_budget"] == {
        "month": f"{budget.month_start():%Y-%m}",
        "used": FREE_BUDGET,
        "budget": FREE_BUDGET,
        "spent": True,
    }
    page = client.get("/analytics/").content.decode()
    assert "Provider tokens this month" in page
    assert "1,000,000 / 1,000,000" in page
    assert "Used up: questions to the provider are refused" in page
