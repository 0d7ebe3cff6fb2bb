"""Tenant-aware task helpers, and a tiny task that reports the schema it ran in."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar, cast

from celery import current_task, shared_task

from tenants.db import current_schema

logger = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")


class MissingTenantError(RuntimeError):
    """A tenant-scoped task was run without a tenant (sent from the public schema)."""


def current_schema_name() -> str:
    return current_schema()


def require_tenant(func: Callable[P, R]) -> Callable[P, R]:
    """Refuse to run a task body unless the worker switched to a tenant's schema."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if current_schema_name() == "public":
            request = getattr(current_task, "request", None)
            unreachable = getattr(request, "tenant_unreachable", None)
            if unreachable is not None:  # the database did not answer (tenants/celery_signals.py)
                raise current_task.retry(exc=unreachable, countdown=_backoff(request))
            gone = getattr(request, "tenant_gone", None)
            if gone:  # sent for a tenant deleted since (config/celery.py)
                logger.info("Task %s skipped: the tenant %r no longer exists.", func.__name__, gone)
                return cast("R", None)
            raise MissingTenantError(
                f"Task {func.__name__} needs a tenant: send it from a tenant's context "
                "(e.g. inside `with tenant_context(tenant):`)."
            )
        return func(*args, **kwargs)

    return wrapper


def _backoff(request: object) -> float:
    """Seconds before trying again: doubling with each retry, jittered, at most a minute."""
    retries = int(getattr(request, "retries", 0) or 0)
    return random.uniform(0.5, min(60.0, 2.0 ** (retries + 1)))  # noqa: S311 - not for secrets


@shared_task(name="tenants.report_schema")
@require_tenant
def report_schema() -> str:
    """Return the schema the task ran in (used by health checks and isolation tests)."""
    return current_schema_name()
