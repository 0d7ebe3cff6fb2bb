"""The plan's monthly token budget: what a workspace spent at the provider this month, and
the check that refuses searches and questions that would spend more once it is used up.

Spent tokens are the query log's prompt, completion and embedding tokens plus the embedding
tokens of the documents processed this month (UTC), cached for BUDGET_CACHE_SECONDS per
workspace (the cache keys carry the tenant's schema). Only work that reaches a billing
provider is refused: lexical search, a local embedder and the extractive answer cost
nothing and keep working."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from config.errors import AppError
from documents.embedder_choice import backend_for_current_tenant
from tenants.plans import Plan, get_plan

logger = logging.getLogger(__name__)
BILLED_BACKENDS = frozenset({"openai"})
CACHE_SECONDS = 30


class TokenBudgetSpent(AppError):
    status = 429
    code = "token_budget_spent"


@dataclass(frozen=True)
class Budget:
    month: str
    used: int
    limit: int  # 0: the plan sets no budget

    @property
    def spent(self) -> bool:
        return self.limit > 0 and self.used >= self.limit


def month_start(now: dt.datetime | None = None) -> dt.datetime:
    now = (now or timezone.now()).astimezone(dt.UTC)
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _next_month(start: dt.datetime) -> dt.datetime:
    return (start + dt.timedelta(days=32)).replace(day=1)


def _count(start: dt.datetime) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT coalesce(sum(prompt_tokens + completion_tokens + embedding_tokens), 0)"
            " FROM queries_query WHERE created_at >= %s) + (SELECT coalesce("
            "sum(embedding_tokens), 0) FROM documents_document WHERE processed_at >= %s)",
            [start, start],
        )
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def current_plan() -> Plan:
    return get_plan(str(getattr(getattr(connection, "tenant", None), "plan", "")))


def current_budget() -> Budget:
    """This month's tokens of the workspace the connection points at, and its plan's limit."""
    start = month_start()
    key = f"token-budget:{start:%Y-%m}"
    used = None
    try:
        used = cache.get(key)
    except Exception as exc:  # the cache is optional: count in the database instead
        logger.warning("token budget cache unreadable (%s); counting in the database", exc)
    if not isinstance(used, int):
        used = _count(start)
        try:
            cache.set(key, used, timeout=CACHE_SECONDS)
        except Exception as exc:
            logger.warning("token budget cache unwritable (%s)", exc)
    return Budget(month=f"{start:%Y-%m}", used=used, limit=current_plan().monthly_tokens)


def would_bill(*, embeds_query: bool, answerer: str = "") -> bool:
    return (embeds_query and backend_for_current_tenant() in BILLED_BACKENDS) or (
        answerer in BILLED_BACKENDS
    )


def check(*, embeds_query: bool, answerer: str = "") -> None:
    """Raise TokenBudgetSpent when this request would spend tokens the month has no more of."""
    if not would_bill(embeds_query=embeds_query, answerer=answerer):
        return
    budget = current_budget()
    if not budget.spent:
        return
    start = month_start()
    resets = _next_month(start)
    plan = current_plan()
    raise TokenBudgetSpent(
        f"This workspace has used its {plan.label} plan's {budget.limit:,} provider tokens "
        f"for {start:%B %Y} ({budget.used:,} used). Searches in lexical mode still work; "
        f"the budget renews on {resets:%-d %B %Y} (UTC), or ask your operator for a larger "
        "plan.",
        retry_after=max(1, int((resets - timezone.now()).total_seconds())),
        used=budget.used,
        limit=budget.limit,
    )
