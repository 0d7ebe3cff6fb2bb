"""One loop over tenants for every job that visits each of them (beat tasks, rollups, sweeps).

The rules are the same everywhere: the public schema is never visited; inactive tenants are
left out unless the job asks for them (a usage rollup still counts what they store); each
tenant runs inside its own schema and a failure in one is logged and recorded, never
stopping the others; the connection is back on the public schema afterwards.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from django.db import DatabaseError
from django_tenants.utils import tenant_context

from tenants.models import Tenant

logger = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class EachResult(Generic[T]):
    """What a job returned per schema, and the schemas where it failed (with why)."""

    results: dict[str, T] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)


def tenants_to_visit(*, include_inactive: bool = False) -> list[Tenant]:
    tenants = Tenant.objects.exclude(schema_name="public").order_by("schema_name")
    if not include_inactive:
        tenants = tenants.filter(is_active=True)
    return list(tenants)


def for_each_tenant(
    job: Callable[[Tenant], T],
    *,
    job_name: str,
    include_inactive: bool = False,
    tenants: Iterable[Tenant] | None = None,
    catch: tuple[type[Exception], ...] = (DatabaseError,),
) -> EachResult[T]:
    """Run `job(tenant)` inside each tenant's schema; errors of the `catch` types are
    logged and collected per tenant, anything else propagates (a bug should be seen)."""
    outcome: EachResult[T] = EachResult()
    chosen = tenants_to_visit(include_inactive=include_inactive) if tenants is None else tenants
    for tenant in chosen:
        try:
            with tenant_context(tenant):
                outcome.results[tenant.schema_name] = job(tenant)
        except catch as exc:
            logger.exception("%s failed for tenant %s", job_name, tenant.schema_name)
            outcome.failures[tenant.schema_name] = f"{type(exc).__name__}: {exc}"
    return outcome
