"""Rate limits: counters in Redis (the cache named by RATELIMIT_USE_CACHE), per tenant.

What is limited, and how to use it from another app:

- Sign-in, password checks and reset links: see accounts/signin_limits.py.
- Every API request: `ApiRateThrottle` (in REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"], so new
  views get it for free) — per user, per API key, or per IP when anonymous, `RATELIMIT_API`.
  It also sets `X-RateLimit-Limit` / `X-RateLimit-Remaining` on the response.
- Ask / search: call `check_ask_rate(request)` at the top of the view (or decorate the
  handler with `@ask_rate_limited`). The limit is the tenant plan's
  `limits.queries_per_minute`, shared by everyone in the workspace. A view that also sets
  `counts_as_question = True` has both counters taken in the throttle's single Redis round
  trip; its `check_ask_rate` call then reuses that count instead of counting again.

Every check is one Redis round trip, whatever the number of counters (a Lua script counts
them in order and stops at the first one over its limit, so a refused request does not use
up a later budget). Keys go through the cache's key function, so they carry the tenant's
schema. Over a limit, these raise `RateLimited` (a DRF `Throttled`): a 429 with `Retry-After`
and the standard error body. When Redis is unreachable, API and ask limits fail open (the
request goes through; a warning is logged at most every 30 s); the sign-in limits fail
closed with a 503, because they are the guard against password guessing.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeVar, cast

from django.conf import settings
from django.http import HttpRequest
from rest_framework.exceptions import APIException, Throttled
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from accounts import ratecounters
from accounts.ratecounters import Counter, Usage

if TYPE_CHECKING:  # rest_framework.views imports this module through its settings
    from rest_framework.views import APIView

logger = logging.getLogger(__name__)
HEADERS_ATTR = "rate_limit_headers"
_PLAN_USAGE_ATTR = "_plan_rate_usage"
_WARN_EVERY = 30.0
_last_warning = 0.0

F = TypeVar("F", bound=Callable[..., Any])
# The plan's per-minute limit covers both searches and questions (check_ask_rate).
PLAN_LIMITED = "searches and questions for this workspace's plan"


class RateLimited(Throttled):
    """A 429 whose message is one sentence ("Too many …; try again in N seconds.").

    DRF's Throttled appends "Expected available in N seconds." to the detail; ours already
    says when, so that sentence is left out. `wait` still sets the Retry-After header.
    """

    extra_detail_singular = ""
    extra_detail_plural = ""

    def __init__(self, wait: float | None, what: str) -> None:
        seconds = max(1, math.ceil(wait or 1))
        super().__init__(
            detail=f"Too many {what}; try again in {seconds} second{'s' if seconds != 1 else ''}."
        )
        self.wait = seconds  # after __init__, so Throttled adds no second sentence


class RateLimitUnavailable(APIException):
    status_code = 503
    default_code = "rate_limit_unavailable"
    default_detail = "Sign-in is briefly unavailable; try again in a minute."


def client_ip(request: HttpRequest) -> str:
    """The caller's address. X-Forwarded-For is trusted only behind TRUSTED_PROXY_COUNT proxies.

    Each trusted proxy appends the address it received the request from, so the client is
    the N-th entry from the right; anything left of it may be forged by the client.
    """
    remote = str(request.META.get("REMOTE_ADDR") or "unknown")
    proxies = int(getattr(settings, "TRUSTED_PROXY_COUNT", 0))
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies <= 0 or not forwarded:
        return remote
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    return hops[-proxies] if len(hops) >= proxies else remote


def django_request(request: HttpRequest | Request) -> HttpRequest:
    return request._request if isinstance(request, Request) else request


def _warn_cache_down(exc: Exception) -> None:
    global _last_warning
    now = time.monotonic()
    if now - _last_warning >= _WARN_EVERY:
        _last_warning = now
        logger.warning("Rate limiting skipped: the cache is unreachable (%s).", exc)


def _plan_counter(request: HttpRequest) -> Counter | None:
    tenant = getattr(request, "tenant", None)
    if tenant is None:
        return None
    return Counter("ask", tenant.schema_name, f"{tenant.limits.queries_per_minute}/m")


def check_ask_rate(request: HttpRequest | Request) -> None:
    """Count one question against the tenant plan's queries-per-minute; raise RateLimited."""
    plain = django_request(request)
    if hasattr(plain, _PLAN_USAGE_ATTR):
        # Counted with the API limit in the throttle's round trip (`counts_as_question`).
        usage: Usage | None = getattr(plain, _PLAN_USAGE_ATTR)
        delattr(plain, _PLAN_USAGE_ATTR)  # a second check counts again
    else:
        counter = _plan_counter(plain)
        if counter is None:
            return
        try:
            usages = ratecounters.count([counter])
        except Exception as exc:
            _warn_cache_down(exc)
            return
        usage = usages[0] if usages else None
    if usage is not None:
        _remember_headers(plain, usage)
        if usage.should_limit:
            raise RateLimited(usage.seconds_left, PLAN_LIMITED)


def ask_rate_limited(handler: F) -> F:
    """Decorate an APIView handler method (`def post(self, request, ...)`) with check_ask_rate."""

    @wraps(handler)
    def wrapper(self: APIView, request: Request, *args: Any, **kwargs: Any) -> Any:
        check_ask_rate(request)
        return handler(self, request, *args, **kwargs)

    return cast("F", wrapper)


def _remember_headers(request: HttpRequest, usage: Usage) -> None:
    # The most restrictive counter wins; accounts.middleware copies these onto the response.
    current = getattr(request, HEADERS_ATTR, None)
    if current is None or usage.remaining < int(current["X-RateLimit-Remaining"]):
        setattr(
            request,
            HEADERS_ATTR,
            {"X-RateLimit-Limit": str(usage.limit), "X-RateLimit-Remaining": str(usage.remaining)},
        )


def api_caller_key(request: Request) -> str:
    api_key_id = getattr(request.auth, "pk", None) if hasattr(request.auth, "scopes") else None
    if api_key_id is not None:
        return f"key:{api_key_id}"
    if request.user and request.user.is_authenticated:
        return f"user:{request.user.pk}"
    return f"ip:{client_ip(request._request)}"


class ApiRateThrottle(BaseThrottle):
    """The general per-caller API limit (RATELIMIT_API), counted in Redis.

    On views with `counts_as_question = True` the tenant plan's question counter is taken in
    the same round trip (and only if the API limit let the request through); the view's
    `check_ask_rate` then applies it.
    """

    sets_rate_limit_headers = True  # config/openapi.py declares the headers on such views

    def __init__(self) -> None:
        self._wait: float | None = None

    def allow_request(self, request: Request, view: APIView) -> bool:
        django_request = request._request
        counters = [Counter("api", api_caller_key(request), str(settings.RATELIMIT_API))]
        plan = _plan_counter(django_request) if getattr(view, "counts_as_question", False) else None
        if plan is not None:
            counters.append(plan)
        try:
            usages = ratecounters.count(counters)
        except Exception as exc:
            _warn_cache_down(exc)
            usages = None
        if plan is not None:
            # Counted (or failed open) here: check_ask_rate must not count it again.
            setattr(
                django_request, _PLAN_USAGE_ATTR, usages[1] if usages and len(usages) > 1 else None
            )
        if not usages:
            return True
        _remember_headers(django_request, usages[0])
        if usages[0].should_limit:
            self._wait = max(1, int(usages[0].seconds_left))
            return False
        return True

    def wait(self) -> float | None:
        return self._wait
