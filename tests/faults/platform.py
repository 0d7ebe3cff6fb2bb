"""A whole platform of a fault test's own: PostgreSQL, Redis, gunicorn and a Celery worker.

The shared servers the rest of the suite uses are never stopped; a fault test stops and
starts these instead. PostgreSQL is the embedded server's binaries (pgserver) on a data
folder in the test's temporary directory, listening on a free loopback port as a managed
server would; Redis is the embedded redis-server on a unix socket in the same folder. Web
and worker are the production commands (gunicorn with deploy/gunicorn.conf.py, DEBUG off;
`celery worker`), talking to them only through DATABASE_URL and REDIS_URL.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from config import embedded
from tests.conftest import PASSWORD, ROOT

PYTHON = sys.executable


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Answer:
    """One HTTP answer, and how long it took to arrive."""

    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float

    def json(self) -> Any:
        return json.loads(self.body)


class PrivatePostgres:
    """A PostgreSQL cluster in `root`, on a free loopback port; stopped and started at will."""

    def __init__(self, root: Path) -> None:
        self.var_dir = root / "var"
        self.data = self.var_dir / "pgdata"
        self.port = free_port()
        # pgserver runs the server as its own system user when started by root.
        self.user = "pgserver" if os.geteuid() == 0 else None

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{embedded.DB_NAME}"

    def create(self) -> None:
        embedded.postgres_database(self.var_dir)  # initdb and the database, on a unix socket
        embedded.stop_postgres(self.var_dir)
        self.start()

    def _pg_ctl(self, *args: str) -> None:
        from pgserver._commands import POSTGRES_BIN_PATH

        command = [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(self.data), *args]
        subprocess.run(command, check=True, capture_output=True, timeout=60, user=self.user)

    def start(self) -> None:
        options = f"-h 127.0.0.1 -p {self.port} -k {self.data}"
        self._pg_ctl("-w", "-l", str(self.data / "server.log"), "-o", options, "start")

    def stop(self) -> None:
        """Fast shutdown: clients are disconnected, open transactions rolled back."""
        self._pg_ctl("-w", "-m", "fast", "stop")

    def remove(self) -> None:
        embedded.stop_postgres(self.var_dir)


class PrivateRedis:
    def __init__(self, root: Path) -> None:
        self.var_dir = root / "var"
        self.url = ""

    def start(self) -> None:
        self.url = embedded.redis_url(self.var_dir)

    def stop(self) -> None:
        embedded.stop_redis(self.var_dir)

    def running(self) -> bool:
        return embedded.redis_answers(embedded.redis_socket(self.var_dir))


class PrivatePlatform:
    """Migrated stores, one tenant with an owner, a web server and a worker."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.postgres = PrivatePostgres(root)
        self.redis = PrivateRedis(root)
        self.port = free_port()
        self.schema = "fault_" + secrets.token_hex(3)
        self.host = f"{self.schema.replace('_', '-')}.localhost"
        self.email = f"owner@{self.host}"
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.token = ""
        # Settings of the processes started from now on. Beat, when a test starts it, sweeps
        # every 3 s for documents in flight for 15 s, so what a killed worker held comes back
        # within the test rather than after INGEST_STUCK_MINUTES' quarter of an hour.
        self.overrides = {"INGEST_SWEEP_SECONDS": "3", "INGEST_STUCK_MINUTES": "0.25"}

    def environment(self) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in {"DATABASE_NAME", "METRICS_PORT", "PROMETHEUS_MULTIPROC_DIR"}
        }
        env.update(
            DATABASE_URL=self.postgres.url,
            REDIS_URL=self.redis.url,
            MEDIA_ROOT=str(self.root / "media"),
            INDEX_ROOT=str(self.root / "indexes"),
            QUEUE_PREFIX=f"{self.schema}-",
            CACHE_KEY_PREFIX=self.schema,
            DEBUG="false",
            DI_TESTING="1",
            PYTHONUNBUFFERED="1",
            WEB_CONCURRENCY="2",
            GUNICORN_THREADS="4",
        )
        env.update(self.overrides)
        return env

    def manage(self, *args: str) -> None:
        subprocess.run(
            [PYTHON, "manage.py", *args],
            cwd=ROOT,
            env=self.environment(),
            check=True,
            capture_output=True,
            timeout=300,
        )

    def start(self) -> None:
        self.postgres.create()
        self.redis.start()
        self.manage("migrate_schemas", "--noinput", "-v", "0")
        self.manage(
            *("create_tenant", "--schema", self.schema, "--name", "Fault Test"),
            *("--domain", self.host, "--admin-email", self.email, "--admin-password", PASSWORD),
        )
        self.start_worker()
        self.start_web()
        self.sign_in()

    def _spawn(self, name: str, command: list[str]) -> int:
        """Start a process in a session of its own (so `kill` reaches its children too);
        returns where its log stood, for `_wait_for_line`."""
        path = self.root / f"{name}.log"
        offset = path.stat().st_size if path.exists() else 0
        log = open(path, "ab")  # noqa: SIM115 - lives as long as the process
        self.processes[name] = subprocess.Popen(
            command,
            cwd=ROOT,
            env=self.environment(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return offset

    def log(self, name: str, offset: int = 0) -> bytes:
        """What a process (and the ones of the same name before it) wrote from `offset`."""
        with open(self.root / f"{name}.log", "rb") as log:
            log.seek(offset)
            return log.read()

    def _wait_for_line(self, name: str, line: bytes, offset: int) -> None:
        self._wait_for(name, lambda: line in self.log(name, offset))

    def start_web(self) -> None:
        self._spawn(
            "web",
            [
                *(PYTHON, "-m", "gunicorn", "config.wsgi:application"),
                *("-c", str(ROOT / "deploy" / "gunicorn.conf.py")),
                *("--bind", f"127.0.0.1:{self.port}"),
            ],
        )
        self._wait_for("web", lambda: self.get("/health/live", host="127.0.0.1").status == 200)

    def start_worker(self, concurrency: int = 1) -> None:
        node = f"fault-{uuid.uuid4().hex[:8]}@%h"
        command = [PYTHON, "-m", "celery", "-A", "config", "worker", "-l", "INFO"]
        command += ["--concurrency", str(concurrency), "--without-gossip", "-n", node]
        self._wait_for_line("worker", b" ready.", self._spawn("worker", command))

    def start_beat(self) -> None:
        """Celery beat as production runs it, with its schedule file in the test's folder."""
        schedule = self.root / "celerybeat-schedule"
        command = [PYTHON, "-m", "celery", "-A", "config", "beat", "-l", "INFO"]
        offset = self._spawn("beat", [*command, "-s", str(schedule)])
        self._wait_for_line("beat", b"beat: Starting", offset)

    def kill(self, name: str) -> None:
        """SIGKILL the process and its children at once, as a lost machine or the kernel's
        out-of-memory killer would: nothing gets to clean up."""
        process = self.processes[name]
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)

    def stop_process(self, name: str) -> None:
        """Stop one process the way its supervisor would (SIGTERM, then wait)."""
        process = self.processes.pop(name)
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def _wait_for(self, name: str, ready: Any, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.processes[name].poll() is not None:
                raise RuntimeError(f"the {name} process exited; see {self.root / name}.log")
            try:
                if ready():
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the {name} process did not start; see {self.root / name}.log")

    def redeliver_unacknowledged(self, delivered_before: float) -> int:
        """Put back in their queues the task messages delivered before `delivered_before`
        (time.time()) and never acknowledged, as the broker does on its own once
        CELERY_VISIBILITY_TIMEOUT (15 minutes) has passed; returns how many there were."""
        from kombu import Connection

        url = "redis+socket://" + self.redis.url.removeprefix("unix://")
        timeout = max(0.0, time.time() - delivered_before)
        with Connection(url, transport_options={"visibility_timeout": timeout}) as broker:
            channel: Any = broker.default_channel
            held = int(channel.client.zcount(channel.unacked_index_key, 0, delivered_before))
            channel.qos.restore_visible(num=None, interval=1)
        return held

    def alive(self) -> dict[str, bool]:
        return {name: process.poll() is None for name, process in self.processes.items()}

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.redis.stop()
        self.postgres.remove()

    # --- HTTP ---------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        host: str | None = None,
        timeout: float = 30,
    ) -> Answer:
        sent = {"Host": host or self.host, **(headers or {})}
        if self.token and "Authorization" not in sent:
            sent["Authorization"] = f"Bearer {self.token}"
        sent = {name: value for name, value in sent.items() if value}  # "" sends none
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", data=body, headers=sent, method=method
        )
        began = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                body = response.read()
                took = time.monotonic() - began
                return Answer(response.status, dict(response.headers), body, took)
        except urllib.error.HTTPError as error:
            return Answer(error.code, dict(error.headers), error.read(), time.monotonic() - began)

    def get(self, path: str, **kwargs: Any) -> Answer:
        return self.request("GET", path, **kwargs)

    def post_json(self, path: str, data: object, **kwargs: Any) -> Answer:
        headers = {"Content-Type": "application/json", **kwargs.pop("headers", {})}
        return self.request("POST", path, body=json.dumps(data).encode(), headers=headers, **kwargs)

    def sign_in(self) -> Answer:
        answer = self.post_json(
            "/api/v1/auth/token/",
            {"email": self.email, "password": PASSWORD},
            headers={"Authorization": ""},
        )
        if answer.status == 200:
            self.token = answer.json()["access"]
        return answer

    def upload(self, name: str, data: bytes) -> Answer:
        return self.upload_many([(name, data)])

    def upload_many(self, files: list[tuple[str, bytes]]) -> Answer:
        """One request with every (name, bytes) in the `file` field (at most 20)."""
        boundary = uuid.uuid4().hex
        body = b"".join(
            (
                f"--{boundary}\r\n"
                f'Content-Disposition: form-data; name="file"; filename="{name}"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n"
            ).encode()
            + data
            + b"\r\n"
            for name, data in files
        )
        return self.request(
            "POST",
            "/api/v1/documents/?allow_duplicate=1",
            body=body + f"--{boundary}--\r\n".encode(),
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )

    def documents(self, query: str = "") -> list[dict[str, Any]]:
        """Every document the list shows (all its pages), with `query` filters (status=...)."""
        found: list[dict[str, Any]] = []
        path: str | None = f"/api/v1/documents/?page_size=200&{query}"
        while path:
            answer = self.get(path)
            assert answer.status == 200, answer.body
            page = answer.json()
            found.extend(page["results"])
            following = urllib.parse.urlsplit(page["next"] or "")
            path = following.path and f"{following.path}?{following.query}"
        return found

    def count(self, query: str) -> int:
        answer = self.get(f"/api/v1/documents/?page_size=1&{query}")
        assert answer.status == 200, answer.body
        return int(answer.json()["count"])

    def sql(self, query: str, *params: object) -> list[tuple[Any, ...]]:
        """Rows of one query in the tenant's schema, read straight from PostgreSQL."""
        import psycopg

        with psycopg.connect(self.postgres.url, connect_timeout=5) as connection:
            connection.execute(f'SET search_path TO "{self.schema}"')
            return connection.execute(query, params).fetchall()

    def document(self, document_id: int) -> dict[str, Any]:
        answer = self.get(f"/api/v1/documents/{document_id}/")
        assert answer.status == 200, answer.body
        body: dict[str, Any] = answer.json()
        return body

    def wait_final(self, document_id: int, timeout: float = 120) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            answer = self.get(f"/api/v1/documents/{document_id}/")
            if answer.status == 200 and answer.json()["status"] in {"ready", "failed"}:
                body: dict[str, Any] = answer.json()
                return body
            if time.monotonic() > deadline:
                raise AssertionError(f"document {document_id} still in flight: {answer.body!r}")
            time.sleep(0.5)
