"""Requests through Django's WSGI handler, as a server sends them.

Unlike Django's test client, the handler sends `request_started` with its usual receivers
(connection health checks), and the response is closed only when the caller has read it.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any
from wsgiref.util import setup_testing_defaults

from django.core.handlers.wsgi import WSGIHandler


@dataclass
class WsgiResponse:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def wsgi_request(
    method: str, path: str, host: str, api_key: str, payload: Any = None
) -> WsgiResponse:
    data = json.dumps(payload).encode() if payload is not None else b""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "HTTP_HOST": host,
        "HTTP_X_API_KEY": api_key,
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(data)),
        "wsgi.input": io.BytesIO(data),
    }
    setup_testing_defaults(environ)
    statuses: list[str] = []

    def start_response(status: str, _headers: Any, _exc_info: Any = None) -> Any:
        statuses.append(status)
        return lambda _data: None

    body = WSGIHandler()(environ, start_response)
    try:
        content = b"".join(body)
    finally:
        body.close()  # as the server does once the last byte is sent
    return WsgiResponse(int(statuses[0].split()[0]), content)
