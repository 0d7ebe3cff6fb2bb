"""bench/load.py's virtual users: one keep-alive HTTP connection each, the workspace mix."""

from __future__ import annotations

import http.client
import json
import random
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
UPLOADS = [ROOT / "eval" / "answers" / name for name in ("zlib_how.html", "debian.csv")]
QUESTIONS = [
    json.loads(line)["text"]
    for line in (ROOT / "eval" / "cranfield" / "queries.jsonl").read_text().splitlines()
    if line.strip()
]
# (kind, share of requests); "search" and "ask" pick their variants below.
MIX = (
    ("search", 55),
    ("ask", 10),
    ("documents", 25),
    ("chunk", 5),
    ("analytics", 5),
)
# Uploads come at a person's pace, not the crowd's: one file per tenant every UPLOAD_EVERY
# seconds (`Uploader`), whatever the number of users.
UPLOAD_EVERY = 10.0
REPEATED = QUESTIONS[:20]  # half the searches ask one of these again: the response cache
TIMEOUT = 30.0


@dataclass(frozen=True)
class Tenant:
    host: str
    key: str  # an API key with read and write scopes
    access: str  # a signed-in owner's access token (the analytics view wants a person)


def percentile(samples: list[float], share: float) -> float:
    if not samples:
        return 0.0
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


class VirtualUser:
    """Sends the mix's next request as soon as the last one is answered, until `stop`."""

    def __init__(self, port: int, tenant: Tenant, *, seed: int) -> None:
        self.port = port
        self.tenant = tenant
        self.rng = random.Random(seed)
        self.latencies: dict[str, list[float]] = {}
        self.statuses: dict[int, int] = {}
        self.chunk_ids: list[int] = []
        self.connection = self._connect()

    def _connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)

    def run(self, stop: float) -> None:
        kinds = [kind for kind, _ in MIX]
        weights = [share for _, share in MIX]
        while time.monotonic() < stop:
            kind = self.rng.choices(kinds, weights)[0]
            getattr(self, f"_{kind}")()
        self.connection.close()

    def request(
        self,
        kind: str,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        sent = {"Host": self.tenant.host, "Authorization": f"Api-Key {self.tenant.key}"}
        sent.update(headers or {})
        started = time.perf_counter()
        try:
            self.connection.request(method, path, body, sent)
            response = self.connection.getresponse()
            payload = response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            status, payload = 0, b""  # no answer: counted with the 5xx
            self.connection.close()
            self.connection = self._connect()
        self.latencies.setdefault(kind, []).append((time.perf_counter() - started) * 1000)
        self.statuses[status] = self.statuses.get(status, 0) + 1
        return status, payload

    def _json(self, kind: str, path: str, body: dict[str, object]) -> tuple[int, bytes]:
        data = json.dumps(body).encode()
        return self.request(kind, "POST", path, data, {"Content-Type": "application/json"})

    def _search(self) -> None:
        mode = self.rng.choice(("hybrid", "hybrid", "lexical", "dense"))
        repeat = self.rng.random() < 0.5
        text = self.rng.choice(REPEATED if repeat else QUESTIONS)
        status, payload = self._json("search", "/api/v1/search/", {"query": text, "mode": mode})
        if status == 200:
            results = json.loads(payload)["results"]
            self.chunk_ids = [hit["chunk_id"] for hit in results[:5]] or self.chunk_ids

    def _ask(self) -> None:
        question = self.rng.choice(QUESTIONS)
        if self.rng.random() < 1 / 3:
            self._json("ask (streamed)", "/api/v1/ask/", {"question": question, "stream": True})
        else:
            self._json("ask", "/api/v1/ask/", {"question": question})

    def _documents(self) -> None:
        self.request("documents list", "GET", "/api/v1/documents/?page_size=25")

    def _chunk(self) -> None:
        if self.chunk_ids:
            self.request("chunk", "GET", f"/api/v1/chunks/{self.rng.choice(self.chunk_ids)}/")

    def _analytics(self) -> None:
        headers = {"Authorization": f"Bearer {self.tenant.access}"}
        self.request("analytics", "GET", "/api/v1/analytics/queries/", None, headers)

    def upload(self) -> int | None:
        """Upload one of the real files, made new by a line of its own; the document's id."""
        path = self.rng.choice(UPLOADS)
        marker = f"load {secrets.token_hex(8)}"
        extra = f"\n<!-- {marker} -->\n" if path.suffix == ".html" else f"\n# {marker}\n"
        content = path.read_bytes() + extra.encode()
        boundary = secrets.token_hex(16)
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                f'filename="{path.stem}-{marker[5:]}{path.suffix}"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n"
            ).encode()
            + content
            + f"\r\n--{boundary}--\r\n".encode()
        )
        content_type = f"multipart/form-data; boundary={boundary}"
        status, payload = self.request(
            "upload", "POST", "/api/v1/documents/", body, {"Content-Type": content_type}
        )
        if status not in (201, 202):
            return None
        created = json.loads(payload)
        documents = created.get("documents") or created.get("results") or [created]
        return int(documents[0]["id"])


class Uploader(VirtualUser):
    """One tenant's uploads during a step: a real file every UPLOAD_EVERY seconds."""

    def run(self, stop: float) -> None:
        while time.monotonic() < stop:
            started = time.monotonic()
            # A connection idle for UPLOAD_EVERY seconds is past gunicorn's keep-alive and
            # closed by the server, so each upload opens its own, as a browser would.
            self.connection.close()
            self.connection = self._connect()
            self.upload()
            time.sleep(max(0.0, min(UPLOAD_EVERY - (time.monotonic() - started),
                                    stop - time.monotonic())))  # fmt: skip
        self.connection.close()


@dataclass
class Step:
    users: int
    seconds: float = 0.0
    connections: int = 0
    web_mb: float = 0.0
    latencies: dict[str, list[float]] = field(default_factory=dict)
    statuses: dict[int, int] = field(default_factory=dict)

    def add(self, user: VirtualUser) -> None:
        for kind, samples in user.latencies.items():
            self.latencies.setdefault(kind, []).extend(samples)
        for status, count in user.statuses.items():
            self.statuses[status] = self.statuses.get(status, 0) + count

    @property
    def rate(self) -> float:
        return sum(self.statuses.values()) / max(self.seconds, 1e-9)

    def p99(self, kind: str) -> float:
        return percentile(self.latencies.get(kind, []), 0.99)

    def server_errors(self) -> int:
        return sum(count for status, count in self.statuses.items() if status >= 500 or not status)

    def rows(self) -> list[tuple[str, ...]]:
        by_status = ", ".join(
            f"{status}: {count}" for status, count in sorted(self.statuses.items())
        )
        rows: list[tuple[str, ...]] = []
        for kind in sorted(self.latencies):
            samples = self.latencies[kind]
            first = not rows
            rows.append((
                str(self.users), f"{self.rate:.0f}" if first else "", kind, str(len(samples)),
                f"{percentile(samples, 0.5):.0f}", f"{percentile(samples, 0.99):.0f}",
                by_status if first else "", str(self.connections) if first else "",
                f"{self.web_mb:.0f}" if first else "",
            ))  # fmt: skip
        return rows


def queue_latency(port: int, tenant: Tenant, background: Callable[[], object]) -> float:
    """Seconds from one upload's request to its document `ready` while `background` runs."""
    crowd = threading.Thread(target=background)
    crowd.start()
    time.sleep(3.0)  # the users are at work
    user = VirtualUser(port, tenant, seed=999)
    started = time.monotonic()
    document = user.upload()
    seconds = float("nan")
    while document is not None and time.monotonic() - started < 120:
        status, payload = user.request("poll", "GET", f"/api/v1/documents/{document}/")
        if status == 200 and json.loads(payload)["status"] in ("ready", "failed"):
            seconds = time.monotonic() - started
            break
        time.sleep(0.2)
    crowd.join()
    return seconds
