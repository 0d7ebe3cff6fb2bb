"""Liveness and readiness probes. Readiness names each dependency it checked.

A check is *critical* when the process cannot serve without it (the database, Redis):
its failure makes the answer 503 so the load balancer stops sending requests here. A
non-critical check (a worker for each queue) only turns the status to `degraded`, with 200:
requests are still served, something else needs an operator.

The body answers on any host, so it names checks and their state only; what went wrong
(exception text, which can carry host names, ports and role names) goes to the log.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django_redis import get_redis_connection

from config import workers

logger = logging.getLogger(__name__)


class CheckFailed(Exception):
    """Raised by a check with a sentence for the log (not for the public body)."""


@dataclass(frozen=True)
class Check:
    run: Callable[[], None]  # raises to report the dependency as failing
    critical: bool


_checks: dict[str, Check] = {}


def register_check(name: str, check: Callable[[], None], *, critical: bool = True) -> None:
    """Add a readiness check (raise to report the dependency as down or degraded)."""
    _checks[name] = Check(run=check, critical=critical)


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_redis() -> None:
    get_redis_connection("default").ping()


def _check_workers() -> None:
    missing = workers.unconsumed()
    if missing:
        raise CheckFailed(
            "No running Celery worker consumes the queue(s) "
            + ", ".join(missing)
            + "; start one with `celery -A config worker` (no -Q takes every queue)."
        )


register_check("database", _check_database)
register_check("redis", _check_redis)
register_check("workers", _check_workers, critical=False)


@never_cache
def live(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
def ready(request: HttpRequest) -> JsonResponse:
    results: dict[str, dict[str, object]] = {}
    unavailable = degraded = False
    for name, check in _checks.items():
        started = time.perf_counter()
        try:
            check.run()
            state = "ok"
        except Exception as exc:
            state = "down" if check.critical else "degraded"
            unavailable = unavailable or check.critical
            degraded = True
            logger.warning("Readiness check %r is %s: %s: %s", name, state, type(exc).__name__, exc)
        results[name] = {
            "ok": state == "ok",
            "status": state,
            "ms": round((time.perf_counter() - started) * 1000, 1),
        }
    status = "unavailable" if unavailable else "degraded" if degraded else "ok"
    return JsonResponse({"status": status, "checks": results}, status=503 if unavailable else 200)
