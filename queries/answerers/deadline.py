"""One deadline for everything an answer asks of its provider: each try, the waits between
tries, and reading the reply to its end.

The SDK's own timeout bounds each read of the socket, not a reply: a provider that keeps
sending a few bytes (a stream generating at a crawl, a body trickling in) holds the request's
thread for as long as it goes on, and each retry adds another timeout and a wait, up to two
minutes when the provider answers with `Retry-After`. So the SDK is told to retry nothing:
`call` tries again only while the deadline leaves room for the wait and the try, and the HTTP
client `bounded_http_client` builds ends any response still unfinished when its try's timeout
runs out (the socket is shut, so even a read that is waiting returns) or whose body (other
than an event stream, which the answerer measures itself) grows past a size.
"""

from __future__ import annotations

import contextlib
import email.utils
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import httpx2
import openai

T = TypeVar("T")

_BEGAN = "di.began"  # request extension: when the try was sent (time.monotonic())
# A try is not started with less time than this left: it could not finish.
MIN_TRY_SECONDS = 0.25
_BACKOFF_FIRST, _BACKOFF_MAX = 0.5, 8.0


class ReplyTooLarge(Exception):
    """The provider's reply grew past the size any allowed answer fits in."""


class Deadline:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds

    def remaining(self) -> float:
        return self.at - time.monotonic()


def call(send: Callable[[float], T], deadline: Deadline, max_retries: int) -> T:
    """`send(timeout)`, tried again after a failure worth retrying (a lost connection, a
    timeout, 408, 409, 429, 5xx), at most `max_retries` times and only while the deadline
    leaves time for the wait (the provider's Retry-After, else a backoff) and another try."""
    attempt = 0
    while True:
        try:
            return send(max(deadline.remaining(), 0.001))
        except (openai.APIConnectionError, openai.APIStatusError) as error:
            wait = retry_wait(error, attempt) if attempt < max_retries else None
            if wait is None or deadline.remaining() - wait < MIN_TRY_SECONDS:
                raise
            time.sleep(wait)
        attempt += 1


def retry_wait(error: openai.APIError, attempt: int) -> float | None:
    """Seconds to wait before trying again after `error`, or None if it is not worth it."""
    backoff = min(_BACKOFF_FIRST * 2.0**attempt, _BACKOFF_MAX) * (1 - 0.25 * random.random())  # noqa: S311 - jitter
    if not isinstance(error, openai.APIStatusError):
        return backoff  # the connection failed or timed out
    headers = error.response.headers
    told = headers.get("x-should-retry")
    status = error.response.status_code
    if told == "false" or (told != "true" and status not in (408, 409, 429) and status < 500):
        return None
    return _retry_after(headers) or backoff


def _retry_after(headers: httpx2.Headers) -> float | None:
    try:
        if "retry-after-ms" in headers:
            return float(headers["retry-after-ms"]) / 1000
        value = headers.get("retry-after", "")
        if value.replace(".", "", 1).isdigit():
            return float(value)
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def bounded_http_client(max_body_bytes: int | None) -> httpx2.Client:
    """The SDK's HTTP client, with each response bounded by its request's read timeout as a
    whole (not per read) and, unless it is an event stream, to `max_body_bytes`."""

    def stamp(request: httpx2.Request) -> None:
        request.extensions[_BEGAN] = time.monotonic()

    def bound(response: httpx2.Response) -> None:
        request = response.request
        timeout = (request.extensions.get("timeout") or {}).get("read")
        streamed = response.headers.get("content-type", "").startswith("text/event-stream")
        limit = None if streamed else max_body_bytes
        if timeout is not None or limit is not None:
            began = request.extensions.get(_BEGAN, time.monotonic())
            ends = None if timeout is None else began + timeout
            response.stream = _BoundedStream(response, ends, limit)

    hooks = {"request": [stamp], "response": [bound]}
    client: httpx2.Client = openai.DefaultHttpx2Client(event_hooks=hooks)
    return client


class _BoundedStream(httpx2.SyncByteStream):
    """A response body that ends at `ends` (time.monotonic()) or past `limit` bytes."""

    def __init__(self, response: httpx2.Response, ends: float | None, limit: int | None) -> None:
        self._inner: Any = response.stream
        self._limit = limit
        self._ends = ends
        self._lock = threading.Lock()
        self._closed = self._expired = False
        self._timer: threading.Timer | None = None
        network = response.extensions.get("network_stream")
        sock = network.get_extra_info("socket") if network is not None else None
        if ends is not None and isinstance(sock, socket.socket):
            self._timer = threading.Timer(max(ends - time.monotonic(), 0.0), self._expire, [sock])
            self._timer.daemon = True
            self._timer.start()

    @property
    def elapsed(self) -> Any:
        return getattr(self._inner, "elapsed", None)

    def _expire(self, sock: socket.socket) -> None:
        with self._lock:
            if self._closed:
                return
            self._expired = True
            # The plain socket's shutdown (not TLS's): a read waiting on it returns now.
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)

    def __iter__(self) -> Iterator[bytes]:
        received = 0
        try:
            for part in self._inner:
                received += len(part)
                if self._limit is not None and received > self._limit:
                    raise ReplyTooLarge(
                        f"The reply ran past {self._limit:,} bytes, more than any answer "
                        "allowed needs."
                    )
                if self._ends is not None and time.monotonic() > self._ends:
                    raise httpx2.ReadTimeout("The reply was not complete within the timeout.")
                yield part
        except (ReplyTooLarge, httpx2.ReadTimeout):
            raise
        except Exception as error:
            if self._expired:  # the read failed because the deadline shut the socket
                raise httpx2.ReadTimeout(
                    "The reply was not complete within the timeout."
                ) from error
            raise

    def close(self) -> None:
        with self._lock:
            self._closed = True
        if self._timer is not None:
            self._timer.cancel()
        self._inner.close()
