"""Subscription plans and the limits they grant (kept in code; documented in README)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Plan:
    code: str
    label: str
    max_documents: int
    max_storage_bytes: int
    queries_per_minute: int
    # Provider tokens a month (prompt, completion and embedding; 0: no budget). Spent, the
    # workspace's searches and questions that would use the provider are refused until the
    # month ends (queries/budget.py); local embedders and the extractive answer cost none.
    monthly_tokens: int = 0
    # Pages read with OCR (scans, photos) a calendar month, UTC; a document that would pass
    # it fails with a sentence naming the allowance and the month (documents/ocr_stage.py).
    ocr_pages_per_month: int = 0


_MB = 1024 * 1024
PLANS: dict[str, Plan] = {
    plan.code: plan
    for plan in (
        Plan(
            "free",
            "Free",
            max_documents=200,
            max_storage_bytes=500 * _MB,
            queries_per_minute=30,
            monthly_tokens=1_000_000,
            ocr_pages_per_month=200,
        ),
        Plan(
            "pro",
            "Pro",
            max_documents=20_000,
            max_storage_bytes=20_000 * _MB,
            queries_per_minute=300,
            monthly_tokens=50_000_000,
            ocr_pages_per_month=10_000,
        ),
        Plan(
            "enterprise",
            "Enterprise",
            max_documents=1_000_000,
            max_storage_bytes=2_000_000 * _MB,
            queries_per_minute=3_000,
            monthly_tokens=1_000_000_000,
            ocr_pages_per_month=500_000,
        ),
    )
}
PLAN_CHOICES = [(plan.code, plan.label) for plan in PLANS.values()]
DEFAULT_PLAN = "pro"


def get_plan(code: str) -> Plan:
    return PLANS.get(code, PLANS[DEFAULT_PLAN])
