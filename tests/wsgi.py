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


def _environ(method: str, path: str, host: str, api_key: str, payload: Any) -> dict[str, Any]:
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
    return environ


def wsgi_request(
    method: str, path: str, host: str, api_key: str, payload: Any = None
) -> WsgiResponse:
    statuses: list[str] = []

    def start_response(status: str, _headers: Any, _exc_info: Any = None) -> Any:
        statuses.append(status)
        return lambda _data: None

    body = WSGIHandler()(_environ(method, path, host, api_key, payload), start_response)
    try:
        content = b"".join(body)
    finally:
        body.close()  # as the server does once the last byte is sent
    return WsgiResponse(int(statuses[0].split()[0]), content)


def wsgi_read_then_close(
    path: str, host: str, api_key: str, payload: Any, *, parts: int = 1
) -> list[bytes]:
    """POST, read the first `parts` pieces of the body, then close the response early.

    What a server does when the client goes away mid-response: its next write fails, and
    it closes the response without reading the rest.
    """
    body = WSGIHandler()(
        _environ("POST", path, host, api_key, payload), lambda *_args: lambda _data: None
    )
    read: list[bytes] = []
    try:
        for piece in body:
            read.append(piece)
            if len(read) >= parts:
                break
    finally:
        body.close()
    return read
