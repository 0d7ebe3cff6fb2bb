"""Liveness and readiness probes. Readiness names each dependency it checked.

A check is *critical* when the process cannot serve without it: its failure makes the answer
503 so the load balancer stops sending requests here. A non-critical check only turns the
status to `degraded`, with 200: requests are still served, something else needs an operator.

| check | critical | why |
|---|---|---|
| database | yes | nothing works without it |
| index_storage | yes | INDEX_ROOT must be writable, or searches and compactions fail |
| redis | no | search and ask answer uncached; sign-in refuses (its limits fail closed) |
| workers | no | uploads wait in their queue until a worker consumes it |
| embedder | no | the default embedder embeds a word; without it only lexical search answers |
| answers | no | the LLM provider answers (OpenAI backend); else the extractive fallback |

Slow checks are cached (`cache_seconds`): a probe every few seconds costs one HGETALL or
nothing, and a provider is asked at most once a minute.

The body answers on any host, so it names checks and their state only; what went wrong
(exception text, which can carry host names, ports and role names) goes to the log.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django_redis import get_redis_connection

from config import workers

logger = logging.getLogger(__name__)


class CheckFailed(Exception):
    """Raised by a check with a sentence for the log (not for the public body)."""


@dataclass
class Check:
    run: Callable[[], None]  # raises to report the dependency as failing
    critical: bool
    cache_seconds: float = 0.0
    last: tuple[float, Exception | None] | None = None  # (when, the failure or None)

    def outcome(self) -> Exception | None:
        """None when the dependency is fine, else what failed (reused while cached)."""
        now = time.monotonic()
        if self.last is not None and now - self.last[0] < self.cache_seconds:
            return self.last[1]
        failure: Exception | None = None
        try:
            self.run()
        except Exception as exc:
            failure = exc
        self.last = (now, failure)
        return failure


_checks: dict[str, Check] = {}


def register_check(
    name: str, check: Callable[[], None], *, critical: bool = True, cache_seconds: float = 0.0
) -> None:
    """Add a readiness check (raise to report the dependency as down or degraded)."""
    _checks[name] = Check(run=check, critical=critical, cache_seconds=cache_seconds)


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


def _check_index_storage() -> None:
    root = Path(settings.INDEX_ROOT)
    root.mkdir(parents=True, exist_ok=True)
    if not os.access(root, os.W_OK | os.X_OK):
        raise CheckFailed(f"INDEX_ROOT {root} is not writable by this process.")


register_check("database", _check_database)
register_check("index_storage", _check_index_storage)
register_check("redis", _check_redis, critical=False)
register_check("workers", _check_workers, critical=False, cache_seconds=5.0)


@never_cache
def live(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
def ready(request: HttpRequest) -> JsonResponse:
    results: dict[str, dict[str, object]] = {}
    unavailable = degraded = False
    for name, check in _checks.items():
        started = time.perf_counter()
        failure = check.outcome()
        state = "ok"
        if failure is not None:
            state = "down" if check.critical else "degraded"
            unavailable = unavailable or check.critical
            degraded = True
            logger.warning(
                "Readiness check %r is %s: %s: %s", name, state, type(failure).__name__, failure
            )
        results[name] = {
            "ok": state == "ok",
            "status": state,
            "ms": round((time.perf_counter() - started) * 1000, 1),
        }
    status = "unavailable" if unavailable else "degraded" if degraded else "ok"
    return JsonResponse({"status": status, "checks": results}, status=503 if unavailable else 200)
