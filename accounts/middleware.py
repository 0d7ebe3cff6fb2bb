"""Copies the rate-limit counters measured during the request onto the response."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase

from accounts.ratelimits import HEADERS_ATTR


class RateLimitHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        for name, value in (getattr(request, HEADERS_ATTR, None) or {}).items():
            response.headers.setdefault(name, value)
        return response
