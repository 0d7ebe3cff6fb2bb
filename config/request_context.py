"""Binds a request id and the tenant schema to every log line written while serving a request.

Placed right after the tenant middleware, so the connection's schema is already the
tenant's (or `public`). The id comes from the caller's `X-Request-ID` when it is a safe
token (a load balancer's or another service's), else a new one; it is returned on the
response so a user's report can be matched to the logs. One `request_finished` line per
request (method, path, status, duration) replaces gunicorn's access log.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import structlog
from django.db import connection
from django.http import FileResponse, HttpRequest, HttpResponseBase, StreamingHttpResponse

from config.logging import current_request

REQUEST_ID_HEADER = "X-Request-ID"
# Letters, digits and . _ : - only, so a caller cannot inject lines or markup into logs.
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
# Probes and scrapes arrive every few seconds per pod; their successes log at DEBUG only.
_QUIET_PREFIXES = ("/health/", "/metrics")

access_log = structlog.stdlib.get_logger("request")


def request_id_from(request: HttpRequest) -> str:
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    if _SAFE_REQUEST_ID.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


class RequestContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        started = time.perf_counter()
        context: dict[str, Any] = {
            "request_id": request_id_from(request),
            "schema": getattr(connection, "schema_name", "public"),  # set by the tenant routing
        }
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(**context)
        token = current_request.set(request)
        try:
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = context["request_id"]
            quiet = request.path.startswith(_QUIET_PREFIXES) and response.status_code < 400
            log = access_log.debug if quiet else access_log.info
            log(
                "request_finished",
                method=request.method,
                path=request.path,
                status=response.status_code,
                duration_ms=round((time.perf_counter() - started) * 1000, 1),
            )
            if isinstance(response, StreamingHttpResponse) and not isinstance(
                response, FileResponse
            ):
                # The body is produced after we return; keep its log lines in this request.
                # (Files keep their own iterator, and with it the server's sendfile path.)
                body = response.streaming_content
                if isinstance(body, Iterator):
                    response.streaming_content = _with_context(body, context, request)
            return response
        finally:
            current_request.reset(token)
            structlog.contextvars.clear_contextvars()


def _with_context(
    iterator: Iterator[bytes], context: dict[str, Any], request: HttpRequest
) -> Iterator[bytes]:
    while True:
        structlog.contextvars.bind_contextvars(**context)
        token = current_request.set(request)
        try:
            chunk = next(iterator)
        except StopIteration:
            return
        finally:
            current_request.reset(token)
            structlog.contextvars.clear_contextvars()
        yield chunk
