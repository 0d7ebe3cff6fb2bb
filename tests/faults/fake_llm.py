"""A local stand-in for an OpenAI-compatible chat provider, switchable between ways to fail.

It speaks POST /v1/chat/completions as the OpenAI answerer uses it (a JSON completion, or
server-sent chunks with `"stream": true`) and GET /v1/models/<model> (readiness). Healthy,
it answers with the first sentence of source 1 citing it, so the platform's citation check
keeps the answer. The modes:

- `slow`: a JSON request waits `slow_seconds` before answering; a streamed one sends its
  first words at once, then one word every 0.2 s for `slow_seconds` (a provider generating
  at a crawl: bytes keep arriving, so no read timeout fires by itself).
- `stalled`: part of the reply at once, a little more `stall_at` seconds later, then nothing
  for `slow_seconds` (a provider that hangs mid-reply, after the client's last read began).
- `error`: `500` with an error body, as a provider's outage answers.
- `overloaded`: `503` with `Retry-After: <retry_after>`, as a provider shedding load does.
- `malformed`: a `200` whose JSON, or whose second event, is cut off mid-object.
- `oversized`: a 2 MB answer in one JSON body, or a stream that never stops generating
  (until the client goes away).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODES = ("healthy", "slow", "stalled", "error", "overloaded", "malformed", "oversized")
_SOURCE_ONE = re.compile(r'<source id="1"[^>]*>\n(.*?)\n</source>', re.DOTALL)
USAGE = {"prompt_tokens": 200, "completion_tokens": 20, "total_tokens": 220}


def grounded_reply(prompt: str) -> str:
    """Source 1's first sentence, cited: what a well-behaved model would say."""
    found = _SOURCE_ONE.search(prompt)
    text = found.group(1) if found else "Nothing"
    sentence = text.split(". ")[0].strip().rstrip(".")
    return f"{sentence} [1]."


def completion(content: str) -> dict[str, Any]:
    choice = {"index": 0, "message": {"role": "assistant", "content": content}}
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "gpt-4o-mini",
        "choices": [{**choice, "finish_reason": "stop"}],
        "usage": USAGE,
    }


def chunk(content: str | None, *, finish: str | None = None) -> bytes:
    delta = {} if content is None else {"content": content}
    event = {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(event)}\n\n".encode()


class FakeProvider:
    """The fake provider on a free loopback port, in threads of this process."""

    def __init__(
        self, *, slow_seconds: float = 10.0, stall_at: float = 0.5, retry_after: float = 20
    ) -> None:
        self.mode = "healthy"
        self.slow_seconds = slow_seconds
        self.stall_at = stall_at
        self.retry_after = retry_after
        self.received: Counter[str] = Counter()  # requests per mode
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def count(self, mode: str) -> None:
        with self._lock:
            self.received[mode] += 1


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that went away mid-reply (as they should, past their timeout)


def _handler(provider: FakeProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real providers (the SDK pools)

        def log_message(self, *_: Any) -> None:  # quiet
            pass

        def do_GET(self) -> None:
            model = self.path.rsplit("/", 1)[-1]
            if provider.mode == "error":
                self._json(500, {"error": {"message": "The server had an error."}})
            else:
                self._json(200, {"id": model, "object": "model", "created": 0, "owned_by": "x"})

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            mode = provider.mode
            provider.count(mode)
            prompt = body["messages"][-1]["content"]
            try:
                if body.get("stream"):
                    self._stream(mode, grounded_reply(prompt))
                else:
                    self._complete(mode, grounded_reply(prompt))
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up on us, as it should

        def _complete(self, mode: str, reply: str) -> None:
            if mode == "slow":
                time.sleep(provider.slow_seconds)
            if mode == "error":
                self._json(500, {"error": {"message": "The server had an error.", "type": "x"}})
            elif mode == "overloaded":
                error = {"error": {"message": "The engine is overloaded.", "type": "x"}}
                self._json(503, error, {"Retry-After": str(provider.retry_after)})
            elif mode == "malformed":
                self._raw(200, "application/json", json.dumps(completion(reply))[:60].encode())
            elif mode == "oversized":
                self._json(200, completion(reply + " " + reply * (2_000_000 // len(reply))))
            elif mode == "stalled":
                self._stall(json.dumps(completion(reply)).encode())
            else:
                self._json(200, completion(reply))

        def _stream(self, mode: str, reply: str) -> None:
            if mode in ("error", "overloaded"):
                return self._complete(mode, reply)
            if mode == "malformed":
                body = chunk(reply[:20]) + b"data: {not json\n\n"
                return self._raw(200, "text/event-stream", body)
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            words = [word + " " for word in reply.split()]
            if mode == "stalled":
                self._send(chunk(words[0]))
                time.sleep(provider.stall_at)
                self._send(chunk(words[1 % len(words)]))
                time.sleep(provider.slow_seconds)
            elif mode == "slow":
                self._send(chunk(words[0]))
                until = time.monotonic() + provider.slow_seconds
                while time.monotonic() < until:
                    time.sleep(0.2)
                    self._send(chunk(words[1 % len(words)]))
            elif mode == "oversized":
                until = time.monotonic() + 120
                while time.monotonic() < until:
                    self._send(chunk(reply + " "))
            else:
                for word in words:
                    self._send(chunk(word))
            self._send(chunk(None, finish="stop"))
            self._send(f"data: {json.dumps({'choices': [], 'usage': USAGE})}\n\n".encode())
            self._send(b"data: [DONE]\n\n")
            self._send(b"")  # the last chunk of the chunked body
            return None

        def _stall(self, body: bytes) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            for piece, pause in (
                (body[:20], provider.stall_at),
                (body[20:40], provider.slow_seconds),
            ):
                self.wfile.write(piece)
                self.wfile.flush()
                time.sleep(pause)
            self.wfile.write(body[40:])

        def _send(self, data: bytes) -> None:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

        def _json(self, status: int, data: object, headers: dict[str, str] | None = None) -> None:
            self._raw(status, "application/json", json.dumps(data).encode(), headers)

        def _raw(
            self, status: int, kind: str, body: bytes, headers: dict[str, str] | None = None
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

    return Handler
