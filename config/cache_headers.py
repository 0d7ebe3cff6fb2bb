"""API answers belong to one caller: no shared cache may keep them or hand them to another.

Every response under /api/ gets `Cache-Control: private, no-store` (merged into what the view
set, e.g. the ask stream's `no-cache`) and `Vary: Authorization, Cookie, X-API-Key` (the
headers that say who is asking). Refusals are included: they are cheap and harmless to mark.
The OpenAPI schema and its docs are the same for everyone and stay cacheable. Only headers
change, so streamed bodies pass through untouched.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase
from django.utils.cache import patch_cache_control, patch_vary_headers

API_PREFIX = "/api/"
PUBLIC_API_PREFIXES = ("/api/schema/", "/api/docs/")
CALLER_HEADERS = ("Authorization", "Cookie", "X-API-Key")


class PrivateApiResponsesMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        path = request.path
        if path.startswith(API_PREFIX) and not path.startswith(PUBLIC_API_PREFIXES):
            patch_cache_control(response, private=True, no_store=True)
            patch_vary_headers(response, CALLER_HEADERS)
        return response
